/**
 * Other tasks of the cluster that run the same image as the compromised task: they may be
 * compromised the same way. Always listed in the notes; stopped only when the policy asks
 * (`ecs:stop-sibling-tasks`), and never when they carry the exemption tag.
 */
import { StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import {
  boundedEvidence,
  describeError,
  failedBecause,
  failedOutcome,
  outcome,
} from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import { ECS_TASK_ARN, matches } from '../../shared/identifiers.js';
import { cleanText, type CleanText } from '../../shared/sanitize.js';
import { boundedDetail, type TaskContext } from './context.js';
import { describeTasksInBatches, listRunningTaskArns } from './ecs-reads.js';
import {
  imageIdentity,
  isAwsManagedSidecar,
  isExempt,
  stopReason,
  taskIdOf,
  workloadImages,
  type ImageIdentity,
} from './task-facts.js';

const ACTION = 'ecs:stop-sibling-tasks';

/** Compare at most this many running tasks (10 DescribeTasks calls). */
export const MAX_TASKS_COMPARED = 1000;

/** Stop siblings this many at a time (ECS throttles bursts of StopTask). */
const STOP_CONCURRENCY = 10;

/** Evidence lists at most this many task ARNs (about 100 characters each). */
const ARNS_IN_EVIDENCE = 50;

/** A listed id is shown in one line; the rest are counted. */
const IDS_SHOWN = 10;

export interface Sibling {
  taskArn: string;
  lastStatus?: CleanText;
  group?: CleanText;
  /** The images it shares with the compromised task (sanitized). */
  sharedImages: string[];
  exempt: boolean;
}

export interface SiblingSearch {
  images: ImageIdentity[];
  siblings: Sibling[];
  compared: number;
  truncated: boolean;
}

export type SiblingLookup =
  { kind: 'found'; search: SiblingSearch } | { kind: 'error'; error: unknown; permission: string };

function sharedImages(task: Task, keys: ReadonlySet<string>): string[] {
  return (task.containers ?? [])
    .filter((container) => !isAwsManagedSidecar(container))
    .map(imageIdentity)
    .filter((identity): identity is ImageIdentity => identity !== undefined)
    .filter((identity) => keys.has(identity.key))
    .map((identity) => identity.shown);
}

function asSibling(task: Task, keys: ReadonlySet<string>, exemptionKey: string): Sibling {
  return {
    taskArn: task.taskArn ?? '',
    ...(task.lastStatus ? { lastStatus: cleanText(task.lastStatus, 'short') } : {}),
    ...(task.group ? { group: cleanText(task.group) } : {}),
    sharedImages: [...new Set(sharedImages(task, keys))],
    exempt: isExempt(task, exemptionKey),
  };
}

/** List the cluster's other tasks (desired status RUNNING) that share an image with the task. */
export async function findSiblings(ctx: TaskContext): Promise<SiblingLookup> {
  const { clusterArn, taskArn } = ctx.request.target;
  const images = workloadImages(ctx.task);
  if (images.length === 0) {
    return { kind: 'found', search: { images, siblings: [], compared: 0, truncated: false } };
  }
  const ownId = taskIdOf(taskArn);
  let listed: { arns: string[]; truncated: boolean };
  try {
    listed = await listRunningTaskArns(ctx.ecs, clusterArn, MAX_TASKS_COMPARED);
  } catch (error) {
    return { kind: 'error', error, permission: 'ecs:ListTasks' };
  }
  // Only well-formed task ARNs are ever passed back to ECS.
  const others = listed.arns.filter((arn) => matches(ECS_TASK_ARN, arn) && taskIdOf(arn) !== ownId);
  let described: Task[];
  try {
    described = await describeTasksInBatches(ctx.ecs, clusterArn, others);
  } catch (error) {
    return { kind: 'error', error, permission: 'ecs:DescribeTasks' };
  }
  const keys = new Set(images.map((image) => image.key));
  const siblings = described
    .filter(
      (task) =>
        task.clusterArn === clusterArn &&
        task.desiredStatus === 'RUNNING' &&
        matches(ECS_TASK_ARN, task.taskArn) &&
        taskIdOf(task.taskArn) !== ownId,
    )
    .map((task) => asSibling(task, keys, ctx.request.exemptionKey))
    .filter((sibling) => sibling.sharedImages.length > 0);
  return {
    kind: 'found',
    search: { images, siblings, compared: others.length, truncated: listed.truncated },
  };
}

/** Task ids, the first few, for one line. */
export function idList(siblings: readonly Sibling[]): string {
  const ids = siblings.slice(0, IDS_SHOWN).map((sibling) => taskIdOf(sibling.taskArn));
  const more = siblings.length > IDS_SHOWN ? ` and ${siblings.length - IDS_SHOWN} more` : '';
  return `${ids.join(', ')}${more}`;
}

interface StopAttempt {
  taskArn: string;
  error?: unknown;
}

async function stopAll(ctx: TaskContext, siblings: readonly Sibling[]): Promise<StopAttempt[]> {
  const reason = stopReason(ctx.request);
  const attempts: StopAttempt[] = [];
  for (let start = 0; start < siblings.length; start += STOP_CONCURRENCY) {
    const batch = siblings.slice(start, start + STOP_CONCURRENCY);
    const settled = await Promise.allSettled(
      batch.map((sibling) =>
        ctx.ecs.send(
          new StopTaskCommand({
            cluster: ctx.request.target.clusterArn,
            task: sibling.taskArn,
            reason,
          }),
        ),
      ),
    );
    settled.forEach((result, index) => {
      const taskArn = batch[index]?.taskArn ?? '';
      attempts.push(
        result.status === 'fulfilled' ? { taskArn } : { taskArn, error: result.reason },
      );
    });
  }
  return attempts;
}

function nothingToStop(ctx: TaskContext, search: SiblingSearch): ActionOutcome {
  const status = ctx.state.kind === 'stopped-by-us' ? 'already-contained' : 'contained';
  const how = search.images.some((image) => image.byReference) ? 'image reference' : 'image digest';
  const detail =
    search.images.length === 0
      ? 'the task reports no workload image to compare: no sibling tasks to stop'
      : `no other running task in the cluster runs the same image (${search.compared} compared by ${how}): nothing to stop`;
  return outcome(ACTION, status, detail, { compared: search.compared });
}

/** `ecs:stop-sibling-tasks`: stop the siblings (not the exempt ones) with the same reason. */
export async function stopSiblings(
  ctx: TaskContext,
  lookup: SiblingLookup,
): Promise<ActionOutcome> {
  if (lookup.kind === 'error') {
    return failedOutcome(
      ACTION,
      'looking for tasks that run the same image failed; no sibling was stopped',
      lookup.error,
      lookup.permission,
    );
  }
  const { search } = lookup;
  const targets = search.siblings.filter((sibling) => !sibling.exempt);
  const exempt = search.siblings.filter((sibling) => sibling.exempt);
  const listed = (siblings: readonly { taskArn: string }[]) =>
    siblings.slice(0, ARNS_IN_EVIDENCE).map((sibling) => sibling.taskArn);
  const evidence = { compared: search.compared, exempt: listed(exempt) };
  const exemptText =
    exempt.length > 0 ? `; ${exempt.length} exempt (left running): ${idList(exempt)}` : '';
  if (search.truncated) {
    return failedBecause(
      ACTION,
      `the cluster has more than ${MAX_TASKS_COMPARED} running tasks: only ${search.compared} were compared, so siblings may be missed; none was stopped`,
      false,
    );
  }
  if (targets.length === 0 && exempt.length > 0) {
    return outcome(
      ACTION,
      'skipped',
      `every task that runs the same image carries the exemption tag${exemptText}`,
      evidence,
    );
  }
  if (targets.length === 0) return nothingToStop(ctx, search);
  if (ctx.request.dryRun) {
    return outcome(
      ACTION,
      'dry-run',
      boundedDetail(
        `would stop ${targets.length} other task(s) that run the same image: ${idList(targets)}${exemptText}`,
      ),
      { ...evidence, wouldStop: listed(targets) },
    );
  }
  const attempts = await stopAll(ctx, targets);
  const failed = attempts.filter((attempt) => attempt.error !== undefined);
  const stopped = attempts.filter((attempt) => attempt.error === undefined);
  const stoppedEvidence = boundedEvidence({
    ...evidence,
    stopped: listed(stopped),
    failed: failed.slice(0, ARNS_IN_EVIDENCE).map((attempt) => ({
      taskArn: attempt.taskArn,
      error: describeError(attempt.error, 'ecs:StopTask').summary,
    })),
  });
  if (failed.length > 0) {
    const first = describeError(failed[0]?.error, 'ecs:StopTask');
    return {
      ...failedBecause(
        ACTION,
        boundedDetail(
          `stopped ${stopped.length} of ${targets.length} sibling task(s); StopTask failed for ${failed.length}, first: ${taskIdOf(failed[0]?.taskArn ?? '')}: ${first.summary}${exemptText}`,
        ),
        failed.some((attempt) => describeError(attempt.error).retryable),
      ),
      evidence: stoppedEvidence,
    };
  }
  return outcome(
    ACTION,
    'contained',
    boundedDetail(
      `stopped ${stopped.length} other task(s) that run the same image: ${idList(targets)}${exemptText}`,
    ),
    stoppedEvidence,
  );
}
