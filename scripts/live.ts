/**
 * `replay --live`: run the real containment for a finding in-process, through the same
 * function code the Lambdas run, with the default credential chain (AWS_ENDPOINT_URL is
 * honoured by the SDK). Loaded only when --live is given.
 */
import type { Response } from '../shared/alert.js';
import type { ContainmentRequest, Surface } from '../shared/contracts.js';
import { readContainmentAnswer } from '../functions/router/containment.js';
import { cleanText } from '../shared/sanitize.js';
import { describeError } from '../shared/containment.js';

type ContainLive = (
  request: ContainmentRequest,
  options: { kubeconfig?: string },
) => Promise<unknown>;

const MODULES: Record<Surface, string> = {
  'eks-pod': '../functions/isolate-pod/live.js',
  'ecs-task': '../functions/stop-task/live.js',
  'ec2-instance': '../functions/quarantine-ec2/live.js',
};

/** Contain for real and return what the router would have received. */
export async function containLive(
  request: ContainmentRequest,
  options: { kubeconfig?: string },
): Promise<Response> {
  let run: ContainLive;
  try {
    ({ containLive: run } = (await import(MODULES[request.target.surface])) as {
      containLive: ContainLive;
    });
  } catch (error) {
    return {
      outcomes: [],
      notes: [],
      failure: cleanText(
        `live containment for ${request.target.surface} could not be loaded: ${describeError(error).summary}`,
      ),
    };
  }
  try {
    const result = await run(request, options);
    // Checked and sanitized exactly as the router checks a containment function's answer.
    return readContainmentAnswer(JSON.stringify(result), request.findingId);
  } catch (error) {
    return {
      outcomes: [],
      notes: [],
      failure: cleanText(`live containment failed: ${describeError(error).summary}`, 'description'),
    };
  }
}
