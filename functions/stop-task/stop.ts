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

/** Stop the finding's task (or say why not) and tag it. */
export async function stopTarget(ctx: TaskContext): Promise<ActionOutcome> {
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
  const stoppedAt = ctx.now();
  const tagging = await tagStoppedTask(ctx, stoppedAt);
  return outcome(ACTION, 'contained', `task stopped with reason "${reason}"; ${tagging.text}`, {
    taskArn,
    reason,
    stoppedAt: stoppedAt.toISOString(),
    tagged: tagging.ok,
  });
}
