/**
 * stop-task Lambda: the composition root. Only here is the ECS client built; `stopTask`
 * does the work with it. The router's ContainmentRequest in, one outcome per action out;
 * a request that fails validation throws BadRequestError (the router reports it).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { ECSClient } from '@aws-sdk/client-ecs';
import { parseContainmentRequest, fitContract } from '../../shared/containment.js';
import type { ContainmentResult } from '../../shared/contracts.js';
import { ECS_MAX_ATTEMPTS, stopTask } from './stop-task.js';

const SERVICE = 'guardduty-runtime-responder-stop-task';
const logger = new Logger({ serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });

let ecs: ECSClient | undefined;
const client = () =>
  (ecs ??= tracer.captureAWSv3Client(new ECSClient({ maxAttempts: ECS_MAX_ATTEMPTS })));

/** Contain the request's ECS task. */
export async function handler(event: unknown): Promise<ContainmentResult> {
  const request = parseContainmentRequest(event, 'ecs-task');
  // Validated identifiers only: nothing from the workload reaches the log unsanitized.
  logger.appendKeys({
    findingId: request.findingId,
    clusterArn: request.target.clusterArn,
    taskArn: request.target.taskArn,
  });
  try {
    logger.info('containment request', { actions: request.actions, dryRun: request.dryRun });
    const result = await stopTask(request, { ecs: client(), logger });
    for (const { action, status, retryable, detail } of result.outcomes) {
      logger.info('outcome', { action, status, retryable, detail });
    }
    return fitContract(result);
  } finally {
    logger.resetKeys();
  }
}
