/**
 * Long-running service processes: started detached (each leads its own process group) with
 * a marker in its environment, so `down` stops exactly the processes `up` started even if
 * their pid has been reused since.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestenvError } from './exec.js';

/** Environment variable every service of a run carries; its value is the run directory. */
export const RUN_MARKER = 'GDRR_TESTENV_RUN';

/** A started service as recorded in the state file. */
export interface ServiceRecord {
  name: string;
  pid: number;
  port: number;
  logFile: string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  port: number;
  logFile: string;
  runDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a service in the background, its output appended to its log file. */
export async function startService(options: StartOptions): Promise<ServiceRecord> {
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd ?? options.runDir,
      env: { ...(options.env ?? process.env), [RUN_MARKER]: options.runDir },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? -1));
      child.once('error', (error) =>
        reject(
          new TestenvError(`cannot start ${options.name} (${options.command}): ${error.message}`),
        ),
      );
    });
    child.unref();
    return { name: options.name, pid, port: options.port, logFile: options.logFile };
  } finally {
    closeSync(fd);
  }
}

/** True while the process runs (a zombie counts as ended). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** True when `pid` is a live process that was started for `runDir`. */
export function belongsToRun(pid: number, runDir: string): boolean {
  if (!isRunning(pid)) return false;
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return environ.includes(`${RUN_MARKER}=${runDir}`);
  } catch {
    return false;
  }
}

/**
 * Stops a service of `runDir`: SIGTERM to its process group, SIGKILL after `graceMs`.
 * Does nothing when the pid is gone or now belongs to someone else.
 */
export async function stopService(
  record: ServiceRecord,
  runDir: string,
  graceMs = 10_000,
): Promise<void> {
  if (!belongsToRun(record.pid, runDir)) return;
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record.pid)) return;
    await sleep(100);
  }
  signalGroup(record.pid, 'SIGKILL');
  for (let i = 0; i < 50 && isRunning(record.pid); i++) await sleep(100);
  if (isRunning(record.pid)) {
    throw new TestenvError(`${record.name} (pid ${record.pid}) did not stop after SIGKILL`);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the process group the detached service leads (its own children too).
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
