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
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { streamingPodScan, type PodScan } from './pod-scan.js';

/**
 * The cluster-scoped deny tiers, as `group/resource`: the ClusterNetworkPolicy of the VPC
 * CNI and of the Kubernetes network-policy API, and Cilium's clusterwide policy
 * (`policy-tier.ts` has their versions and shapes).
 */
export const TIER_RESOURCES = [
  'networking.k8s.aws/clusternetworkpolicies',
  'policy.networking.k8s.io/clusternetworkpolicies',
  'cilium.io/ciliumclusterwidenetworkpolicies',
] as const;

/**
 * Every Kubernetes method the function calls, with the RBAC rule it needs. A custom-object
 * method needs one rule per resource it is called for; API discovery (`getAPIResources`)
 * needs none: every authenticated user may read it (the default system:discovery role).
 */
export const KUBE_CALLS = {
  readNamespacedPod: { apiGroup: '', resource: 'pods', verb: 'get' },
  /** A page of pods reduced to identities while it streams in (`pod-scan.ts`). */
  listPodIdentities: { apiGroup: '', resource: 'pods', verb: 'list' },
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
  getAPIResources: { resources: [], verb: 'get' },
  createClusterCustomObject: { resources: TIER_RESOURCES, verb: 'create' },
  getClusterCustomObject: { resources: TIER_RESOURCES, verb: 'get' },
} as const satisfies Record<
  string,
  | { apiGroup: string; resource: string; verb: string }
  /** A custom-object method: one rule per `group/resource` it is called for. */
  | { resources: readonly string[]; verb: string }
>;
export type KubeCall = keyof typeof KUBE_CALLS;

/** `group/resource/verb` for every RBAC rule a call needs (none for API discovery). */
export function rulesOf(call: KubeCall): string[] {
  const rule: { verb: string } & (
    { apiGroup: string; resource: string } | { resources: readonly string[] }
  ) = KUBE_CALLS[call];
  const resources = 'resources' in rule ? rule.resources : [`${rule.apiGroup}/${rule.resource}`];
  return resources.map((resource) => `${resource}/${rule.verb}`);
}

/** Calls of the typed clients (every typed client also has a `getAPIResources` of its own). */
type TypedCall = Exclude<KubeCall, keyof CustomObjectsApi | keyof PodScan>;

/** The clients, narrowed to the methods in `KUBE_CALLS` (tests pass stubs of these). */
export interface KubeClients {
  core: Pick<CoreV1Api, TypedCall & keyof CoreV1Api>;
  networking: Pick<NetworkingV1Api, TypedCall & keyof NetworkingV1Api>;
  apps: Pick<AppsV1Api, TypedCall & keyof AppsV1Api>;
  custom: Pick<CustomObjectsApi, KubeCall & keyof CustomObjectsApi>;
  podScan: PodScan;
}

/** The clients for one configuration (an EKS token, or a local kubeconfig's context). */
export function kubeClients(kc: KubeConfig): KubeClients {
  return {
    core: kc.makeApiClient(CoreV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    podScan: streamingPodScan(kc),
  };
}

/**
 * Options for every patch. client-node 1.x sends `application/json-patch+json` unless told
 * otherwise, and the API server refuses an object body in that format with 400.
 */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** `verb resource`, as Kubernetes names a permission in a 403 (`patch pods`). */
export function permissionOf(call: KubeCall): string {
  const names = rulesOf(call).map((rule) => rule.split('/')[1]);
  return `${KUBE_CALLS[call].verb} ${[...new Set(names)].join(' or ') || 'API discovery'}`;
}

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
