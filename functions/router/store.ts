/**
 * The router's memory across deliveries, on DynamoDB conditional writes: one claim per
 * finding and workload (so concurrent duplicates contain once), rate-limited update alerts,
 * the containment budget (per surface, per cluster or account, one unit per workload), and
 * the audit record of what was done.
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
  /**
   * Take one unit of the window's budget for this workload, unless it already holds one
   * (another finding about it, or a retry): then it consumes nothing more.
   */
  reserveBudget(hold: BudgetHold): Promise<BudgetAnswer>;
  /** Give the unit back: the containment changed nothing. Idempotent. */
  releaseBudget(hold: BudgetHold): Promise<void>;
  /**
   * True exactly once per surface (scope null) or scope, and window: who sends the
   * "budget exhausted" alert.
   */
  firstBudgetAlert(surface: Surface, windowStart: number, scope: string | null): Promise<boolean>;
}

/** One workload's unit of a budget window, and the limits it is counted against. */
export interface BudgetHold {
  surface: Surface;
  windowStart: number;
  /** The cluster or account (budgetScope key). */
  scope: string;
  /** The workload (targetKey). */
  workload: string;
  surfaceLimit: number;
  scopeLimit: number;
}

/** `held`: the workload already had a unit in this window, none was taken. */
export type BudgetAnswer = 'taken' | 'held' | 'scope-exhausted' | 'surface-exhausted';

/** Store keys of a hold's three records: the workload's unit, its scope's and surface's counters. */
export function budgetKeys(hold: BudgetHold): { unit: string; scope: string; surface: string } {
  const window = `${hold.surface}#${hold.windowStart}`;
  return {
    unit: `budget-unit#${window}#${hold.scope}#${hold.workload}`,
    scope: `budget-scope#${window}#${hold.scope}`,
    surface: `budget#${window}`,
  };
}

export const budgetAlertKey = (surface: Surface, windowStart: number, scope: string | null) =>
  `budget-alert#${surface}#${windowStart}${scope === null ? '' : `#${scope}`}`;

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

  /**
   * Three conditional writes, in an order chosen so a refused step never blocks anyone else:
   * the workload's unit first (a held one ends here), then the scope's counter, then the
   * surface's. Each refusal undoes the steps before it. A scope that has used its share
   * is refused before it touches the surface counter, so a flood from one cluster never
   * moves the counter other clusters are checked against, not even for a moment. A crash
   * between steps leaves a unit counted that was not used: fewer containments, never more.
   */
  async reserveBudget(hold: BudgetHold): Promise<BudgetAnswer> {
    if (hold.surfaceLimit <= 0) return 'surface-exhausted';
    const keys = budgetKeys(hold);
    const expires = ttl(hold.windowStart);
    if (!(await this.setUnit(keys.unit, true, expires))) return 'held';
    if (!(await this.count(keys.scope, 1, hold.scopeLimit, expires))) {
      await this.setUnit(keys.unit, false, expires);
      // Name the surface when it is full too: the alert then says every scope is affected.
      return (await this.used(keys.surface)) >= hold.surfaceLimit
        ? 'surface-exhausted'
        : 'scope-exhausted';
    }
    if (!(await this.count(keys.surface, 1, hold.surfaceLimit, expires))) {
      await this.count(keys.scope, -1, undefined, expires);
      await this.setUnit(keys.unit, false, expires);
      return 'surface-exhausted';
    }
    return 'taken';
  }

  async releaseBudget(hold: BudgetHold): Promise<void> {
    const keys = budgetKeys(hold);
    const expires = ttl(hold.windowStart);
    // Flipping the unit first makes a second release of the same hold a no-op.
    if (!(await this.setUnit(keys.unit, false, expires))) return;
    await this.count(keys.scope, -1, undefined, expires);
    await this.count(keys.surface, -1, undefined, expires);
  }

  /** Mark the workload's unit held or free; false when it already was. */
  private setUnit(pk: string, held: boolean, expires: AttributeValue): Promise<boolean> {
    return conditional(() =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(pk) },
          UpdateExpression: 'SET held = :held, expiresAt = :ttl',
          ConditionExpression: held
            ? 'attribute_not_exists(held) OR held = :free'
            : 'held = :taken',
          ExpressionAttributeValues: {
            ':held': { BOOL: held },
            ...(held ? { ':free': { BOOL: false } } : { ':taken': { BOOL: true } }),
            ':ttl': expires,
          },
        }),
      ),
    );
  }

  private async used(pk: string): Promise<number> {
    const item = await this.dynamo.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: s(pk) }, ConsistentRead: true }),
    );
    return Number(item.Item?.used?.N ?? 0);
  }

  /** Add `delta` to a counter, only while it stays within `limit` (none: always). */
  private count(
    pk: string,
    delta: number,
    limit: number | undefined,
    expires: AttributeValue,
  ): Promise<boolean> {
    return conditional(() =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(pk) },
          UpdateExpression: 'ADD used :delta SET expiresAt = :ttl',
          ...(limit === undefined
            ? {}
            : { ConditionExpression: 'attribute_not_exists(used) OR used < :limit' }),
          ExpressionAttributeValues: {
            ':delta': n(delta),
            ':ttl': expires,
            ...(limit === undefined ? {} : { ':limit': n(limit) }),
          },
        }),
      ),
    );
  }

  firstBudgetAlert(surface: Surface, windowStart: number, scope: string | null): Promise<boolean> {
    return conditional(() =>
      this.dynamo.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk: s(budgetAlertKey(surface, windowStart, scope)), expiresAt: ttl(windowStart) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }
}
