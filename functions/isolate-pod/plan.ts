/**
 * Every action is planned from reads first, then (unless dry run) carried out with at most
 * one write. Dry run is decided here, in one place: a plan is either reported or run.
 */
import { failedOutcome, outcome } from '../../shared/containment.js';
import type { ActionId, ActionOutcome, OutcomeStatus } from '../../shared/contracts.js';
import { kubeFailure, permissionOf, type KubeCall } from './kube.js';

/** What an action did (or found), with the commands that undo it and what to tell a human. */
export interface StepResult {
  outcome: ActionOutcome;
  /** kubectl commands that undo what this action did or found done by the responder. */
  release: string[];
  notes: string[];
  /** The pod's labels once this step changed them (detach), to judge which policies select it. */
  labelsAfter?: Readonly<Record<string, string>>;
}

/** What undoes a step: the commands, or a note saying what to undo by hand and why. */
export type Undo = Pick<StepResult, 'release' | 'notes'>;

export const NOTHING_TO_UNDO: Undo = { release: [], notes: [] };

/** A step's result with what undoes it; a note about a manual undo comes first. */
export const undoneBy = (
  result: ActionOutcome,
  undo: Undo,
  notes: readonly string[] = [],
): StepResult => ({ outcome: result, release: undo.release, notes: [...undo.notes, ...notes] });

/** An action after its reads: either its outcome is known, or one write remains. */
export type Plan =
  | { kind: 'settled'; result: StepResult }
  | { kind: 'write'; intent: string; run: () => Promise<StepResult> };

/** A result with no release commands or notes (refusals, failures). */
export const only = (result: ActionOutcome): StepResult => ({
  outcome: result,
  release: [],
  notes: [],
});

export const settled = (result: StepResult | ActionOutcome): Plan => ({
  kind: 'settled',
  result: 'outcome' in result ? result : only(result),
});

/** A failed Kubernetes call as an outcome naming the step and the permission it needed. */
export function kubeFailed(
  action: ActionId,
  step: string,
  error: unknown,
  call: KubeCall,
): ActionOutcome {
  return failedOutcome(action, step, kubeFailure(error), permissionOf(call));
}

/** Carry a plan out: the write when there is one, else what the reads found. */
export async function carryOut(plan: Plan): Promise<StepResult> {
  return plan.kind === 'write' ? plan.run() : plan.result;
}

const REHEARSAL_PREFIX: Record<Exclude<OutcomeStatus, 'failed'>, string> = {
  'already-contained': 'would change nothing, already done: ',
  skipped: 'would skip: ',
  contained: 'would change nothing: ',
  'dry-run': '',
};

/** The dry-run outcome of a plan: what it would do. A read that failed stays failed. */
export function rehearse(action: ActionId, plan: Plan): StepResult {
  if (plan.kind === 'write') return only(outcome(action, 'dry-run', `would ${plan.intent}`));
  const found = plan.result.outcome;
  if (found.status === 'failed') return only(found);
  return only(
    outcome(action, 'dry-run', `${REHEARSAL_PREFIX[found.status]}${found.detail}`, found.evidence),
  );
}
