/**
 * `up`, `down` and `status` of the test environment: moto, etcd, kube-apiserver and the
 * EKS token webhook, started from the cache's prepared components.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  layout as defaultLayout,
  TEST_ACCESS_KEY_ID,
  TEST_CLUSTER_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type Layout,
} from './config.js';
import { progress } from './exec.js';
import { createPki, type Pki } from './pki.js';
import { prepare } from './prepare.js';
import {
  belongsToRun,
  isRunning,
  RUN_MARKER,
  stopService,
  type ServiceRecord,
} from './processes.js';
import { waitUntilReady } from './readiness.js';
import {
  choosePorts,
  etcdHealthy,
  kubeApiserverHealthy,
  motoHealthy,
  readyMoto,
  startEtcd,
  startKubeApiserver,
  startMoto,
  startTokenWebhook,
  tokenWebhookHealthy,
  writeAdminKubeconfig,
  type Ports,
} from './services.js';
import { readState, removeState, withLock, writeState, type RunState } from './state.js';

/** The result of `up`: the exports, and whether this call started the services. */
export interface UpResult {
  env: Record<string, string>;
  startedHere: boolean;
}

/**
 * Prepares (once) and starts the environment, or reuses the one already running. A test
 * run passes its pid as `user`; without one (the CLI) the environment stays until `down`.
 */
export async function up(
  paths: Layout = defaultLayout(),
  options: { user?: number } = {},
): Promise<UpResult> {
  return withLock(paths, async () => {
    const running = readState(paths);
    if (running && (await isHealthy(running))) {
      progress(`already running (${running.runDir})`);
      running.users = liveUsers(running, options.user);
      if (options.user === undefined) running.startedBy = 'cli';
      writeState(paths, running);
      return { env: running.env, startedHere: false };
    }
    if (running) {
      progress('a previous run is incomplete, unhealthy or outdated: stopping it');
      await stopRun(paths, running);
    }
    const prepared = await prepare(paths);
    const env = await startRun(paths, prepared, options.user);
    return { env, startedHere: true };
  });
}

/**
 * A test run is done with the environment. It is stopped when test runs started it and no
 * other test run still uses it; one started by the CLI stays until `down`.
 */
export async function release(paths: Layout, user: number): Promise<void> {
  await withLock(paths, async () => {
    const running = readState(paths);
    if (!running) return;
    running.users = liveUsers(running).filter((pid) => pid !== user);
    if (running.startedBy === 'test-run' && running.users.length === 0) {
      await stopRun(paths, running);
    } else {
      writeState(paths, running);
    }
  });
}

function liveUsers(state: RunState, newUser?: number): number[] {
  const users = new Set((state.users ?? []).filter((pid) => isRunning(pid)));
  if (newUser !== undefined) users.add(newUser);
  return [...users];
}

/** Stops every process `up` started from this cache, and removes the run directory. */
export async function down(paths: Layout = defaultLayout()): Promise<void> {
  await withLock(paths, async () => {
    const running = readState(paths);
    if (running) await stopRun(paths, running);
    await stopStrays(paths);
    removeRunDirectories(paths);
  });
}

/** One line per service: name, pid, port, and whether it answers. */
export async function status(
  paths: Layout = defaultLayout(),
): Promise<{ lines: string[]; healthy: boolean }> {
  const running = readState(paths);
  if (!running) return { lines: ['not running'], healthy: false };
  const users = liveUsers(running);
  const lines = [
    `run directory: ${running.runDir}`,
    `started by: ${running.startedBy ?? 'cli'}; test runs using it: ${users.join(', ') || 'none'}`,
  ];
  let healthy = true;
  for (const service of running.services) {
    const ok = await serviceHealthy(running, service);
    healthy &&= ok;
    lines.push(
      `${service.name.padEnd(15)} pid ${service.pid}  port ${service.port}  ${ok ? 'healthy' : 'NOT HEALTHY'}`,
    );
  }
  return { lines, healthy };
}

/** `export NAME=value` lines for a shell. */
export function shellExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
    .join('\n');
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

const SERVICE_NAMES = ['token-webhook', 'etcd', 'moto', 'kube-apiserver'] as const;
// Bumped when what `up` starts changes (flags, webhook principals): an environment started
// by older code is restarted instead of reused.
const ENVIRONMENT_REVISION = 3;

async function startRun(
  paths: Layout,
  prepared: Awaited<ReturnType<typeof prepare>>,
  user: number | undefined,
) {
  const started = Date.now();
  const ports = await choosePorts();
  const runDir = path.join(
    paths.runRoot,
    `${new Date().toISOString().replace(/[:.]/g, '')}-${process.pid}`,
  );
  mkdirSync(runDir, { recursive: true });
  const state: RunState = {
    runDir,
    startedAt: new Date().toISOString(),
    services: [],
    env: {},
    startedBy: user === undefined ? 'cli' : 'test-run',
    users: user === undefined ? [] : [user],
    revision: ENVIRONMENT_REVISION,
  };
  const record = (service: ServiceRecord) => {
    state.services.push(service);
    writeState(paths, state);
    return service;
  };
  try {
    const pki = await createPki(path.join(runDir, 'pki'), path.join(runDir, 'pki.log'));
    progress(`starting moto, etcd and the token webhook (run directory ${runDir})`);
    const webhook = record(await startTokenWebhook(ports.tokenWebhook, runDir));
    const etcd = record(await startEtcd(prepared.etcdBinary, ports, runDir));
    const moto = record(await startMoto(prepared.moto, ports.moto, runDir));
    await waitUntilReady(webhook, () => tokenWebhookHealthy(webhook.port), 20_000);
    await waitUntilReady(etcd, () => etcdHealthy(etcd.port), 30_000);
    progress('starting kube-apiserver');
    const apiserver = record(
      await startKubeApiserver(prepared.kubeApiserverBinary, pki, ports, runDir),
    );
    await Promise.all([
      readyMoto(moto),
      waitUntilReady(apiserver, () => kubeApiserverHealthy(apiserver.port, pki), 90_000),
    ]);
    state.env = exportsFor(ports, pki, writeAdminKubeconfig(runDir, pki, ports.kubeApiserver));
    writeState(paths, state);
    progress(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return state.env;
  } catch (error) {
    progress(`start failed; stopping what was started (logs stay in ${runDir})`);
    await stopServices(state);
    removeState(paths);
    throw error;
  }
}

function exportsFor(ports: Ports, pki: Pki, kubeconfig: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${ports.moto}`,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_REGION: TEST_REGION,
    KUBECONFIG: kubeconfig,
    GDRR_K8S_SERVER: `https://127.0.0.1:${ports.kubeApiserver}`,
    GDRR_K8S_CA_FILE: pki.caCert,
    GDRR_EKS_CLUSTER_ID: TEST_CLUSTER_ID,
  };
}

function pkiOf(state: RunState): Pki | undefined {
  const caCert = state.env.GDRR_K8S_CA_FILE;
  if (!caCert) return undefined;
  const dir = path.dirname(caCert);
  return {
    caCert,
    caKey: path.join(dir, 'ca-key.pem'),
    servingCert: path.join(dir, 'apiserver.pem'),
    servingKey: path.join(dir, 'apiserver-key.pem'),
    adminCert: path.join(dir, 'admin.pem'),
    adminKey: path.join(dir, 'admin-key.pem'),
    serviceAccountKey: path.join(dir, 'service-account-key.pem'),
    serviceAccountPublicKey: path.join(dir, 'service-account.pub'),
  };
}

async function serviceHealthy(state: RunState, service: ServiceRecord): Promise<boolean> {
  if (!belongsToRun(service.pid, state.runDir)) return false;
  try {
    switch (service.name) {
      case 'moto':
        return await motoHealthy(service.port);
      case 'etcd':
        return await etcdHealthy(service.port);
      case 'token-webhook':
        return await tokenWebhookHealthy(service.port);
      case 'kube-apiserver': {
        const pki = pkiOf(state);
        return (
          pki !== undefined &&
          existsSync(pki.adminKey) &&
          (await kubeApiserverHealthy(service.port, pki))
        );
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

async function isHealthy(state: RunState): Promise<boolean> {
  if (state.revision !== ENVIRONMENT_REVISION) return false;
  const names = new Set(state.services.map((s) => s.name));
  if (!SERVICE_NAMES.every((name) => names.has(name)) || !state.env.KUBECONFIG) return false;
  const checks = await Promise.all(state.services.map((s) => serviceHealthy(state, s)));
  return checks.every(Boolean);
}

async function stopServices(state: RunState): Promise<void> {
  // kube-apiserver first: it would otherwise log errors about etcd and the webhook going away.
  for (const service of [...state.services].reverse()) {
    await stopService(service, state.runDir);
  }
}

async function stopRun(paths: Layout, state: RunState): Promise<void> {
  await stopServices(state);
  keepLogs(paths, state);
  rmSync(state.runDir, { recursive: true, force: true });
  removeState(paths);
  progress(`stopped ${state.services.map((s) => `${s.name} (${s.pid})`).join(', ') || 'nothing'}`);
}

/** Logs of the last run stay readable after `down` (the run directory is removed). */
function keepLogs(paths: Layout, state: RunState): void {
  const target = path.join(paths.logs, 'last-run');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (const service of state.services) {
    if (existsSync(service.logFile)) {
      copyFileSync(service.logFile, path.join(target, path.basename(service.logFile)));
    }
  }
}

/** Run directories of failed starts (kept for their logs until the next `down`). */
function removeRunDirectories(paths: Layout): void {
  if (!existsSync(paths.runRoot)) return;
  for (const entry of readdirSync(paths.runRoot, { withFileTypes: true })) {
    if (entry.isDirectory())
      rmSync(path.join(paths.runRoot, entry.name), { recursive: true, force: true });
  }
}

/**
 * Processes of an earlier run of this cache whose state file is gone (a killed `up`):
 * found by the run marker in their environment, which only this tool sets.
 */
async function stopStrays(paths: Layout): Promise<void> {
  const prefix = `${RUN_MARKER}=${paths.runRoot}${path.sep}`;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let runDir: string | undefined;
    try {
      runDir = readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .find((line) => line.startsWith(prefix))
        ?.slice(RUN_MARKER.length + 1);
    } catch {
      continue;
    }
    if (!runDir) continue;
    progress(`stopping stray process ${pid} of ${runDir}`);
    await stopService({ name: `pid ${pid}`, pid, port: 0, logFile: '' }, runDir);
  }
}
