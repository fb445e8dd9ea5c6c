/**
 * The Kubernetes calls isolate-pod makes, and nothing else: the client types below name
 * every method the function may call, `KUBE_CALLS` says which RBAC rule each one needs
 * (tests check it against `shared/actions.ts` and `infra/k8s/rbac.yaml`), and errors from
 * the API server are turned into short, classified failures.
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';

/** Every Kubernetes method the function calls, with the RBAC rule it needs. */
export const KUBE_CALLS = {
  readNamespacedPod: { apiGroup: '', resource: 'pods', verb: 'get' },
  listNamespacedPod: { apiGroup: '', resource: 'pods', verb: 'list' },
  patchNamespacedPod: { apiGroup: '', resource: 'pods', verb: 'patch' },
  /** Only with eks.whenIsolationBypassed: delete-replaceable-pod (infra/k8s/rbac-opt-in.yaml). */
  deleteNamespacedPod: { apiGroup: '', resource: 'pods', verb: 'delete' },
  readNamespacedNetworkPolicy: {
    apiGroup: 'networking.k8s.io',
    resource: 'networkpolicies',
    verb: 'get',
  },
  listNamespacedNetworkPolicy: {
    apiGroup: 'networking.k8s.io',
    resource: 'networkpolicies',
    verb: 'list',
  },
  createNamespacedNetworkPolicy: {
    apiGroup: 'networking.k8s.io',
    resource: 'networkpolicies',
    verb: 'create',
  },
  readNode: { apiGroup: '', resource: 'nodes', verb: 'get' },
  listNode: { apiGroup: '', resource: 'nodes', verb: 'list' },
  patchNode: { apiGroup: '', resource: 'nodes', verb: 'patch' },
  readNamespacedReplicaSet: { apiGroup: 'apps', resource: 'replicasets', verb: 'get' },
} as const;
export type KubeCall = keyof typeof KUBE_CALLS;

/** The clients, narrowed to the methods in `KUBE_CALLS` (tests pass stubs of these). */
export interface KubeClients {
  core: Pick<CoreV1Api, KubeCall & keyof CoreV1Api>;
  networking: Pick<NetworkingV1Api, KubeCall & keyof NetworkingV1Api>;
  apps: Pick<AppsV1Api, KubeCall & keyof AppsV1Api>;
}

/** The clients for one configuration (an EKS token, or a local kubeconfig's context). */
export function kubeClients(kc: KubeConfig): KubeClients {
  return {
    core: kc.makeApiClient(CoreV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    apps: kc.makeApiClient(AppsV1Api),
  };
}

/**
 * Options for every patch. client-node 1.x sends `application/json-patch+json` unless told
 * otherwise, and the API server refuses an object body in that format with 400.
 */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** `verb resource`, as Kubernetes names a permission in a 403 (`patch pods`). */
export const permissionOf = (call: KubeCall): string =>
  `${KUBE_CALLS[call].verb} ${KUBE_CALLS[call].resource}`;

/** The fields of a Kubernetes `Status` body worth showing. */
interface KubeStatus {
  reason?: string;
  message?: string;
}

function statusBody(body: unknown): KubeStatus | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { reason, message } = value as Record<string, unknown>;
  return {
    reason: typeof reason === 'string' ? reason : undefined,
    message: typeof message === 'string' ? message : undefined,
  };
}

/** HTTP status of a failed Kubernetes call, undefined for errors that never got an answer. */
export function httpStatusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export const isNotFound = (error: unknown): boolean => httpStatusOf(error) === 404;
export const isAlreadyExists = (error: unknown): boolean => httpStatusOf(error) === 409;

// The API server's messages are short, but a proxy in front of it may answer with a page.
const MAX_MESSAGE = 500;

/**
 * An ApiException as `describeError` reads it, without the headers and raw body that
 * client-node puts into the message: name = the Status reason (`Forbidden`, `NotFound`),
 * message = the Status message (which names the verb and resource on a 403), code = HTTP
 * status. Other errors (network, TLS) pass through unchanged.
 */
export function kubeFailure(error: unknown): unknown {
  if (!(error instanceof ApiException)) return error;
  const status = statusBody(error.body);
  const code = error.code;
  const message = (
    status?.message ?? (code === 401 ? 'the API server did not accept the credentials' : '')
  ).slice(0, MAX_MESSAGE);
  return {
    name: status?.reason || `HTTP ${code}`,
    message: message || `HTTP ${code}`,
    body: message,
    code,
  };
}
