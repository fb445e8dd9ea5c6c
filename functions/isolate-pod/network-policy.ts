/**
 * `eks:isolate-pod-network`: a NetworkPolicy that selects only this pod (its quarantine
 * label carries the pod's uid) and allows no ingress and no egress, except cluster DNS when
 * the policy says so. Created once; a policy of that name that exists is read back and
 * checked, never patched. Outside a dry run it is created directly (no read first), and read
 * back only when the API server answers that it already exists (409).
 */
import type { V1NetworkPolicy, V1NetworkPolicyEgressRule } from '@kubernetes/client-node';
import { failedBecause, outcome } from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import { FINDING_ANNOTATION, QUARANTINE_LABEL, networkPolicyName } from '../../shared/labels.js';
import { cleanText } from '../../shared/sanitize.js';
import { podRef, type FoundPod } from './find-pod.js';
import { isAlreadyExists, isNotFound, type KubeClients } from './kube.js';
import { kubeFailed, only, settled, undoneBy, type Plan, type StepResult } from './plan.js';
import { deletePolicy } from './release.js';

const ACTION = 'eks:isolate-pod-network';

/** Label every namespace carries with its own name (Kubernetes ≥ 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The cluster DNS pods (CoreDNS keeps the kube-dns label), as a policy peer. */
export const KUBE_DNS_PODS = {
  namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

/** Name resolution through the cluster DNS pods. */
export const DNS_EGRESS: V1NetworkPolicyEgressRule = {
  to: [KUBE_DNS_PODS],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

/** The quarantine policy for one pod. No ingress rules; no egress rules unless DNS is allowed. */
export function quarantinePolicy(
  found: FoundPod,
  findingId: string,
  allowDnsEgress: boolean,
): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: networkPolicyName(found.uid),
      namespace: found.namespace,
      labels: { [QUARANTINE_LABEL]: found.uid },
      annotations: { [FINDING_ANNOTATION]: findingId },
    },
    spec: {
      podSelector: { matchLabels: { [QUARANTINE_LABEL]: found.uid } },
      policyTypes: ['Ingress', 'Egress'],
      ...(allowDnsEgress ? { egress: [DNS_EGRESS] } : {}),
    },
  };
}

/** JSON with sorted keys and without undefined fields, to compare what the server returns. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field !== null && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(
          Object.entries(field)
            .filter(([, inner]) => inner !== undefined)
            .sort(([a], [b]) => a.localeCompare(b)),
        )
      : field,
  );
}

/** How an existing policy fails to be the quarantine policy, or undefined when it is. */
export function isolationConflict(
  actual: V1NetworkPolicy,
  desired: V1NetworkPolicy,
): string | undefined {
  const have = actual.spec;
  const want = desired.spec;
  if (!have || !want) return 'it has no spec';
  if (canonical(have.podSelector) !== canonical(want.podSelector)) {
    return `it selects ${cleanText(canonical(have.podSelector), 'name')}, not ${QUARANTINE_LABEL}=${String(want.podSelector?.matchLabels?.[QUARANTINE_LABEL])}`;
  }
  const types = [...(have.policyTypes ?? [])].sort();
  if (canonical(types) !== canonical(['Egress', 'Ingress'])) {
    return `its policy types are ${cleanText(types.join(', ') || 'none', 'name')}, not Ingress and Egress`;
  }
  if ((have.ingress ?? []).length > 0) return `it allows ingress (${have.ingress?.length} rules)`;
  if (canonical(have.egress ?? []) !== canonical(want.egress ?? [])) {
    return `its egress rules differ from the quarantine's (${cleanText(canonical(have.egress ?? []), 'name')})`;
  }
  return undefined;
}

/** A NetworkPolicy does not apply to a pod in the host's network namespace. */
function hostNetworkCaveat(found: FoundPod, result: StepResult): StepResult {
  const inPlace =
    result.outcome.status === 'contained' || result.outcome.status === 'already-contained';
  if (!inPlace || found.pod.spec?.hostNetwork !== true) return result;
  return {
    ...result,
    outcome: failedBecause(
      ACTION,
      `NetworkPolicy ${networkPolicyName(found.uid)} is in place, but pod ${podRef(found)} uses the host network, which NetworkPolicies do not govern: its network is NOT isolated (isolate the node instead)`,
      false,
    ),
  };
}

/** What an attempt to isolate did, and whether this pod's quarantine policy is now in place. */
export interface IsolationAttempt {
  result: StepResult;
  /** The policy exists and is this pod's quarantine (a host-network pod's included). */
  policyInPlace: boolean;
}

function judgeExisting(
  found: FoundPod,
  actual: V1NetworkPolicy,
  desired: V1NetworkPolicy,
): IsolationAttempt {
  const name = networkPolicyName(found.uid);
  const conflict = isolationConflict(actual, desired);
  if (conflict !== undefined) {
    return {
      result: only(
        failedBecause(
          ACTION,
          `NetworkPolicy ${found.namespace}/${name} exists but is not this pod's quarantine: ${conflict}; delete it and contain again`,
          false,
        ),
      ),
      policyInPlace: false,
    };
  }
  return {
    result: hostNetworkCaveat(
      found,
      undoneBy(
        outcome(
          ACTION,
          'already-contained',
          `NetworkPolicy ${found.namespace}/${name} already denies all ingress and egress of pod ${podRef(found)}`,
          evidence(found, desired),
        ),
        deletePolicy(found.namespace, name),
      ),
    ),
    policyInPlace: true,
  };
}

const evidence = (found: FoundPod, desired: V1NetworkPolicy) => ({
  networkPolicy: networkPolicyName(found.uid),
  namespace: found.namespace,
  selects: `${QUARANTINE_LABEL}=${found.uid}`,
  egress: desired.spec?.egress ? 'cluster DNS only (UDP/TCP 53 to kube-system kube-dns)' : 'none',
});

type ReadResult = { policy: V1NetworkPolicy | undefined } | { failed: ActionOutcome };

async function readPolicy(kube: KubeClients, found: FoundPod): Promise<ReadResult> {
  const name = networkPolicyName(found.uid);
  try {
    return {
      policy: await kube.networking.readNamespacedNetworkPolicy({
        name,
        namespace: found.namespace,
      }),
    };
  } catch (error) {
    if (isNotFound(error)) return { policy: undefined };
    return {
      failed: kubeFailed(
        ACTION,
        `get NetworkPolicy ${found.namespace}/${name}`,
        error,
        'readNamespacedNetworkPolicy',
      ),
    };
  }
}

const failedAttempt = (failed: ActionOutcome): IsolationAttempt => ({
  result: only(failed),
  policyInPlace: false,
});

/** Create the policy; when one of that name exists (409), read it back and judge it. */
async function create(
  kube: KubeClients,
  found: FoundPod,
  desired: V1NetworkPolicy,
): Promise<IsolationAttempt> {
  const name = networkPolicyName(found.uid);
  try {
    await kube.networking.createNamespacedNetworkPolicy({
      namespace: found.namespace,
      body: desired,
    });
  } catch (error) {
    if (!isAlreadyExists(error)) {
      return failedAttempt(
        kubeFailed(
          ACTION,
          `create NetworkPolicy ${found.namespace}/${name}`,
          error,
          'createNamespacedNetworkPolicy',
        ),
      );
    }
    // There already (an earlier or a concurrent run, or someone else): it must be the same policy.
    const read = await readPolicy(kube, found);
    if ('failed' in read) return failedAttempt(read.failed);
    if (read.policy === undefined) {
      return failedAttempt(
        failedBecause(
          ACTION,
          `NetworkPolicy ${found.namespace}/${name} already existed when created but was gone when read`,
          true,
        ),
      );
    }
    return judgeExisting(found, read.policy, desired);
  }
  return {
    result: hostNetworkCaveat(
      found,
      undoneBy(
        outcome(
          ACTION,
          'contained',
          `created NetworkPolicy ${found.namespace}/${name}: no ingress, ${desired.spec?.egress ? 'egress to cluster DNS only' : 'no egress'} for pod ${podRef(found)}`,
          evidence(found, desired),
        ),
        deletePolicy(found.namespace, name),
      ),
    ),
    policyInPlace: true,
  };
}

/**
 * Isolate (never in a dry run: this writes). The policy is created directly, and read back
 * only on 409, to check it is this pod's quarantine. With `readFirst` (the pod already
 * carries its quarantine label, so an earlier run most likely made the policy) it is read
 * first and created only when missing: a re-run then makes no write request at all.
 */
export async function isolate(
  kube: KubeClients,
  found: FoundPod,
  findingId: string,
  allowDnsEgress: boolean,
  options: { readFirst: boolean },
): Promise<IsolationAttempt> {
  const desired = quarantinePolicy(found, findingId, allowDnsEgress);
  if (options.readFirst) {
    const read = await readPolicy(kube, found);
    if ('failed' in read) return failedAttempt(read.failed);
    if (read.policy !== undefined) return judgeExisting(found, read.policy, desired);
  }
  return create(kube, found, desired);
}

/**
 * The outcome when the pod did not get its quarantine label (the label step failed), whatever
 * the policy step did alongside: the policy selects the pod by that label, so the pod is NOT
 * isolated. A policy in place is left there (without the label it selects no pod; a retry
 * labels the pod and confirms the policy) and its release command is kept; nothing is deleted.
 */
export function isolationWithoutLabel(
  found: FoundPod,
  label: ActionOutcome | undefined,
  attempt: IsolationAttempt,
): StepResult {
  const name = `${found.namespace}/${networkPolicyName(found.uid)}`;
  const policy = attempt.result.outcome;
  const policyFailed = policy.status === 'failed';
  // A retry helps only if it can fix both the label and what the policy step reported.
  const retryable = (label?.retryable ?? false) && (!policyFailed || policy.retryable === true);
  const missing = `pod ${podRef(found)} is NOT isolated: the NetworkPolicy selects it by its quarantine label, which is not on it (label step: ${label?.status ?? 'not run'})`;
  if (attempt.policyInPlace) {
    return {
      outcome: failedBecause(
        ACTION,
        policyFailed
          ? `${missing}; NetworkPolicy ${name} is in place and left there, but: ${policy.detail}`
          : `${missing}; NetworkPolicy ${name} is in place and left there: it isolates the pod once the label is on it`,
        retryable,
      ),
      release: attempt.result.release,
      notes: attempt.result.notes,
    };
  }
  return only(
    failedBecause(
      ACTION,
      `${missing}; the NetworkPolicy is not in place either: ${policy.detail}`,
      retryable,
    ),
  );
}

/** Plan the isolation from reads only (dry run): confirm an existing policy, or create one. */
export async function planIsolation(
  kube: KubeClients,
  found: FoundPod,
  findingId: string,
  allowDnsEgress: boolean,
): Promise<Plan> {
  const desired = quarantinePolicy(found, findingId, allowDnsEgress);
  const read = await readPolicy(kube, found);
  if ('failed' in read) return settled(read.failed);
  if (read.policy !== undefined) return settled(judgeExisting(found, read.policy, desired).result);
  return {
    kind: 'write',
    intent: `create NetworkPolicy ${found.namespace}/${networkPolicyName(found.uid)} selecting only pod ${podRef(found)}: no ingress, ${allowDnsEgress ? 'egress to cluster DNS only' : 'no egress'}`,
    run: async () => (await create(kube, found, desired)).result,
  };
}
