/**
 * The functions' production bundles: `npm run build`, then a private copy in bench/out/ so
 * a concurrent build (which empties dist/) cannot change a bundle while it is measured.
 * A function whose bundle the build did not produce is built here with the same options,
 * and a function without a handler is reported missing.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_ENTRY } from '../../scripts/bundle-options.js';
import { OUT_DIR, REPO_ROOT } from '../out-dir.js';
import { bundleOptions } from './esbuild-options.js';

/** The functions the issue names, whether or not they exist yet. */
const EXPECTED_FUNCTIONS = ['router', 'quarantine-ec2', 'stop-task', 'isolate-pod'];

export interface BundleFile {
  name: string;
  /** The measured copy, or null when there is no bundle. */
  file: string | null;
  /**
   * Where the bundle was built: chunk names hash the source map paths, which are relative
   * to it, so a rebuild names its chunks alike only when it builds there too.
   */
  builtIn?: string;
  origin: 'npm run build' | 'bench build (same options)' | 'missing';
  problem?: string;
}

export interface BuildRun {
  ok: boolean;
  /** The tail of the build's output, for the report when it failed. */
  output: string;
}

const handlerOf = (name: string) => join(REPO_ROOT, 'functions', name, 'handler.ts');

function functionNames(): string[] {
  const present = readdirSync(join(REPO_ROOT, 'functions')).filter((name) =>
    existsSync(handlerOf(name)),
  );
  return [...new Set([...EXPECTED_FUNCTIONS, ...present])];
}

export function runBuildScript(): BuildRun {
  const run = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
  return { ok: run.status === 0, output: output.split('\n').slice(-15).join('\n') };
}

async function buildHere(name: string, outdir: string): Promise<string | undefined> {
  try {
    await build(bundleOptions(handlerOf(name), outdir));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n').slice(0, 5).join(' ') : String(error);
  }
}

async function bundleOf(name: string, builtSince: number): Promise<BundleFile> {
  if (!existsSync(handlerOf(name))) {
    return {
      name,
      file: null,
      origin: 'missing',
      problem: `functions/${name}/handler.ts does not exist`,
    };
  }
  const copy = join(OUT_DIR, 'bundles', name, BUNDLE_ENTRY);
  rmSync(dirname(copy), { recursive: true, force: true });
  const built = join(REPO_ROOT, 'dist', name, BUNDLE_ENTRY);
  try {
    if (statSync(built).mtimeMs >= builtSince) {
      cpSync(dirname(built), dirname(copy), { recursive: true });
      return { name, file: copy, builtIn: dirname(built), origin: 'npm run build' };
    }
  } catch {
    // Not built, or removed by a concurrent build: build it here below.
  }
  const problem = await buildHere(name, dirname(copy));
  return problem === undefined
    ? { name, file: copy, builtIn: dirname(copy), origin: 'bench build (same options)' }
    : { name, file: null, origin: 'missing', problem: `build failed: ${problem}` };
}

/** Build with the project's script and collect one bundle (or a reason) per function. */
export async function productionBundles(): Promise<{ build: BuildRun; bundles: BundleFile[] }> {
  // mtime has a coarser resolution than Date.now() on some file systems.
  const builtSince = Date.now() - 1000;
  const buildRun = runBuildScript();
  const bundles: BundleFile[] = [];
  for (const name of functionNames()) bundles.push(await bundleOf(name, builtSince));
  return { build: buildRun, bundles };
}
