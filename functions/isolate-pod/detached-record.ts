/**
 * Reading the detached-labels record back (DETACHED_LABELS_ANNOTATION). Anyone who may
 * annotate the pod may write it, so it is read as attacker input: a record is used only when
 * it is exactly what detach writes, a non-empty JSON object of label keys to label values,
 * none of them the responder's own. Used by the alert's release line and by the release CLI.
 */
import {
  K8S_LABEL_KEY,
  K8S_LABEL_VALUE,
  invalidAmong,
  type Expected,
} from '../../shared/identifiers.js';
import { RESPONDER_LABEL_PREFIX } from '../../shared/labels.js';

// Restoring a label under this prefix could put back a quarantine label (or drop the
// release of one): detach never records them, so a record that names one is forged.

export type DetachedRecord =
  | { kind: 'none' }
  | { kind: 'labels'; labels: Readonly<Record<string, string>> }
  | { kind: 'invalid'; reason: string };

/** Why the parsed record is not a label map detach could have written, or undefined. */
function problemWith(parsed: unknown): string | undefined {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'it is not a JSON object';
  }
  const entries = Object.entries(parsed);
  if (entries.length === 0) return 'it names no labels';
  const responderKey = entries.find(([key]) => key.startsWith(RESPONDER_LABEL_PREFIX));
  if (responderKey !== undefined) {
    return `label key ${JSON.stringify(responderKey[0].slice(0, 80))} is the responder's own`;
  }
  return invalidAmong(labelSyntax(entries));
}

/** The syntax each key and value of a label map must have (values may be anything here). */
export const labelSyntax = (entries: readonly (readonly [string, unknown])[]): Expected[] =>
  entries.flatMap(([key, value]): Expected[] => [
    ['label key', K8S_LABEL_KEY, key],
    ['label value', K8S_LABEL_VALUE, value],
  ]);

/** The record on a pod, from its annotation value (undefined when the pod has none). */
export function readDetachedRecord(annotation: string | undefined): DetachedRecord {
  if (annotation === undefined) return { kind: 'none' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(annotation);
  } catch {
    return { kind: 'invalid', reason: 'it is not JSON' };
  }
  const reason = problemWith(parsed);
  return reason === undefined
    ? { kind: 'labels', labels: parsed as Record<string, string> }
    : { kind: 'invalid', reason };
}

/** What a human is told when the record cannot be used. */
export const manualRestore = (reason: string): string =>
  `the detached-labels record on the pod is invalid (${reason}): restore the pod's labels by hand`;
