/** Run the project's command-line tools as a user does: a separate process, real stdio. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `script` (a path under the repository) with tsx, to the end. */
export function runCli(
  script: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CliRun {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: options.env ?? process.env,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Run a CLI with its standard output on a pipe whose reading end is closed after
 * `chunksRead` chunks (0: before the CLI writes anything), as `| head` does.
 */
export function runWithReaderClosing(
  script: string,
  args: readonly string[],
  chunksRead: number,
): Promise<Omit<CliRun, 'stdout'>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    let chunks = 0;
    const close = () => child.stdout.destroy();
    if (chunksRead === 0) close();
    else child.stdout.on('data', () => ++chunks >= chunksRead && close());
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** A stack frame of the project's own code, as Node prints an uncaught error. */
export const STACK_FRAME = /\bat .*\.[cm]?[jt]s:\d+/;
