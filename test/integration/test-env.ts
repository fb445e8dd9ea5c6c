/** The running test environment as integration tests see it (provided by global-setup.ts). */
import { inject } from 'vitest';

/** The exports of `npm run testenv -- up`. */
export interface IntegrationEnv {
  AWS_ENDPOINT_URL: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
  KUBECONFIG: string;
  GDRR_K8S_SERVER: string;
  GDRR_K8S_CA_FILE: string;
  GDRR_EKS_CLUSTER_ID: string;
}

/** Why the integration tests are skipped, or '' when they run. */
export function skipReason(): string {
  return inject('gdrrSkipReason');
}

/**
 * The environment's variables; also copied into `process.env` so that code reading its
 * configuration from the environment (handlers, SDK defaults) finds the emulators.
 */
export function integrationEnv(): IntegrationEnv {
  const env = inject('gdrrTestEnv');
  Object.assign(process.env, env);
  return env as unknown as IntegrationEnv;
}

/** A name no earlier run used, for resources in long-lived emulators. */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return `${prefix}-${suffix}`;
}
