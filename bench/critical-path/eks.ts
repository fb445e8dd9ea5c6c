/**
 * EKS: isolate-pod against the kube-apiserver of the test environment, on a pod created
 * for each run (stored, never run: there is no kubelet). The Lambda connects with
 * DescribeCluster and an EKS token; here DescribeCluster goes to a moto EKS cluster (so the
 * round trip is real) and the API calls use the environment's admin credentials, because
 * the token's RBAC binding belongs to other tests. `containPod` is what `containPodIn` runs
 * after connecting; its clients are built as `kubeClients` builds them, with each HTTP
 * request recorded.
 */
import { CreateClusterCommand, DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import { containPod } from '../../functions/isolate-pod/contain.js';
import type { KubeClients } from '../../functions/isolate-pod/kube.js';
import { streamingPodScan } from '../../functions/isolate-pod/pod-scan.js';
import { CallRecorder, recordingApiClient, recordSdkCalls } from './recorder.js';
import {
  requestFor,
  scenarioFigures,
  timedRun,
  type Run,
  type ScenarioFigures,
} from './surface.js';
import { awsConfig, uniqueName, type BenchEnv } from './testenv.js';

const RUNS = 5;
/** Fewer: each cordon briefly counts against the cluster-wide cordon budget other tests use. */
const HOST_RUNS = 3;

export const SCENARIOS = [
  {
    label: 'EKS label + isolate',
    file: 'eks-reverse-shell.json',
    runs: RUNS,
    scenario: 'eks-reverse-shell.json: eks:label-pod + eks:isolate-pod-network (default policy)',
    floor: {
      trips: 3,
      why: 'DescribeCluster (endpoint, CA); GET the pod (exemption, uid, node); PATCH the label and POST the NetworkPolicy together (the policy selects by the label, so it applies as the label lands; 409 covers "already there")',
    },
  },
  {
    label: 'EKS label + isolate + cordon',
    file: 'eks-runc-container-escape.json',
    runs: HOST_RUNS,
    scenario: 'eks-runc-container-escape.json: label + isolate + eks:cordon-node (host compromise)',
    floor: {
      trips: 4,
      why: 'as above, with LIST of cordoned nodes (budget) alongside the pod read and GET node (needs the node name) alongside the writes; then PATCH the node',
    },
  },
] as const;

interface Workload {
  namespace: string;
  node: string;
  pod: string;
  uid: string;
}

async function createWorkload(core: CoreV1Api, namespace: string): Promise<Workload> {
  const node = uniqueName('gdrr-bench-node');
  const pod = uniqueName('web');
  await core.createNode({ body: { metadata: { name: node } } });
  const created = await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: pod, labels: { app: 'web' } },
      spec: { nodeName: node, containers: [{ name: 'web', image: 'registry.example/web:1' }] },
    },
  });
  const uid = created.metadata?.uid;
  if (!uid) throw new Error('the API server returned a pod without uid');
  return { namespace, node, pod, uid };
}

function recordingKubeClients(kc: KubeConfig, recorder: CallRecorder): KubeClients {
  return {
    core: recordingApiClient(kc, CoreV1Api, recorder),
    networking: recordingApiClient(kc, NetworkingV1Api, recorder),
    apps: recordingApiClient(kc, AppsV1Api, recorder),
    custom: recordingApiClient(kc, CustomObjectsApi, recorder),
    podScan: recordingPodScan(kc, recorder),
  };
}

/** The streaming pod scan (its own HTTPS request, not the typed client's), each page recorded. */
function recordingPodScan(kc: KubeConfig, recorder: CallRecorder): KubeClients['podScan'] {
  const scan = streamingPodScan(kc);
  return {
    listPodIdentities: (params) =>
      recorder.record('GET pods', () => scan.listPodIdentities(params)),
  };
}

/**
 * moto 5.1.1 answers EKS calls with a `createdAt` this SDK cannot parse. The HTTP round trip
 * is made (and recorded) all the same; only that parse error, on an HTTP 200, is ignored.
 */
async function roundTrip(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 200) throw error;
  }
}

async function mockCluster(eks: EKSClient): Promise<string> {
  const name = uniqueName('gdrr-bench-eks');
  await roundTrip(
    eks.send(
      new CreateClusterCommand({
        name,
        roleArn: 'arn:aws:iam::123456789012:role/gdrr-bench-eks',
        resourcesVpcConfig: { subnetIds: [] },
      }),
    ),
  );
  return name;
}

export async function eksScenarios(env: BenchEnv): Promise<ScenarioFigures[]> {
  const admin = new KubeConfig();
  admin.loadFromFile(env.KUBECONFIG);
  const core = admin.makeApiClient(CoreV1Api);
  const recorder = new CallRecorder();
  const kube = recordingKubeClients(admin, recorder);
  const eks = new EKSClient({ ...awsConfig(env), maxAttempts: 2 });
  const clusterName = await mockCluster(eks);
  recordSdkCalls(eks.middlewareStack, recorder);
  const namespace = uniqueName('gdrr-bench');
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  const figures: ScenarioFigures[] = [];
  for (const { label, file, runs: count, scenario, floor } of SCENARIOS) {
    const runs: Run[] = [];
    for (let i = 0; i < count; i += 1) {
      const w = await createWorkload(core, namespace);
      const request = requestFor(file, 'eks-pod', {
        'resource.eksClusterDetails.name': clusterName,
        'resource.eksClusterDetails.arn': `arn:aws:eks:${env.AWS_REGION}:123456789012:cluster/${clusterName}`,
        'resource.kubernetesDetails.kubernetesWorkloadDetails.name': w.pod,
        'resource.kubernetesDetails.kubernetesWorkloadDetails.namespace': w.namespace,
        'resource.kubernetesDetails.kubernetesWorkloadDetails.uid': w.uid,
      });
      try {
        runs.push(
          await timedRun(recorder, async () => {
            await roundTrip(eks.send(new DescribeClusterCommand({ name: clusterName })));
            return containPod(request, { kube });
          }),
        );
      } finally {
        // A cordoned node of ours must not eat other tests' cordon budget for long.
        await core.deleteNode({ name: w.node }).catch(() => undefined);
      }
    }
    figures.push(scenarioFigures({ label, surface: 'eks-pod', scenario, floor }, runs));
  }
  return figures;
}
