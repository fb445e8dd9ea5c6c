/**
 * The router's state store in memory, with the same conditions as the DynamoDB one: what
 * `replay --stream` runs the router's pipeline against, and what unit tests use. Each
 * method runs to completion before another starts, which is the atomicity each of the
 * DynamoDB store's conditional writes gives.
 */
import type { Surface } from '../../shared/contracts.js';
import {
  budgetAlertKey,
  budgetKeys,
  type BudgetAnswer,
  type BudgetHold,
  type Claim,
  type FinishRecord,
  type RecordStatus,
  type ResponseStore,
} from './store.js';

interface Entry {
  status: RecordStatus;
  leaseUntil: number;
  count: number;
  lastAlertAt: number;
  overall?: string;
  record?: FinishRecord;
}

export class MemoryResponseStore implements ResponseStore {
  readonly records = new Map<string, Entry>();
  /** Budget counters (surface and scope) and held workload units, by store key. */
  readonly budgets = new Map<string, number>();
  readonly budgetUnits = new Set<string>();
  readonly budgetAlerts = new Set<string>();

  claim(key: string, now: number, leaseMs: number, count: number): Promise<Claim> {
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

  reserveBudget(hold: BudgetHold): Promise<BudgetAnswer> {
    return Promise.resolve(this.reserve(hold));
  }

  private reserve(hold: BudgetHold): BudgetAnswer {
    if (hold.surfaceLimit <= 0) return 'surface-exhausted';
    const keys = budgetKeys(hold);
    if (this.budgetUnits.has(keys.unit)) return 'held';
    if (this.used(keys.surface) >= hold.surfaceLimit) return 'surface-exhausted';
    if (this.used(keys.scope) >= hold.scopeLimit) return 'scope-exhausted';
    this.budgetUnits.add(keys.unit);
    this.budgets.set(keys.scope, this.used(keys.scope) + 1);
    this.budgets.set(keys.surface, this.used(keys.surface) + 1);
    return 'taken';
  }

  releaseBudget(hold: BudgetHold): Promise<void> {
    const keys = budgetKeys(hold);
    if (this.budgetUnits.delete(keys.unit)) {
      this.budgets.set(keys.scope, this.used(keys.scope) - 1);
      this.budgets.set(keys.surface, this.used(keys.surface) - 1);
    }
    return Promise.resolve();
  }

  /** Units counted against a surface or scope counter (by store key). */
  used(counterKey: string): number {
    return this.budgets.get(counterKey) ?? 0;
  }

  firstBudgetAlert(surface: Surface, windowStart: number, scope: string | null): Promise<boolean> {
    const key = budgetAlertKey(surface, windowStart, scope);
    if (this.budgetAlerts.has(key)) return Promise.resolve(false);
    this.budgetAlerts.add(key);
    return Promise.resolve(true);
  }
}
