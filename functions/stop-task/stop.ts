/**
 * `ecs:stop-task`: StopTask with a reason that names the finding, and tags so a re-run (and
 * a human) can tell who stopped it and why. ECS-managed network interfaces refuse
 * security-group changes, so stopping is the containment for a task.
 */
import { StopTaskCommand, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-ecs';
import { describeError, failedBecause, failedOutcome, outcome } from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import { cleanText } from '../../shared/sanitize.js';
import type { TaskContext } from './context.js';
import { parseTaskArn, QUARANTINE_TAGS, RESPONDER, stopReason } from './task-facts.js';

const ACTION = 'ecs:stop-task';

/** The tags written on a stopped task. */
export function quarantineTags(findingId: string, at: Date): { key: string; value: string }[] {
  return [
    { key: QUARANTINE_TAGS.quarantinedBy, value: RESPONDER },
    { key: QUARANTINE_TAGS.findingId, value: findingId },
    { key: QUARANTINE_TAGS.containedAt, value: at.toISOString() },
  ];
}

/**
 * Tag the task as its stop is requested; the answer is one phrase for the outcome's detail.
 * `written` says whether the tags are on the task (and must be withdrawn if the stop fails).
 */
async function tagTask(ctx: TaskContext, at: Date): Promise<{ written: boolean; text: string }> {
  const { taskArn } = ctx.request.target;
  if (parseTaskArn(taskArn)?.cluster === undefined) {
    return {
      written: false,
      text: 'not tagged: the task ARN has the old format, which ECS cannot tag',
    };
  }
  try {
    await ctx.ecs.send(
      new TagResourceCommand({
        resourceArn: taskArn,
        tags: quarantineTags(ctx.request.findingId, at),
      }),
    );
    return { written: true, text: `tagged ${QUARANTINE_TAGS.findingId}=${ctx.request.findingId}` };
  } catch (error) {
    return {
      written: false,
      text: `tagging failed (the stop stands): ${describeError(error, 'ecs:TagResource').summary}`,
    };
  }
}

/** Take the tags back off a task whose stop failed, so none says it was contained. */
async function withdrawTags(ctx: TaskContext): Promise<string> {
  try {
    await ctx.ecs.send(
      new UntagResourceCommand({
        resourceArn: ctx.request.target.taskArn,
        tagKeys: Object.values(QUARANTINE_TAGS),
      }),
    );
    return 'the tags sent with the stop were removed';
  } catch (error) {
    return `the tags sent with the stop could not be removed, so the task wrongly carries ${QUARANTINE_TAGS.containedAt}: ${describeError(error, 'ecs:UntagResource').summary}`;
  }
}

/**
 * The target's stop, in flight: `answered` settles once StopTask has answered (at once when
 * no StopTask is sent), so a step that must follow the stop can wait for it; `outcome`
 * settles once the tagging sent alongside has answered too (AWS errors become the
 * outcome, never a rejection).
 */
export interface TargetStop {
  answered: Promise<void>;
  outcome: Promise<ActionOutcome>;
}

/**
 * Stop the finding's task (or say why not) and tag it in the same round trip: the tags
 * cost no extra wait on the critical path. If the stop fails they are withdrawn, so a task
 * that is still running never keeps tags saying it was contained. StopTask is sent before
 * this returns.
 */
export function stopTarget(ctx: TaskContext): TargetStop {
  const skip = reasonNotToSend(ctx);
  if (skip) return { answered: Promise.resolve(), outcome: Promise.resolve(skip) };
  const requestedAt = ctx.now();
  const answer = sendStop(ctx);
  const tagging = tagTask(ctx, requestedAt);
  return {
    // Never rejects, even on a bug: `outcome` carries any error to the caller.
    answered: answer.then(
      () => undefined,
      () => undefined,
    ),
    outcome: Promise.all([answer, tagging]).then(async ([stopped, tagged]) => {
      if (stopped === 'stopped') return stoppedOutcome(ctx, requestedAt, tagged);
      if (!tagged.written) return stopped;
      const withdrawn = await withdrawTags(ctx);
      return failedBecause(ACTION, `${stopped.detail}; ${withdrawn}`, stopped.retryable ?? true);
    }),
  };
}

/** The outcome when StopTask must not be sent: already stopped, or a dry run. */
function reasonNotToSend(ctx: TaskContext): ActionOutcome | undefined {
  const { request, state } = ctx;
  if (state.kind === 'stopped-by-us') return outcome(ACTION, 'already-contained', state.detail);
  if (state.kind === 'stopped') return outcome(ACTION, 'skipped', state.detail);
  if (!request.dryRun) return undefined;
  const { taskArn } = request.target;
  const reason = stopReason(request);
  return outcome(
    ACTION,
    'dry-run',
    `would stop task ${taskArn} with reason "${reason}" and tag it ${QUARANTINE_TAGS.quarantinedBy}, ${QUARANTINE_TAGS.findingId}, ${QUARANTINE_TAGS.containedAt}`,
    { taskArn, reason },
  );
}

/** StopTask: 'stopped' when ECS accepted it, else the failed outcome. */
async function sendStop(ctx: TaskContext): Promise<ActionOutcome | 'stopped'> {
  const { taskArn, clusterArn } = ctx.request.target;
  let desiredStatus: string | undefined;
  try {
    const answer = await ctx.ecs.send(
      new StopTaskCommand({ cluster: clusterArn, task: taskArn, reason: stopReason(ctx.request) }),
    );
    desiredStatus = answer.task?.desiredStatus;
  } catch (error) {
    return failedOutcome(
      ACTION,
      'StopTask failed; the task may still be running',
      error,
      'ecs:StopTask',
    );
  }
  if (desiredStatus !== undefined && desiredStatus !== 'STOPPED') {
    return failedBecause(
      ACTION,
      `StopTask answered, but the task's desired status is ${cleanText(desiredStatus, 'short')}, not STOPPED`,
      true,
    );
  }
  return 'stopped';
}

function stoppedOutcome(
  ctx: TaskContext,
  stoppedAt: Date,
  tagging: { written: boolean; text: string },
): ActionOutcome {
  const { taskArn } = ctx.request.target;
  const reason = stopReason(ctx.request);
  return outcome(ACTION, 'contained', `task stopped with reason "${reason}"; ${tagging.text}`, {
    taskArn,
    reason,
    stoppedAt: stoppedAt.toISOString(),
    tagged: tagging.written,
  });
}
