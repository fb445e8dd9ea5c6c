/** The state file of a running environment, and the lock that serialises `up` and `down`. */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Layout } from './config.js';
import { progress, TestenvError } from './exec.js';
import { isRunning, type ServiceRecord } from './processes.js';

/** What `up` recorded: the run directory, each started service, and the exports. */
export interface RunState {
  runDir: string;
  startedAt: string;
  services: ServiceRecord[];
  env: Record<string, string>;
  /** `cli`: stays until `down`. `test-run`: stopped when the last test run releases it. */
  startedBy: 'cli' | 'test-run';
  /** Pids of test runs using the environment now. */
  users: number[];
  /** ENVIRONMENT_REVISION of the code that started it. */
  revision: number;
}

export function readState(layout: Layout): RunState | undefined {
  if (!existsSync(layout.stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(layout.stateFile, 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

/** Written after every started service, so a failed `up` can still be cleaned up. */
export function writeState(layout: Layout, state: RunState): void {
  mkdirSync(path.dirname(layout.stateFile), { recursive: true });
  const temporary = `${layout.stateFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2));
  renameSync(temporary, layout.stateFile);
}

export function removeState(layout: Layout): void {
  rmSync(layout.stateFile, { force: true });
}

const LOCK_WAIT_MS = 50 * 60_000;

/** Runs `action` holding the cache's lock (a directory holding the owner's pid). */
export async function withLock<T>(layout: Layout, action: () => Promise<T>): Promise<T> {
  mkdirSync(layout.cache, { recursive: true });
  const ownerFile = path.join(layout.lock, 'pid');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(layout.lock);
      writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileOrEmpty(ownerFile));
    if (owner && !isRunning(owner)) {
      rmSync(layout.lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new TestenvError(`another testenv command (pid ${owner}) holds ${layout.lock}`);
    }
    if (!announced) progress(`waiting for another testenv command (pid ${owner || '?'})`);
    announced = true;
    await sleep(500);
  }
  try {
    return await action();
  } finally {
    rmSync(layout.lock, { recursive: true, force: true });
  }
}

function readFileOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
