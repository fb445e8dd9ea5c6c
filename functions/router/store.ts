/**
 * The router's memory across deliveries, on DynamoDB conditional writes: one claim per
 * finding and workload (so concurrent duplicates contain once), rate-limited update alerts,
 * the per-surface containment budget, and the audit record of what was done.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Surface } from '../../shared/contracts.js';

/** Status of a finding record. `failed` and `budget-denied` may be claimed again. */
export type RecordStatus = 'in-progress' | 'done' | 'failed' | 'budget-denied';

export type Claim =
  | { kind: 'claimed' }
  | {
      kind: 'duplicate';
      status: RecordStatus;
      count: number;
      lastAlertAt: number;
      outcome?: string;
    };

/** What is kept about a finished response (the audit record). */
export interface FinishRecord {
  status: Exclude<RecordStatus, 'in-progress'>;
  decision: string;
  overall: string;
  /** JSON of the action outcomes, bounded. */
  outcomes: string;
  count: number;
  at: number;
}

export interface ResponseStore {
  /** Take the finding for this invocation, unless another one has it or finished it. */
  claim(key: string, now: number, leaseMs: number, count: number): Promise<Claim>;
  finish(key: string, record: FinishRecord): Promise<void>;
  /** True (and recorded) when no update alert was sent for this finding since `now - intervalMs`. */
  allowUpdateAlert(key: string, now: number, intervalMs: number, count: number): Promise<boolean>;
  /** Count one containment against the surface's window; false when the budget is used up. */
  takeBudget(surface: Surface, windowStart: number, limit: number): Promise<boolean>;
  /** True exactly once per surface and window: who sends the "budget exhausted" alert. */
  firstBudgetAlert(surface: Surface, windowStart: number): Promise<boolean>;
}

/** Records live 30 days (TTL); GuardDuty findings are re-sent for as long as they recur. */
const RECORD_TTL_SECONDS = 30 * 24 * 3600;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const ttl = (now: number) => n(Math.floor(now / 1000) + RECORD_TTL_SECONDS);

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

/** Run a conditional write; false when its condition did not hold. */
async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export class DynamoResponseStore implements ResponseStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly table: string,
  ) {}

  async claim(key: string, now: number, leaseMs: number, count: number): Promise<Claim> {
    const claimed = await conditional(() =>
      this.dynamo.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: s(key),
            status: s('in-progress'),
            leaseUntil: n(now + leaseMs),
            count: n(count),
            lastAlertAt: n(0),
            expiresAt: ttl(now),
          },
          // New, or a previous attempt failed, was denied by the budget, or died holding the lease.
          ConditionExpression:
            'attribute_not_exists(pk) OR #status IN (:failed, :denied) OR (#status = :progress AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':failed': s('failed'),
            ':denied': s('budget-denied'),
            ':progress': s('in-progress'),
            ':now': n(now),
          },
        }),
      ),
    );
    if (claimed) return { kind: 'claimed' };
    const existing = await this.dynamo.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: s(key) }, ConsistentRead: true }),
    );
    const item = existing.Item ?? {};
    return {
      kind: 'duplicate',
      status: (item.status?.S as RecordStatus | undefined) ?? 'in-progress',
      count: Number(item.count?.N ?? 0),
      lastAlertAt: Number(item.lastAlertAt?.N ?? 0),
      outcome: item.overall?.S,
    };
  }

  async finish(key: string, record: FinishRecord): Promise<void> {
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: s(key) },
        UpdateExpression:
          'SET #status = :status, decision = :decision, overall = :overall, outcomes = :outcomes, #count = :count, finishedAt = :at, lastAlertAt = :at, expiresAt = :ttl REMOVE leaseUntil',
        ExpressionAttributeNames: { '#status': 'status', '#count': 'count' },
        ExpressionAttributeValues: {
          ':status': s(record.status),
          ':decision': s(record.decision),
          ':overall': s(record.overall),
          ':outcomes': s(record.outcomes),
          ':count': n(record.count),
          ':at': n(record.at),
          ':ttl': ttl(record.at),
        },
      }),
    );
  }

  allowUpdateAlert(key: string, now: number, intervalMs: number, count: number): Promise<boolean> {
    return conditional(() =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(key) },
          UpdateExpression: 'SET lastAlertAt = :now, #count = :count',
          ConditionExpression: 'attribute_exists(pk) AND lastAlertAt <= :threshold',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':now': n(now),
            ':count': n(count),
            ':threshold': n(now - intervalMs),
          },
        }),
      ),
    );
  }

  async takeBudget(surface: Surface, windowStart: number, limit: number): Promise<boolean> {
    if (limit <= 0) return false;
    return conditional(() =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(`budget#${surface}#${windowStart}`) },
          UpdateExpression: 'ADD used :one SET expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(used) OR used < :limit',
          ExpressionAttributeValues: { ':one': n(1), ':limit': n(limit), ':ttl': ttl(windowStart) },
        }),
      ),
    );
  }

  firstBudgetAlert(surface: Surface, windowStart: number): Promise<boolean> {
    return conditional(() =>
      this.dynamo.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk: s(`budget-alert#${surface}#${windowStart}`), expiresAt: ttl(windowStart) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }
}
