/**
 * Fixed facts of the test environment: where it caches and runs, the one test principal,
 * and the Debian packages it is built from.
 */
import { homedir } from 'node:os';
import path from 'node:path';

/** moto's default account: every emulated ARN carries it. */
export const TEST_ACCOUNT_ID = '123456789012';
export const TEST_REGION = 'us-east-1';
/** The key pair the emulators accept; not an AWS credential. */
export const TEST_ACCESS_KEY_ID = 'AKIAGDRRTESTENV00001';
export const TEST_SECRET_ACCESS_KEY = 'gdrr-testenv-secret-key-not-an-aws-key00';
/** The EKS cluster name a token must be minted for (`x-k8s-aws-id`). */
export const TEST_CLUSTER_ID = 'gdrr-testenv-cluster';
export const TEST_ROLE_NAME = 'gdrr-isolate-pod';
/** The Kubernetes group `infra/k8s/rbac.yaml` binds; the CDK stack maps the role to it. */
export const ISOLATE_POD_GROUP = 'gdrr:isolate-pod';
/**
 * A second principal the webhook authenticates into no group at all: shows "authenticated
 * but not authorised" (403) without removing the shared binding of the first.
 */
export const UNBOUND_ACCESS_KEY_ID = 'AKIAGDRRTESTENV00002';
export const UNBOUND_SECRET_ACCESS_KEY = 'gdrr-testenv-unbound-key-not-an-aws-key0';
export const UNBOUND_ROLE_NAME = 'gdrr-unbound';

/** The Debian suite moto 5.1 comes from (bookworm only has 4.x). */
export const MOTO_SUITE = 'trixie';
/** The Debian suite whose `kubernetes` source package (1.20.2) is built. */
export const KUBERNETES_SUITE = 'bookworm';
export const GOLANG_PACKAGE = 'golang-1.19-go';
export const GOROOT = '/usr/lib/go-1.19';
/** Python modules moto's server needs beyond the package's own Depends. */
export const MOTO_EXTRA_PACKAGES = ['python3-flask-cors', 'python3-yaml'];

/** The directory everything downloaded or built is kept in, outside the repository. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GDRR_TESTENV_CACHE) return path.resolve(env.GDRR_TESTENV_CACHE);
  const xdg = env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), '.cache');
  return path.join(xdg, 'gdrr-testenv');
}

/** Every path the environment uses, derived from the cache directory. */
export function layout(cache: string = cacheDir()) {
  return {
    cache,
    apt: path.join(cache, 'apt'),
    downloads: path.join(cache, 'downloads'),
    moto: path.join(cache, 'moto'),
    etcd: path.join(cache, 'etcd'),
    kubeApiserver: path.join(cache, 'kube-apiserver'),
    build: path.join(cache, 'build'),
    logs: path.join(cache, 'logs'),
    runRoot: path.join(cache, 'run'),
    stateFile: path.join(cache, 'run', 'state.json'),
    lock: path.join(cache, 'lock'),
  };
}

export type Layout = ReturnType<typeof layout>;
