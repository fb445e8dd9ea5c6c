/**
 * The router's work for one event, with every client passed in. At-least-once delivery
 * and hostile volume are handled here: one claim per finding (concurrent duplicates contain
 * once), a per-surface containment budget, exactly one alert per response, an audit line,
 * and a failed invocation (so EventBridge retries, then dead-letters) when a retryable
 * failure left the finding uncontained. Nothing is lost silently.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
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
import type { Surface } from '../../shared/contracts.js';
import {
  containmentRequest,
  evaluate,
  type Decision,
  type Evaluation,
} from '../../shared/decide.js';
import type { Policy } from '../../shared/policy.js';
import { budgetWindowStart, idempotencyKey } from '../../shared/reliability.js';
import { cleanText } from '../../shared/sanitize.js';
import { invokeContainment } from './containment.js';
import { publishAlert } from './publish.js';
import type { ResponseStore } from './store.js';

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
  lambda: LambdaClient;
  sns: SNSClient;
  store: ResponseStore;
  topicArn: string;
  /** Containment function name or ARN per surface; a missing one cannot be called. */
  functionNames: Partial<Record<Surface, string>>;
  containmentTimeoutMs: number;
  logger: RouterLogger;
  metrics?: RouterMetrics;
  now?: () => number;
}

export type RouterStatus = Status | 'DUPLICATE';

export interface RouterResult {
  decision: Decision;
  findingId: string | null;
  status: RouterStatus | null;
  alertMessageId: string | null;
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
type ContainResponse = Response & { retryable: boolean };

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
  const functionName = deps.functionNames[surface];
  if (functionName === undefined) {
    return {
      ...NOTHING_DONE,
      failure: cleanText(`no containment function is configured for ${surface}`),
      retryable: false,
    };
  }
  return invokeContainment(deps.lambda, functionName, request, deps.containmentTimeoutMs);
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
  return alert === null ? null : publishAlert(deps.sns, deps.topicArn, alert);
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
  return { decision: evaluation.decision, findingId, status: 'DUPLICATE', alertMessageId };
}

/** Take one unit of the surface's budget; on the first refusal in a window, say so loudly. */
async function withinBudget(
  evaluation: Evaluation,
  deps: RouterDeps,
  now: number,
): Promise<Evaluation> {
  const surface = evaluation.surface;
  if (evaluation.decision !== 'contain' || surface === null || deps.policy.dryRun)
    return evaluation;
  const { windowMinutes, maxContainments } = deps.policy.budget;
  const windowStart = budgetWindowStart(now, windowMinutes);
  if (await deps.store.takeBudget(surface, windowStart, maxContainments[surface]))
    return evaluation;
  deps.metrics?.addMetric('BudgetExhausted', 'Count', 1);
  const windowEnds = new Date(windowStart + windowMinutes * 60_000);
  if (await deps.store.firstBudgetAlert(surface, windowStart)) {
    await publish(
      deps,
      renderBudgetAlert(surface, maxContainments[surface], windowMinutes, windowEnds),
    );
  }
  return notifyInstead(
    evaluation,
    `blast-radius budget used up: ${maxContainments[surface]} ${surface} containments per ${windowMinutes} minutes (notify-only until ${windowEnds.toISOString()})`,
  );
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
      return { decision: 'reject', findingId, status: null, alertMessageId: null };
    }
    if (evaluation.decision === 'ignore') {
      deps.logger.info('event ignored', summary(evaluation));
      return { decision: 'ignore', findingId, status: null, alertMessageId: null };
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
    let evaluation: Evaluation;
    try {
      evaluation = await withinBudget(initial, deps, now);
    } catch (error) {
      throw await storeUnavailable(initial, error, deps);
    }
    const response: ContainResponse =
      evaluation.decision === 'contain'
        ? await contain(evaluation, deps)
        : { ...NOTHING_DONE, retryable: false };
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
    return { decision: evaluation.decision, findingId, status, alertMessageId };
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
