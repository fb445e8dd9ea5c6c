/**
 * Calling a containment function and reading its answer. Whatever goes wrong (timeout,
 * throttling, a function error, an answer that does not match the contract) becomes a
 * `failure` in the Response: never a silent success.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Response } from '../../shared/alert.js';
import {
  ContainmentResultSchema,
  type ContainmentRequest,
  type Surface,
} from '../../shared/contracts.js';
import { describeIssues } from '../../shared/finding-schema.js';
import { cleanText } from '../../shared/sanitize.js';
import { describeError } from '../../shared/containment.js';

/** What a containment answered, and whether trying again may help. */
export type ContainResponse = Response & { retryable: boolean };

/**
 * How the router has a workload contained: the surface's containment function in AWS, a
 * simulation in `replay --stream`. Never throws: every problem is a `failure`.
 */
export type Containment = (
  surface: Surface,
  request: ContainmentRequest,
) => Promise<ContainResponse>;

const failed = (message: string, retryable: boolean): ContainResponse => ({
  outcomes: [],
  notes: [],
  failure: cleanText(message, 'description'),
  retryable,
});

/** A call that did not answer in time. */
export class DeadlineError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * Run `call` with an abort signal and a hard deadline: the signal asks the SDK to cancel,
 * and the race guarantees the router moves on even if a transport ignores the signal.
 */
export async function withDeadline<T>(
  call: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineError(`no answer within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([call(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Decode the function's JSON answer into a Response; details from AWS are sanitized too. */
export function readContainmentAnswer(payload: string, findingId: string): ContainResponse {
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return failed('containment function returned a payload that is not JSON', false);
  }
  const parsed = ContainmentResultSchema.safeParse(body);
  if (!parsed.success) {
    return failed(
      `containment function answer does not match the contract: ${describeIssues(parsed.error, 'result')}`,
      false,
    );
  }
  const result = parsed.data;
  if (result.findingId !== findingId) {
    return failed(
      `containment function answered for finding ${result.findingId}, not ${findingId}`,
      false,
    );
  }
  const outcomes = result.outcomes.map((outcome) => ({
    ...outcome,
    detail: cleanText(outcome.detail, 'description'),
  }));
  return {
    outcomes,
    notes: result.notes.map((note) => cleanText(note, 'description')),
    release: result.release === undefined ? undefined : cleanText(result.release, 'description'),
    retryable: outcomes.some(
      (outcome) => outcome.status === 'failed' && outcome.retryable === true,
    ),
  };
}

/** Invoke the containment function synchronously with the narrow request. */
export async function invokeContainment(
  lambda: LambdaClient,
  functionName: string,
  request: ContainmentRequest,
  timeoutMs: number,
): Promise<ContainResponse> {
  let answer;
  try {
    answer = await withDeadline(
      (signal) =>
        lambda.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: 'RequestResponse',
            Payload: new TextEncoder().encode(JSON.stringify(request)),
          }),
          { abortSignal: signal },
        ),
      timeoutMs,
    );
  } catch (error) {
    // Throttling, timeouts and 5xx may pass; a missing permission or function will not.
    const facts = describeError(error, 'lambda:InvokeFunction');
    return failed(`invoking ${functionName} failed: ${facts.summary}`, facts.retryable);
  }
  const payload = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
  if (answer.FunctionError) {
    return failed(
      `${functionName} raised ${answer.FunctionError} error: ${payload.slice(0, 1000)}`,
      true,
    );
  }
  return readContainmentAnswer(payload, request.findingId);
}

/** Containment by the surface's Lambda function; a surface without one cannot be contained. */
export function lambdaContainment(
  lambda: LambdaClient,
  functionNames: Partial<Record<Surface, string>>,
  timeoutMs: number,
): Containment {
  return (surface, request) => {
    const functionName = functionNames[surface];
    if (functionName === undefined) {
      return Promise.resolve(failed(`no containment function is configured for ${surface}`, false));
    }
    return invokeContainment(lambda, functionName, request, timeoutMs);
  };
}
