/**
 * Containment critical path per surface against the test environment: wall time from
 * request to outcome and the number of sequential round trips, next to the floor each
 * surface strictly needs.
 */
import { check, notMeasured, type Measurement, type TargetCheck } from '../report.js';
import { FLOOR as EC2_FLOOR, ec2Scenario } from './ec2.js';
import { FLOOR as ECS_FLOOR, ecsScenario } from './ecs.js';
import { SCENARIOS as EKS_SCENARIOS, eksScenarios } from './eks.js';
import type { ScenarioFigures } from './surface.js';
import { benchEnv, type BenchEnv } from './testenv.js';

const pathTarget = (label: string, floor: number) =>
  `${label} critical path: sequential round trips ≤ floor (${floor})`;

const PLANNED = [
  { label: 'EC2', floor: EC2_FLOOR.trips },
  { label: 'ECS', floor: ECS_FLOOR.trips },
  ...EKS_SCENARIOS.map((s) => ({ label: s.label, floor: s.floor.trips })),
];

/** `CreateTags ×2, ModifyInstanceAttribute` */
function waveText(wave: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of wave) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ');
}

const wavesText = (waves: readonly (readonly string[])[]) =>
  waves.map((wave, i) => `${i + 1}. ${waveText(wave)}`).join(' → ');

function targetOf(f: ScenarioFigures): TargetCheck {
  const over = f.depth.max - f.floor.trips;
  const range = f.depth.min === f.depth.max ? `${f.depth.max}` : `${f.depth.min}–${f.depth.max}`;
  return check(
    pathTarget(f.label, f.floor.trips),
    `${range}${over > 0 ? ` (${over} over the floor)` : ''}; ${f.wallMs.median.toFixed(0)} ms median`,
    f.depth.max <= f.floor.trips,
  );
}

function summaryLines(figures: ScenarioFigures[], failures: Map<string, string>, env: BenchEnv) {
  const lines = [
    `Against the test environment (moto, kube-apiserver on 127.0.0.1${env.startedHere ? ', started by this run (left as test runs leave it)' : ', joined'}); each HTTP attempt recorded with start/end; depth = longest chain of requests each starting after the previous ended.`,
    '',
    '| scenario | runs | floor | sequential depth | requests | wall ms median / max |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const f of figures) {
    const requests = f.runs.map((r) => r.analysis.requests);
    lines.push(
      `| ${f.scenario} | ${f.runs.length} | ${f.floor.trips} | ${f.depth.min === f.depth.max ? f.depth.max : `${f.depth.min}–${f.depth.max}`} | ${Math.min(...requests)}–${Math.max(...requests)} | ${f.wallMs.median.toFixed(0)} / ${f.wallMs.max.toFixed(0)} |`,
    );
  }
  for (const [label, error] of failures) lines.push(`| ${label} | error: ${error} | | | | |`);
  lines.push('');
  for (const f of figures) {
    lines.push(`- **${f.label}** measured: ${wavesText(f.typicalWaves)}`);
    lines.push(`  - floor ${f.floor.trips}: ${f.floor.why}`);
    for (const [name, run] of Object.entries(f.extra ?? {})) {
      lines.push(
        `  - ${name}: depth ${run.analysis.sequentialDepth}, ${run.analysis.requests} requests, ${run.wallMs.toFixed(0)} ms: ${wavesText(run.analysis.waves)}`,
      );
    }
    const statuses = [...new Set(f.runs.map((r) => JSON.stringify(r.outcomes)))];
    lines.push(`  - outcomes: ${statuses.join(' / ')}`);
  }
  return lines;
}

export const criticalPathMeasurement: Measurement = {
  id: 'critical-path',
  title: 'Containment critical path (test environment)',
  targets: PLANNED.map((p) => pathTarget(p.label, p.floor)),
  async run() {
    const env = await benchEnv();
    const figures: ScenarioFigures[] = [];
    const failures = new Map<string, string>();
    const attempts: [string[], () => Promise<ScenarioFigures[]>][] = [
      [['EC2'], async () => [await ec2Scenario(env)]],
      [['ECS'], async () => [await ecsScenario(env)]],
      [EKS_SCENARIOS.map((s) => s.label), () => eksScenarios(env)],
    ];
    for (const [labels, attempt] of attempts) {
      try {
        figures.push(...(await attempt()));
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        for (const label of labels) failures.set(label, reason);
      }
    }
    const targets = PLANNED.map(({ label, floor }) => {
      const measured = figures.find((f) => f.label === label);
      return measured
        ? targetOf(measured)
        : notMeasured(pathTarget(label, floor), `error: ${failures.get(label) ?? 'not run'}`);
    });
    return {
      data: {
        startedTestEnv: env.startedHere,
        scenarios: figures,
        failures: Object.fromEntries(failures),
      },
      targets,
      summary: summaryLines(figures, failures, env),
    };
  },
};
