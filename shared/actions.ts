/**
 * The registry of containment actions. Each entry declares what it needs (IAM actions,
 * Kubernetes RBAC rules), so the stack and the RBAC manifest can be checked against it:
 * a function's role grants exactly what its actions declare.
 */
import type { ActionId, Surface } from './contracts.js';

/** Containment function names, one per surface (`functions/<name>`). */
export const CONTAINMENT_FUNCTIONS = {
  'eks-pod': 'isolate-pod',
  'ecs-task': 'stop-task',
  'ec2-instance': 'quarantine-ec2',
} as const satisfies Record<Surface, string>;
export type ContainmentFunction = (typeof CONTAINMENT_FUNCTIONS)[Surface];

export interface RbacRule {
  apiGroup: string;
  resource: string;
  verbs: readonly string[];
}

export interface ActionSpec {
  id: ActionId;
  surface: Surface;
  /** What the action does, in one line, for plans and dry runs. */
  description: string;
  iamActions: readonly string[];
  rbac: readonly RbacRule[];
}

const spec = <T extends ActionSpec>(value: T) => value;

/** Every containment action, keyed by id. */
export const ACTIONS: Readonly<Record<ActionId, ActionSpec>> = {
  'eks:label-pod': spec({
    id: 'eks:label-pod',
    surface: 'eks-pod',
    description: 'label and annotate the pod as quarantined (finding id, time)',
    iamActions: ['eks:DescribeCluster'],
    rbac: [{ apiGroup: '', resource: 'pods', verbs: ['get', 'list', 'patch'] }],
  }),
  'eks:isolate-pod-network': spec({
    id: 'eks:isolate-pod-network',
    surface: 'eks-pod',
    description: 'deny all ingress and egress of this one pod with a NetworkPolicy',
    iamActions: ['eks:DescribeCluster'],
    rbac: [
      { apiGroup: 'networking.k8s.io', resource: 'networkpolicies', verbs: ['get', 'create'] },
    ],
  }),
  'eks:cordon-node': spec({
    id: 'eks:cordon-node',
    surface: 'eks-pod',
    description: 'cordon and label the node the pod runs on (host may be compromised)',
    iamActions: ['eks:DescribeCluster'],
    rbac: [{ apiGroup: '', resource: 'nodes', verbs: ['get', 'patch'] }],
  }),
  'ecs:capture-task': spec({
    id: 'ecs:capture-task',
    surface: 'ecs-task',
    description: 'capture the task description and task definition as evidence',
    iamActions: ['ecs:DescribeTasks', 'ecs:DescribeTaskDefinition', 'ecs:ListTasks'],
    rbac: [],
  }),
  'ecs:stop-task': spec({
    id: 'ecs:stop-task',
    surface: 'ecs-task',
    description: 'stop the task with the finding id as the reason, and tag it',
    iamActions: ['ecs:StopTask', 'ecs:TagResource'],
    rbac: [],
  }),
  'ec2:quarantine-instance': spec({
    id: 'ec2:quarantine-instance',
    surface: 'ec2-instance',
    description:
      'record the security groups of every network interface, move each through an allow-all group (untracks live connections) to a no-rule quarantine group, enable termination protection, tag the instance',
    iamActions: [
      'ec2:DescribeInstances',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSecurityGroups',
      'ec2:CreateSecurityGroup',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:ModifyNetworkInterfaceAttribute',
      'ec2:ModifyInstanceAttribute',
      'ec2:CreateTags',
    ],
    rbac: [],
  }),
};

/** The actions a containment function runs, in registry order. */
export function actionsOf(surface: Surface): ActionSpec[] {
  return Object.values(ACTIONS).filter((action) => action.surface === surface);
}
