/**
 * Kubernetes clients for integration tests: the cluster admin (client certificate) and a
 * client that authenticates the way the isolate-pod Lambda does, with an EKS token.
 */
import { readFileSync } from 'node:fs';
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseContainmentRequest, type RequestFor } from '../../shared/containment.js';
import { mintEksToken } from '../../shared/eks-token.js';
import { integrationEnv } from './test-env.js';

/** The cluster-admin configuration written by `up` (group system:masters). */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(integrationEnv().KUBECONFIG);
  return kc;
}

/** A configuration that presents `token` as bearer token, trusting the test CA. */
export function bearerKubeConfig(token: string): KubeConfig {
  const env = integrationEnv();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'testenv', server: env.GDRR_K8S_SERVER, caFile: env.GDRR_K8S_CA_FILE }],
    users: [{ name: 'eks-token', token }],
    contexts: [{ name: 'testenv', cluster: 'testenv', user: 'eks-token' }],
    currentContext: 'testenv',
  });
  return kc;
}

/** An EKS token from the test key, for the environment's cluster unless told otherwise. */
export async function mintTestToken(
  overrides: {
    clusterName?: string;
    now?: Date;
    secretAccessKey?: string;
    accessKeyId?: string;
  } = {},
): Promise<string> {
  const env = integrationEnv();
  return mintEksToken({
    clusterName: overrides.clusterName ?? env.GDRR_EKS_CLUSTER_ID,
    region: env.AWS_REGION,
    credentials: {
      accessKeyId: overrides.accessKeyId ?? env.AWS_ACCESS_KEY_ID,
      secretAccessKey: overrides.secretAccessKey ?? env.AWS_SECRET_ACCESS_KEY,
    },
    now: overrides.now,
  });
}

/** The HTTP status a Kubernetes call ended with (200 when it succeeded). */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

/** The error body message of a failed call ('' when it succeeded). */
export async function failureMessage(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return '';
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return (body as { message?: string } | undefined)?.message ?? String(error.body);
  }
}

/** The objects of a multi-document YAML manifest. */
export function readManifest(file: string): KubernetesObject[] {
  return loadAllYaml(readFileSync(file, 'utf8')) as KubernetesObject[];
}

/** Creates each object, replacing one that exists (as `kubectl apply` would end up). */
export async function applyManifest(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const object of objects) {
    const header = {
      apiVersion: object.apiVersion,
      kind: object.kind,
      metadata: { name: object.metadata?.name ?? '', namespace: object.metadata?.namespace },
    };
    if ((await statusOf(client.read(header))) === 200) {
      await client.replace(object);
    } else {
      await client.create(object);
    }
  }
}

/** Deletes an object if it exists. */
export async function deleteIfPresent(kc: KubeConfig, object: KubernetesObject): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const status = await statusOf(client.delete(object));
  if (status !== 200 && status !== 404) throw new Error(`deleting ${object.kind}: HTTP ${status}`);
}

/** Polls `check` until it is true (RBAC changes reach the authorizer through a watch). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

let requestCounter = 0;

/** A finding id no earlier request of this test run used. */
export const nextFindingId = (): string =>
  `${(++requestCounter).toString(16).padStart(4, '0')}${'ab'.repeat(14)}`;

/**
 * A containment request for a pod of the test cluster, as the router sends one (label and
 * isolate, default EKS settings). Top-level fields of `overrides` replace the defaults;
 * its `target` fields are merged into the target.
 */
export function eksPodRequest(
  clusterName: string,
  namespace: string,
  overrides: Record<string, unknown> & { target?: Record<string, unknown> } = {},
): RequestFor<'eks-pod'> {
  const { target, ...rest } = overrides;
  return parseContainmentRequest(
    {
      version: 1,
      findingId: nextFindingId(),
      findingType: 'Execution:Runtime/ReverseShell',
      severity: 8,
      accountId: '123456789012',
      region: 'us-east-1',
      target: { surface: 'eks-pod', clusterName, namespace, containerIds: [], ...target },
      actions: ['eks:label-pod', 'eks:isolate-pod-network'],
      hostCompromise: false,
      dryRun: false,
      exemptionKey: 'guardduty-responder/exempt',
      eks: { allowDnsEgress: false, maxCordonedNodes: 1000, protectedNamespaces: ['kube-system'] },
      ...rest,
    },
    'eks-pod',
  );
}
