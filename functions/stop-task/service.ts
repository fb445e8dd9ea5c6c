/**
 * The task's service: found by the task's `group` (`service:<name>`), confirmed by the
 * deployment that started it, and scaled to zero when the policy asks, so that no
 * replacement task starts from the same image.
 */
import { UpdateServiceCommand, type ECSClient, type Service, type Task } from '@aws-sdk/client-ecs';
import { describeError, failedBecause, failedOutcome, outcome } from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import { cleanText } from '../../shared/sanitize.js';
import type { TaskContext } from './context.js';
import { describeService, type Read } from './ecs-reads.js';
import { serviceMembership, type ServiceMembership } from './task-facts.js';

const ACTION = 'ecs:scale-service-to-zero';

export type ServiceLookup =
  | { kind: 'not-a-service'; membership: Exclude<ServiceMembership, { kind: 'service' }> }
  | { kind: 'service'; name: string; read: Read<Service> };

/** Describe the service the task's group names, if any. */
export async function lookupService(
  ecs: ECSClient,
  task: Task,
  clusterArn: string,
): Promise<ServiceLookup> {
  const membership = serviceMembership(task);
  if (membership.kind !== 'service') return { kind: 'not-a-service', membership };
  return {
    kind: 'service',
    name: membership.name,
    read: await describeService(ecs, clusterArn, membership.name),
  };
}

/**
 * Why the task may not belong to the service its group names. The group is set by whoever
 * called RunTask, so a service is only scaled when the task's `startedBy` is one of the
 * service's deployments (ECS sets it to the deployment id for service tasks).
 */
export function membershipProblem(task: Task, service: Service, name: string): string | undefined {
  const startedBy = task.startedBy ?? '';
  if (!startedBy.startsWith('ecs-svc/')) {
    return `the task's group names service ${name}, but the task was not started by a service deployment (startedBy ${cleanText(startedBy || 'empty')}): not scaling the service`;
  }
  const deployments = service.deployments ?? [];
  if (deployments.length > 0 && !deployments.some((deployment) => deployment.id === startedBy)) {
    return `the task's deployment ${cleanText(startedBy)} is not a deployment of service ${name}: not scaling the service`;
  }
  return undefined;
}

/** What the scale step did; `previousDesiredCount` is set when this run changed the service. */
export interface ScaleResult {
  outcome: ActionOutcome;
  serviceName?: string;
  previousDesiredCount?: number;
}

function notAService(lookup: Extract<ServiceLookup, { kind: 'not-a-service' }>): ScaleResult {
  const detail =
    lookup.membership.kind === 'deployment'
      ? `the task was started by service deployment ${cleanText(lookup.membership.startedBy)}, but its group names no service: cannot tell which service to scale`
      : 'the task does not belong to a service (its group is not service:<name>): nothing to scale';
  return { outcome: outcome(ACTION, 'skipped', detail) };
}

/**
 * Set the task's service's desired count to zero (DescribeServices, then UpdateService).
 * DescribeServices goes out at once; UpdateService waits for `targetStopped` (StopTask's
 * answer for the finding's task), so the task is stopped with the finding's reason rather
 * than by the service's scale-in.
 */
export async function scaleServiceToZero(
  ctx: TaskContext,
  targetStopped: Promise<void> = Promise.resolve(),
): Promise<ScaleResult> {
  const lookup = await ctx.service();
  if (lookup.kind === 'not-a-service') return notAService(lookup);
  const { name, read } = lookup;
  if (read.kind === 'error') {
    return {
      outcome: failedOutcome(
        ACTION,
        `DescribeServices for ${name} failed`,
        read.error,
        'ecs:DescribeServices',
      ),
    };
  }
  if (read.kind === 'missing') return { outcome: failedBecause(ACTION, read.detail, false) };
  const service = read.value;
  const mismatch = membershipProblem(ctx.task, service, name);
  if (mismatch) return { outcome: outcome(ACTION, 'skipped', mismatch) };

  const previous = service.desiredCount ?? 0;
  const facts = {
    serviceArn: service.serviceArn,
    serviceName: name,
    previousDesiredCount: previous,
  };
  if (previous === 0) {
    return {
      outcome: outcome(
        ACTION,
        'already-contained',
        `service ${name} already has desired count 0`,
        facts,
      ),
      serviceName: name,
    };
  }
  if (ctx.request.dryRun) {
    return {
      outcome: outcome(
        ACTION,
        'dry-run',
        `would set the desired count of service ${name} from ${previous} to 0, so no replacement task starts`,
        facts,
      ),
      serviceName: name,
    };
  }
  await targetStopped;
  try {
    await ctx.ecs.send(
      new UpdateServiceCommand({
        cluster: ctx.request.target.clusterArn,
        service: name,
        desiredCount: 0,
      }),
    );
  } catch (error) {
    return {
      outcome: failedOutcome(
        ACTION,
        `UpdateService (desired count 0) for ${name} failed`,
        error,
        'ecs:UpdateService',
        facts,
      ),
    };
  }
  return {
    outcome: outcome(
      ACTION,
      'contained',
      `service ${name} desired count set from ${previous} to 0: no replacement task will start`,
      facts,
    ),
    serviceName: name,
    previousDesiredCount: previous,
  };
}

/** Why the service could not be described (for the capture step), and whether a retry may help. */
export function serviceReadProblem(
  lookup: ServiceLookup,
): { text: string; retryable: boolean } | undefined {
  if (lookup.kind !== 'service') return undefined;
  const { read, name } = lookup;
  if (read.kind === 'missing') return { text: read.detail, retryable: false };
  if (read.kind === 'error') {
    const facts = describeError(read.error, 'ecs:DescribeServices');
    return {
      text: `DescribeServices for ${name} failed: ${facts.summary}`,
      retryable: facts.retryable,
    };
  }
  return undefined;
}
