/**
 * Release commands printed by more than one module: the containment functions give them in
 * their result, and the alert falls back to them when a function did not answer.
 */
import { INSTANCE_ID } from './identifiers.js';
import { QUARANTINE_LABEL } from './labels.js';
import { printCommands } from './shell.js';

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
 * nothing after it on the line is taken for one of its arguments).
 */
export function ec2ReleaseText(instanceId: string): string {
  const printed = printCommands([['instance id', INSTANCE_ID, instanceId]], () => [
    ['npm', 'run', 'release', '--', 'ec2', instanceId],
  ]);
  return 'invalid' in printed
    ? `${printed.invalid}: restore the instance's security groups and settings by hand`
    : `restore each network interface's recorded security groups, termination protection and shutdown behaviour: ${printed.commands.join('')}`;
}
