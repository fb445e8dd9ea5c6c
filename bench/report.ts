/**
 * The report: every measurement's figures in bench/out/report.json, and a short summary
 * (targets first, PASS/MISS, then a few lines per measurement) in bench/out/summary.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { OUT_DIR } from './out-dir.js';

export type TargetStatus = 'PASS' | 'MISS' | 'SKIPPED';

export interface TargetCheck {
  target: string;
  measured: string;
  status: TargetStatus;
}

/** What a measurement hands back; `summary` lines are Markdown. */
export interface MeasurementOutput {
  data: unknown;
  targets: TargetCheck[];
  summary: string[];
}

export interface Measurement {
  id: string;
  title: string;
  /** The targets this measurement checks, so a skipped run can still list them. */
  targets: readonly string[];
  run(): Promise<MeasurementOutput>;
}

/** Thrown by a measurement that cannot run here (e.g. no test environment). */
export class SkipMeasurement extends Error {
  override readonly name = 'SkipMeasurement';
}

export type Section =
  | ({ status: 'ok'; title: string; durationMs: number } & MeasurementOutput)
  | { status: 'skipped' | 'error'; title: string; reason: string; targets: TargetCheck[] };

export const check = (target: string, measured: string, pass: boolean): TargetCheck => ({
  target,
  measured,
  status: pass ? 'PASS' : 'MISS',
});

export const notMeasured = (target: string, reason: string): TargetCheck => ({
  target,
  measured: reason,
  status: 'SKIPPED',
});

export interface Report {
  generatedAt: string;
  environment: {
    node: string;
    platform: string;
    cpus: number;
    cpuModel: string;
    /** 1-minute load average at start and end: other work on the machine skews wall times. */
    loadAverage: { start: number; end: number };
  };
  durationMs: number;
  sections: Record<string, Section>;
}

export function newReport(): Report {
  const cores = cpus();
  return {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cores.length,
      cpuModel: cores[0]?.model ?? 'unknown',
      loadAverage: { start: loadavg()[0] ?? 0, end: 0 },
    },
    durationMs: 0,
    sections: {},
  };
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function summaryMarkdown(report: Report): string {
  const { environment: env } = report;
  const lines = [
    '# Benchmark summary',
    '',
    `${report.generatedAt} · Node ${env.node} · ${env.platform} · ${env.cpus} × ${env.cpuModel} · ${(report.durationMs / 1000).toFixed(0)} s · load average ${env.loadAverage.start.toFixed(1)} at start, ${env.loadAverage.end.toFixed(1)} at end (wall-clock figures grow with it)`,
    '',
    '## Targets',
    '',
    '| result | target | measured |',
    '| --- | --- | --- |',
  ];
  for (const section of Object.values(report.sections)) {
    for (const t of section.targets) {
      lines.push(`| ${t.status} | ${escapeCell(t.target)} | ${escapeCell(t.measured)} |`);
    }
  }
  for (const section of Object.values(report.sections)) {
    lines.push('', `## ${section.title}`, '');
    if (section.status === 'ok') lines.push(...section.summary);
    else lines.push(`${section.status}: ${section.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Write report.json and summary.md; returns the summary. */
export function writeReport(report: Report): string {
  report.environment.loadAverage.end = loadavg()[0] ?? 0;
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const summary = summaryMarkdown(report);
  writeFileSync(join(OUT_DIR, 'summary.md'), summary);
  return summary;
}
