/**
 * `ecs:stop-task`: StopTask with a reason that names the finding, then tag the task so a
 * re-run (and a human) can tell who stopped it and why. ECS-managed network interfaces refuse
 * security-group changes, so stopping is the containment for a task.
 */
import { StopTaskCommand, TagResourceCommand } from '@aws-sdk/client-ecs';
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

/** Tag the stopped task; the answer is one phrase for the outcome's detail. */
async function tagStoppedTask(ctx: TaskContext, at: Date): Promise<{ ok: boolean; text: string }> {
  const { taskArn } = ctx.request.target;
  if (parseTaskArn(taskArn)?.cluster === undefined) {
    return {
      ok: false,
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
    return { ok: true, text: `tagged ${QUARANTINE_TAGS.findingId}=${ctx.request.findingId}` };
  } catch (error) {
    return {
      ok: false,
      text: `tagging failed (the stop stands): ${describeError(error, 'ecs:TagResource').summary}`,
    };
  }
}

/**
 * The target's stop, in flight: `answered` settles once StopTask has answered (at once when
 * no StopTask is sent), so a step that must follow the stop can wait for it without also
 * waiting for the tagging; `outcome` settles after the tagging (AWS errors become the
 * outcome, never a rejection).
 */
export interface TargetStop {
  answered: Promise<void>;
  outcome: Promise<ActionOutcome>;
}

/** Stop the finding's task (or say why not), then tag it. StopTask is sent before this returns. */
export function stopTarget(ctx: TaskContext): TargetStop {
  const answer = sendStop(ctx);
  return {
    // Never rejects, even on a bug: `outcome` carries any error to the caller.
    answered: answer.then(
      () => undefined,
      () => undefined,
    ),
    outcome: answer.then((stopped) =>
      stopped instanceof Date ? tagAndReport(ctx, stopped) : stopped,
    ),
  };
}

/** StopTask, or the outcome when it is not sent or failed; the time of the stop when it worked. */
async function sendStop(ctx: TaskContext): Promise<ActionOutcome | Date> {
  const { request, state } = ctx;
  const { taskArn, clusterArn } = request.target;
  if (state.kind === 'stopped-by-us') return outcome(ACTION, 'already-contained', state.detail);
  if (state.kind === 'stopped') return outcome(ACTION, 'skipped', state.detail);

  const reason = stopReason(request);
  if (request.dryRun) {
    return outcome(
      ACTION,
      'dry-run',
      `would stop task ${taskArn} with reason "${reason}" and tag it ${QUARANTINE_TAGS.quarantinedBy}, ${QUARANTINE_TAGS.findingId}, ${QUARANTINE_TAGS.containedAt}`,
      { taskArn, reason },
    );
  }
  let desiredStatus: string | undefined;
  try {
    const answer = await ctx.ecs.send(
      new StopTaskCommand({ cluster: clusterArn, task: taskArn, reason }),
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
  return ctx.now();
}

/**
 * Tag the stopped task and report the stop. The tag waits for StopTask's answer so that a
 * task whose stop failed never carries tags that say it was contained.
 */
async function tagAndReport(ctx: TaskContext, stoppedAt: Date): Promise<ActionOutcome> {
  const { taskArn } = ctx.request.target;
  const reason = stopReason(ctx.request);
  const tagging = await tagStoppedTask(ctx, stoppedAt);
  return outcome(ACTION, 'contained', `task stopped with reason "${reason}"; ${tagging.text}`, {
    taskArn,
    reason,
    stoppedAt: stoppedAt.toISOString(),
    tagged: tagging.ok,
  });
}
