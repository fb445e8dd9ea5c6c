/**
 * Pure rules for at-least-once delivery and the blast-radius budget: which deliveries are
 * the same response, and which budget window a moment falls in.
 */
import type { Target } from './contracts.js';
import type { Evaluation } from './decide.js';

/** The workload part of the key: what a containment acts on. */
export function targetKey(target: Target): string {
  switch (target.surface) {
    case 'eks-pod':
      return `eks:${target.clusterName}/${target.namespace}/${target.podUid ?? target.podName ?? target.containerIds[0] ?? '?'}`;
    case 'ecs-task':
      return `ecs:${target.taskArn}`;
    case 'ec2-instance':
      return `ec2:${target.instanceId}`;
  }
}

/**
 * One response per finding, workload and decision: GuardDuty re-sends the same finding id
 * (with a higher count) every 15 minutes to 6 hours. The decision is part of the key so a
 * finding first only notified (e.g. below the threshold) is still contained when a later
 * delivery calls for it. Null for ignore and reject (nothing recorded).
 */
export function idempotencyKey(evaluation: Evaluation): string | null {
  const id = evaluation.finding?.id;
  const { decision } = evaluation;
  if (id === undefined || (decision !== 'contain' && decision !== 'notify')) return null;
  return `finding#${id}#${evaluation.target ? targetKey(evaluation.target) : 'no-target'}#${decision}`;
}

/** Start (epoch ms) of the fixed budget window that contains `now`. */
export function budgetWindowStart(now: number, windowMinutes: number): number {
  const size = windowMinutes * 60_000;
  return Math.floor(now / size) * size;
}
