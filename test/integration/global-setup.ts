/**
 * Starts (or joins) the real test environment once for the integration project and hands
 * its exports to the tests. Afterwards it stops only what test runs started: an environment
 * from `npm run testenv -- up` keeps running, and one still used by another run is left.
 */
import type { TestProject } from 'vitest/node';
import { ensureTestEnv, stopTestEnv } from '../../testenv/env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** AWS_ENDPOINT_URL, AWS_*, KUBECONFIG, GDRR_K8S_SERVER, GDRR_K8S_CA_FILE, GDRR_EKS_CLUSTER_ID. */
    gdrrTestEnv: Record<string, string>;
    /** Non-empty when the environment could not start and the run opted out locally. */
    gdrrSkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let joined = false;
  try {
    const started = await ensureTestEnv();
    joined = true;
    if (!started.startedHere)
      process.stderr.write('[integration] using the running test environment\n');
    Object.assign(process.env, started.env);
    project.provide('gdrrTestEnv', started.env);
    project.provide('gdrrSkipReason', '');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // CI must never pass by skipping; locally, skipping is an explicit choice.
    if (process.env.CI || process.env.GDRR_SKIP_INTEGRATION !== '1') {
      throw new Error(
        `the integration test environment did not start:\n${reason}\n` +
          '(locally, GDRR_SKIP_INTEGRATION=1 skips the integration tests instead)',
        { cause: error },
      );
    }
    process.stderr.write(
      `\n[integration] SKIPPED (GDRR_SKIP_INTEGRATION=1): environment did not start:\n${reason}\n\n`,
    );
    project.provide('gdrrTestEnv', {});
    project.provide('gdrrSkipReason', reason);
  }
  return async () => {
    // Stops the environment only if test runs started it and no other run still uses it.
    if (joined) await stopTestEnv();
  };
}
