/**
 * Bundle sizes and cold import times, as ratios to a Powertools-only baseline, and what
 * explains the difference: each dependency alone, and all of a function's dependencies
 * without its own code.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OUT_DIR } from '../out-dir.js';
import {
  check,
  notMeasured,
  type Measurement,
  type MeasurementOutput,
  type TargetCheck,
} from '../report.js';
import { round, type Summary } from '../stats.js';
import { coldImports, type ColdImport } from './cold-import.js';
import { bundleSizes, type BundleSizes } from './loaded-at-start.js';
import { composition, type Composition } from './composition.js';
import { productionBundles, type BundleFile } from './production.js';
import { allDependenciesOf, BASELINE, buildProbes, PROBES } from './probes.js';

const FUNCTION_RUNS = 20;
const PROBE_RUNS = 15;
const MAX_RATIO = 1.2;
const ISOLATE_POD_MAX_MS = 250;
const RATIO_TARGETS = ['router', 'stop-task', 'quarantine-ec2'];

interface DependencyShare {
  package: string;
  /** Probe median minus baseline median. */
  deltaMs: number;
}

interface FunctionFigures {
  name: string;
  origin: BundleFile['origin'];
  problem?: string;
  /** Code a cold start reads (entry + static chunks), and the whole folder. */
  kb?: number;
  gzipKb?: number;
  files?: number;
  totalKb?: number;
  coldImportMs?: Summary;
  coldImportCpuMs?: Summary;
  ratioToBaseline?: number;
  /** The same ratio in CPU time, which other processes' load does not inflate. */
  cpuRatioToBaseline?: number;
  /** Baseline plus every probed dependency of the function, without the function's code. */
  allDependenciesMs?: number;
  composition?: Composition;
  /** This function's dependencies, largest cold-import share first. */
  dependencies?: DependencyShare[];
}

const sizesOf = (bundle: { file: string; startFiles: string[] }): BundleSizes =>
  bundleSizes(bundle.startFiles, dirname(bundle.file));

const ratioTarget = (name: string) => `${name} cold import ≤ ${MAX_RATIO}× baseline (median)`;
const ISOLATE_TARGET = `isolate-pod cold import ≤ ${ISOLATE_POD_MAX_MS} ms (median)`;

function targetsFor(figures: FunctionFigures[], baselineMs: number): TargetCheck[] {
  const byName = new Map(figures.map((f) => [f.name, f]));
  const checks = RATIO_TARGETS.map((name) => {
    const f = byName.get(name);
    if (f?.ratioToBaseline === undefined || f.coldImportMs === undefined)
      return notMeasured(ratioTarget(name), f?.problem ?? 'no bundle');
    return check(
      ratioTarget(name),
      `${f.ratioToBaseline.toFixed(2)}× (${f.coldImportMs.median.toFixed(0)} ms vs ${baselineMs.toFixed(0)} ms; CPU time ${f.cpuRatioToBaseline?.toFixed(2)}×)`,
      f.ratioToBaseline <= MAX_RATIO,
    );
  });
  const pod = byName.get('isolate-pod');
  checks.push(
    pod?.coldImportMs === undefined
      ? notMeasured(ISOLATE_TARGET, pod?.problem ?? 'no bundle')
      : check(
          ISOLATE_TARGET,
          `${pod.coldImportMs.median.toFixed(0)} ms`,
          pod.coldImportMs.median <= ISOLATE_POD_MAX_MS,
        ),
  );
  return checks;
}

const deltaOf = (imports: Map<string, ColdImport>, name: string, baselineMs: number) =>
  round((imports.get(name)?.ms.median ?? Number.NaN) - baselineMs, 1);

function functionFigures(
  bundle: BundleFile,
  made: Composition | undefined,
  imports: Map<string, ColdImport>,
): FunctionFigures {
  const baseline = imports.get(BASELINE)!;
  const baselineMs = baseline.ms.median;
  const imported = imports.get(bundle.name);
  if (!bundle.file || !imported || imported.error || !made) {
    return { name: bundle.name, origin: bundle.origin, problem: bundle.problem ?? imported?.error };
  }
  return {
    name: bundle.name,
    origin: bundle.origin,
    ...sizesOf({ file: bundle.file, startFiles: made.startFiles }),
    coldImportMs: imported.ms,
    coldImportCpuMs: imported.cpuMs,
    ratioToBaseline: round(imported.ms.median / baselineMs, 2),
    cpuRatioToBaseline: round(imported.cpuMs.median / baseline.cpuMs.median, 2),
    allDependenciesMs: imports.get(allDependenciesOf(bundle.name))?.ms.median,
    composition: made,
    dependencies: PROBES.filter((probe) => made.packages.includes(probe.name))
      .map((probe) => ({ package: probe.name, deltaMs: deltaOf(imports, probe.name, baselineMs) }))
      .sort((a, b) => b.deltaMs - a.deltaMs),
  };
}

function functionRows(
  figures: FunctionFigures[],
  baseline: ColdImport,
  baselineSize: BundleSizes,
): string[] {
  const rows = [
    '| bundle | KB read at start (files) | gzip KB | KB in all | cold import ms (median / p99) | × baseline | CPU ms (median) | its dependencies alone, ms | largest dependency (Δ ms) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${BASELINE} | ${baselineSize.kb} (${baselineSize.files}) | ${baselineSize.gzipKb} | ${baselineSize.totalKb} | ${baseline.ms.median.toFixed(0)} / ${baseline.ms.p99.toFixed(0)} | 1.00 | ${baseline.cpuMs.median.toFixed(0)} | | |`,
  ];
  for (const f of figures) {
    if (f.coldImportMs === undefined) {
      rows.push(`| ${f.name} | missing: ${f.problem ?? '?'} | | | | | | | |`);
      continue;
    }
    const top = f.dependencies?.[0];
    rows.push(
      `| ${f.name} | ${f.kb} (${f.files}) | ${f.gzipKb} | ${f.totalKb} | ${f.coldImportMs.median.toFixed(0)} / ${f.coldImportMs.p99.toFixed(0)} | ${f.ratioToBaseline?.toFixed(2)} | ${f.coldImportCpuMs?.median.toFixed(0)} | ${f.allDependenciesMs?.toFixed(0) ?? '?'} | ${top ? `${top.package} (+${top.deltaMs.toFixed(0)})` : ''} |`,
    );
  }
  return rows;
}

function probeRows(
  figures: FunctionFigures[],
  imports: Map<string, ColdImport>,
  baselineMs: number,
) {
  const rows = ['| dependency | Δ cold import ms over baseline | in |', '| --- | --- | --- |'];
  for (const probe of PROBES) {
    const users = figures.flatMap((f) => {
      if (f.composition?.packages.includes(probe.name)) return [f.name];
      if (f.composition?.onDemandPackages.includes(probe.name)) return [`${f.name} (on demand)`];
      return [];
    });
    rows.push(
      `| ${probe.name} | +${deltaOf(imports, probe.name, baselineMs).toFixed(0)} | ${users.join(', ') || '-'} |`,
    );
  }
  return rows;
}

function summaryLines(
  figures: FunctionFigures[],
  imports: Map<string, ColdImport>,
  buildOk: boolean,
  baselineSize: BundleSizes,
): string[] {
  const baseline = imports.get(BASELINE)!;
  const mismatched = figures.filter((f) => f.composition && !f.composition.sameAsBuildScript);
  return [
    ...(buildOk
      ? []
      : [
          '`npm run build` failed; bundles were built here with the same options where possible.',
          '',
        ]),
    `Cold import: median of ${FUNCTION_RUNS} fresh \`node\` processes per bundle (probes: ${PROBE_RUNS}), Lambda-like env (tracing on). "Read at start" = the entry and the chunks it imports statically; "in all" adds the chunks loaded on demand. "Dependencies alone" = baseline + every probed dependency the function loads at start, without its own code.`,
    '',
    ...functionRows(figures, baseline, baselineSize),
    '',
    'Each dependency alone (baseline + that package, the exports the functions use). SDK clients share the Smithy/AWS SDK core, so the first client carries most of it and the deltas do not add up. "On demand": only in chunks a function loads when an optional action first needs them:',
    '',
    ...probeRows(figures, imports, baseline.ms.median),
    ...(mismatched.length === 0
      ? []
      : [
          '',
          `Note: the in-memory rebuild of ${mismatched.map((f) => f.name).join(', ')} differs from the measured bundle (the source changed during the run, or the options drifted from scripts/build.ts).`,
        ]),
  ];
}

export const bundlesMeasurement: Measurement = {
  id: 'bundles',
  title: 'Bundles: size and cold import',
  targets: [...RATIO_TARGETS.map(ratioTarget), ISOLATE_TARGET],
  async run() {
    removeBuiltFiles();
    try {
      return await measure();
    } finally {
      removeBuiltFiles();
    }
  },
};

/**
 * The measured copies and probe bundles are deleted once measured, so no lint or format
 * run can pick up megabytes of minified output (ESLint does not read .gitignore).
 */
function removeBuiltFiles(): void {
  for (const dir of ['bundles', 'probes'])
    rmSync(join(OUT_DIR, dir), { recursive: true, force: true });
}

async function measure(): Promise<MeasurementOutput> {
  const { build, bundles } = await productionBundles();
  const compositions = new Map<string, Composition>();
  for (const b of bundles) {
    if (b.file && b.builtIn) compositions.set(b.name, await composition(b.name, b.file, b.builtIn));
  }
  const probeFiles = await buildProbes(
    new Map([...compositions].map(([name, c]) => [name, new Set(c.packages)])),
  );
  const toImport = new Map<string, { file: string; runs: number }>();
  for (const b of bundles) if (b.file) toImport.set(b.name, { file: b.file, runs: FUNCTION_RUNS });
  for (const [name, { file }] of probeFiles)
    toImport.set(name, { file, runs: name === BASELINE ? FUNCTION_RUNS : PROBE_RUNS });
  const imports = await coldImports(toImport);
  const baselineMs = imports.get(BASELINE)!.ms.median;
  const figures = bundles.map((b) => functionFigures(b, compositions.get(b.name), imports));
  return {
    data: {
      build,
      runs: { functions: FUNCTION_RUNS, probes: PROBE_RUNS },
      baseline: { ...sizesOf(probeFiles.get(BASELINE)!), ...imports.get(BASELINE)! },
      functions: figures,
      probes: [...probeFiles.keys()]
        .filter((name) => name !== BASELINE)
        .map((name) => ({
          name,
          ...sizesOf(probeFiles.get(name)!),
          coldImportMs: imports.get(name)?.ms,
          coldImportCpuMs: imports.get(name)?.cpuMs,
          deltaOverBaselineMs: deltaOf(imports, name, baselineMs),
        })),
    },
    targets: targetsFor(figures, baselineMs),
    summary: summaryLines(figures, imports, build.ok, sizesOf(probeFiles.get(BASELINE)!)),
  };
}
