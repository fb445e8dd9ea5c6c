/**
 * The kubectl commands that undo a containment. Names come from the API server and labels
 * from a record anyone who may annotate the pod can write, so each value must pass its
 * Kubernetes syntax before it goes into a command (`printCommands`); a value that fails
 * gives a note that the step is to be undone by hand instead of a command.
 */
import {
  K8S_NAMESPACE,
  K8S_NETWORK_POLICY_NAME,
  K8S_NODE_NAME,
  K8S_POD_NAME,
  type Expected,
} from '../../shared/identifiers.js';
import { CORDONED_LABEL, FINDING_ANNOTATION } from '../../shared/labels.js';
import {
  clusterNames,
  deletePolicyArgv,
  podCommandArgv,
  selectClusterArgv,
  unlabelPodArgv,
} from '../../shared/release-commands.js';
import {
  COMMAND_SEPARATOR,
  printCommands,
  shellCommand,
  type Printed,
} from '../../shared/shell.js';
import { CONTAINED_AT_ANNOTATION, DETACHED_LABELS_ANNOTATION } from './annotations.js';
import { labelSyntax, manualRestore, type DetachedRecord } from './detached-record.js';
import { NOTHING_TO_UNDO, type Undo } from './plan.js';

// ContainmentResult.release is at most 2000 characters.
const MAX_RELEASE = 2000;

function undo(printed: Printed, byHand: (invalid: string) => string): Undo {
  return 'invalid' in printed
    ? { release: [], notes: [byHand(printed.invalid)] }
    : { release: printed.commands, notes: [] };
}

const podNames = (namespace: string, pod: string): Expected[] => [
  ['namespace', K8S_NAMESPACE, namespace],
  ['pod name', K8S_POD_NAME, pod],
];

/** Remove the quarantine label (the NetworkPolicy then selects nothing) and its annotations. */
export const unlabelPod = (namespace: string, pod: string): Undo =>
  undo(
    printCommands(podNames(namespace, pod), () => [
      unlabelPodArgv(namespace, pod),
      podCommandArgv(
        namespace,
        'annotate',
        pod,
        `${FINDING_ANNOTATION}-`,
        `${CONTAINED_AT_ANNOTATION}-`,
      ),
    ]),
    (invalid) => `${invalid}: remove the quarantine label and annotations from the pod by hand`,
  );

export const deletePolicy = (namespace: string, policy: string): Undo =>
  undo(
    printCommands(
      [
        ['namespace', K8S_NAMESPACE, namespace],
        ['NetworkPolicy name', K8S_NETWORK_POLICY_NAME, policy],
      ],
      () => [deletePolicyArgv(namespace, policy)],
    ),
    (invalid) => `${invalid}: delete the quarantine NetworkPolicy by hand`,
  );

export const uncordonNode = (node: string): Undo =>
  undo(
    printCommands([['node name', K8S_NODE_NAME, node]], () => [
      ['kubectl', 'uncordon', node],
      ['kubectl', 'label', 'node', node, `${CORDONED_LABEL}-`],
      ['kubectl', 'annotate', 'node', node, `${FINDING_ANNOTATION}-`],
    ]),
    (invalid) => `${invalid}: uncordon the node and remove the responder's label by hand`,
  );

// `<plural>.<version>.<group>`: a resource name fixed by the responder's own code.
const QUALIFIED_RESOURCE = /^[a-z0-9]+\.v[0-9a-z]+(?:\.[a-z0-9-]+)+$/;

/** Delete the responder's deny in a tier above NetworkPolicies (a cluster-scoped object). */
export const deleteTierDeny = (qualifiedResource: string, name: string): Undo =>
  undo(
    printCommands(
      [
        ['resource', QUALIFIED_RESOURCE, qualifiedResource],
        ['policy name', K8S_NETWORK_POLICY_NAME, name],
      ],
      () => [['kubectl', 'delete', qualifiedResource, name]],
    ),
    (invalid) => `${invalid}: delete the responder's ${qualifiedResource} by hand`,
  );

/**
 * Put the relabelled labels back from the pod's record. The controller then adopts the pod
 * again and, having one pod too many, deletes one of them. A record that is not valid
 * gives no command: its keys and values are the workload owner's to choose.
 */
export function restoreLabels(namespace: string, pod: string, record: DetachedRecord): Undo {
  if (record.kind !== 'labels') {
    return record.kind === 'invalid'
      ? { release: [], notes: [manualRestore(record.reason)] }
      : NOTHING_TO_UNDO;
  }
  const entries = Object.entries(record.labels);
  return undo(
    printCommands([...podNames(namespace, pod), ...labelSyntax(entries)], () => [
      podCommandArgv(
        namespace,
        'label',
        pod,
        '--overwrite',
        ...entries.map(([key, value]) => `${key}=${value}`),
      ),
      podCommandArgv(namespace, 'annotate', pod, `${DETACHED_LABELS_ANNOTATION}-`),
    ]),
    manualRestore,
  );
}

// Room kept for the "more steps" marker.
const MARKER_ROOM = 80;

/**
 * The release text: select the cluster, then the commands in the order given, cut at whole
 * commands so it fits the contract. A cut ends in an `echo` that says so, so that the line
 * stays something a shell runs as intended.
 */
export function releaseText(
  region: string,
  clusterName: string,
  commands: readonly string[],
): string | undefined {
  if (commands.length === 0) return undefined;
  const selectCluster = printCommands(clusterNames(region, clusterName), () => [
    selectClusterArgv(region, clusterName),
  ]);
  if ('invalid' in selectCluster) {
    return `${selectCluster.invalid}: select the cluster and undo the containment by hand`;
  }
  let text = selectCluster.commands.join('');
  for (const [index, command] of commands.entries()) {
    const longer = `${text}${COMMAND_SEPARATOR}${command}`;
    if (longer.length > MAX_RELEASE - MARKER_ROOM) {
      const marker = shellCommand(['echo', `${commands.length - index} more undo steps not shown`]);
      return `${text}${COMMAND_SEPARATOR}${marker}`;
    }
    text = longer;
  }
  return text;
}
