/**
 * The router's work for one event, with every client passed in. At-least-once delivery
 * and hostile volume are handled here: one claim per finding (concurrent duplicates contain
 * once), a per-surface containment budget, exactly one alert per response, an audit line,
 * and a failed invocation (so EventBridge retries, then dead-letters) when a retryable
 * failure left the finding uncontained. Nothing is lost silently.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  overallStatus,
  renderAlert,
  renderBudgetAlert,
  renderUpdateAlert,
  type Alert,
  type Response,
  type Status,
} from '../../shared/alert.js';
import { describeError } from '../../shared/containment.js';
import {
  containmentRequest,
  evaluate,
  type Decision,
  type Evaluation,
} from '../../shared/decide.js';
import type { Policy } from '../../shared/policy.js';
import {
  budgetScope,
  budgetWindowStart,
  type BudgetScope,
  changedSomething,
  idempotencyKey,
  scopeLimit,
  targetKey,
} from '../../shared/reliability.js';
import { cleanText } from '../../shared/sanitize.js';
import type { Containment, ContainResponse } from './containment.js';
import type { AlertSender } from './publish.js';
import type { BudgetAnswer, BudgetHold, ResponseStore } from './store.js';

/** The slice of Powertools Logger the router uses. */
export type RouterLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'appendKeys' | 'resetKeys'>;

/** Counts per decision and outcome, for alarms (Powertools Metrics fits). */
export interface RouterMetrics {
  addMetric(name: string, unit: 'Count', value: number): unknown;
}

export interface RouterDeps {
  policy: Policy;
  /** Set when the configured policy could not be loaded: nothing is contained, every finding says why. */
  policyError?: string;
  store: ResponseStore;
  /** Has a workload contained (the surface's Lambda function; a simulation in replay --stream). */
  contain: Containment;
  /** Sends one alert (to the SNS topic; collected in replay --stream). */
  publish: AlertSender;
  logger: RouterLogger;
  metrics?: RouterMetrics;
  now?: () => number;
}

export type RouterStatus = Status | 'DUPLICATE';

/**
 * What the budget did for a contain decision: `taken` (one unit used for a workload that
 * had none this window), `held` (the workload already had one: nothing more used),
 * `released` (taken, then given back because the containment changed nothing), or
 * refused because the scope's share or the surface's budget is used up.
 */
export interface BudgetReport {
  outcome: Exclude<BudgetAnswer, 'taken'> | 'taken' | 'released';
  /** The cluster or account counted against, as an operator reads it. */
  scope: string;
  scopeLimit: number;
  surfaceLimit: number;
}

export interface RouterResult {
  decision: Decision;
  /** Why: the policy's reason, or the router's (budget, unreadable policy). */
  reason: string;
  findingId: string | null;
  status: RouterStatus | null;
  alertMessageId: string | null;
  /** Present when the budget was consulted (contain decisions outside a dry run). */
  budget?: BudgetReport;
}

/** Thrown after the alert is sent, so the event is retried and finally dead-lettered. */
export class ContainmentFailedError extends Error {
  override readonly name = 'ContainmentFailedError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** How long a claim is held before another delivery may take over (router timeout + margin). */
export const CLAIM_LEASE_MS = 150_000;

const NOTHING_DONE: Response = { outcomes: [], notes: [] };

/** The same evaluation, turned into a notify with our reason (nothing will be contained). */
const notifyInstead = (evaluation: Evaluation, reason: string): Evaluation => ({
  ...evaluation,
  decision: 'notify',
  reason,
  actions: [],
});

async function contain(evaluation: Evaluation, deps: RouterDeps): Promise<ContainResponse> {
  const request = containmentRequest(evaluation, deps.policy);
  const surface = evaluation.surface;
  if (request === null || surface === null) {
    return {
      ...NOTHING_DONE,
      failure: cleanText('no containment request could be built'),
      retryable: false,
    };
  }
  return deps.contain(surface, request);
}

function summary(evaluation: Evaluation) {
  return {
    decision: evaluation.decision,
    reason: evaluation.reason,
    findingType: evaluation.known.findingType,
    severity: evaluation.known.severity,
    count: evaluation.finding?.count,
    surface: evaluation.surface,
    target: evaluation.target,
    actions: evaluation.actions,
  };
}

async function publish(deps: RouterDeps, alert: Alert | null): Promise<string | null> {
  return alert === null ? null : deps.publish(alert);
}

/** A re-delivery: no new action; at most one "still active" alert per interval. */
async function answerDuplicate(
  evaluation: Evaluation,
  key: string,
  claim: { status: string; outcome?: string },
  deps: RouterDeps,
  now: number,
): Promise<RouterResult> {
  const findingId = evaluation.finding?.id ?? null;
  deps.metrics?.addMetric('Duplicate', 'Count', 1);
  let alertMessageId: string | null = null;
  if (claim.status === 'done') {
    const interval = deps.policy.duplicateAlertIntervalMinutes * 60_000;
    if (await deps.store.allowUpdateAlert(key, now, interval, evaluation.finding?.count ?? 1)) {
      alertMessageId = await publish(deps, renderUpdateAlert(evaluation, claim.outcome));
    }
  }
  deps.logger.info('duplicate delivery', {
    ...summary(evaluation),
    previous: claim.status,
    updateAlert: alertMessageId !== null,
  });
  return {
    decision: evaluation.decision,
    reason: evaluation.reason,
    findingId,
    status: 'DUPLICATE',
    alertMessageId,
  };
}

/** The budget unit a contain decision needs, and its scope; null when the budget does not apply. */
function budgetHold(
  evaluation: Evaluation,
  policy: Policy,
  now: number,
): { hold: BudgetHold; scope: BudgetScope } | null {
  const { surface, target, finding } = evaluation;
  if (evaluation.decision !== 'contain' || policy.dryRun) return null;
  if (surface === null || target === null || finding === null) return null;
  const { windowMinutes, maxContainments, maxSharePerScope } = policy.budget;
  const scope = budgetScope(target, finding.accountId, finding.region);
  return {
    scope,
    hold: {
      surface,
      windowStart: budgetWindowStart(now, windowMinutes),
      scope: scope.key,
      workload: targetKey(target),
      surfaceLimit: maxContainments[surface],
      scopeLimit: scopeLimit(maxContainments[surface], maxSharePerScope),
    },
  };
}

interface Budgeted {
  evaluation: Evaluation;
  /** The unit this delivery took, to give back if the containment changes nothing. */
  taken: BudgetHold | null;
  report?: BudgetReport;
}

/**
 * Count the workload against its scope's share and its surface's budget. A workload that
 * already holds a unit this window (another finding about it, a retry) goes ahead without
 * using more. On the first refusal per scope (or surface) and window, say so loudly.
 */
async function withinBudget(
  evaluation: Evaluation,
  deps: RouterDeps,
  now: number,
): Promise<Budgeted> {
  const needed = budgetHold(evaluation, deps.policy, now);
  if (needed === null) return { evaluation, taken: null };
  const { hold, scope } = needed;
  const answer = await deps.store.reserveBudget(hold);
  const report: BudgetReport = {
    outcome: answer,
    scope: scope.label,
    scopeLimit: hold.scopeLimit,
    surfaceLimit: hold.surfaceLimit,
  };
  if (answer === 'taken' || answer === 'held')
    return { evaluation, taken: answer === 'taken' ? hold : null, report };

  deps.metrics?.addMetric('BudgetExhausted', 'Count', 1);
  const { windowMinutes } = deps.policy.budget;
  const windowEnds = new Date(hold.windowStart + windowMinutes * 60_000);
  const byScope = answer === 'scope-exhausted';
  if (
    await deps.store.firstBudgetAlert(hold.surface, hold.windowStart, byScope ? hold.scope : null)
  ) {
    await publish(
      deps,
      renderBudgetAlert({
        surface: hold.surface,
        scope: byScope ? scope : null,
        limit: byScope ? hold.scopeLimit : hold.surfaceLimit,
        windowMinutes,
        windowEnds,
      }),
    );
  }
  const reason = byScope
    ? `blast-radius budget used up for ${scope.label}: one cluster or account may use ${hold.scopeLimit} of the ${hold.surfaceLimit} ${hold.surface} containments per ${windowMinutes} minutes (notify-only for it until ${windowEnds.toISOString()})`
    : `blast-radius budget used up: ${hold.surfaceLimit} ${hold.surface} containments per ${windowMinutes} minutes (notify-only until ${windowEnds.toISOString()})`;
  return { evaluation: notifyInstead(evaluation, reason), taken: null, report };
}

/**
 * Give the unit back when the containment changed nothing (already contained, exempt,
 * gone, or failed before any change): only workloads actually changed count. A failed
 * give-back is logged and leaves the unit counted, which errs towards containing less.
 */
async function settleBudget(
  budgeted: Budgeted,
  response: ContainResponse,
  deps: RouterDeps,
): Promise<BudgetReport | undefined> {
  const { taken, report } = budgeted;
  if (taken === null || report === undefined || changedSomething(response.outcomes)) return report;
  try {
    await deps.store.releaseBudget(taken);
    return { ...report, outcome: 'released' };
  } catch (error) {
    deps.logger.warn('budget unit could not be given back', {
      error: describeError(error).summary,
    });
    return report;
  }
}

/** Handle one EventBridge event end to end. */
export async function respond(event: unknown, deps: RouterDeps): Promise<RouterResult> {
  const clock = deps.now ?? Date.now;
  let evaluation = evaluate(event, deps.policy);
  const findingId = evaluation.known.findingId ?? null;
  deps.logger.appendKeys({ findingId });
  try {
    deps.metrics?.addMetric(`Decision_${evaluation.decision}`, 'Count', 1);
    if (evaluation.decision === 'reject') {
      deps.logger.error('event rejected', summary(evaluation));
      return {
        decision: 'reject',
        reason: evaluation.reason,
        findingId,
        status: null,
        alertMessageId: null,
      };
    }
    if (evaluation.decision === 'ignore') {
      deps.logger.info('event ignored', summary(evaluation));
      return {
        decision: 'ignore',
        reason: evaluation.reason,
        findingId,
        status: null,
        alertMessageId: null,
      };
    }
    if (deps.policyError !== undefined) {
      // Fail closed: never contain on a policy we could not read; say so in the alert.
      deps.metrics?.addMetric('ConfigError', 'Count', 1);
      evaluation = notifyInstead(
        evaluation,
        `the responder's policy could not be loaded, so nothing is contained: ${deps.policyError}`,
      );
    }
    return await handleOnce(evaluation, deps, clock);
  } finally {
    deps.logger.resetKeys();
  }
}

/**
 * Without the store neither duplicates nor the budget can be controlled: do not act, say
 * so in an alert, and return the error that fails the invocation so the event is retried.
 */
async function storeUnavailable(
  evaluation: Evaluation,
  error: unknown,
  deps: RouterDeps,
): Promise<ContainmentFailedError> {
  const problem = describeError(error).summary;
  const reason = `the responder's state store is unavailable (${problem}); nothing was contained, the event will be retried`;
  await publish(deps, renderAlert(notifyInstead(evaluation, reason), NOTHING_DONE));
  return new ContainmentFailedError(
    `state store unavailable for finding ${evaluation.finding?.id ?? '?'}: ${problem}`,
    true,
  );
}

async function handleOnce(
  initial: Evaluation,
  deps: RouterDeps,
  clock: () => number,
): Promise<RouterResult> {
  const key = idempotencyKey(initial);
  if (key === null) throw new Error('a contain or notify decision must have an idempotency key');
  const findingId = initial.finding?.id ?? null;
  const now = clock();
  let claim;
  try {
    claim = await deps.store.claim(key, now, CLAIM_LEASE_MS, initial.finding?.count ?? 1);
  } catch (error) {
    throw await storeUnavailable(initial, error, deps);
  }
  if (claim.kind === 'duplicate') return answerDuplicate(initial, key, claim, deps, now);

  let recorded = false;
  try {
    let budgeted: Budgeted;
    try {
      budgeted = await withinBudget(initial, deps, now);
    } catch (error) {
      throw await storeUnavailable(initial, error, deps);
    }
    const { evaluation } = budgeted;
    const response: ContainResponse =
      evaluation.decision === 'contain'
        ? await contain(evaluation, deps)
        : { ...NOTHING_DONE, retryable: false };
    const budget = await settleBudget(budgeted, response, deps);
    const status = overallStatus(evaluation, response);
    const alertMessageId = await publish(deps, renderAlert(evaluation, response));
    const failed = status === 'CONTAINMENT FAILED';
    const retry = failed && response.retryable;
    await deps.store.finish(key, {
      status: retry ? 'failed' : evaluation === initial ? 'done' : 'budget-denied',
      decision: evaluation.decision,
      overall: status,
      outcomes: JSON.stringify(
        response.outcomes.map(({ action, status: s, detail }) => ({ action, status: s, detail })),
      ).slice(0, 20_000),
      count: initial.finding?.count ?? 1,
      at: clock(),
    });
    recorded = true;
    // The audit line: what was decided and done to which workload, one line per response.
    deps.logger.info('response recorded', {
      ...summary(evaluation),
      status,
      outcomes: response.outcomes,
      failure: response.failure,
      budget,
      alertMessageId,
    });
    if (failed) {
      deps.metrics?.addMetric('ContainmentFailed', 'Count', 1);
      if (retry) {
        throw new ContainmentFailedError(
          `containment failed for finding ${findingId ?? '?'}: ${response.failure ?? 'a retryable action failed'}`,
          true,
        );
      }
    } else if (status === 'CONTAINED' || status === 'ALREADY CONTAINED') {
      deps.metrics?.addMetric('Contained', 'Count', 1);
    }
    return {
      decision: evaluation.decision,
      reason: evaluation.reason,
      findingId,
      status,
      alertMessageId,
      ...(budget === undefined ? {} : { budget }),
    };
  } catch (error) {
    if (!recorded) {
      // Release the claim so the retry of this event is not taken for a duplicate.
      await deps.store
        .finish(key, {
          status: 'failed',
          decision: initial.decision,
          overall: 'ERROR',
          outcomes: '[]',
          count: initial.finding?.count ?? 1,
          at: clock(),
        })
        .catch(() => undefined);
    }
    throw error;
  }
}
