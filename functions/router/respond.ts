/**
 * The router's work for one event, with every client passed in: evaluate, contain when the
 * policy says so, send exactly one alert, and fail the invocation when containment failed
 * so EventBridge retries it (and finally dead-letters it): nothing is lost silently.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
import { overallStatus, renderAlert, type Response, type Status } from '../../shared/alert.js';
import type { Surface } from '../../shared/contracts.js';
import {
  containmentRequest,
  evaluate,
  type Decision,
  type Evaluation,
} from '../../shared/decide.js';
import type { Policy } from '../../shared/policy.js';
import { cleanText } from '../../shared/sanitize.js';
import { invokeContainment } from './containment.js';
import { publishAlert } from './publish.js';

/** The slice of Powertools Logger the router uses. */
export type RouterLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'appendKeys' | 'resetKeys'>;

/** Counts per decision and outcome, for alarms (Powertools Metrics fits). */
export interface RouterMetrics {
  addMetric(name: string, unit: 'Count', value: number): unknown;
}

export interface RouterDeps {
  policy: Policy;
  lambda: LambdaClient;
  sns: SNSClient;
  topicArn: string;
  /** Containment function name or ARN per surface; a missing one cannot be called. */
  functionNames: Partial<Record<Surface, string>>;
  containmentTimeoutMs: number;
  logger: RouterLogger;
  metrics?: RouterMetrics;
}

export interface RouterResult {
  decision: Decision;
  findingId: string | null;
  status: Status | null;
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

const NOTHING_DONE: Response = { outcomes: [], notes: [] };

async function contain(
  evaluation: Evaluation,
  deps: RouterDeps,
): Promise<Response & { retryable: boolean }> {
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

function logEvaluation(evaluation: Evaluation, logger: RouterLogger): void {
  const summary = {
    decision: evaluation.decision,
    reason: evaluation.reason,
    findingType: evaluation.known.findingType,
    severity: evaluation.known.severity,
    surface: evaluation.surface,
    target: evaluation.target,
    actions: evaluation.actions,
  };
  if (evaluation.decision === 'reject') logger.error('event rejected', summary);
  else logger.info('event evaluated', summary);
}

/** Handle one EventBridge event end to end. */
export async function respond(event: unknown, deps: RouterDeps): Promise<RouterResult> {
  const evaluation = evaluate(event, deps.policy);
  const findingId = evaluation.known.findingId ?? null;
  deps.logger.appendKeys({ findingId });
  try {
    logEvaluation(evaluation, deps.logger);
    deps.metrics?.addMetric(`Decision_${evaluation.decision}`, 'Count', 1);
    if (evaluation.decision === 'ignore' || evaluation.decision === 'reject') {
      return { decision: evaluation.decision, findingId, status: null, alertMessageId: null };
    }
    const response =
      evaluation.decision === 'contain' ? await contain(evaluation, deps) : NOTHING_DONE;
    const status = overallStatus(evaluation, response);
    const alert = renderAlert(evaluation, response);
    if (alert === null) throw new Error('a contain or notify decision must render an alert');
    const alertMessageId = await publishAlert(deps.sns, deps.topicArn, alert);
    deps.logger.info('alert published', {
      status,
      alertMessageId,
      outcomes: response.outcomes,
      failure: response.failure,
    });
    if (status === 'CONTAINMENT FAILED') {
      deps.metrics?.addMetric('ContainmentFailed', 'Count', 1);
      const retryable = 'retryable' in response ? Boolean(response.retryable) : false;
      throw new ContainmentFailedError(
        `containment failed for finding ${findingId ?? '?'}: ${response.failure ?? 'an action failed or reported nothing'}`,
        retryable,
      );
    }
    if (status === 'CONTAINED' || status === 'ALREADY CONTAINED')
      deps.metrics?.addMetric('Contained', 'Count', 1);
    return { decision: evaluation.decision, findingId, status, alertMessageId };
  } finally {
    deps.logger.resetKeys();
  }
}
