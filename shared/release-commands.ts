/**
 * Release commands printed by more than one module: the containment functions give them in
 * their result, and the alert falls back to them when a function did not answer.
 */
import { EKS_CLUSTER_NAME, INSTANCE_ID, REGION, type Expected } from './identifiers.js';
import { QUARANTINE_LABEL } from './labels.js';
import { printCommands } from './shell.js';

/** The values `selectClusterArgv` puts in a command, with the syntax each must have. */
export const clusterNames = (region: string, clusterName: string): Expected[] => [
  ['region', REGION, region],
  ['cluster name', EKS_CLUSTER_NAME, clusterName],
];

/**
 * Make the finding's cluster kubectl's current context, so the kubectl commands after it act
 * there and not on whichever cluster the operator last used.
 */
export const selectClusterArgv = (region: string, clusterName: string): string[] => [
  'aws',
  'eks',
  'update-kubeconfig',
  '--region',
  region,
  '--name',
  clusterName,
];

/** Delete the pod's quarantine NetworkPolicy. */
export const deletePolicyArgv = (namespace: string, policy: string): string[] => [
  'kubectl',
  '-n',
  namespace,
  'delete',
  'networkpolicy',
  policy,
];

/** `kubectl -n <namespace> <verb> pod <pod> <args…>` as argv. */
export const podCommandArgv = (
  namespace: string,
  verb: 'label' | 'annotate',
  pod: string,
  ...args: string[]
): string[] => ['kubectl', '-n', namespace, verb, 'pod', pod, ...args];

/** Remove the quarantine label from the pod (its NetworkPolicy then selects nothing). */
export const unlabelPodArgv = (namespace: string, pod: string): string[] =>
  podCommandArgv(namespace, 'label', pod, `${QUARANTINE_LABEL}-`);

/**
 * How to release an EC2 quarantine: what it restores, then the command (last, so that
 * nothing after it on the line is taken for one of its arguments). The region is in the
 * command: the release acts in the instance's region, whatever the operator's default is.
 */
export function ec2ReleaseText(instanceId: string, region: string): string {
  const printed = printCommands(
    [
      ['instance id', INSTANCE_ID, instanceId],
      ['region', REGION, region],
    ],
    () => [['npm', 'run', 'release', '--', 'ec2', instanceId, '--region', region]],
  );
  return 'invalid' in printed
    ? `${printed.invalid}: restore the instance's security groups and settings by hand`
    : `restore each network interface's recorded security groups, termination protection and shutdown behaviour: ${printed.commands.join('')}`;
}
