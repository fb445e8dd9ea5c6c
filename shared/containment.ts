/**
 * What every containment function shares: validating the router's request, turning any
 * error (AWS SDK, Kubernetes client, network) into a `failed` outcome that says whether a
 * retry may help and which permission is missing, and building outcomes. SDK-free, so the
 * rules are the same for EC2, ECS and Kubernetes.
 */
import { ACTIONS } from './actions.js';
import {
  ContainmentRequestSchema,
  type ActionId,
  type ActionOutcome,
  type ContainmentRequest,
  type ContainmentResult,
  type OutcomeStatus,
  type Surface,
  type Target,
} from './contracts.js';
import { describeIssues } from './finding-schema.js';
import { cleanText, cleanWithin } from './sanitize.js';

/** An outcome's detail must fit the contract (`ActionOutcomeSchema`: 2000 characters). */
const DETAIL_MAX = 2000;

/** A request for one surface, with the target narrowed to that surface. */
export type RequestFor<S extends Surface> = ContainmentRequest & {
  target: Extract<Target, { surface: S }>;
};

/** The request is not one this function can act on. Never retried. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** Validate the router's request for `surface`: schema, target surface, and every action's surface. */
export function parseContainmentRequest<S extends Surface>(
  event: unknown,
  surface: S,
): RequestFor<S> {
  const parsed = ContainmentRequestSchema.safeParse(event);
  if (!parsed.success)
    throw new BadRequestError(
      `invalid containment request: ${describeIssues(parsed.error, 'request')}`,
    );
  const request = parsed.data;
  if (request.target.surface !== surface) {
    throw new BadRequestError(
      `this function contains ${surface} targets, not ${request.target.surface}`,
    );
  }
  const foreign = request.actions.filter((action) => ACTIONS[action].surface !== surface);
  if (foreign.length > 0)
    throw new BadRequestError(`actions not for ${surface}: ${foreign.join(', ')}`);
  return request as RequestFor<S>;
}

/** The account and region a containment function runs in: the only ones it acts in. */
export interface HomeScope {
  accountId: string;
  region: string;
}

/** `arn:<partition>:<service>:<region>:<account>:…`, for any service whose ARNs name both. */
// Every partition (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc, …): a function in
// one of them must still tell where it runs.
const REGIONAL_ARN = /^arn:aws(?:-[a-z]+)*:[a-z0-9-]+:([a-z]{2,}(?:-[a-z]+)+-\d{1,2}):(\d{12}):/;

/**
 * The account and region an ARN names (a Lambda context's `invokedFunctionArn`, an EKS
 * cluster ARN), or undefined when it is not a regional ARN.
 */
export function homeOfArn(arn: string | undefined): HomeScope | undefined {
  const [, region, accountId] = REGIONAL_ARN.exec(arn ?? '') ?? [];
  return region && accountId ? { accountId, region } : undefined;
}

/**
 * Why the request is outside where this function acts, or undefined when it is inside.
 * A function that acts through its own account's names (an EKS cluster name) would
 * otherwise act on another account's resource of the same name. Until a multi-account mode
 * assumes a role into the finding's account, such a request is refused.
 */
export function outsideHome(request: ContainmentRequest, home: HomeScope): string | undefined {
  if (request.accountId === home.accountId && request.region === home.region) return undefined;
  return `the finding is in account ${request.accountId}, region ${request.region}; this function runs in account ${home.accountId}, region ${home.region} and acts only there (it assumes no role into another account)`;
}

/** What an error means for the outcome. */
export interface ErrorFacts {
  retryable: boolean;
  /** One sanitized line: error name and message, and the missing permission when known. */
  summary: string;
  /** e.g. `ec2:ModifyNetworkInterfaceAttribute` or `patch pods`, when access was denied. */
  missingPermission?: string;
  /** HTTP status from the service, when there was one. */
  status?: number;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const TRANSIENT = new Set([
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServerException',
  'Unavailable',
]);
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'AuthFailure',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  body?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function httpStatus(error: ErrorShape): number | undefined {
  const fromSdk = error.$metadata?.httpStatusCode;
  if (typeof fromSdk === 'number') return fromSdk;
  // @kubernetes/client-node's ApiException carries the HTTP status as `code`.
  return typeof error.code === 'number' ? error.code : undefined;
}

/** The IAM action an AWS access-denied message names ("… not authorized to perform: ec2:X …"). */
function permissionInMessage(message: string): string | undefined {
  return /not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1];
}

/** The verb and resource a Kubernetes 403 names (`cannot patch resource "pods"`). */
function kubernetesVerb(body: string): string | undefined {
  const match = /cannot (\w+) resource \\?"([\w.]+)\\?"/.exec(body);
  return match ? `${match[1]} ${match[2]}` : undefined;
}

/**
 * Classify an error. `permission` is the IAM action or RBAC verb the failed step needed,
 * used to name it when the service's message does not.
 */
export function describeError(error: unknown, permission?: string): ErrorFacts {
  const shape: ErrorShape =
    typeof error === 'object' && error !== null ? error : { message: String(error) };
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const message = typeof shape.message === 'string' ? shape.message : '';
  const body = typeof shape.body === 'string' ? shape.body : '';
  const status = httpStatus(shape);
  const code = typeof shape.code === 'string' ? shape.code : undefined;

  const denied = ACCESS_DENIED.has(name) || status === 403 || status === 401;
  const missingPermission = denied
    ? (permissionInMessage(message) ??
      kubernetesVerb(body) ??
      kubernetesVerb(message) ??
      permission)
    : undefined;
  const retryable =
    !denied &&
    (THROTTLING.has(name) ||
      TRANSIENT.has(name) ||
      (code !== undefined && NETWORK_CODES.has(code)) ||
      shape.$fault === 'server' ||
      status === 429 ||
      (status !== undefined && status >= 500));
  const text = [name, message || body.slice(0, 300)].filter(Boolean).join(': ');
  const suffix = missingPermission ? ` (missing permission: ${missingPermission})` : '';
  return {
    retryable,
    summary: cleanText(`${text}${suffix}`, 'description'),
    missingPermission,
    status,
  };
}

/** An outcome for one action. */
export function outcome(
  action: ActionId,
  status: Exclude<OutcomeStatus, 'failed'>,
  detail: string,
  evidence?: Record<string, unknown>,
): ActionOutcome {
  return {
    action,
    status,
    detail: cleanWithin(detail, DETAIL_MAX),
    ...(evidence ? { evidence } : {}),
  };
}

/** A failed outcome from an error, naming the step that failed. */
export function failedOutcome(
  action: ActionId,
  step: string,
  error: unknown,
  permission?: string,
  evidence?: Record<string, unknown>,
): ActionOutcome {
  const facts = describeError(error, permission);
  return {
    action,
    status: 'failed',
    detail: cleanWithin(`${step}: ${facts.summary}`, DETAIL_MAX),
    retryable: facts.retryable,
    ...(evidence ? { evidence } : {}),
  };
}

/** A failed outcome for a reason that is not an exception (e.g. a resource that does not exist). */
export function failedBecause(action: ActionId, detail: string, retryable: boolean): ActionOutcome {
  return { action, status: 'failed', detail: cleanWithin(detail, DETAIL_MAX), retryable };
}

/** Outcomes for the actions of a request that were not run because an earlier step decided. */
export function sameForAll(
  request: ContainmentRequest,
  status: Exclude<OutcomeStatus, 'failed'>,
  detail: string,
): ActionOutcome[] {
  return request.actions.map((action) => outcome(action, status, detail));
}

/**
 * The last step of every containment function: whatever an action wrote, the result fits
 * the contract's limits (detail 2000, note 1000, 20 notes, release 2000), so the router
 * never has to reject a real result for its size.
 */
export function fitContract(result: ContainmentResult): ContainmentResult {
  return {
    findingId: result.findingId,
    outcomes: result.outcomes.map((o) => ({ ...o, detail: cleanWithin(o.detail, DETAIL_MAX) })),
    notes: (result.notes ?? []).slice(0, 20).map((note) => cleanWithin(note, 1000)),
    ...(result.release === undefined ? {} : { release: cleanWithin(result.release, 2000) }),
  };
}

/** Bound evidence so it travels in a Lambda response and an alert (about `maxBytes` of JSON). */
export function boundedEvidence(
  value: Record<string, unknown>,
  maxBytes = 16_000,
): Record<string, unknown> {
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json) <= maxBytes) return value;
  return {
    truncated: true,
    bytes: Buffer.byteLength(json),
    preview: json.slice(0, maxBytes - 200),
  };
}
