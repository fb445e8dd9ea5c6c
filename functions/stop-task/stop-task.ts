/**
 * Contain a compromised ECS task (Fargate or EC2 launch type): check it live (scope,
 * exemption, already stopped), capture the evidence, stop it with the finding id as the
 * reason, tag it, report what follows (service replacement, tasks running the same image)
 * and, when the policy asks, stop those tasks and scale the service to zero.
 * Clients are injected; only `handler.ts` and `live.ts` build them.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ECSClient } from '@aws-sdk/client-ecs';
import {
  describeError,
  failedBecause,
  failedOutcome,
  sameForAll,
  type RequestFor,
} from '../../shared/containment.js';
import type { ActionId, ActionOutcome, ContainmentResult } from '../../shared/contracts.js';
import { COUNT, ECS_CLUSTER_ARN, ECS_SERVICE_NAME, REGION } from '../../shared/identifiers.js';
import { cleanText } from '../../shared/sanitize.js';
import { printCommands } from '../../shared/shell.js';
import { captureTask } from './capture.js';
import type { TaskContext } from './context.js';
import { describeTarget } from './ecs-reads.js';
import { describeLogLocation, type LogLocation } from './evidence.js';
import {
  lookupService,
  scaleServiceToZero,
  type ScaleResult,
  type ServiceLookup,
} from './service.js';
import { findSiblings, idList, stopSiblings, type SiblingLookup } from './siblings.js';
import { stopTarget } from './stop.js';
import {
  describedScopeProblem,
  isExempt,
  requestScopeProblem,
  runsOnContainerInstance,
  serviceMembership,
  stopStateOf,
  type EcsTaskRequest,
} from './task-facts.js';

/** SDK attempts (throttling, 5xx) before an outcome is reported as failed and retryable. */
export const ECS_MAX_ATTEMPTS = 4;

export type StopTaskLogger = Pick<Logger, 'info' | 'warn'>;

export interface StopTaskDeps {
  ecs: ECSClient;
  now?: () => Date;
  logger?: StopTaskLogger;
}

/** The contract allows 20 notes of at most 1000 characters. */
const MAX_NOTES = 20;
const MAX_NOTE_LENGTH = 1000;

function boundedNotes(notes: readonly string[]): string[] {
  return notes.slice(0, MAX_NOTES).map((note) => {
    const clean = cleanText(note, 'description');
    const points = Array.from(clean);
    return points.length <= MAX_NOTE_LENGTH
      ? clean
      : `${points.slice(0, MAX_NOTE_LENGTH - 1).join('')}…`;
  });
}

const result = (
  request: RequestFor<'ecs-task'>,
  outcomes: ActionOutcome[],
  notes: string[] = [],
  release?: string,
): ContainmentResult => ({
  findingId: request.findingId,
  outcomes,
  notes: boundedNotes(notes),
  ...(release === undefined ? {} : { release }),
});

/** Every action fails the same way: nothing was stopped. */
function allFailed(
  request: RequestFor<'ecs-task'>,
  make: (action: ActionId) => ActionOutcome,
): ContainmentResult {
  return result(request, request.actions.map(make));
}

function serviceNote(
  ctx: TaskContext,
  stop: ActionOutcome | undefined,
  scale: ScaleResult | undefined,
): string | undefined {
  const membership = serviceMembership(ctx.task);
  if (membership.kind === 'none') return undefined;
  const which =
    membership.kind === 'service'
      ? `the task belongs to service ${membership.name}`
      : `the task was started by a service deployment (${cleanText(membership.startedBy)})`;
  const scaled =
    scale?.outcome.status === 'contained' || scale?.outcome.status === 'already-contained';
  if (scaled) return `${which}: the service is scaled to zero, so no replacement starts`;
  if (ctx.state.kind !== 'running') {
    return `${which}: the service has probably started a replacement from the same image already`;
  }
  if (stop?.status === 'contained') {
    return `${which}: the service will start a replacement from the same image`;
  }
  if (stop?.status === 'dry-run') {
    return `${which}: once the task is stopped, the service would start a replacement from the same image`;
  }
  return `${which}: when the task stops, the service will start a replacement from the same image`;
}

function containerInstanceNote(ctx: TaskContext): string | undefined {
  const { target } = ctx.request;
  if (target.launchType !== 'EC2' && !runsOnContainerInstance(ctx.task)) return undefined;
  const host = target.containerInstanceId
    ? `EC2 instance ${target.containerInstanceId}`
    : ctx.task.containerInstanceArn
      ? `container instance ${cleanText(ctx.task.containerInstanceArn, 'path')}`
      : 'a container instance that ECS did not name';
  return `the task runs on ${host} (EC2 launch type): the host may be affected too; quarantining the host is a separate, explicit policy choice and was not done here`;
}

/** What happened to the tasks that run the same image, in words. */
function siblingFate(stop: ActionOutcome | undefined): string {
  switch (stop?.status) {
    case undefined:
      return 'they are left running (the policy does not stop sibling tasks)';
    case 'contained':
    case 'already-contained':
      return 'ecs:stop-sibling-tasks stopped them (exempt ones excepted)';
    case 'dry-run':
      return 'ecs:stop-sibling-tasks would stop them (dry run)';
    case 'skipped':
      return 'they carry the exemption tag and are left running';
    case 'failed':
      return 'stopping them did not fully succeed (see ecs:stop-sibling-tasks)';
  }
}

function siblingNotes(lookup: SiblingLookup, stop?: ActionOutcome): string[] {
  if (lookup.kind === 'error') {
    const facts = describeError(lookup.error, lookup.permission);
    return [`could not look for other tasks that run the same image: ${facts.summary}`];
  }
  const { search } = lookup;
  const notes: string[] = [];
  if (search.siblings.length > 0) {
    const images = [...new Set(search.siblings.flatMap((sibling) => sibling.sharedImages))];
    const fate = siblingFate(stop);
    notes.push(
      `${search.siblings.length} other task(s) in the cluster run the same image (${images.join(', ')}) and may be compromised too: ${idList(search.siblings)}; ${fate}`,
    );
  }
  if (search.images.some((image) => image.byReference)) {
    notes.push(
      'ECS reported no image digest for the task, so tasks were compared by image reference: a tag can point to a different image than the task ran',
    );
  }
  if (search.truncated) {
    notes.push(`only the first ${search.compared} running tasks of the cluster were compared`);
  }
  return notes;
}

function logNote(logs: readonly LogLocation[]): string | undefined {
  if (logs.length === 0) return undefined;
  return `container logs: ${logs.map(describeLogLocation).join('; ')}`;
}

/** How to give the service its desired count back; the command comes last on the line. */
export function restoreService(request: EcsTaskRequest, service: string, count: number): string {
  const { region, target } = request;
  const desiredCount = String(count);
  const printed = printCommands(
    [
      ['region', REGION, region],
      ['cluster ARN', ECS_CLUSTER_ARN, target.clusterArn],
      ['service name', ECS_SERVICE_NAME, service],
      ['desired count', COUNT, desiredCount],
    ],
    () => [
      [
        'aws',
        'ecs',
        'update-service',
        '--region',
        region,
        '--cluster',
        target.clusterArn,
        '--service',
        service,
        '--desired-count',
        desiredCount,
      ],
    ],
  );
  return 'invalid' in printed
    ? `${printed.invalid}: restore the service's desired count to ${desiredCount} by hand`
    : `restore the service: ${printed.commands.join('')}`;
}

function releaseText(
  ctx: TaskContext,
  stop: ActionOutcome | undefined,
  scale: ScaleResult | undefined,
): string | undefined {
  const steps: string[] = [];
  if (stop?.status === 'contained' || stop?.status === 'already-contained') {
    steps.push(
      'a stopped task cannot be resumed; once the image is trusted again, start new tasks from it',
    );
  }
  if (scale?.previousDesiredCount !== undefined && scale.serviceName !== undefined) {
    steps.push(restoreService(ctx.request, scale.serviceName, scale.previousDesiredCount));
  }
  return steps.length > 0 ? steps.join('; ') : undefined;
}

/**
 * Look for the tasks that run the same image (alongside the stop) and, when the policy asks,
 * stop them once the finding's task has been stopped.
 */
async function siblingStep(
  ctx: TaskContext,
  stopThem: boolean,
  targetStopped: Promise<void>,
): Promise<{ lookup: SiblingLookup; stopped?: ActionOutcome }> {
  const lookup = await findSiblings(ctx);
  if (!stopThem) return { lookup };
  await targetStopped;
  return { lookup, stopped: await stopSiblings(ctx, lookup) };
}

/** Contain the finding's ECS task. Never throws for AWS errors: each becomes an outcome. */
export async function stopTask(
  request: RequestFor<'ecs-task'>,
  deps: StopTaskDeps,
): Promise<ContainmentResult> {
  const { ecs, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const outOfScope = requestScopeProblem(request, await ecs.config.region());
  if (outOfScope !== undefined) {
    logger?.warn('task out of scope, nothing done', { reason: outOfScope });
    return result(request, sameForAll(request, 'skipped', outOfScope));
  }

  const described = await describeTarget(ecs, request.target);
  if (described.kind === 'error') {
    // Fail closed: without the description the exemption tag cannot be checked.
    return allFailed(request, (action) =>
      failedOutcome(
        action,
        'DescribeTasks failed, so the exemption could not be checked; nothing was stopped',
        described.error,
        'ecs:DescribeTasks',
      ),
    );
  }
  if (described.kind === 'missing') {
    return allFailed(request, (action) => failedBecause(action, described.detail, false));
  }
  const task = described.value;
  const skip =
    describedScopeProblem(task, request) ??
    (isExempt(task, request.exemptionKey)
      ? `the task carries the exemption tag ${request.exemptionKey}: not contained`
      : undefined);
  if (skip !== undefined) {
    logger?.info('task skipped', { reason: skip });
    return result(request, sameForAll(request, 'skipped', skip));
  }

  let serviceLookup: Promise<ServiceLookup> | undefined;
  const ctx: TaskContext = {
    request,
    task,
    state: stopStateOf(task, request.findingId),
    ecs,
    now,
    service: () => (serviceLookup ??= lookupService(ecs, task, request.target.clusterArn)),
  };
  const wants = (action: ActionId) => request.actions.includes(action);
  const done = new Map<ActionId, ActionOutcome>();

  // Everything after DescribeTasks starts at once, containment first: the evidence the stop
  // destroys (the task description) is already read, and no read below delays the stop.
  // The tags go with StopTask (`stopTarget` withdraws them if it fails); the sibling stops
  // and the scale to zero wait for StopTask's answer.
  const stopping = wants('ecs:stop-task') ? stopTarget(ctx) : undefined;
  const stopAnswered = stopping?.answered ?? Promise.resolve();
  const capturing = wants('ecs:capture-task') ? captureTask(ctx) : undefined;
  const siblingsWanted = wants('ecs:stop-sibling-tasks');
  const searching =
    siblingsWanted || wants('ecs:capture-task')
      ? siblingStep(ctx, siblingsWanted, stopAnswered)
      : undefined;
  const scaling = wants('ecs:scale-service-to-zero')
    ? scaleServiceToZero(ctx, stopAnswered)
    : undefined;
  const [capture, stop, siblings, scale] = await Promise.all([
    capturing,
    stopping?.outcome,
    searching,
    scaling,
  ]);

  const notes: (string | undefined)[] = [];
  if (capture) {
    done.set('ecs:capture-task', capture.outcome);
    notes.push(logNote(capture.logs));
  }
  if (stop) done.set('ecs:stop-task', stop);
  if (siblings) {
    if (siblings.stopped) done.set('ecs:stop-sibling-tasks', siblings.stopped);
    notes.push(...siblingNotes(siblings.lookup, siblings.stopped));
  }
  if (scale) done.set('ecs:scale-service-to-zero', scale.outcome);

  notes.unshift(serviceNote(ctx, stop, scale), containerInstanceNote(ctx));
  const outcomes = request.actions.map(
    (action) =>
      done.get(action) ?? failedBecause(action, `${action} was not run (internal error)`, false),
  );
  for (const item of outcomes.filter((o) => o.status === 'failed')) {
    logger?.warn('action failed', { action: item.action, retryable: item.retryable });
  }
  return result(
    request,
    outcomes,
    notes.filter((note): note is string => note !== undefined),
    releaseText(ctx, stop, scale),
  );
}
