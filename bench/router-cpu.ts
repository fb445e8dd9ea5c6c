/**
 * Router CPU per finding: parse + sanitize + decide + plan (`evaluate`) and render
 * (`renderAlert` of the dry-run response), against JSON.parse + JSON.stringify of the same
 * event as a yardstick. The Lambda runtime's own JSON.parse of the event is not included.
 */
import { dryRunResponse, renderAlert } from '../shared/alert.js';
import { evaluate, type Decision } from '../shared/decide.js';
import { defaultPolicy, type Policy } from '../shared/policy.js';
import { generateFindings, loadFixtures } from './findings.js';
import { check, type Measurement } from './report.js';
import { median, round, summarize, timeMs } from './stats.js';

const GENERATED = 10_000;
/** Timings per input; the median of these is the input's figure. Few inputs, more timings. */
const REPS = { fixture: 51, generated: 3 };
const MAX_MEDIAN_US = 500;
const MAX_RATIO = 20;

interface Input {
  source: 'fixture' | 'generated';
  label: string;
  event: unknown;
  text: string;
}

interface Sample {
  source: Input['source'];
  label: string;
  decision: Decision;
  bytes: number;
  routerUs: number;
  jsonUs: number;
}

/** What the router does to one event before it acts or publishes. */
function routerWork(event: unknown, policy: Policy): number {
  const evaluation = evaluate(event, policy);
  const alert = renderAlert(evaluation, dryRunResponse(evaluation));
  return alert?.text.length ?? 0;
}

const jsonWork = (text: string): number => JSON.stringify(JSON.parse(text)).length;

/**
 * Mean CPU time per finding over one pass of all inputs, from process.cpuUsage(): unlike the
 * wall-clock timings, it does not grow when other processes take the CPU away.
 */
function meanCpuUs(all: readonly Input[], policy: Policy): { router: number; json: number } {
  const pass = (work: (input: Input) => unknown) => {
    const before = process.cpuUsage();
    for (const input of all) work(input);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / all.length;
  };
  return {
    router: pass((input) => routerWork(input.event, policy)),
    json: pass((input) => jsonWork(input.text)),
  };
}

function measureInput(input: Input, policy: Policy): Sample {
  const router: number[] = [];
  const json: number[] = [];
  for (let rep = 0; rep < REPS[input.source]; rep += 1) {
    router.push(timeMs(() => routerWork(input.event, policy)));
    json.push(timeMs(() => jsonWork(input.text)));
  }
  return {
    source: input.source,
    label: input.label,
    decision: evaluate(input.event, policy).decision,
    bytes: Buffer.byteLength(input.text),
    routerUs: median(router) * 1000,
    jsonUs: median(json) * 1000,
  };
}

function inputs(): Input[] {
  const fixtures = loadFixtures();
  const fromFiles = fixtures.map(({ file, event }) => ({
    source: 'fixture' as const,
    label: file,
    event,
    text: JSON.stringify(event),
  }));
  const generated = generateFindings(fixtures, GENERATED).map((event, i) => ({
    source: 'generated' as const,
    label: `generated #${i}`,
    event,
    text: JSON.stringify(event),
  }));
  return [...fromFiles, ...generated];
}

function groupFigures(samples: readonly Sample[]) {
  const ratios = samples.map((s) => s.routerUs / s.jsonUs);
  const router = summarize(samples.map((s) => s.routerUs));
  const json = summarize(samples.map((s) => s.jsonUs));
  return {
    count: samples.length,
    routerUs: router,
    jsonUs: json,
    ratio: {
      median: median(ratios),
      p99: summarize(ratios).p99,
      ofMedians: router.median / json.median,
    },
    bytes: summarize(samples.map((s) => s.bytes)),
    decisions: Object.fromEntries(
      (['contain', 'notify', 'ignore', 'reject'] as const).map((d) => [
        d,
        samples.filter((s) => s.decision === d).length,
      ]),
    ),
  };
}

type Figures = ReturnType<typeof groupFigures>;

const row = (name: string, f: Figures) =>
  `| ${name} | ${f.count} | ${f.routerUs.median.toFixed(1)} | ${f.routerUs.p99.toFixed(1)} | ${f.routerUs.max.toFixed(0)} | ${f.jsonUs.median.toFixed(1)} | ${f.ratio.median.toFixed(1)}× | ${f.ratio.p99.toFixed(1)}× | ${f.bytes.median.toFixed(0)} |`;

export const routerCpuMeasurement: Measurement = {
  id: 'router-cpu',
  title: 'Router CPU per finding',
  targets: [
    `router CPU ≤ ${MAX_MEDIAN_US / 1000} ms per finding (median)`,
    `router CPU ≤ ${MAX_RATIO}× JSON.parse + JSON.stringify of the same event (median)`,
  ],
  run() {
    const policy = defaultPolicy();
    const all = inputs();
    // Warm-up: let the JIT settle before anything is timed.
    for (const input of all.slice(0, 2000)) routerWork(input.event, policy);
    for (const input of all.slice(0, 2000)) jsonWork(input.text);
    const samples = all.map((input) => measureInput(input, policy));
    const cpuUs = meanCpuUs(all, policy);
    const figures = {
      all: groupFigures(samples),
      fixtures: groupFigures(samples.filter((s) => s.source === 'fixture')),
      generated: groupFigures(samples.filter((s) => s.source === 'generated')),
    };
    const slowest = [...samples].sort((a, b) => b.routerUs - a.routerUs).slice(0, 5);
    const fixtures = samples
      .filter((s) => s.source === 'fixture')
      .map((s) => ({ ...s, routerUs: round(s.routerUs, 1), jsonUs: round(s.jsonUs, 1) }));
    const { all: total } = figures;
    return Promise.resolve({
      data: {
        reps: REPS,
        generatedCount: GENERATED,
        meanCpuUs: cpuUs,
        ...figures,
        fixtures,
        slowest,
      },
      targets: [
        check(
          this.targets[0]!,
          `${total.routerUs.median.toFixed(1)} µs (p99 ${total.routerUs.p99.toFixed(0)} µs)`,
          total.routerUs.median <= MAX_MEDIAN_US,
        ),
        check(
          this.targets[1]!,
          `${total.ratio.median.toFixed(1)}× (p99 ${total.ratio.p99.toFixed(1)}×)`,
          total.ratio.median <= MAX_RATIO,
        ),
      ],
      summary: [
        `\`evaluate\` + \`renderAlert(dryRunResponse)\` per finding (wall clock, median of ${REPS.fixture} timings per file, ${REPS.generated} per generated finding); ratio = router / (JSON.parse + JSON.stringify) of the same event, per event.`,
        '',
        '| inputs | n | router µs median | p99 | max | JSON µs median | ratio median | ratio p99 | event bytes (median) |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        row('events/*.json', figures.fixtures),
        row(`generated (seeded)`, figures.generated),
        row('all', total),
        '',
        `Mean CPU time over one pass of all ${all.length} inputs (process.cpuUsage, immune to other processes' load): router ${cpuUs.router.toFixed(1)} µs, JSON ${cpuUs.json.toFixed(1)} µs per finding.`,
        `Decisions of the generated findings: ${Object.entries(figures.generated.decisions)
          .map(([d, n]) => `${d} ${n}`)
          .join(', ')}.`,
        `Slowest inputs: ${slowest.map((s) => `${s.label} ${s.routerUs.toFixed(0)} µs (${s.bytes} B)`).join('; ')}.`,
      ],
    });
  },
};
