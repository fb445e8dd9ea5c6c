/**
 * The router's at-least-once guarantees against real conditional writes (moto's DynamoDB):
 * a storm of duplicate deliveries contains once; a flood of distinct findings contains only
 * up to the budget. Lambda and SNS are mocked here so containments and alerts can be counted.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ContainmentRequest } from '../../shared/contracts.js';
import { respond, type RouterDeps } from '../../functions/router/respond.js';
import { DynamoResponseStore } from '../../functions/router/store.js';
import { loadEvent, policyWith } from '../helpers.js';
import { awsClientConfig, createStateTable } from './aws-helpers.js';

const lambdaMock = mockClient(LambdaClient);
const snsMock = mockClient(SNSClient);
let table: string;
let dynamo: DynamoDBClient;

function deps(overrides: Partial<RouterDeps> = {}): RouterDeps {
  return {
    policy: policyWith(() => undefined),
    lambda: new LambdaClient({ region: 'us-east-1' }),
    sns: new SNSClient({ region: 'us-east-1' }),
    store: new DynamoResponseStore(dynamo, table),
    topicArn: 'arn:aws:sns:us-east-1:123456789012:gdrr-alerts',
    functionNames: {
      'eks-pod': 'isolate-pod',
      'ecs-task': 'stop-task',
      'ec2-instance': 'quarantine-ec2',
    },
    containmentTimeoutMs: 10_000,
    logger: new Logger({ logLevel: 'SILENT' }),
    ...overrides,
  };
}

beforeAll(async () => {
  dynamo = new DynamoDBClient({ ...awsClientConfig(), maxAttempts: 5 });
  table = await createStateTable('gdrr-state', dynamo);
});

beforeEach(() => {
  lambdaMock.reset();
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: 'm' });
  // A containment function that takes a moment and reports every action contained.
  lambdaMock.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => {
    const request = JSON.parse(new TextDecoder().decode(input.Payload)) as ContainmentRequest;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = {
      findingId: request.findingId,
      outcomes: request.actions.map((action) => ({ action, status: 'contained', detail: 'ok' })),
      notes: [],
    };
    return {
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify(result),
      ) as unknown as InvokeCommandOutput['Payload'],
    };
  });
});

/** Run `tasks` with at most `width` in flight. */
async function pool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

describe('reliability against real conditional writes', () => {
  it('duplicate storm: the same finding delivered 50 times at once is contained exactly once', async () => {
    const event = loadEvent('eks-reverse-shell.json');
    event.detail.id = randomBytes(16).toString('hex');
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => respond(structuredClone(event), deps())),
    );
    const ms = performance.now() - started;
    const statuses = JSON.stringify(results.map((r) => r.status));
    expect(
      lambdaMock.commandCalls(InvokeCommand),
      `containments; statuses ${statuses}`,
    ).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 'CONTAINED'),
      statuses,
    ).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 'DUPLICATE'),
      statuses,
    ).toHaveLength(49);
    // One alert: the containment. Duplicates in progress or within the interval send nothing.
    const subjects = snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input.Subject);
    expect(subjects, 'alerts sent').toHaveLength(1);
    console.info(
      `duplicate storm: 50 concurrent deliveries -> 1 containment, 1 alert in ${ms.toFixed(0)} ms`,
    );
  });

  it('budget: 1,000 distinct high-severity findings for one surface contain exactly the budget', async () => {
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 10));
    const runId = randomBytes(4).toString('hex');
    const tasks = Array.from({ length: 1000 }, (_, i) => () => {
      const event = loadEvent('ec2-suspicious-command.json');
      event.detail.id = `${runId}${i.toString(16).padStart(24, '0')}`;
      event.detail.resource.instanceDetails.instanceId = `i-${i.toString(16).padStart(17, '0')}`;
      return respond(event, deps({ policy }));
    });
    const started = performance.now();
    const results = await pool(tasks, 25);
    const seconds = (performance.now() - started) / 1000;
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 'CONTAINED')).toHaveLength(10);
    expect(statuses.filter((s) => s === 'NOT CONTAINED')).toHaveLength(990);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(10);
    const subjects = snsMock
      .commandCalls(PublishCommand)
      .map((call) => call.args[0].input.Subject ?? '');
    expect(subjects.filter((s) => s.includes('BUDGET EXHAUSTED'))).toHaveLength(1);
    // Every finding still ends in an alert: 10 contained, 990 notify-only.
    expect(subjects.filter((s) => !s.includes('BUDGET EXHAUSTED'))).toHaveLength(1000);
    console.info(
      `budget: 1000 findings -> 10 containments, 990 notify, 1 budget alert in ${seconds.toFixed(1)} s (${(1000 / seconds).toFixed(0)} findings/s)`,
    );
  }, 300_000);
});
