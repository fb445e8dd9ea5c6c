/**
 * Finding the pod a finding is about: by name when the finding names it (and the same pod,
 * when it gives the uid), else by a container id in the pod's container statuses, scanned
 * in pages read as they stream in, of which only the matching pods' names are kept, then
 * that one pod read in full. Reads only.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { EksPodTarget } from '../../shared/contracts.js';
import { K8S_NODE_NAME, matches } from '../../shared/identifiers.js';
import { cleanText } from '../../shared/sanitize.js';
import { isNotFound, type KubeCall, type KubeClients } from './kube.js';
import type { PodIdentity } from './pod-identities.js';

/** A pod as read from the API server, with the fields every step relies on. */
export interface FoundPod {
  pod: V1Pod;
  name: string;
  namespace: string;
  uid: string;
  /** How it was found, for the evidence. */
  foundBy: 'name' | 'container id';
}

export type PodLookup =
  | { kind: 'found'; found: FoundPod }
  /** The pod is not (or no longer) there, or is another pod now: nothing to contain. */
  | { kind: 'absent'; reason: string }
  /** More than one pod reports the finding's container: which one is meant is not certain. */
  | { kind: 'ambiguous'; reason: string }
  /** A read failed: `call` is what was being done when it did. */
  | { kind: 'error'; error: unknown; call: KubeCall; step: string };

/**
 * Pods per list page when looking for a container id. The API server cannot select pods by
 * container id (`status.containerStatuses` is not a field selector) nor send only some
 * fields of a pod, and one pod may be about 1.5 MB (etcd's request limit; large
 * annotations or env); but a page is read as it streams in, keeping only its pods'
 * identities (`pod-scan.ts`), so its size no longer sets the memory a lookup takes.
 * Measured (`npm run bench -- --only pod-lookup`, 100 pods of 1 MB, peak RSS above
 * baseline, median of 3): 10 per page 29 MB, 50 41 MB, 100 32 MB, 250 39 MB, against
 * 165 MB for 10 read whole before. What is left is the garbage of streaming 100 MB through
 * (V8's young generation grows with the rate), the same for any page size. 100 keeps a
 * namespace of ordinary pods (a few KB each) at one round trip per 100 pods and a node
 * (at most ~110 pods) at two, while a page of the largest pods (150 MB) still comes well
 * within `POD_PAGE_TIMEOUT_MS`.
 */
const LIST_PAGE_SIZE = 100;

/** The 64-hex id in `containerd://<id>` (or a bare id), lower-cased. */
export function bareContainerId(containerId: string): string {
  return containerId.replace(/^[a-z0-9-]+:\/\//, '').toLowerCase();
}

/** Every container id the pod's status reports (regular, init and ephemeral containers). */
export function containerIdsOf(pod: V1Pod): string[] {
  const statuses: V1ContainerStatus[] = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  return statuses
    .map((status) => status.containerID)
    .filter((id): id is string => typeof id === 'string' && id.length > 0)
    .map(bareContainerId);
}

function asFound(pod: V1Pod, foundBy: FoundPod['foundBy']): FoundPod | undefined {
  const { name, namespace, uid } = pod.metadata ?? {};
  if (!name || !namespace || !uid) return undefined;
  return { pod, name, namespace, uid, foundBy };
}

/** `namespace/name`, safe to show. */
const refOf = (namespace: string, name: string): string =>
  cleanText(`${namespace}/${name}`, 'name');

/** One pod read in full, or the end of the lookup: the pod is gone, or the read failed. */
async function readPod(
  kube: KubeClients,
  namespace: string,
  name: string,
): Promise<{ kind: 'read'; pod: V1Pod } | Extract<PodLookup, { kind: 'absent' | 'error' }>> {
  const ref = refOf(namespace, name);
  try {
    return { kind: 'read', pod: await kube.core.readNamespacedPod({ name, namespace }) };
  } catch (error) {
    if (isNotFound(error)) return { kind: 'absent', reason: `pod ${ref} no longer exists` };
    return { kind: 'error', error, call: 'readNamespacedPod', step: `get pod ${ref}` };
  }
}

async function findByName(
  kube: KubeClients,
  target: EksPodTarget & { podName: string },
): Promise<PodLookup> {
  const ref = refOf(target.namespace, target.podName);
  const read = await readPod(kube, target.namespace, target.podName);
  if (read.kind !== 'read') return read;
  const found = asFound(read.pod, 'name');
  if (!found) return { kind: 'absent', reason: `pod ${ref} has no uid: not a stored pod` };
  if (target.podUid !== undefined && found.uid !== target.podUid) {
    return {
      kind: 'absent',
      reason: `pod ${ref} was replaced: it now has uid ${found.uid}, the finding is about uid ${target.podUid}`,
    };
  }
  return { kind: 'found', found };
}

/** What identifies a pod seen in a list page; the rest of the page is not kept. */
export interface PodSighting {
  name: string;
  namespace: string;
  uid: string;
  nodeName?: string;
}

/** The pods of a page that report one of the `wanted` container ids, reduced to what names them. */
export function sightingsIn(
  pods: readonly PodIdentity[],
  wanted: ReadonlySet<string>,
): PodSighting[] {
  return pods
    .filter((pod) => pod.containerIds.some((id) => wanted.has(bareContainerId(id))))
    .map(({ name, namespace, uid, nodeName }) => ({
      name,
      namespace,
      uid,
      ...(nodeName ? { nodeName } : {}),
    }));
}

type Scan = { kind: 'scanned'; sightings: PodSighting[] } | Extract<PodLookup, { kind: 'error' }>;

/**
 * Every pod of the namespace (of one node, when `nodeName` is given) reporting a wanted
 * container, read page by page; each page is dropped once scanned. Scanning goes on after a
 * match, since a second pod with the same id makes the answer uncertain, and stops at two.
 */
async function scanForContainer(
  kube: KubeClients,
  namespace: string,
  wanted: ReadonlySet<string>,
  nodeName?: string,
): Promise<Scan> {
  const sightings = new Map<string, PodSighting>();
  let page: string | undefined;
  try {
    do {
      const list = await kube.podScan.listPodIdentities({
        namespace,
        limit: LIST_PAGE_SIZE,
        ...(page === undefined ? {} : { continue: page }),
        ...(nodeName === undefined ? {} : { fieldSelector: `spec.nodeName=${nodeName}` }),
      });
      for (const seen of sightingsIn(list.items, wanted)) sightings.set(seen.uid, seen);
      page = list.continue || undefined;
    } while (page !== undefined && sightings.size < 2);
  } catch (error) {
    const where = nodeName === undefined ? '' : ` on node ${cleanText(nodeName, 'name')}`;
    return {
      kind: 'error',
      error,
      call: 'listPodIdentities',
      step: `list pods in namespace ${namespace}${where}`,
    };
  }
  return { kind: 'scanned', sightings: [...sightings.values()] };
}

/** The finding's node, when it names one that can go into a field selector. */
const nodeOf = (target: EksPodTarget): string | undefined =>
  matches(K8S_NODE_NAME, target.nodeName) ? target.nodeName : undefined;

const shortIds = (target: EksPodTarget): string =>
  target.containerIds.map((id) => bareContainerId(id).slice(0, 12)).join(', ');

const sightingRef = (seen: PodSighting): string => refOf(seen.namespace, seen.name);

/**
 * The one pod the scan saw, read in full (labels, annotations, owner, node: what the steps
 * need) and checked to be the same pod, still running the container.
 */
async function confirm(
  kube: KubeClients,
  seen: PodSighting,
  wanted: ReadonlySet<string>,
  target: EksPodTarget,
): Promise<PodLookup> {
  const ref = refOf(seen.namespace, seen.name);
  const read = await readPod(kube, seen.namespace, seen.name);
  if (read.kind !== 'read') return read;
  const { pod } = read;
  const found = asFound(pod, 'container id');
  if (!found || found.uid !== seen.uid) {
    return { kind: 'absent', reason: `pod ${ref} was replaced while it was being looked up` };
  }
  if (!containerIdsOf(pod).some((id) => wanted.has(id))) {
    return {
      kind: 'absent',
      reason: `pod ${ref} no longer runs container ${shortIds(target)} (the container was restarted)`,
    };
  }
  return { kind: 'found', found };
}

/**
 * By container id: on the finding's node first (a field selector the API server answers
 * from its index), then, when the pod is not there (the node name is only the node's
 * private DNS name, which a node group may not use), in the whole namespace.
 */
async function findByContainerId(kube: KubeClients, target: EksPodTarget): Promise<PodLookup> {
  const wanted = new Set(target.containerIds.map(bareContainerId));
  const nodeName = nodeOf(target);
  let scan =
    nodeName === undefined
      ? undefined
      : await scanForContainer(kube, target.namespace, wanted, nodeName);
  if (scan === undefined || (scan.kind === 'scanned' && scan.sightings.length === 0)) {
    scan = await scanForContainer(kube, target.namespace, wanted);
  }
  if (scan.kind === 'error') return scan;
  const [first, second] = scan.sightings;
  if (first === undefined) {
    return {
      kind: 'absent',
      reason: `no pod in namespace ${target.namespace} runs container ${shortIds(target)} (the pod is gone or the container was restarted)`,
    };
  }
  if (second !== undefined) {
    return {
      kind: 'ambiguous',
      reason: `pods ${sightingRef(first)} and ${sightingRef(second)} both report container ${shortIds(target)}: which one the finding is about is not certain, so neither is contained`,
    };
  }
  return confirm(kube, first, wanted, target);
}

/** Look the target pod up: by name when named, else by container id in its namespace only. */
export function findPod(kube: KubeClients, target: EksPodTarget): Promise<PodLookup> {
  const { podName } = target;
  return podName !== undefined
    ? findByName(kube, { ...target, podName })
    : findByContainerId(kube, target);
}

/** `namespace/name`, safe to show: names come from the cluster, chosen by the workload owner. */
export const podRef = (found: FoundPod): string =>
  cleanText(`${found.namespace}/${found.name}`, 'name');
