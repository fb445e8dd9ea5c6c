/**
 * `npm run bench`: every measurement in turn, then bench/out/report.json and summary.md.
 * `npm run bench -- --only bundles,sanitizer` runs a subset. A measurement that cannot run
 * is reported as skipped (with the reason) and never fails the run; neither does a MISS.
 */
import { bundlesMeasurement } from './bundles/measure.js';
import { criticalPathMeasurement } from './critical-path/measure.js';
import { leaveBenchEnv } from './critical-path/testenv.js';
import { podLookupMeasurement } from './pod-lookup/measure.js';
import { routerCpuMeasurement } from './router-cpu.js';
import { sanitizerMeasurement } from './sanitizer.js';
import { stormMeasurement } from './storm.js';
import {
  newReport,
  notMeasured,
  SkipMeasurement,
  writeReport,
  type Measurement,
  type Section,
} from './report.js';

// Storm early: its memory figures start from a process that has not yet held 10,000 findings.
const MEASUREMENTS: readonly Measurement[] = [
  bundlesMeasurement,
  stormMeasurement,
  routerCpuMeasurement,
  sanitizerMeasurement,
  criticalPathMeasurement,
  podLookupMeasurement,
];

function selected(argv: readonly string[]): readonly Measurement[] {
  const at = argv.indexOf('--only');
  if (at === -1) return MEASUREMENTS;
  const ids = new Set((argv[at + 1] ?? '').split(',').filter(Boolean));
  const unknown = [...ids].filter((id) => !MEASUREMENTS.some((m) => m.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown measurement ${unknown.join(', ')}; known: ${MEASUREMENTS.map((m) => m.id).join(', ')}`,
    );
  }
  return MEASUREMENTS.filter((m) => ids.has(m.id));
}

async function runOne(measurement: Measurement): Promise<Section> {
  const started = performance.now();
  try {
    const output = await measurement.run();
    return {
      status: 'ok',
      title: measurement.title,
      durationMs: Math.round(performance.now() - started),
      ...output,
    };
  } catch (error) {
    const skipped = error instanceof SkipMeasurement;
    const reason = error instanceof Error ? error.message : String(error);
    if (!skipped && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return {
      status: skipped ? 'skipped' : 'error',
      title: measurement.title,
      reason,
      targets: measurement.targets.map((t) =>
        notMeasured(t, `${skipped ? 'skipped' : 'error'}: ${reason}`),
      ),
    };
  }
}

async function main(): Promise<void> {
  const report = newReport();
  const started = performance.now();
  try {
    for (const measurement of selected(process.argv.slice(2))) {
      process.stderr.write(`[bench] ${measurement.title}…\n`);
      const section = await runOne(measurement);
      report.sections[measurement.id] = section;
      const took =
        section.status === 'ok' ? `${(section.durationMs / 1000).toFixed(1)} s` : section.status;
      process.stderr.write(`[bench] ${measurement.id}: ${took}\n`);
    }
  } finally {
    await leaveBenchEnv();
  }
  report.durationMs = Math.round(performance.now() - started);
  process.stdout.write(writeReport(report));
}

await main();
