/** What every surface scenario shares: the request from a sample finding, and timed runs. */
import { randomBytes } from 'node:crypto';
import { parseContainmentRequest, type RequestFor } from '../../shared/containment.js';
import type { ContainmentResult, Surface } from '../../shared/contracts.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { loadFixtures } from '../findings.js';
import { summarize, type Summary } from '../stats.js';
import { analyse, type CallAnalysis, type CallRecorder } from './recorder.js';

type Json = Record<string, unknown>;

/** Set a dotted path (`resource.instanceDetails.instanceId`) of a finding that has it. */
function assign(detail: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = detail;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) throw new Error(`the finding has no ${path}`);
    node = next as Json;
  }
  node[keys[keys.length - 1]!] = value;
}

/**
 * The request the router would send for `file` (default policy), with the finding aimed at
 * resources that exist in the test environment (`fields`: dotted path in detail → value).
 */
export function requestFor<S extends Surface>(
  file: string,
  surface: S,
  fields: Record<string, unknown>,
): RequestFor<S> {
  const fixture = loadFixtures().find((f) => f.file === file);
  if (!fixture) throw new Error(`events/${file} is missing`);
  const event = structuredClone(fixture.event);
  const detail = (typeof event.detail === 'object' ? event.detail : event) as Json;
  assign(detail, 'id', randomBytes(16).toString('hex'));
  for (const [path, value] of Object.entries(fields)) assign(detail, path, value);
  const policy = defaultPolicy();
  const evaluation = evaluate(event, policy);
  const built = containmentRequest(evaluation, policy);
  if (!built) throw new Error(`${file} did not lead to containment: ${evaluation.reason}`);
  return parseContainmentRequest(built, surface);
}

export interface Run {
  wallMs: number;
  analysis: CallAnalysis;
  outcomes: Record<string, string>;
}

/** One containment, timed from request to outcome, with its recorded round trips. */
export async function timedRun(
  recorder: CallRecorder,
  contain: () => Promise<ContainmentResult>,
): Promise<Run> {
  recorder.clear();
  const start = performance.now();
  const result = await contain();
  const wallMs = performance.now() - start;
  return {
    wallMs,
    analysis: analyse(recorder.calls),
    outcomes: Object.fromEntries(result.outcomes.map((o) => [o.action, o.status])),
  };
}

export interface ScenarioFigures {
  /** Short name, used in the targets. */
  label: string;
  surface: Surface;
  scenario: string;
  /** The fewest sequential round trips this containment strictly needs, and why. */
  floor: { trips: number; why: string };
  runs: Run[];
  wallMs: Summary;
  depth: { min: number; max: number };
  /** The waves of the run with the median wall time. */
  typicalWaves: string[][];
  /** Anything measured outside the steady runs (e.g. a first run that creates shared groups). */
  extra?: Record<string, Run>;
}

export function scenarioFigures(
  fields: Pick<ScenarioFigures, 'label' | 'surface' | 'scenario' | 'floor' | 'extra'>,
  runs: Run[],
): ScenarioFigures {
  const byTime = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const depths = runs.map((r) => r.analysis.sequentialDepth);
  return {
    ...fields,
    runs,
    wallMs: summarize(runs.map((r) => r.wallMs)),
    depth: { min: Math.min(...depths), max: Math.max(...depths) },
    typicalWaves: byTime[Math.floor(byTime.length / 2)]?.analysis.waves ?? [],
  };
}
