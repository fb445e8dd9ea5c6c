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
import { lambdaContainment } from '../../functions/router/containment.js';
import { snsAlerts } from '../../functions/router/publish.js';
import { loadEvent, policyWith } from '../helpers.js';
import { awsClientConfig, createStateTable } from './aws-helpers.js';

const lambdaMock = mockClient(LambdaClient);
const snsMock = mockClient(SNSClient);
let table: string;
let dynamo: DynamoDBClient;

function deps(overrides: Partial<RouterDeps> = {}): RouterDeps {
  return {
    policy: policyWith(() => undefined),
    contain: lambdaContainment(
      new LambdaClient({ region: 'us-east-1' }),
      { 'eks-pod': 'isolate-pod', 'ecs-task': 'stop-task', 'ec2-instance': 'quarantine-ec2' },
      10_000,
    ),
    publish: snsAlerts(
      new SNSClient({ region: 'us-east-1' }),
      'arn:aws:sns:us-east-1:123456789012:gdrr-alerts',
    ),
    store: new DynamoResponseStore(dynamo, table),
    logger: new Logger({ logLevel: 'SILENT' }),
    ...overrides,
  };
}

/** A containment function that takes a moment and reports every action as `status`. */
function answerAll(status: 'contained' | 'skipped') {
  lambdaMock.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => {
    const request = JSON.parse(new TextDecoder().decode(input.Payload)) as ContainmentRequest;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = {
      findingId: request.findingId,
      outcomes: request.actions.map((action) => ({ action, status, detail: status })),
      notes: [],
    };
    return {
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify(result),
      ) as unknown as InvokeCommandOutput['Payload'],
    };
  });
}

beforeAll(() => {
  dynamo = new DynamoDBClient({ ...awsClientConfig(), maxAttempts: 5 });
});

// A table per test: budget counters live per window, and tests share the clock.
beforeEach(async () => {
  table = await createStateTable('gdrr-state', dynamo);
  lambdaMock.reset();
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: 'm' });
  answerAll('contained');
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

  /** An EC2 finding about instance `i` of `account`, unique to this run. */
  function instanceFinding(runId: string, i: number, account = '123456789012') {
    const event = loadEvent('ec2-suspicious-command.json');
    event.detail.id = `${runId}${account.slice(-4)}${i.toString(16).padStart(20, '0')}`;
    event.detail.accountId = account;
    event.detail.resource.instanceDetails.instanceId = `i-${i.toString(16).padStart(17, '0')}`;
    return event;
  }

  const subjectsSent = () =>
    snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input.Subject ?? '');

  it('budget: 1,000 distinct high-severity findings over 4 accounts contain exactly the budget, at most half per account', async () => {
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 10));
    const runId = randomBytes(4).toString('hex');
    const accounts = ['111111111111', '222222222222', '333333333333', '444444444444'];
    const tasks = Array.from(
      { length: 1000 },
      (_, i) => () => respond(instanceFinding(runId, i, accounts[i % 4]), deps({ policy })),
    );
    const started = performance.now();
    const results = await pool(tasks, 25);
    const seconds = (performance.now() - started) / 1000;
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 'CONTAINED')).toHaveLength(10);
    expect(statuses.filter((s) => s === 'NOT CONTAINED')).toHaveLength(990);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(10);
    const perAccount = accounts.map(
      (account) =>
        results.filter((r) => r.budget?.outcome === 'taken' && r.budget.scope.includes(account))
          .length,
    );
    expect(Math.max(...perAccount)).toBeLessThanOrEqual(5);
    const subjects = subjectsSent();
    const loud = subjects.filter((s) => s.includes('BUDGET EXHAUSTED'));
    // One for the surface, and at most one per account that used its share first.
    expect(loud.filter((s) => !s.includes(' in account '))).toHaveLength(1);
    expect(new Set(loud).size).toBe(loud.length);
    // Every finding still ends in an alert: 10 contained, 990 notify-only.
    expect(subjects.filter((s) => !s.includes('BUDGET EXHAUSTED'))).toHaveLength(1000);
    console.info(
      `budget: 1000 findings -> 10 containments (${perAccount.join('/')} per account), 990 notify, ${loud.length} budget alert(s) in ${seconds.toFixed(1)} s (${(1000 / seconds).toFixed(0)} findings/s)`,
    );
  }, 300_000);

  it('budget: 30 concurrent findings about one instance take one unit; a flood from one account never blocks another', async () => {
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 4));
    const runId = randomBytes(4).toString('hex');
    const sameInstance = Array.from({ length: 30 }, (_, i) => {
      const event = instanceFinding(runId, 1000 + i);
      event.detail.resource.instanceDetails.instanceId = 'i-0aaaaaaaaaaaaaaaa';
      return () => respond(event, deps({ policy }));
    });
    const flood = Array.from(
      { length: 200 },
      (_, i) => () => respond(instanceFinding(runId, i), deps({ policy })),
    );
    const other = () => respond(instanceFinding(runId, 7, '999999999999'), deps({ policy }));
    const results = await pool(
      [...sameInstance, ...flood.slice(0, 100), other, ...flood.slice(100)],
      20,
    );
    const one = results.slice(0, 30).map((r) => r.budget?.outcome);
    expect(one.filter((o) => o === 'taken')).toHaveLength(1);
    expect(one.filter((o) => o === 'held')).toHaveLength(29);
    // The instance holds one of the account's two units; the flood gets the other one.
    const floodOutcomes = [...results.slice(30, 130), ...results.slice(131)].map(
      (r) => r.budget?.outcome,
    );
    expect(floodOutcomes.filter((o) => o === 'taken')).toHaveLength(1);
    expect(floodOutcomes.filter((o) => o === 'scope-exhausted')).toHaveLength(199);
    expect(results[130]).toMatchObject({ status: 'CONTAINED', budget: { outcome: 'taken' } });
  }, 300_000);

  it('budget: units of containments that changed nothing are given back in the store', async () => {
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 2));
    const runId = randomBytes(4).toString('hex');
    // The function finds every instance exempt: nothing changes, so nothing is counted.
    answerAll('skipped');
    // One after another: a unit is held while its containment is in flight, so concurrent
    // findings of the same account could be refused for that moment (fewer containments).
    const exempt = await pool(
      Array.from(
        { length: 20 },
        (_, i) => () => respond(instanceFinding(runId, i, `${i % 2}`.repeat(12)), deps({ policy })),
      ),
      1,
    );
    expect(exempt.map((r) => r.budget?.outcome).filter((o) => o !== 'released')).toEqual([]);
    // The counters are back to zero: both accounts still get their one unit each.
    answerAll('contained');
    const real = await Promise.all(
      ['0', '1'].map((d) => respond(instanceFinding(runId, 99, d.repeat(12)), deps({ policy }))),
    );
    expect(real.map((r) => r.budget?.outcome)).toEqual(['taken', 'taken']);
  }, 300_000);
});
