/**
 * `replay --live`: the same containment as the Lambda, in-process, with the default
 * credential chain. The SDK honours AWS_ENDPOINT_URL, so this also runs against an emulator.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { fitContract, parseContainmentRequest } from '../../shared/containment.js';
import type { ContainmentRequest, ContainmentResult } from '../../shared/contracts.js';
import { ECS_MAX_ATTEMPTS, stopTask } from './stop-task.js';

/** Contain the request's ECS task from this process (`options` are for the EKS surface). */
export async function containLive(
  request: ContainmentRequest,
  _options: { kubeconfig?: string },
): Promise<ContainmentResult> {
  const parsed = parseContainmentRequest(request, 'ecs-task');
  const ecs = new ECSClient({ region: parsed.region, maxAttempts: ECS_MAX_ATTEMPTS });
  try {
    return fitContract(await stopTask(parsed, { ecs }));
  } finally {
    ecs.destroy();
  }
}
