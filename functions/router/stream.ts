/**
 * `replay --stream`: a list of deliveries through the router's own `respond()` (claim,
 * duplicate and STILL ACTIVE updates, budget, alert), with the state store in memory and
 * containment simulated, so "what if these 1,000 findings arrive within the window?" has an
 * exact answer without an AWS account. Nothing is executed; alerts are collected.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { targetLabel, type Alert } from '../../shared/alert.js';
import { describeAction } from '../../shared/decide.js';
import type { ActionOutcome, ContainmentRequest } from '../../shared/contracts.js';
import type { Policy } from '../../shared/policy.js';
import { budgetScope, budgetWindowStart, targetKey } from '../../shared/reliability.js';
import { replayEvent, type ReplayRecord } from '../../shared/replay.js';
import { cleanText } from '../../shared/sanitize.js';
import type { Containment } from './containment.js';
import { MemoryResponseStore } from './memory-store.js';
import { respond, type BudgetReport, type RouterDeps, type RouterStatus } from './respond.js';

export interface Delivery {
  /** Where the event came from (a file name), shown as given. */
  file: string;
  event: unknown;
}

/** One line of `replay --stream --json`: the replay record as the router saw it in the stream. */
export interface StreamRecord extends ReplayRecord {
  /** Position in the stream, from 1. */
  delivery: number;
  /** When the simulated delivery arrived. */
  at: string;
  /** The router's answer: the alert status, `DUPLICATE`, or null (ignored, rejected). */
  status: RouterStatus | null;
  /** What the budget did, when it was consulted. */
  budget?: BudgetReport;
  /** The "budget exhausted" alert this delivery sent, if it was the first refused. */
  budgetAlert: Alert | null;
  /** Set when the router failed the delivery (EventBridge would retry it). */
  error?: string;
}

export interface StreamOptions {
  /** Arrival of the first delivery (default: the start of the current budget window). */
  start?: number;
  /** Time between deliveries (default one second, so 1,000 fit in a 60-minute window). */
  spacingMs?: number;
}

/**
 * Containment as the stream sees it: the first containment of a workload would change it
 * (reported `dry-run`, which the budget counts), any later one finds it already contained.
 * A policy in dry-run mode changes nothing, as the real functions would not.
 */
export function simulatedContainment(): Containment {
  const contained = new Set<string>();
  return (_surface, request: ContainmentRequest) => {
    const workload = `${budgetScope(request.target, request.accountId, request.region).key}#${targetKey(request.target)}`;
    const first = !request.dryRun && !contained.has(workload);
    if (!request.dryRun) contained.add(workload);
    const outcomes: ActionOutcome[] = request.actions.map((action) =>
      first || request.dryRun
        ? { action, status: 'dry-run', detail: `would ${describeAction(action)}` }
        : {
            action,
            status: 'already-contained',
            detail: 'contained earlier in this stream (simulated)',
          },
    );
    return Promise.resolve({ outcomes, notes: [], retryable: false });
  };
}

/** Run the deliveries in order; one record per delivery. */
export async function replayStream(
  deliveries: readonly Delivery[],
  policy: Policy,
  options: StreamOptions = {},
): Promise<StreamRecord[]> {
  const spacingMs = options.spacingMs ?? 1000;
  let now = options.start ?? budgetWindowStart(Date.now(), policy.budget.windowMinutes);
  // Alerts sent by the delivery in progress (cleared for each); ids count across the stream.
  const sentNow = new Map<string, Alert>();
  let published = 0;
  const contain = simulatedContainment();
  let lastOutcomes: ActionOutcome[] | undefined;
  const deps: RouterDeps = {
    policy,
    store: new MemoryResponseStore(),
    contain: async (surface, request) => {
      const response = await contain(surface, request);
      lastOutcomes = [...response.outcomes];
      return response;
    },
    publish: (alert) => {
      published += 1;
      const id = `stream-${published}`;
      sentNow.set(id, alert);
      return Promise.resolve(id);
    },
    logger: new Logger({ logLevel: 'SILENT' }),
    now: () => now,
  };
  const records: StreamRecord[] = [];
  for (const [index, { file, event }] of deliveries.entries()) {
    sentNow.clear();
    lastOutcomes = undefined;
    const { record } = replayEvent(file, event, policy);
    const base = { ...record, delivery: index + 1, at: new Date(now).toISOString() };
    try {
      const result = await respond(event, deps);
      const alert =
        result.alertMessageId === null ? null : (sentNow.get(result.alertMessageId) ?? null);
      // The only other alert a delivery can send is the one loud "budget exhausted" alert.
      const budgetAlert = [...sentNow].find(([id]) => id !== result.alertMessageId)?.[1] ?? null;
      records.push({
        ...base,
        decision: result.decision,
        reason: result.reason,
        actions: result.decision === 'contain' ? record.actions : [],
        alert,
        ...(lastOutcomes === undefined ? {} : { outcomes: lastOutcomes }),
        status: result.status,
        ...(result.budget === undefined ? {} : { budget: result.budget }),
        budgetAlert,
      });
    } catch (error) {
      records.push({
        ...base,
        alert: null,
        status: null,
        budgetAlert: null,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    now += spacingMs;
  }
  return records;
}

/** One terminal line per delivery: what arrived, what the router answered, what the budget did. */
export function formatStreamLine(record: StreamRecord): string {
  const what = record.findingType ? cleanText(record.findingType, 'short') : 'no finding';
  const on = record.target ? ` on ${record.target.surface} ${targetLabel(record.target)}` : '';
  const answer = record.error
    ? `ERROR ${cleanText(record.error, 'short')}`
    : (record.status ?? record.decision.toUpperCase());
  const budget = record.budget
    ? ` | budget ${record.budget.outcome} (${record.budget.scope}: limit ${record.budget.scopeLimit}, surface limit ${record.budget.surfaceLimit})`
    : '';
  const loud = record.budgetAlert ? ` | ALERT ${record.budgetAlert.subject}` : '';
  return `#${record.delivery} ${cleanText(record.file, 'path')}: ${what}${on} -> ${answer}${budget}${loud}`;
}

/** Totals for the end of the text report. */
export function streamSummary(records: readonly StreamRecord[]): string {
  const tally = (values: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    return [...counts].map(([value, count]) => `${count} ${value}`).join(', ') || 'none';
  };
  const statuses = records.map((r) => (r.error ? 'ERROR' : (r.status ?? r.decision.toUpperCase())));
  const budget = records.flatMap((r) => (r.budget ? [r.budget.outcome] : []));
  const alerts = records.flatMap((r) => (r.budgetAlert ? [`  ${r.budgetAlert.subject}`] : []));
  return [
    `${records.length} deliveries: ${tally(statuses)}`,
    `budget: ${tally(budget)}`,
    `budget alerts: ${alerts.length}`,
    ...alerts,
  ].join('\n');
}
