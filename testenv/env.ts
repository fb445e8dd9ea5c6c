/**
 * The test environment for test runners (vitest globalSetup): start it or join the one
 * running, and leave it when done. Several test runs may share one environment.
 */
import { layout } from './config.js';
import { release, up } from './lifecycle.js';

/** The exports of the running environment, and whether this call started it. */
export async function ensureTestEnv(): Promise<{
  env: Record<string, string>;
  startedHere: boolean;
}> {
  return up(layout(), { user: process.pid });
}

/**
 * This test run is done: the environment stops when test runs started it and no other test
 * run uses it. One started with `npm run testenv -- up` keeps running until `down`.
 */
export async function stopTestEnv(): Promise<void> {
  await release(layout(), process.pid);
}
