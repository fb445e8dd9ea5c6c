/**
 * Pure rules for at-least-once delivery and the blast-radius budget: which deliveries are
 * the same response, and which budget window a moment falls in.
 */
import type { ActionOutcome, Target } from './contracts.js';
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

/**
 * The budget's scope: what one attacker foothold can reach. A cluster for pods and tasks
 * (account and region included, since cluster names repeat across accounts), the account
 * for instances. One scope may only use a share of its surface's budget, so findings raised
 * in one cluster cannot switch containment off for every other cluster.
 */
export interface BudgetScope {
  /** Stable key for the store (validated identifiers only). */
  key: string;
  /** How an operator reads it in an alert. */
  label: string;
  /** The shortest name that tells scopes apart on a subject line. */
  name: string;
}

export function budgetScope(target: Target, accountId: string, region: string): BudgetScope {
  switch (target.surface) {
    case 'eks-pod':
      return {
        key: `eks:${accountId}:${region}:${target.clusterName}`,
        label: `EKS cluster ${target.clusterName} (account ${accountId}, ${region})`,
        name: `cluster ${target.clusterName}`,
      };
    case 'ecs-task':
      return {
        key: `ecs:${target.clusterArn}`,
        label: `ECS cluster ${target.clusterArn}`,
        name: `cluster ${target.clusterArn.slice(target.clusterArn.lastIndexOf('/') + 1)}`,
      };
    case 'ec2-instance':
      return {
        key: `ec2:${accountId}`,
        label: `EC2 instances of account ${accountId}`,
        name: `account ${accountId}`,
      };
  }
}

/**
 * Containments one scope may use in a window: its share of the surface's limit, rounded
 * down, but at least one while the surface allows any (a share that rounds to zero would
 * make a small budget contain nothing at all).
 */
export function scopeLimit(surfaceLimit: number, share: number): number {
  if (surfaceLimit <= 0) return 0;
  return Math.max(1, Math.floor(surfaceLimit * share));
}

/**
 * Whether a containment changed the workload, which is what the budget counts. A dry run's
 * planned actions count as the change they would make; already contained, skipped (exempt,
 * gone) and failed actions changed nothing.
 */
export function changedSomething(outcomes: readonly Pick<ActionOutcome, 'status'>[]): boolean {
  return outcomes.some((outcome) => outcome.status === 'contained' || outcome.status === 'dry-run');
}
