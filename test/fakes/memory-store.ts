/** An in-memory ResponseStore with the same conditions as the DynamoDB one (unit tests only). */
import type { Surface } from '../../shared/contracts.js';
import type {
  Claim,
  FinishRecord,
  RecordStatus,
  ResponseStore,
} from '../../functions/router/store.js';

interface Entry {
  status: RecordStatus;
  leaseUntil: number;
  count: number;
  lastAlertAt: number;
  overall?: string;
  record?: FinishRecord;
}

export class MemoryStore implements ResponseStore {
  readonly records = new Map<string, Entry>();
  readonly budgets = new Map<string, number>();
  readonly budgetAlerts = new Set<string>();
  failWith?: Error;

  claim(key: string, now: number, leaseMs: number, count: number): Promise<Claim> {
    if (this.failWith) return Promise.reject(this.failWith);
    const existing = this.records.get(key);
    const free =
      existing === undefined ||
      existing.status === 'failed' ||
      existing.status === 'budget-denied' ||
      (existing.status === 'in-progress' && existing.leaseUntil < now);
    if (free) {
      this.records.set(key, {
        status: 'in-progress',
        leaseUntil: now + leaseMs,
        count,
        lastAlertAt: 0,
      });
      return Promise.resolve({ kind: 'claimed' });
    }
    return Promise.resolve({
      kind: 'duplicate',
      status: existing.status,
      count: existing.count,
      lastAlertAt: existing.lastAlertAt,
      outcome: existing.overall,
    });
  }

  finish(key: string, record: FinishRecord): Promise<void> {
    this.records.set(key, {
      status: record.status,
      leaseUntil: 0,
      count: record.count,
      lastAlertAt: record.at,
      overall: record.overall,
      record,
    });
    return Promise.resolve();
  }

  allowUpdateAlert(key: string, now: number, intervalMs: number, count: number): Promise<boolean> {
    const entry = this.records.get(key);
    if (!entry || entry.lastAlertAt > now - intervalMs) return Promise.resolve(false);
    entry.lastAlertAt = now;
    entry.count = count;
    return Promise.resolve(true);
  }

  takeBudget(surface: Surface, windowStart: number, limit: number): Promise<boolean> {
    const key = `${surface}#${windowStart}`;
    const used = this.budgets.get(key) ?? 0;
    if (limit <= 0 || used >= limit) return Promise.resolve(false);
    this.budgets.set(key, used + 1);
    return Promise.resolve(true);
  }

  firstBudgetAlert(surface: Surface, windowStart: number): Promise<boolean> {
    const key = `${surface}#${windowStart}`;
    if (this.budgetAlerts.has(key)) return Promise.resolve(false);
    this.budgetAlerts.add(key);
    return Promise.resolve(true);
  }
}
