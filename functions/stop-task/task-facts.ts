/**
 * Pure facts about a described ECS task: where it is, whether it may be touched, whether it
 * is already stopped (and by whom), which service and images it runs. No SDK calls.
 */
import type { Container, Tag, Task } from '@aws-sdk/client-ecs';
import type { RequestFor } from '../../shared/containment.js';
import { ECS_CLUSTER_ARN, ECS_SERVICE_NAME, ECS_TASK_ARN } from '../../shared/identifiers.js';
import { cleanText } from '../../shared/sanitize.js';

export type EcsTaskRequest = RequestFor<'ecs-task'>;

export const RESPONDER = 'guardduty-runtime-responder';

/** Tags written on a task as the responder stops it, so a human can tell who stopped it and why. */
export const QUARANTINE_TAGS = {
  quarantinedBy: 'guardduty-responder:quarantined-by',
  findingId: 'guardduty-responder:finding-id',
  containedAt: 'guardduty-responder:contained-at',
} as const;

/** ECS refuses a StopTask reason longer than this. */
export const STOP_REASON_LIMIT = 255;

export interface TaskArnParts {
  partition: string;
  region: string;
  account: string;
  /** Absent in the older ARN form `task/<id>`. */
  cluster?: string;
  id: string;
}

export interface ClusterArnParts {
  partition: string;
  region: string;
  account: string;
  name: string;
}

/** The parts of a task ARN, or undefined when it is not one. */
export function parseTaskArn(arn: string): TaskArnParts | undefined {
  const match = ECS_TASK_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition = '', region = '', account = '', cluster, id = ''] = match;
  return { partition, region, account, id, ...(cluster ? { cluster } : {}) };
}

/** The parts of a cluster ARN, or undefined when it is not one. */
export function parseClusterArn(arn: string): ClusterArnParts | undefined {
  const match = ECS_CLUSTER_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition = '', region = '', account = '', name = ''] = match;
  return { partition, region, account, name };
}

/** The last segment of a task ARN (the task id). */
export const taskIdOf = (taskArn: string): string => taskArn.slice(taskArn.lastIndexOf('/') + 1);

/**
 * Why the request itself points outside the finding's account, region or cluster (or
 * outside the region this function's client calls), checked before any API call.
 */
export function requestScopeProblem(
  request: EcsTaskRequest,
  clientRegion: string,
): string | undefined {
  const { taskArn, clusterArn } = request.target;
  const task = parseTaskArn(taskArn);
  const cluster = parseClusterArn(clusterArn);
  if (!task || !cluster) return 'the task or cluster ARN is not a valid ECS ARN';
  if (task.account !== request.accountId || cluster.account !== request.accountId) {
    return `the task is not in the finding's account ${request.accountId}`;
  }
  if (task.region !== request.region || cluster.region !== request.region) {
    return `the task is not in the finding's region ${request.region}`;
  }
  if (task.partition !== cluster.partition) return 'the task and cluster ARNs differ in partition';
  if (task.cluster !== undefined && task.cluster !== cluster.name) {
    return `the task ARN names cluster ${task.cluster}, not the finding's cluster ${cluster.name}`;
  }
  if (clientRegion !== request.region) {
    return `this function calls ECS in ${clientRegion}, not in the finding's region ${request.region}`;
  }
  return undefined;
}

/** Why the task ECS described is not the finding's task (another cluster, account or id). */
export function describedScopeProblem(task: Task, request: EcsTaskRequest): string | undefined {
  const { clusterArn, taskArn } = request.target;
  if (task.clusterArn !== clusterArn) {
    return `ECS reports the task in cluster ${cleanText(task.clusterArn ?? 'unknown')}, not in the finding's cluster ${clusterArn}`;
  }
  const described = parseTaskArn(task.taskArn ?? '');
  const requested = parseTaskArn(taskArn);
  if (
    !described ||
    !requested ||
    described.id !== requested.id ||
    described.account !== request.accountId ||
    described.region !== request.region
  ) {
    return `ECS described task ${cleanText(task.taskArn ?? 'unknown')}, not the finding's task ${taskArn}`;
  }
  return undefined;
}

/** The value of a tag, when present. */
export function tagValue(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.key === key)?.value;
}

/** Exempt when the tag is present with any value other than "false" (same rule as the router). */
export function isExempt(task: Task, exemptionKey: string): boolean {
  const value = tagValue(task.tags, exemptionKey);
  if (value === undefined) return false;
  return value.toLowerCase() !== 'false';
}

export type StopState =
  | { kind: 'running' }
  | { kind: 'stopped-by-us'; detail: string }
  | { kind: 'stopped'; detail: string };

/** Whether the task is stopped or stopping, and whether the responder did it for this finding. */
export function stopStateOf(task: Task, findingId: string): StopState {
  const stopped = task.lastStatus === 'STOPPED' || task.desiredStatus === 'STOPPED';
  if (!stopped) return { kind: 'running' };
  const reason = task.stoppedReason ?? '';
  const status = `lastStatus ${cleanText(task.lastStatus ?? 'unknown', 'short')}, desiredStatus ${cleanText(task.desiredStatus ?? 'unknown', 'short')}`;
  // Only the stop reason proves the responder stopped it: the tags go out with StopTask,
  // and a stop that failed could, if withdrawing them failed too, leave them behind.
  if (reason.includes(findingId)) {
    return {
      kind: 'stopped-by-us',
      detail: `the task was already stopped by the responder for finding ${findingId} (${status})`,
    };
  }
  const why = reason ? `, stoppedReason: ${cleanText(reason, 'tag')}` : '';
  const code = task.stopCode ? `, stopCode ${cleanText(task.stopCode, 'short')}` : '';
  return {
    kind: 'stopped',
    detail: `the task is already stopped or stopping (${status}${code}${why})`,
  };
}

/** The StopTask reason: names the finding, within ECS's 255-character limit. */
export function stopReason(request: EcsTaskRequest): string {
  const full = `GuardDuty runtime finding ${request.findingId} (${request.findingType}): stopped by ${RESPONDER}`;
  if (full.length <= STOP_REASON_LIMIT) return full;
  return `GuardDuty runtime finding ${request.findingId}: stopped by ${RESPONDER}`;
}

export type ServiceMembership =
  { kind: 'service'; name: string } | { kind: 'deployment'; startedBy: string } | { kind: 'none' };

/**
 * The service the task belongs to: ECS sets `group` to `service:<name>` for service tasks
 * and `startedBy` to the deployment id `ecs-svc/…`. A name that fails the service-name
 * pattern is never used in an API call.
 */
export function serviceMembership(task: Task): ServiceMembership {
  const name = /^service:(.+)$/.exec(task.group ?? '')?.[1];
  if (name !== undefined && ECS_SERVICE_NAME.test(name)) return { kind: 'service', name };
  if (task.startedBy?.startsWith('ecs-svc/')) {
    return { kind: 'deployment', startedBy: task.startedBy };
  }
  return { kind: 'none' };
}

/**
 * Sidecars AWS injects into many tasks (the GuardDuty runtime agent on Fargate, the Service
 * Connect proxy). They run the same image in every task, so matching on them would call
 * every task of the cluster a sibling of the compromised one.
 */
export function isAwsManagedSidecar(container: Container): boolean {
  const name = container.name ?? '';
  const image = container.image ?? '';
  return (
    name.startsWith('aws-guardduty-agent') ||
    image.includes('/aws-guardduty-agent') ||
    name.startsWith('ecs-service-connect-')
  );
}

/** How a container's image is compared: by digest when ECS reports one, else by reference. */
export interface ImageIdentity {
  key: string;
  byReference: boolean;
  /** Sanitized, for notes and evidence. */
  shown: string;
}

/** The image identity of a container, when it has an image. */
export function imageIdentity(container: Container): ImageIdentity | undefined {
  if (container.imageDigest) {
    return {
      key: `digest:${container.imageDigest}`,
      byReference: false,
      shown: cleanText(container.imageDigest),
    };
  }
  if (container.image) {
    return {
      key: `image:${container.image}`,
      byReference: true,
      shown: cleanText(container.image),
    };
  }
  return undefined;
}

/** Image identities of the task's own workload containers (AWS-managed sidecars left out). */
export function workloadImages(task: Task): ImageIdentity[] {
  const identities = (task.containers ?? [])
    .filter((container) => !isAwsManagedSidecar(container))
    .map(imageIdentity)
    .filter((identity): identity is ImageIdentity => identity !== undefined);
  return [...new Map(identities.map((identity) => [identity.key, identity])).values()];
}

/** True for the EC2 (or external) launch type: the task runs on a container instance. */
export const runsOnContainerInstance = (task: Task): boolean =>
  task.launchType === 'EC2' || task.launchType === 'EXTERNAL' || !!task.containerInstanceArn;
