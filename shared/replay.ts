/**
 * Replay: the router's parse → decide → plan → render path as a dry run, for a local
 * file. No AWS or Kubernetes call is made; planned actions are reported as `dry-run`.
 */
import { dryRunResponse, renderAlert, type Alert, type Response } from './alert.js';
import type { ActionOutcome } from './contracts.js';
import type { ActionId, Surface, Target } from './contracts.js';
import { evaluate, type Decision, type Evaluation } from './decide.js';
import type { Policy } from './policy.js';
import { cleanText } from './sanitize.js';

/** One line of `replay --json` output. */
export interface ReplayRecord {
  file: string;
  decision: Decision;
  reason: string;
  findingId: string | null;
  findingType: string | null;
  severity: number | null;
  surface: Surface | null;
  target: Target | null;
  actions: ActionId[];
  alert: Alert | null;
  /** Only with --live: what each action really did. */
  outcomes?: ActionOutcome[];
}

/** Evaluate one parsed event exactly as the router would, without acting. */
export function replayEvent(
  file: string,
  input: unknown,
  policy: Policy,
): { record: ReplayRecord; evaluation: Evaluation } {
  const evaluation = evaluate(input, policy);
  const alert = renderAlert(evaluation, dryRunResponse(evaluation));
  return {
    evaluation,
    record: {
      file,
      decision: evaluation.decision,
      reason: evaluation.reason,
      findingId: evaluation.known.findingId ?? null,
      findingType: evaluation.known.findingType ?? null,
      severity: evaluation.known.severity ?? null,
      surface: evaluation.surface,
      target: evaluation.target,
      actions: evaluation.actions,
      alert,
    },
  };
}

/** The record after a live containment: real outcomes, and the alert rendered from them. */
export function withResponse(
  record: ReplayRecord,
  evaluation: Evaluation,
  response: Response,
): { record: ReplayRecord; evaluation: Evaluation } {
  return {
    evaluation,
    record: {
      ...record,
      outcomes: [...response.outcomes],
      alert: renderAlert(evaluation, response),
    },
  };
}

/** The human-readable report for one replayed file. */
export function formatReport(record: ReplayRecord, evaluation: Evaluation): string {
  // A file name is whatever the finding's owner named it: shown like any other input.
  const lines = [`=== ${cleanText(record.file, 'path')}`];
  lines.push(`Decision:   ${record.decision.toUpperCase()} - ${record.reason}`);
  if (record.findingId) lines.push(`Finding:    ${record.findingId}`);
  if (record.findingType)
    lines.push(
      `Type:       ${record.findingType}${record.severity !== null ? ` (severity ${record.severity.toFixed(1)})` : ''}`,
    );
  if (record.surface) lines.push(`Surface:    ${record.surface}`);
  if (record.target) lines.push(`Target:     ${JSON.stringify(record.target)}`);
  if (evaluation.hostSignals.length > 0)
    lines.push(`Host risk:  ${evaluation.hostSignals.join('; ')}`);
  if (record.outcomes) {
    lines.push('Executed:');
    for (const outcome of record.outcomes) {
      lines.push(`  [${outcome.status}] ${outcome.action}: ${outcome.detail}`);
    }
  } else {
    const planned = record.actions.join(', ');
    lines.push(`Planned:    ${planned ? `${planned} (dry run: nothing executed)` : 'no action'}`);
  }
  if (record.alert) {
    lines.push(
      '',
      `--- alert subject (${record.alert.subject.length} chars)`,
      record.alert.subject,
    );
    lines.push('--- alert text (email)', record.alert.text);
    lines.push(
      '--- alert Slack (AWS Chatbot custom notification)',
      JSON.stringify(record.alert.slack, null, 2),
    );
  } else {
    lines.push('Alert:      none (ignored and rejected events send no alert)');
  }
  return lines.join('\n') + '\n';
}
