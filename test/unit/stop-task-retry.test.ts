/**
 * Retries through the real SDK middleware stack: a fake HTTP handler answers every request
 * with a throttling or server error. (aws-sdk-client-mock replaces `send`, which skips the
 * retry middleware, so it cannot show that the SDK retried before the outcome said so.)
 */
import { Readable } from 'node:stream';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { HttpResponse, type HttpRequest } from '@smithy/core/transport';
import { describe, expect, it } from 'vitest';
import { stopTask } from '../../functions/stop-task/stop-task.js';
import { parseContainmentRequest } from '../../shared/containment.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { loadEvent } from '../helpers.js';

const request = parseContainmentRequest(
  containmentRequest(
    evaluate(loadEvent('ecs-fargate-crypto-miner.json'), defaultPolicy()),
    defaultPolicy(),
  ),
  'ecs-task',
);

/** An ECS client whose every HTTP exchange answers `status` with an ECS JSON error `type`. */
function failingClient(status: number, type: string) {
  const seen: string[] = [];
  const requestHandler = {
    handle: (httpRequest: HttpRequest) => {
      seen.push(String(httpRequest.headers['x-amz-target']));
      return Promise.resolve({
        response: new HttpResponse({
          statusCode: status,
          headers: { 'x-amzn-errortype': type, 'content-type': 'application/x-amz-json-1.1' },
          body: Readable.from([JSON.stringify({ __type: type, message: 'Rate exceeded' })]),
        }),
      });
    },
  };
  const ecs = new ECSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    requestHandler,
    maxAttempts: 3,
    retryStrategy: new ConfiguredRetryStrategy(3, () => 0),
  });
  return { ecs, seen };
}

describe('stopTask through the SDK retry middleware', () => {
  it.each([
    [400, 'ThrottlingException'],
    [503, 'ThrottlingException'],
    [500, 'ServerException'],
  ])(
    'retries HTTP %i %s three times, then reports every action failed and retryable',
    async (status, type) => {
      const { ecs, seen } = failingClient(status, type);
      const result = await stopTask(request, { ecs });

      expect(seen).toEqual([
        'AmazonEC2ContainerServiceV20141113.DescribeTasks',
        'AmazonEC2ContainerServiceV20141113.DescribeTasks',
        'AmazonEC2ContainerServiceV20141113.DescribeTasks',
      ]);
      expect(result.outcomes).toEqual([
        expect.objectContaining({ action: 'ecs:capture-task', status: 'failed', retryable: true }),
        expect.objectContaining({ action: 'ecs:stop-task', status: 'failed', retryable: true }),
      ]);
      expect(result.outcomes[0]?.detail).toContain(type);
      expect(result.outcomes[0]?.detail).toContain('nothing was stopped');
    },
  );

  it('does not retry an AccessDeniedException: one attempt, failed and not retryable', async () => {
    const { ecs, seen } = failingClient(400, 'AccessDeniedException');
    const result = await stopTask(request, { ecs });
    expect(seen).toHaveLength(1);
    expect(result.outcomes.every((o) => o.status === 'failed' && o.retryable === false)).toBe(true);
    expect(result.outcomes[0]?.detail).toContain('ecs:DescribeTasks');
  });
});
