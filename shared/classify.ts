/**
 * Which surface a finding is about and the validated identifiers to act on. A field that
 * fails its pattern yields no target and a problem that names the field: such a finding
 * is reported, never contained.
 */
import type { EcsTaskTarget, Surface, Target } from './contracts.js';
import type { Finding, ResourceFacts } from './finding.js';
import { delimited } from './sanitize.js';
import {
  CONTAINER_ID,
  ECS_CLUSTER_ARN,
  ECS_TASK_ARN,
  EKS_CLUSTER_NAME,
  INSTANCE_ID,
  K8S_NAMESPACE,
  K8S_NODE_NAME,
  K8S_POD_NAME,
  K8S_UID,
  matches,
} from './identifiers.js';

export interface Classification {
  surface: Surface | null;
  target: Target | null;
  /** Why there is no target: unsupported resource, or the field that failed validation. */
  problem?: string;
  /** Resource type `Container`: a standalone container, contained through its host. */
  viaHost: boolean;
}

const FIELD = {
  eksCluster: 'resource.eksClusterDetails.name',
  workload: 'resource.kubernetesDetails.kubernetesWorkloadDetails',
  namespace: 'resource.kubernetesDetails.kubernetesWorkloadDetails.namespace',
  podName: 'resource.kubernetesDetails.kubernetesWorkloadDetails.name',
  containerId: 'resource.kubernetesDetails.kubernetesWorkloadDetails.containers[].id',
  instanceId: 'resource.instanceDetails.instanceId',
  clusterArn: 'resource.ecsClusterDetails.arn',
  taskArn: 'resource.ecsClusterDetails.taskDetails.arn',
} as const;

const invalid = (field: string, what: string) => `${field} is not a valid ${what}`;
const missing = (field: string) => `${field} is missing`;

/** A problem to report, or a value that passed its pattern. */
type Checked = { ok: true; value: string } | { ok: false; problem: string };

function check(value: string | undefined, pattern: RegExp, field: string, what: string): Checked {
  if (value === undefined) return { ok: false, problem: missing(field) };
  return matches(pattern, value)
    ? { ok: true, value }
    : { ok: false, problem: invalid(field, what) };
}

const noTarget = (surface: Surface | null, problem: string, viaHost = false): Classification => ({
  surface,
  target: null,
  problem,
  viaHost,
});

function containerIds(resource: ResourceFacts): string[] {
  const ids = (resource.workload?.containers ?? []).map((c) => c.id);
  return ids.flatMap((id) => {
    const hex = id === undefined ? undefined : CONTAINER_ID.exec(id)?.[1];
    return hex === undefined ? [] : [hex];
  });
}

function classifyEks(resource: ResourceFacts): Classification {
  const cluster = check(
    resource.eksCluster?.name,
    EKS_CLUSTER_NAME,
    FIELD.eksCluster,
    'EKS cluster name',
  );
  if (!cluster.ok) return noTarget('eks-pod', cluster.problem);
  const workload = resource.workload;
  if (!workload) return noTarget('eks-pod', missing(FIELD.workload));
  const namespace = check(
    workload.namespace,
    K8S_NAMESPACE,
    FIELD.namespace,
    'Kubernetes namespace',
  );
  if (!namespace.ok) return noTarget('eks-pod', namespace.problem);

  // Only a workload of type pod names the pod itself; for a Deployment or Job the name is
  // the controller's, and the pod is found by container id instead.
  const namesPod = /^pods?$/i.test(workload.type ?? '');
  let podName: string | undefined;
  let podUid: string | undefined;
  if (namesPod) {
    const pod = check(workload.name, K8S_POD_NAME, FIELD.podName, 'Kubernetes pod name');
    if (!pod.ok) return noTarget('eks-pod', pod.problem);
    podName = pod.value;
    podUid = matches(K8S_UID, workload.uid) ? workload.uid : undefined;
  }
  const ids = containerIds(resource);
  if (podName === undefined && ids.length === 0) {
    return noTarget(
      'eks-pod',
      `neither a pod name nor a valid container id (${FIELD.containerId}) identifies the pod`,
    );
  }
  const node = resource.instance?.instanceId;
  const nodeName = resource.instance?.privateDnsName;
  return {
    surface: 'eks-pod',
    viaHost: false,
    target: {
      surface: 'eks-pod',
      clusterName: cluster.value,
      namespace: namespace.value,
      podName,
      podUid,
      containerIds: ids,
      nodeInstanceId: matches(INSTANCE_ID, node) ? node : undefined,
      nodeName: matches(K8S_NODE_NAME, nodeName) ? nodeName : undefined,
    },
  };
}

function launchType(value: string | undefined): EcsTaskTarget['launchType'] {
  return value === 'FARGATE' || value === 'EC2' || value === 'EXTERNAL' ? value : 'UNKNOWN';
}

function classifyEcs(finding: Finding): Classification {
  const { resource } = finding;
  const cluster = check(
    resource.ecsCluster?.arn,
    ECS_CLUSTER_ARN,
    FIELD.clusterArn,
    'ECS cluster ARN',
  );
  if (!cluster.ok) return noTarget('ecs-task', cluster.problem);
  const task = check(resource.ecsTask?.arn, ECS_TASK_ARN, FIELD.taskArn, 'ECS task ARN');
  if (!task.ok) return noTarget('ecs-task', task.problem);

  const [, clusterPartition, clusterRegion, clusterAccount, clusterName] =
    ECS_CLUSTER_ARN.exec(cluster.value) ?? [];
  const [, taskPartition, taskRegion, taskAccount, taskCluster] =
    ECS_TASK_ARN.exec(task.value) ?? [];
  if (
    taskPartition !== clusterPartition ||
    taskRegion !== clusterRegion ||
    taskAccount !== clusterAccount
  ) {
    return noTarget(
      'ecs-task',
      `${FIELD.taskArn} is not in the same partition, region and account as ${FIELD.clusterArn}`,
    );
  }
  if (taskCluster !== undefined && taskCluster !== clusterName) {
    return noTarget('ecs-task', `${FIELD.taskArn} names another cluster than ${FIELD.clusterArn}`);
  }
  if (clusterRegion !== finding.region || clusterAccount !== finding.accountId) {
    return noTarget('ecs-task', `${FIELD.clusterArn} is not in the finding's account and region`);
  }
  const type = launchType(resource.ecsTask?.launchType);
  const host = resource.instance?.instanceId;
  return {
    surface: 'ecs-task',
    viaHost: false,
    target: {
      surface: 'ecs-task',
      clusterArn: cluster.value,
      taskArn: task.value,
      launchType: type,
      containerInstanceId: type === 'EC2' && matches(INSTANCE_ID, host) ? host : undefined,
    },
  };
}

function classifyInstance(resource: ResourceFacts, viaHost: boolean): Classification {
  const instance = check(
    resource.instance?.instanceId,
    INSTANCE_ID,
    FIELD.instanceId,
    'EC2 instance id',
  );
  if (!instance.ok) return noTarget('ec2-instance', instance.problem, viaHost);
  return {
    surface: 'ec2-instance',
    viaHost,
    target: { surface: 'ec2-instance', instanceId: instance.value },
  };
}

/** Map the finding's resource type to a surface and a validated target. */
export function classify(finding: Finding): Classification {
  switch (finding.resource.type) {
    case 'EKSCluster':
      return classifyEks(finding.resource);
    case 'ECSCluster':
      return classifyEcs(finding);
    case 'Instance':
      return classifyInstance(finding.resource, false);
    case 'Container':
      return classifyInstance(finding.resource, true);
    default:
      // The type is the finding's word, so it is shown as a value, delimited.
      return noTarget(
        null,
        `resource type ${delimited(finding.resource.type)} has no containment surface`,
      );
  }
}
