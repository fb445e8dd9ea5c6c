/**
 * How each service of the environment is started, checked and configured. All of them
 * listen on 127.0.0.1 only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ISOLATE_POD_GROUP,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_CLUSTER_ID,
  TEST_ROLE_NAME,
  TEST_SECRET_ACCESS_KEY,
  UNBOUND_ACCESS_KEY_ID,
  UNBOUND_ROLE_NAME,
  UNBOUND_SECRET_ACCESS_KEY,
} from './config.js';
import { TestenvError } from './exec.js';
import type { Pki } from './pki.js';
import type { MotoInstall } from './prepare.js';
import { startService, type ServiceRecord } from './processes.js';
import { probe, waitUntilReady } from './readiness.js';
import type { TokenWebhookConfig } from './token-webhook.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** The ports one run listens on. */
export interface Ports {
  moto: number;
  etcdClient: number;
  etcdPeer: number;
  kubeApiserver: number;
  tokenWebhook: number;
}

/** Environment variables that fix a port instead of letting the OS pick a free one. */
export const PORT_VARIABLES: Record<keyof Ports, string> = {
  moto: 'GDRR_TESTENV_MOTO_PORT',
  etcdClient: 'GDRR_TESTENV_ETCD_PORT',
  etcdPeer: 'GDRR_TESTENV_ETCD_PEER_PORT',
  kubeApiserver: 'GDRR_TESTENV_K8S_PORT',
  tokenWebhook: 'GDRR_TESTENV_WEBHOOK_PORT',
};

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/** Ports from the environment (checked free) or free ones picked by the OS. */
export async function choosePorts(env: NodeJS.ProcessEnv = process.env): Promise<Ports> {
  const taken = new Set<number>();
  const ports = {} as Ports;
  for (const [service, variable] of Object.entries(PORT_VARIABLES) as [keyof Ports, string][]) {
    const fixed = env[variable];
    if (fixed) {
      const port = Number(fixed);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new TestenvError(`${variable}=${fixed} is not a port number`);
      }
      try {
        await listenOnce(port);
      } catch {
        throw new TestenvError(`port ${port} (${variable}, for ${service}) is in use on 127.0.0.1`);
      }
      ports[service] = port;
    } else {
      let port = await listenOnce(0);
      while (taken.has(port)) port = await listenOnce(0);
      ports[service] = port;
    }
    taken.add(ports[service]);
  }
  return ports;
}

/** The environment a child service gets: ours, minus variables that would reconfigure it. */
function cleanEnv(extra: Record<string, string>, dropPrefixes: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!dropPrefixes.some((prefix) => name.startsWith(prefix))) env[name] = value;
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------- moto

const TESTENV_DIR = path.dirname(fileURLToPath(import.meta.url));

export async function startMoto(moto: MotoInstall, port: number, runDir: string) {
  return startService({
    name: 'moto',
    command: moto.python,
    // moto's own server, with request handling serialized (see moto_serialized.py).
    args: [path.join(TESTENV_DIR, 'moto_serialized.py'), '127.0.0.1', String(port)],
    port,
    logFile: path.join(runDir, 'moto.log'),
    runDir,
    env: cleanEnv(
      {
        PYTHONPATH: moto.pythonPath,
        PYTHONUNBUFFERED: '1',
        // Tests turn recording on through /moto-api/recorder/; it is off until then.
        MOTO_RECORDER_FILEPATH: path.join(runDir, 'moto-recording.jsonl'),
      },
      ['AWS_', 'MOTO_', 'PYTHON'],
    ),
  });
}

export async function motoHealthy(port: number): Promise<boolean> {
  const response = await probe(`http://127.0.0.1:${port}/moto-api/config`);
  return response.status >= 200 && response.status < 300;
}

/** Waits for moto, then turns off Docker for Lambda invocations (there is no Docker here). */
export async function readyMoto(service: ServiceRecord): Promise<void> {
  await waitUntilReady(service, () => motoHealthy(service.port), 30_000);
  const response = await probe(`http://127.0.0.1:${service.port}/moto-api/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lambda: { use_docker: false } }),
  });
  if (response.status >= 300) {
    throw new TestenvError(`configuring moto failed: HTTP ${response.status} ${response.body}`);
  }
}

// ---------------------------------------------------------------- etcd

export async function startEtcd(binary: string, ports: Ports, runDir: string) {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return startService({
    name: 'etcd',
    command: binary,
    args: [
      '--name=gdrr-testenv',
      `--data-dir=${path.join(runDir, 'etcd-data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=gdrr-testenv=${peer}`,
      '--logger=zap',
      '--log-level=warn',
    ],
    port: ports.etcdClient,
    logFile: path.join(runDir, 'etcd.log'),
    runDir,
    env: cleanEnv({}, ['ETCD']),
  });
}

export async function etcdHealthy(port: number): Promise<boolean> {
  const response = await probe(`http://127.0.0.1:${port}/health`);
  return response.status === 200 && response.body.includes('"health":"true"');
}

// ---------------------------------------------------------------- token webhook

/** The identities kube-apiserver sees: the test key is the isolate-pod role, in its group. */
export function tokenWebhookConfig(port: number): TokenWebhookConfig {
  return {
    port,
    clusterId: TEST_CLUSTER_ID,
    principals: [
      {
        accessKeyId: TEST_ACCESS_KEY_ID,
        secretAccessKey: TEST_SECRET_ACCESS_KEY,
        username: `arn:aws:iam::${TEST_ACCOUNT_ID}:role/${TEST_ROLE_NAME}`,
        uid: `aws-iam-authenticator:${TEST_ACCOUNT_ID}:AROAGDRRTESTENV00001`,
        groups: [ISOLATE_POD_GROUP],
      },
      {
        accessKeyId: UNBOUND_ACCESS_KEY_ID,
        secretAccessKey: UNBOUND_SECRET_ACCESS_KEY,
        username: `arn:aws:iam::${TEST_ACCOUNT_ID}:role/${UNBOUND_ROLE_NAME}`,
        uid: `aws-iam-authenticator:${TEST_ACCOUNT_ID}:AROAGDRRTESTENV00002`,
        groups: [],
      },
    ],
  };
}

export async function startTokenWebhook(port: number, runDir: string) {
  const configFile = path.join(runDir, 'token-webhook.json');
  writeFileSync(configFile, JSON.stringify(tokenWebhookConfig(port), null, 2), { mode: 0o600 });
  return startService({
    name: 'token-webhook',
    command: process.execPath,
    // `--import tsx` is resolved from the working directory: the repository root.
    args: ['--import', 'tsx', path.join(REPO_ROOT, 'testenv', 'token-webhook.ts'), configFile],
    port,
    logFile: path.join(runDir, 'token-webhook.log'),
    runDir,
    cwd: REPO_ROOT,
    env: cleanEnv({}, ['NODE_OPTIONS', 'VITEST', 'TSX_']),
  });
}

export async function tokenWebhookHealthy(port: number): Promise<boolean> {
  const response = await probe(`http://127.0.0.1:${port}/healthz`);
  return response.status === 200;
}

// ---------------------------------------------------------------- kube-apiserver

function writeJson(file: string, value: unknown): string {
  writeFileSync(file, JSON.stringify(value, null, 2), { mode: 0o600 });
  return file;
}

/** kube-apiserver's view of the webhook, as the kubeconfig file it expects. */
function writeWebhookKubeconfig(runDir: string, webhookPort: number): string {
  return writeJson(path.join(runDir, 'token-webhook.kubeconfig'), {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'token-webhook',
        cluster: { server: `http://127.0.0.1:${webhookPort}/token-review` },
      },
    ],
    users: [{ name: 'kube-apiserver', user: {} }],
    contexts: [{ name: 'webhook', context: { cluster: 'token-webhook', user: 'kube-apiserver' } }],
    'current-context': 'webhook',
  });
}

/** The cluster-admin kubeconfig (client certificate in system:masters). */
export function writeAdminKubeconfig(runDir: string, pki: Pki, port: number): string {
  return writeJson(path.join(runDir, 'admin.kubeconfig'), {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'gdrr-testenv',
        cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority': pki.caCert },
      },
    ],
    users: [
      {
        name: 'gdrr-testenv-admin',
        user: { 'client-certificate': pki.adminCert, 'client-key': pki.adminKey },
      },
    ],
    contexts: [
      { name: 'gdrr-testenv', context: { cluster: 'gdrr-testenv', user: 'gdrr-testenv-admin' } },
    ],
    'current-context': 'gdrr-testenv',
  });
}

export async function startKubeApiserver(binary: string, pki: Pki, ports: Ports, runDir: string) {
  const webhookKubeconfig = writeWebhookKubeconfig(runDir, ports.tokenWebhook);
  return startService({
    name: 'kube-apiserver',
    command: binary,
    args: [
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.kubeApiserver}`,
      '--insecure-port=0',
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--cert-dir=${path.dirname(pki.caCert)}`,
      '--authorization-mode=Node,RBAC',
      // An unknown or bad token must be a 401, never an anonymous request.
      '--anonymous-auth=false',
      `--authentication-token-webhook-config-file=${webhookKubeconfig}`,
      '--authentication-token-webhook-version=v1',
      // Every request re-checks its token, so an expired token fails at once.
      '--authentication-token-webhook-cache-ttl=0s',
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      // No controller-manager creates `default` service accounts, so pods could not be created.
      '--disable-admission-plugins=ServiceAccount',
      '--profiling=false',
    ],
    port: ports.kubeApiserver,
    logFile: path.join(runDir, 'kube-apiserver.log'),
    runDir,
    env: cleanEnv({}, ['KUBECONFIG']),
  });
}

export async function kubeApiserverHealthy(port: number, pki: Pki): Promise<boolean> {
  const response = await probe(`https://127.0.0.1:${port}/readyz`, {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.adminCert),
    key: readFileSync(pki.adminKey),
  });
  return response.status === 200;
}
