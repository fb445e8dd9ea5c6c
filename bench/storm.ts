/**
 * A storm: 1,000 findings (one in ten a re-delivery) through the router's `respond()` one
 * after another, as one Lambda instance takes them, with Lambda and SNS mocked
 * (aws-sdk-client-mock) and the state store in memory (the fake the router's unit tests
 * use). When the test environment is up, a shorter run uses the real DynamoDB store on
 * moto, to show what the store's round trips cost. Logs are formatted as in Lambda and
 * counted, not printed.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { respond, type RouterDeps } from '../functions/router/respond.js';
import { lambdaContainment } from '../functions/router/containment.js';
import { snsAlerts } from '../functions/router/publish.js';
import { DynamoResponseStore, type ResponseStore } from '../functions/router/store.js';
import { defaultPolicy } from '../shared/policy.js';
import { MemoryStore } from '../test/fakes/memory-store.js';
import { awsConfig, benchEnv, uniqueName } from './critical-path/testenv.js';
import { generateFindings, loadFixtures } from './findings.js';
import type { Measurement } from './report.js';
import { round } from './stats.js';

const FINDINGS = 1_000;
const DYNAMO_FINDINGS = 200;
const MB = 1024 * 1024;

/** The storm's events: generated findings, every tenth one a re-delivery of an earlier one. */
function stormEvents(count: number): unknown[] {
  const fresh = generateFindings(loadFixtures(), count, 42);
  return fresh.map((event, i) => (i % 10 === 9 ? fresh[i - 5] : event));
}

/** A containment function that contains every action it is asked for. */
function containingLambda(): LambdaClient {
  const lambda = new LambdaClient({ region: 'us-east-1' });
  mockClient(lambda)
    .on(InvokeCommand)
    .callsFake((input: InvokeCommandInput) => {
      const request = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) as {
        findingId: string;
        actions: string[];
      };
      const answer = {
        findingId: request.findingId,
        outcomes: request.actions.map((action) => ({
          action,
          status: 'contained',
          detail: 'done',
        })),
        notes: [],
      };
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(answer)) };
    });
  return lambda;
}

function acceptingSns(): SNSClient {
  const sns = new SNSClient({ region: 'us-east-1' });
  let id = 0;
  mockClient(sns)
    .on(PublishCommand)
    .callsFake(() => ({ MessageId: `m-${(id += 1)}` }));
  return sns;
}

/** Swallow stdout (Powertools writes logs and metrics there) while counting its bytes. */
async function withStdoutCounted<T>(work: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const original = process.stdout.write.bind(process.stdout);
  let bytes = 0;
  process.stdout.write = (chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  };
  try {
    return { result: await work(), bytes };
  } finally {
    process.stdout.write = original;
  }
}

interface Peak {
  rssMb: number;
  heapUsedMb: number;
}

function sampleInto(peak: Peak): void {
  const { rss, heapUsed } = process.memoryUsage();
  peak.rssMb = Math.max(peak.rssMb, rss / MB);
  peak.heapUsedMb = Math.max(peak.heapUsedMb, heapUsed / MB);
}

async function storm(events: readonly unknown[], store: ResponseStore, label: string) {
  const serviceName = 'bench-router';
  const metrics = new Metrics({ namespace: 'GuardDutyRuntimeResponder', serviceName });
  const deps: RouterDeps = {
    policy: defaultPolicy(),
    contain: lambdaContainment(
      containingLambda(),
      { 'eks-pod': 'isolate-pod', 'ecs-task': 'stop-task', 'ec2-instance': 'quarantine-ec2' },
      60_000,
    ),
    publish: snsAlerts(acceptingSns(), 'arn:aws:sns:us-east-1:123456789012:bench'),
    store,
    logger: new Logger({ serviceName }),
    metrics,
  };
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.memoryUsage();
  const peak: Peak = { rssMb: start.rss / MB, heapUsedMb: start.heapUsed / MB };
  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const sampler = setInterval(() => sampleInto(peak), 5);
  const begun = performance.now();
  const cpuBefore = process.cpuUsage();
  const { bytes } = await withStdoutCounted(async () => {
    for (const event of events) {
      try {
        const result = await respond(event, deps);
        count(result.status ?? result.decision);
      } catch (error) {
        count(error instanceof Error ? error.name : 'thrown');
      } finally {
        metrics.publishStoredMetrics();
      }
      sampleInto(peak);
    }
  });
  const seconds = (performance.now() - begun) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  // What the storm left behind once garbage is collected (the in-memory store keeps its records).
  (globalThis as { gc?: () => void }).gc?.();
  const end = process.memoryUsage();
  return {
    label,
    findings: events.length,
    seconds: round(seconds, 2),
    findingsPerSecond: round(events.length / seconds, 0),
    msPerFinding: round((seconds * 1000) / events.length, 2),
    cpuMsPerFinding: round((cpu.user + cpu.system) / 1000 / events.length, 2),
    memory: {
      startRssMb: round(start.rss / MB, 1),
      peakRssMb: round(peak.rssMb, 1),
      startHeapUsedMb: round(start.heapUsed / MB, 1),
      peakHeapUsedMb: round(peak.heapUsedMb, 1),
      heapUsedAfterGcMb: round(end.heapUsed / MB, 1),
    },
    logBytesPerFinding: round(bytes / events.length, 0),
    results: Object.fromEntries([...statuses].sort((a, b) => b[1] - a[1])),
  };
}

type StormFigures = Awaited<ReturnType<typeof storm>>;

async function dynamoStore(): Promise<DynamoResponseStore> {
  const env = await benchEnv();
  const dynamo = new DynamoDBClient({ ...awsConfig(env), maxAttempts: 4 });
  const table = uniqueName('gdrr-bench-state');
  await dynamo.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return new DynamoResponseStore(dynamo, table);
}

const row = (f: StormFigures) =>
  `| ${f.label} | ${f.findings} | ${f.findingsPerSecond} | ${f.msPerFinding} | ${f.cpuMsPerFinding} | ${f.memory.startRssMb} → ${f.memory.peakRssMb} | ${f.memory.startHeapUsedMb} → ${f.memory.peakHeapUsedMb} → ${f.memory.heapUsedAfterGcMb} | ${f.logBytesPerFinding} |`;

export const stormMeasurement: Measurement = {
  id: 'storm',
  title: 'Storm: 1,000 findings through respond()',
  targets: [],
  async run() {
    const inMemory = await storm(
      stormEvents(FINDINGS),
      new MemoryStore(),
      'in-memory store (test fake)',
    );
    const runs = [inMemory];
    let dynamoNote = '';
    try {
      runs.push(
        await storm(stormEvents(DYNAMO_FINDINGS), await dynamoStore(), 'DynamoDB store on moto'),
      );
    } catch (error) {
      dynamoNote = `DynamoDB store run skipped: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    }
    return {
      data: { runs, gcBeforeEachRun: typeof (globalThis as { gc?: unknown }).gc === 'function' },
      targets: [],
      summary: [
        'Sequential, as one Lambda instance takes events; Lambda (contains every action) and SNS mocked; real Powertools Logger and Metrics (published per finding, as the handler does), output counted and discarded; default policy, so the per-surface budget (10 per hour) turns later containments into notifications.',
        '',
        '| store | findings | findings/s | ms/finding | CPU ms/finding | RSS MB start → peak | heap used MB start → peak → after GC | log bytes/finding |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...runs.map(row),
        '',
        ...runs.map(
          (f) =>
            `Results (${f.label}): ${Object.entries(f.results)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ')}.`,
        ),
        ...(dynamoNote ? [dynamoNote] : []),
      ],
    };
  },
};
