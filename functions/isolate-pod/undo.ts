/**
 * Undo a pod's quarantine with an operator's credentials (`npm run release -- eks …`), from
 * what the responder recorded on the objects themselves: the pod's quarantine label and
 * annotations, the relabelled controller labels, the node's cordon label. The responder's
 * own RBAC cannot do this (it may not delete NetworkPolicies), by design. Denies placed in
 * a tier above NetworkPolicies (ClusterNetworkPolicy, CiliumClusterwideNetworkPolicy) go too.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import {
  CORDONED_LABEL,
  FINDING_ANNOTATION,
  QUARANTINE_LABEL,
  networkPolicyName,
} from '../../shared/labels.js';
import { describeError } from '../../shared/containment.js';
import { K8S_NODE_NAME, K8S_UID } from '../../shared/identifiers.js';
import { cleanText } from '../../shared/sanitize.js';
import { CONTAINED_AT_ANNOTATION, DETACHED_LABELS_ANNOTATION } from './annotations.js';
import { manualRestore, readDetachedRecord } from './detached-record.js';
import { MERGE_PATCH, isNotFound } from './kube.js';
import { TIER_KINDS, isTierDenyOf, tierObjectRef, type TierKind } from './policy-tier.js';

export class UndoError extends Error {
  override readonly name = 'UndoError';
}

export interface UndoReport {
  pod: string;
  steps: string[];
  problems: string[];
}

async function step(
  report: UndoReport,
  label: string,
  call: () => Promise<unknown>,
): Promise<void> {
  try {
    await call();
    report.steps.push(label);
  } catch (error) {
    if (isNotFound(error)) report.steps.push(`${label} (already gone)`);
    else report.problems.push(`${label}: ${describeError(error).summary}`);
  }
}

/**
 * Delete the responder's deny for the pod in one tier above NetworkPolicies, when there is
 * one: a kind the cluster does not serve, or no such object, is nothing to undo. An object
 * of that name that is not the responder's is left alone and reported.
 */
async function undoTierDeny(
  report: UndoReport,
  custom: CustomObjectsApi,
  tier: TierKind,
  uid: string,
): Promise<void> {
  const name = networkPolicyName(uid);
  const where = { group: tier.group, version: tier.version, plural: tier.plural, name };
  const label = tierObjectRef(tier, uid);
  let object: unknown;
  try {
    object = await custom.getClusterCustomObject(where);
  } catch (error) {
    if (!isNotFound(error)) report.problems.push(`get ${label}: ${describeError(error).summary}`);
    return;
  }
  if (!isTierDenyOf(object, uid)) {
    report.problems.push(`${label} is not the responder's for this pod: left in place`);
    return;
  }
  await step(report, `deleted ${label}`, () => custom.deleteClusterCustomObject(where));
}

/** Release the quarantined pod `namespace/pod` in the kubeconfig's current cluster. */
export async function undoPodQuarantine(
  kc: KubeConfig,
  namespace: string,
  podName: string,
): Promise<UndoReport> {
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const pod = await core.readNamespacedPod({ name: podName, namespace });
  const uid = pod.metadata?.uid ?? '';
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  if (!K8S_UID.test(uid) || labels[QUARANTINE_LABEL] !== uid) {
    throw new UndoError(
      `pod ${namespace}/${podName} carries no quarantine label of the responder: nothing to release`,
    );
  }
  // Checked before anything changes: refusing here leaves the quarantine whole, and the
  // operator can put the labels back by hand, drop the record and run release again.
  const record = readDetachedRecord(annotations[DETACHED_LABELS_ANNOTATION]);
  if (record.kind === 'invalid') {
    throw new UndoError(
      `pod ${namespace}/${podName}: ${cleanText(manualRestore(record.reason), 'description')}, remove the annotation ${DETACHED_LABELS_ANNOTATION} and run release again (nothing was changed)`,
    );
  }
  const report: UndoReport = { pod: `${namespace}/${podName}`, steps: [], problems: [] };
  const policy = networkPolicyName(uid);
  await step(report, `deleted NetworkPolicy ${policy}`, () =>
    networking.deleteNamespacedNetworkPolicy({ name: policy, namespace }),
  );
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const tier of TIER_KINDS) await undoTierDeny(report, custom, tier, uid);

  const restored = record.kind === 'labels' ? record.labels : {};
  // Merge patch: null removes a key. The controller labels come back last, so the
  // ReplicaSet re-adopts a pod that is no longer isolated.
  const patch = {
    metadata: {
      labels: { [QUARANTINE_LABEL]: null, ...restored },
      annotations: {
        [FINDING_ANNOTATION]: null,
        [CONTAINED_AT_ANNOTATION]: null,
        [DETACHED_LABELS_ANNOTATION]: null,
      },
    },
  };
  await step(
    report,
    `removed the quarantine label${Object.keys(restored).length ? ' and restored the controller labels' : ''}`,
    () => core.patchNamespacedPod({ name: podName, namespace, body: patch }, MERGE_PATCH),
  );

  const nodeName = pod.spec?.nodeName;
  // The name is the API server's; checked anyway, as it is printed in the report.
  if (nodeName !== undefined && !K8S_NODE_NAME.test(nodeName)) {
    report.problems.push(
      cleanText(
        `node name ${JSON.stringify(nodeName)} is invalid: check the node's cordon by hand`,
      ),
    );
  } else if (nodeName) {
    const node = await core.readNode({ name: nodeName }).catch(() => undefined);
    const cordonedForThisFinding =
      node?.metadata?.labels?.[CORDONED_LABEL] !== undefined &&
      node.metadata.annotations?.[FINDING_ANNOTATION] === annotations[FINDING_ANNOTATION];
    if (cordonedForThisFinding) {
      await step(report, `uncordoned node ${nodeName}`, () =>
        core.patchNode(
          {
            name: nodeName,
            body: {
              spec: { unschedulable: false },
              metadata: {
                labels: { [CORDONED_LABEL]: null },
                annotations: { [FINDING_ANNOTATION]: null },
              },
            },
          },
          MERGE_PATCH,
        ),
      );
    }
  }
  return report;
}
