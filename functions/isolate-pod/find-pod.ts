/**
 * Finding the pod a finding is about: by name when the finding names it (and the same pod,
 * when it gives the uid), else by a container id in the pod's container statuses. Reads only.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { EksPodTarget } from '../../shared/contracts.js';
import { cleanText } from '../../shared/sanitize.js';
import { isNotFound, type KubeCall, type KubeClients } from './kube.js';

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
  /** A read failed: `call` is what was being done when it did. */
  | { kind: 'error'; error: unknown; call: KubeCall; step: string };

// Pods per list page: bounded memory in namespaces with many pods.
const LIST_PAGE_SIZE = 250;

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

async function findByName(
  kube: KubeClients,
  target: EksPodTarget & { podName: string },
): Promise<PodLookup> {
  const ref = `${target.namespace}/${target.podName}`;
  let pod: V1Pod;
  try {
    pod = await kube.core.readNamespacedPod({ name: target.podName, namespace: target.namespace });
  } catch (error) {
    if (isNotFound(error)) return { kind: 'absent', reason: `pod ${ref} no longer exists` };
    return { kind: 'error', error, call: 'readNamespacedPod', step: `get pod ${ref}` };
  }
  const found = asFound(pod, 'name');
  if (!found) return { kind: 'absent', reason: `pod ${ref} has no uid: not a stored pod` };
  if (target.podUid !== undefined && found.uid !== target.podUid) {
    return {
      kind: 'absent',
      reason: `pod ${ref} was replaced: it now has uid ${found.uid}, the finding is about uid ${target.podUid}`,
    };
  }
  return { kind: 'found', found };
}

async function findByContainerId(kube: KubeClients, target: EksPodTarget): Promise<PodLookup> {
  const wanted = new Set(target.containerIds.map(bareContainerId));
  let page: string | undefined;
  try {
    do {
      const list = await kube.core.listNamespacedPod({
        namespace: target.namespace,
        limit: LIST_PAGE_SIZE,
        _continue: page,
      });
      const pod = list.items.find((candidate) =>
        containerIdsOf(candidate).some((id) => wanted.has(id)),
      );
      const found = pod && asFound(pod, 'container id');
      if (found) return { kind: 'found', found };
      page = list.metadata?._continue || undefined;
    } while (page !== undefined);
  } catch (error) {
    return {
      kind: 'error',
      error,
      call: 'listNamespacedPod',
      step: `list pods in namespace ${target.namespace}`,
    };
  }
  const ids = target.containerIds.map((id) => bareContainerId(id).slice(0, 12)).join(', ');
  return {
    kind: 'absent',
    reason: `no pod in namespace ${target.namespace} runs container ${ids} (the pod is gone or the container was restarted)`,
  };
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
