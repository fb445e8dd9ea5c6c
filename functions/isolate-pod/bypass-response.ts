/**
 * What isolate-pod does when other NetworkPolicies let traffic past the quarantine
 * (`eks.whenIsolationBypassed`): `report` leaves the network step failed, naming those
 * policies; `delete-replaceable-pod` deletes the pod when a controller will replace it,
 * since a pod the responder cannot isolate should not keep talking. Deleting loses the
 * pod's memory and files, which is why it is not the default.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { failedBecause, outcome } from '../../shared/containment.js';
import type { BypassResponse } from '../../shared/contracts.js';
import { cleanText } from '../../shared/sanitize.js';
import { podRef, type FoundPod } from './find-pod.js';
import { isNotFound, type KubeClients } from './kube.js';
import { kubeFailed, type StepResult } from './plan.js';

const ACTION = 'eks:isolate-pod-network';

/** Controllers that start a new pod when one of theirs is deleted. */
const REPLACING_KINDS = new Set(['ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job']);

/** `ReplicaSet/web-7c9f`, the controller that would replace the pod, or undefined. */
export function replacingController(pod: V1Pod): string | undefined {
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller === true);
  if (owner === undefined || !REPLACING_KINDS.has(owner.kind)) return undefined;
  return cleanText(`${owner.kind}/${owner.name}`, 'name');
}

const withDetail = (step: StepResult, more: string): StepResult => ({
  ...step,
  outcome: { ...step.outcome, detail: `${step.outcome.detail}; ${more}` },
});

/**
 * The network step after the bypass response. `bypassed` is a network step that failed
 * because other policies let traffic through; anything else passes unchanged.
 */
export async function respondToBypass(
  kube: KubeClients,
  found: FoundPod,
  bypassed: StepResult,
  response: BypassResponse,
  dryRun: boolean,
): Promise<StepResult> {
  if (response === 'report') return bypassed;
  const controller = replacingController(found.pod);
  const setting = 'eks.whenIsolationBypassed is delete-replaceable-pod';
  if (controller === undefined) {
    return withDetail(bypassed, `not deleted (${setting}): no controller would replace the pod`);
  }
  if (dryRun) {
    return withDetail(bypassed, `would delete it (${setting}): ${controller} replaces it`);
  }
  try {
    await kube.core.deleteNamespacedPod({
      name: found.name,
      namespace: found.namespace,
      // At once: the pod is talking through an allow while it terminates gracefully.
      gracePeriodSeconds: 0,
      // Never another pod that took the name since (StatefulSets reuse names).
      body: { preconditions: { uid: found.uid } },
    });
  } catch (error) {
    if (!isNotFound(error)) {
      const failed = kubeFailed(
        ACTION,
        `delete pod ${podRef(found)}`,
        error,
        'deleteNamespacedPod',
      );
      return {
        ...bypassed,
        outcome: failedBecause(
          ACTION,
          `${bypassed.outcome.detail}; deleting it (${setting}) failed: ${failed.detail}${failed.detail.includes('delete pods') ? ' (apply infra/k8s/rbac-opt-in.yaml)' : ''}`,
          failed.retryable ?? false,
        ),
      };
    }
  }
  return {
    ...bypassed,
    outcome: outcome(
      ACTION,
      'contained',
      `deleted pod ${podRef(found)} (${setting}; its containers stop when its node's kubelet acts on the deletion, which the API does not confirm): ${bypassed.outcome.detail}. ${controller} starts a replacement`,
      bypassed.outcome.evidence,
    ),
    notes: [
      ...bypassed.notes,
      `pod ${podRef(found)} was deleted: its memory and files are gone; the replacement comes from the same template and image (it may be exploitable the same way)`,
    ],
  };
}
