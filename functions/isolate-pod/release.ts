/**
 * The kubectl commands that undo a containment. Every name in them comes from the API
 * server, which only accepts DNS-1123 names and label syntax, and still goes through
 * `cleanText`: a release line is shown to a human who may paste it.
 */
import { CORDONED_LABEL, FINDING_ANNOTATION, QUARANTINE_LABEL } from '../../shared/labels.js';
import { cleanText } from '../../shared/sanitize.js';
import { CONTAINED_AT_ANNOTATION, DETACHED_LABELS_ANNOTATION } from './annotations.js';

// ContainmentResult.release is at most 2000 characters.
const MAX_RELEASE = 2000;

const clean = (text: string): string => cleanText(text, 'description');

/** Remove the quarantine label (the NetworkPolicy then selects nothing) and its annotations. */
export const unlabelPod = (namespace: string, pod: string): string[] => [
  clean(`kubectl -n ${namespace} label pod ${pod} ${QUARANTINE_LABEL}-`),
  clean(
    `kubectl -n ${namespace} annotate pod ${pod} ${FINDING_ANNOTATION}- ${CONTAINED_AT_ANNOTATION}-`,
  ),
];

export const deletePolicy = (namespace: string, policy: string): string[] => [
  clean(`kubectl -n ${namespace} delete networkpolicy ${policy}`),
];

export const uncordonNode = (node: string): string[] => [
  clean(`kubectl uncordon ${node}`),
  clean(`kubectl label node ${node} ${CORDONED_LABEL}-`),
  clean(`kubectl annotate node ${node} ${FINDING_ANNOTATION}-`),
];

/**
 * Put the relabelled labels back. The controller then adopts the pod again and, having one
 * pod too many, deletes one of them.
 */
export function restoreLabels(
  namespace: string,
  pod: string,
  original: Readonly<Record<string, string>>,
): string[] {
  const pairs = Object.entries(original).map(([key, value]) => `${key}=${value}`);
  return [
    clean(`kubectl -n ${namespace} label pod ${pod} --overwrite ${pairs.join(' ')}`),
    clean(`kubectl -n ${namespace} annotate pod ${pod} ${DETACHED_LABELS_ANNOTATION}-`),
  ];
}

// Room kept for the "more steps" marker.
const MARKER_ROOM = 60;

/**
 * The release text: select the cluster, then the commands in the order given, cut at whole
 * commands so it fits the contract.
 */
export function releaseText(
  region: string,
  clusterName: string,
  commands: readonly string[],
): string | undefined {
  if (commands.length === 0) return undefined;
  let text = `aws eks update-kubeconfig --region ${region} --name ${clusterName}`;
  for (const [index, command] of commands.entries()) {
    const longer = `${text}; ${command}`;
    if (longer.length > MAX_RELEASE - MARKER_ROOM) {
      return `${text}; (${commands.length - index} more undo steps not shown)`;
    }
    text = longer;
  }
  return text;
}
