/**
 * Running tools for the test environment: progress goes to stderr (stdout is reserved for
 * the shell exports of `up`), a tool's own output goes to a log file named in any error.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** An error whose message is meant for a person: what failed and where to look. */
export class TestenvError extends Error {
  override name = 'TestenvError';
}

/** One progress line on stderr. */
export function progress(message: string): void {
  process.stderr.write(`[testenv] ${message}\n`);
}

/** The last lines of a log file, for an error message. */
export function tailOf(logFile: string, lines = 15): string {
  try {
    const text = readFileSync(logFile, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

export interface RunOptions {
  /** What is being done, for the error message. */
  description: string;
  /** Output of the tool is appended here. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a tool to completion with its output in a log file; throws with the log's tail on failure. */
export async function runLogged(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<void> {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  appendFileSync(options.logFile, `\n$ ${[command, ...args].join(' ')}\n`);
  const fd = openSync(options.logFile, 'a');
  try {
    const code = await new Promise<number | string>((resolve) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
      });
      child.on('error', (error) => resolve(error.message));
      child.on('close', (exitCode, signal) => resolve(exitCode ?? `signal ${signal}`));
    });
    if (code !== 0) {
      throw new TestenvError(
        `${options.description} failed (${typeof code === 'number' ? `exit ${code}` : code}); ` +
          `log: ${options.logFile}\n${tailOf(options.logFile)}`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** Runs a short tool and returns its stdout; throws with its stderr on failure. */
export async function capture(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) =>
      reject(new TestenvError(`cannot run ${command}: ${error.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else {
        const detail = Buffer.concat(stderr).toString('utf8').trim();
        reject(new TestenvError(`${command} ${args.join(' ')} failed (exit ${code}): ${detail}`));
      }
    });
  });
}
