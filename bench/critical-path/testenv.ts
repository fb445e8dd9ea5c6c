/**
 * The shared test environment (moto + kube-apiserver), joined (or started) once per run and
 * left at the end as test runners leave it: it stops only if test runs started it and no
 * other run still uses it; one started with `npm run testenv -- up` keeps running.
 */
import { ensureTestEnv, stopTestEnv } from '../../testenv/env.js';
import { SkipMeasurement } from '../report.js';

export interface BenchEnv {
  AWS_ENDPOINT_URL: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
  KUBECONFIG: string;
  startedHere: boolean;
}

let started: Promise<BenchEnv> | undefined;

async function start(): Promise<BenchEnv> {
  let up: Awaited<ReturnType<typeof ensureTestEnv>>;
  try {
    up = await ensureTestEnv();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new SkipMeasurement(`the test environment did not start: ${reason}`);
  }
  // SDK defaults and code that reads its configuration from the environment find the emulators.
  Object.assign(process.env, up.env);
  const need = [
    'AWS_ENDPOINT_URL',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
    'KUBECONFIG',
  ];
  const missing = need.filter((key) => !up.env[key]);
  if (missing.length > 0)
    throw new SkipMeasurement(`the test environment exports no ${missing.join(', ')}`);
  return { ...(up.env as unknown as Omit<BenchEnv, 'startedHere'>), startedHere: up.startedHere };
}

export function benchEnv(): Promise<BenchEnv> {
  started ??= start();
  return started;
}

/** Leave the environment if this run joined it. */
export async function leaveBenchEnv(): Promise<void> {
  if (started === undefined) return;
  const joined = await started.then(
    () => true,
    () => false,
  );
  if (joined) await stopTestEnv();
}

/** Endpoint, region and test credentials for any SDK v3 client. */
export function awsConfig(env: BenchEnv) {
  return {
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  };
}

/** A name no earlier run used, for resources in the long-lived emulators. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
