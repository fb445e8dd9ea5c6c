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
  /**
   * The policy setting that needs this rule: granted only by the opt-in manifest
   * (infra/k8s/rbac-opt-in.yaml), never by the default one (infra/k8s/rbac.yaml).
   */
  optIn?: string;
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
      { apiGroup: '', resource: 'pods', verbs: ['get', 'list', 'patch'] },
      // list: every policy of the namespace is read, since any that selects the pod adds allows.
      {
        apiGroup: 'networking.k8s.io',
        resource: 'networkpolicies',
        verbs: ['get', 'list', 'create'],
      },
      // A deny for the one pod in the tier above NetworkPolicies, where the cluster serves one.
      {
        apiGroup: 'networking.k8s.aws',
        resource: 'clusternetworkpolicies',
        verbs: ['get', 'create'],
      },
      {
        apiGroup: 'policy.networking.k8s.io',
        resource: 'clusternetworkpolicies',
        verbs: ['get', 'create'],
      },
      {
        apiGroup: 'cilium.io',
        resource: 'ciliumclusterwidenetworkpolicies',
        verbs: ['get', 'create'],
      },
      {
        apiGroup: '',
        resource: 'pods',
        verbs: ['delete'],
        optIn: 'eks.whenIsolationBypassed: delete-replaceable-pod',
      },
    ],
  }),
  'eks:cordon-node': spec({
    id: 'eks:cordon-node',
    surface: 'eks-pod',
    description: 'cordon and label the node the pod runs on (host may be compromised)',
    iamActions: ['eks:DescribeCluster'],
    rbac: [
      { apiGroup: '', resource: 'pods', verbs: ['get', 'list'] },
      { apiGroup: '', resource: 'nodes', verbs: ['get', 'list', 'patch'] },
    ],
  }),
  'eks:detach-from-controller': spec({
    id: 'eks:detach-from-controller',
    surface: 'eks-pod',
    description:
      "relabel the pod out of its controller's selector, so a clean replica replaces it while the suspect pod stays for forensics",
    iamActions: ['eks:DescribeCluster'],
    rbac: [
      { apiGroup: '', resource: 'pods', verbs: ['get', 'list', 'patch'] },
      { apiGroup: 'apps', resource: 'replicasets', verbs: ['get'] },
    ],
  }),
  'ecs:capture-task': spec({
    id: 'ecs:capture-task',
    surface: 'ecs-task',
    description: 'capture the task description and task definition as evidence',
    iamActions: [
      'ecs:DescribeTasks',
      'ecs:DescribeTaskDefinition',
      'ecs:ListTasks',
      'ecs:DescribeServices',
    ],
    rbac: [],
  }),
  'ecs:stop-task': spec({
    id: 'ecs:stop-task',
    surface: 'ecs-task',
    description: 'stop the task with the finding id as the reason, and tag it',
    iamActions: ['ecs:DescribeTasks', 'ecs:StopTask', 'ecs:TagResource', 'ecs:UntagResource'],
    rbac: [],
  }),
  'ecs:stop-sibling-tasks': spec({
    id: 'ecs:stop-sibling-tasks',
    surface: 'ecs-task',
    description: 'stop the other running tasks of the cluster that run the same image digest',
    iamActions: ['ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:StopTask'],
    rbac: [],
  }),
  'ecs:scale-service-to-zero': spec({
    id: 'ecs:scale-service-to-zero',
    surface: 'ecs-task',
    description: "set the task's service desired count to zero, so no replacement starts",
    iamActions: ['ecs:DescribeTasks', 'ecs:DescribeServices', 'ecs:UpdateService'],
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
      'ec2:DescribeInstanceAttribute',
      'ec2:DescribeSecurityGroups',
      'ec2:CreateSecurityGroup',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:ModifyNetworkInterfaceAttribute',
      'ec2:ModifyInstanceAttribute',
      'ec2:CreateTags',
    ],
    rbac: [],
  }),
  'ec2:snapshot-volumes': spec({
    id: 'ec2:snapshot-volumes',
    surface: 'ec2-instance',
    description: 'snapshot every attached EBS volume, tagged with the finding id',
    iamActions: [
      'ec2:DescribeInstances',
      'ec2:DescribeSnapshots',
      'ec2:CreateSnapshot',
      'ec2:CreateTags',
    ],
    rbac: [],
  }),
  'ec2:detach-from-autoscaling': spec({
    id: 'ec2:detach-from-autoscaling',
    surface: 'ec2-instance',
    description:
      'detach the instance from its Auto Scaling group without lowering the desired capacity',
    iamActions: ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DetachInstances'],
    rbac: [],
  }),
  'ec2:protect-from-scale-in': spec({
    id: 'ec2:protect-from-scale-in',
    surface: 'ec2-instance',
    description:
      'protect the instance from scale-in, so its Auto Scaling group does not terminate it',
    iamActions: ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:SetInstanceProtection'],
    rbac: [],
  }),
  'ec2:deregister-from-target-groups': spec({
    id: 'ec2:deregister-from-target-groups',
    surface: 'ec2-instance',
    description: 'deregister the instance from every load balancer target group',
    iamActions: [
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetHealth',
      'elasticloadbalancing:DeregisterTargets',
    ],
    rbac: [],
  }),
};

/**
 * What releasing an EC2 quarantine needs (`npm run release -- ec2 …` or the release entry
 * point): read the record, put the groups and settings back, swap the tags.
 */
export const EC2_RELEASE_IAM_ACTIONS: readonly string[] = [
  'ec2:DescribeInstances',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeInstanceAttribute',
  'ec2:ModifyNetworkInterfaceAttribute',
  'ec2:ModifyInstanceAttribute',
  'ec2:CreateTags',
  'ec2:DeleteTags',
];

/** The actions a containment function runs, in registry order. */
export function actionsOf(surface: Surface): ActionSpec[] {
  return Object.values(ACTIONS).filter((action) => action.surface === surface);
}
