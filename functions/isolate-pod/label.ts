/**
 * `eks:label-pod`: mark the pod with a label unique to it (its uid), which the NetworkPolicy
 * selects, and annotate it with the finding id and the time.
 */
import { outcome } from '../../shared/containment.js';
import { FINDING_ANNOTATION, QUARANTINE_LABEL } from '../../shared/labels.js';
import { cleanText } from '../../shared/sanitize.js';
import { CONTAINED_AT_ANNOTATION } from './annotations.js';
import { podRef, type FoundPod } from './find-pod.js';
import { MERGE_PATCH, type KubeClients } from './kube.js';
import { kubeFailed, only, settled, undoneBy, type Plan, type StepResult } from './plan.js';
import { unlabelPod } from './release.js';

const ACTION = 'eks:label-pod';

/** True when the pod already carries this pod's quarantine label and a finding id. */
export function isLabelled(found: FoundPod): boolean {
  const { labels, annotations } = found.pod.metadata ?? {};
  return (
    labels?.[QUARANTINE_LABEL] === found.uid && annotations?.[FINDING_ANNOTATION] !== undefined
  );
}

/**
 * The merge patch. `metadata.uid` makes it conditional: the API server refuses it (422,
 * uid is immutable) if a pod of the same name replaced the one that was read.
 */
export function labelPatch(found: FoundPod, findingId: string, now: Date) {
  return {
    metadata: {
      uid: found.uid,
      labels: { [QUARANTINE_LABEL]: found.uid },
      annotations: {
        [FINDING_ANNOTATION]: findingId,
        [CONTAINED_AT_ANNOTATION]: now.toISOString(),
      },
    },
  };
}

const evidenceOf = (found: FoundPod) => ({
  pod: podRef(found),
  podUid: found.uid,
  foundBy: found.foundBy,
  node: cleanText(found.pod.spec?.nodeName ?? '', 'name'),
});

/** Plan the label: nothing to do when it is there, else one merge patch. */
export function planLabel(kube: KubeClients, found: FoundPod, findingId: string, now: Date): Plan {
  const ref = podRef(found);
  const undo = unlabelPod(found.namespace, found.name);
  if (isLabelled(found)) {
    const by = cleanText(found.pod.metadata?.annotations?.[FINDING_ANNOTATION] ?? '', 'short');
    return settled(
      undoneBy(
        outcome(
          ACTION,
          'already-contained',
          `pod ${ref} already carries ${QUARANTINE_LABEL}=${found.uid} (finding ${by})`,
          evidenceOf(found),
        ),
        undo,
      ),
    );
  }
  return {
    kind: 'write',
    intent: `label pod ${ref} ${QUARANTINE_LABEL}=${found.uid} and annotate it with finding ${findingId} and the time`,
    run: async (): Promise<StepResult> => {
      try {
        await kube.core.patchNamespacedPod(
          {
            name: found.name,
            namespace: found.namespace,
            body: labelPatch(found, findingId, now),
          },
          MERGE_PATCH,
        );
      } catch (error) {
        return only(kubeFailed(ACTION, `patch pod ${ref}`, error, 'patchNamespacedPod'));
      }
      return undoneBy(
        outcome(
          ACTION,
          'contained',
          `labelled pod ${ref} ${QUARANTINE_LABEL}=${found.uid}, annotated with the finding id`,
          evidenceOf(found),
        ),
        undo,
      );
    },
  };
}
