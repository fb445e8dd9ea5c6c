/**
 * `eks:detach-from-controller`: relabel the pod out of its ReplicaSet's selector. The
 * ReplicaSet then starts a clean replacement and releases the suspect pod, which keeps
 * running (isolated) for forensics instead of being deleted.
 */
import type { V1LabelSelector, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { failedBecause, outcome } from '../../shared/containment.js';
import { RESPONDER_LABEL_PREFIX } from '../../shared/labels.js';
import { cleanText } from '../../shared/sanitize.js';
import { DETACHED_LABELS_ANNOTATION } from './annotations.js';
import { manualRestore, readDetachedRecord, type DetachedRecord } from './detached-record.js';
import { podRef, type FoundPod } from './find-pod.js';
import { MERGE_PATCH, isNotFound, type KubeClients } from './kube.js';
import { kubeFailed, only, settled, undoneBy, type Plan, type StepResult } from './plan.js';
import { restoreLabels } from './release.js';

const ACTION = 'eks:detach-from-controller';
const QUARANTINED_PREFIX = 'quarantined-';
// Kubernetes label values: at most 63 characters, alphanumeric at both ends.
const MAX_LABEL_VALUE = 63;

type Labels = Readonly<Record<string, string>>;

/**
 * The value of label `key`, or undefined when the pod lacks it. Own keys only: `constructor`
 * or `toString` are valid label keys, and a plain object would answer them from its
 * prototype.
 */
export const labelValue = (labels: Labels, key: string): string | undefined =>
  Object.hasOwn(labels, key) ? labels[key] : undefined;

/** Whether `labels` satisfy a label selector (Kubernetes semantics; empty selects all). */
export function selectorMatches(selector: V1LabelSelector, labels: Labels): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(
    ([key, value]) => labelValue(labels, key) === value,
  );
  return (
    byLabel &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const value = labelValue(labels, key);
      switch (operator) {
        case 'In':
          return value !== undefined && values.includes(value);
        case 'NotIn':
          return value === undefined || !values.includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          return false;
      }
    })
  );
}

/** Labels under the responder's own prefix (the quarantine label among them). */
const isResponderKey = (key: string): boolean => key.startsWith(RESPONDER_LABEL_PREFIX);

/** `quarantined-<value>`, kept a valid label value (cut to 63, alphanumeric last). */
export function quarantinedValue(value: string): string {
  const prefixed = `${QUARANTINED_PREFIX}${value}`.slice(0, MAX_LABEL_VALUE);
  return prefixed.replace(/[^A-Za-z0-9]+$/, '');
}

/**
 * New values for the labels the selector relies on: `In`/matchLabels values get the
 * quarantine prefix; a label the selector only needs to exist is removed (null in a merge
 * patch). Labels under NotIn/DoesNotExist are left alone: changing them cannot help. The
 * responder's own labels are never changed: a controller whose selector uses the quarantine
 * label (anyone who may create a ReplicaSet can make one) would otherwise have the detach
 * take the quarantine off the pod; such a pod cannot be detached.
 */
export function relabelling(
  selector: V1LabelSelector,
  labels: Labels,
): Record<string, string | null> {
  const change: Record<string, string | null> = {};
  for (const key of Object.keys(selector.matchLabels ?? {})) {
    const value = labelValue(labels, key);
    if (value !== undefined && !isResponderKey(key)) change[key] = quarantinedValue(value);
  }
  for (const { key, operator } of selector.matchExpressions ?? []) {
    const value = labelValue(labels, key);
    if (value === undefined || isResponderKey(key)) continue;
    if (operator === 'In') change[key] = quarantinedValue(value);
    if (operator === 'Exists') change[key] = null;
  }
  return change;
}

function applied(labels: Labels, change: Readonly<Record<string, string | null>>): Labels {
  const result: Record<string, string> = { ...labels };
  for (const [key, value] of Object.entries(change)) {
    if (value === null) delete result[key];
    else result[key] = value;
  }
  return result;
}

/** The controller that owns the pod, if any. */
const controllerOf = (pod: V1Pod): V1OwnerReference | undefined =>
  pod.metadata?.ownerReferences?.find((owner) => owner.controller === true);

/** What an earlier detach recorded on the pod (or a forgery of it). */
const recordOn = (pod: V1Pod): DetachedRecord =>
  readDetachedRecord(pod.metadata?.annotations?.[DETACHED_LABELS_ANNOTATION]);

const shown = (labels: Labels) =>
  cleanText(
    Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(','),
    'description',
  );

/**
 * Done before: the controller no longer selects the pod (release from the recorded
 * originals). An invalid record is said so in the detail too: its restore is manual.
 */
function alreadyDetached(found: FoundPod, detail: string, record = recordOn(found.pod)): Plan {
  const undo = restoreLabels(found.namespace, found.name, record);
  return settled(
    undoneBy(
      outcome(
        ACTION,
        'already-contained',
        record.kind === 'invalid' ? `${detail}; ${manualRestore(record.reason)}` : detail,
        record.kind === 'labels' ? { originalLabels: shown(record.labels) } : undefined,
      ),
      undo,
    ),
  );
}

/**
 * Plan the detach: one merge patch of the selected labels, or the reason there is none.
 * Whether it is done is judged from the controller's selector, never from the annotation
 * alone (anyone who may label the pod may also write that annotation).
 */
export async function planDetach(kube: KubeClients, found: FoundPod): Promise<Plan> {
  const ref = podRef(found);
  const labels: Labels = found.pod.metadata?.labels ?? {};
  const owner = controllerOf(found.pod);
  if (owner === undefined) {
    // A ReplicaSet releases (drops the owner reference of) a pod it no longer selects.
    const record = recordOn(found.pod);
    return record.kind !== 'none'
      ? alreadyDetached(
          found,
          `pod ${ref} was relabelled out of its controller's selector and released by it`,
          record,
        )
      : settled(
          outcome(ACTION, 'skipped', `pod ${ref} has no controller: nothing would replace it`),
        );
  }
  const ownerRef = cleanText(`${owner.kind}/${owner.name}`, 'name');
  if (owner.kind !== 'ReplicaSet' || !owner.apiVersion.startsWith('apps/')) {
    return settled(
      outcome(
        ACTION,
        'skipped',
        `pod ${ref} is controlled by ${ownerRef}: only ReplicaSet-controlled pods (Deployments) are detached`,
      ),
    );
  }
  let selector: V1LabelSelector;
  try {
    const replicaSet = await kube.apps.readNamespacedReplicaSet({
      name: owner.name,
      namespace: found.namespace,
    });
    selector = replicaSet.spec?.selector ?? {};
  } catch (error) {
    if (isNotFound(error)) {
      return settled(
        outcome(ACTION, 'skipped', `${ownerRef}, the controller of pod ${ref}, no longer exists`),
      );
    }
    return settled(kubeFailed(ACTION, `get ${ownerRef}`, error, 'readNamespacedReplicaSet'));
  }
  if (!selectorMatches(selector, labels)) {
    return alreadyDetached(found, `pod ${ref} no longer matches the selector of ${ownerRef}`);
  }
  const change = relabelling(selector, labels);
  if (Object.keys(change).length === 0 || selectorMatches(selector, applied(labels, change))) {
    return settled(
      failedBecause(
        ACTION,
        `pod ${ref} cannot be relabelled out of the selector of ${ownerRef} (it selects by labels the pod lacks or by exclusion only)`,
        false,
      ),
    );
  }
  const original = Object.fromEntries(
    Object.keys(change).flatMap((key) => {
      const value = labels[key];
      return value === undefined ? [] : [[key, value] as const];
    }),
  );
  const evidence = {
    controller: ownerRef,
    originalLabels: shown(original),
    newLabels: shown(applied(original, change)),
  };
  return {
    kind: 'write',
    intent: `relabel pod ${ref} out of the selector of ${ownerRef} (${shown(original)} to ${shown(applied(original, change))}), so it replaces the pod`,
    run: async (): Promise<StepResult> => {
      try {
        await kube.core.patchNamespacedPod(
          {
            name: found.name,
            namespace: found.namespace,
            body: {
              metadata: {
                uid: found.uid,
                labels: change,
                annotations: { [DETACHED_LABELS_ANNOTATION]: JSON.stringify(original) },
              },
            },
          },
          MERGE_PATCH,
        );
      } catch (error) {
        return only(kubeFailed(ACTION, `patch pod ${ref}`, error, 'patchNamespacedPod'));
      }
      return {
        ...undoneBy(
          outcome(
            ACTION,
            'contained',
            `relabelled pod ${ref} out of the selector of ${ownerRef}`,
            evidence,
          ),
          restoreLabels(found.namespace, found.name, { kind: 'labels', labels: original }),
          [
            `${ownerRef} starts a replacement for pod ${ref} from the same template and image (it may be exploitable the same way); Services that selected the pod by the relabelled labels no longer send it traffic`,
          ],
        ),
        labelsAfter: applied(labels, change),
      };
    },
  };
}
