/**
 * Cold import time: a fresh Node process per sample, timing only `await import(url)` with
 * performance.now(), so process start-up is not in the figure. Samples of different bundles
 * are interleaved, so a busy moment on the machine does not land on one bundle only.
 */
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { summarize, type Summary } from '../stats.js';

const run = promisify(execFile);

/**
 * A Lambda-like environment: with AWS_EXECUTION_ENV set, Powertools Tracer enables tracing
 * and patches http/https/fetch at construction, as it does in Lambda. Nothing else leaks in.
 */
function lambdaLikeEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'bench-cold-import',
  };
}

/** Wall and CPU milliseconds of one import; CPU time does not grow with other processes' load. */
async function importOnce(file: string): Promise<{ ms: number; cpuMs: number }> {
  const url = JSON.stringify(pathToFileURL(file).href);
  const script = [
    'const c0 = process.cpuUsage(); const t0 = performance.now();',
    `await import(${url});`,
    'const ms = performance.now() - t0; const c = process.cpuUsage(c0);',
    'process.stdout.write(JSON.stringify([ms, (c.user + c.system) / 1000]));',
  ].join(' ');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: lambdaLikeEnv(),
  });
  const [ms, cpuMs] = JSON.parse(stdout) as [number, number];
  if (!Number.isFinite(ms)) throw new Error(`unexpected output importing ${file}: ${stdout}`);
  return { ms, cpuMs };
}

export interface ColdImport {
  ms: Summary;
  cpuMs: Summary;
  /** Why the bundle could not be imported (the first error), if it could not. */
  error?: string;
}

/** Median-ready samples for each file: `runs` rounds, one import of every file per round. */
export async function coldImports(
  files: ReadonlyMap<string, { file: string; runs: number }>,
): Promise<Map<string, ColdImport>> {
  const samples = new Map<string, { ms: number; cpuMs: number }[]>(
    [...files.keys()].map((key) => [key, []]),
  );
  const errors = new Map<string, string>();
  const rounds = Math.max(...[...files.values()].map((f) => f.runs));
  for (let round = 0; round < rounds; round += 1) {
    for (const [key, { file, runs }] of files) {
      if (round >= runs || errors.has(key)) continue;
      try {
        samples.get(key)!.push(await importOnce(file));
      } catch (error) {
        errors.set(key, error instanceof Error ? error.message.split('\n')[0]! : String(error));
      }
    }
  }
  return new Map(
    [...files.keys()].map((key) => {
      const error = errors.get(key);
      const taken = samples.get(key)!;
      const result: ColdImport = {
        ms: summarize(taken.map((t) => t.ms)),
        cpuMs: summarize(taken.map((t) => t.cpuMs)),
      };
      return [key, error === undefined ? result : { ...result, error }];
    }),
  );
}
