/**
 * The narrow, validated messages that cross function boundaries: the router sends a
 * ContainmentRequest (never the raw finding) and receives a ContainmentResult.
 */
import * as z from './zod.js';
import {
  ACCOUNT_ID,
  CONTAINER_ID,
  ECS_CLUSTER_ARN,
  ECS_TASK_ARN,
  EKS_CLUSTER_NAME,
  GUARDDUTY_ID,
  INSTANCE_ID,
  K8S_NAMESPACE,
  K8S_NODE_NAME,
  K8S_POD_NAME,
  K8S_UID,
  REGION,
  RUNTIME_FINDING_TYPE,
} from './identifiers.js';

export const SURFACES = ['eks-pod', 'ecs-task', 'ec2-instance'] as const;

/** What isolate-pod does when other NetworkPolicies let traffic past its quarantine. */
export const BYPASS_RESPONSES = ['report', 'delete-replaceable-pod'] as const;
export type BypassResponse = (typeof BYPASS_RESPONSES)[number];
/** The kind of workload a containment acts on. */
export type Surface = (typeof SURFACES)[number];

export const ACTION_IDS = [
  'eks:label-pod',
  'eks:isolate-pod-network',
  'eks:cordon-node',
  'eks:detach-from-controller',
  'ecs:capture-task',
  'ecs:stop-task',
  'ecs:stop-sibling-tasks',
  'ecs:scale-service-to-zero',
  'ec2:quarantine-instance',
  'ec2:snapshot-volumes',
  'ec2:detach-from-autoscaling',
  'ec2:protect-from-scale-in',
  'ec2:deregister-from-target-groups',
] as const;
/** Identifier of one containment action in the registry (`shared/actions.ts`). */
export type ActionId = (typeof ACTION_IDS)[number];

export const EksPodTargetSchema = z
  .strictObject({
    surface: z.literal('eks-pod'),
    clusterName: z.string().check(z.regex(EKS_CLUSTER_NAME)),
    namespace: z.string().check(z.regex(K8S_NAMESPACE)),
    /** Set when the finding names the pod; otherwise the pod is found by container id. */
    podName: z.optional(z.string().check(z.regex(K8S_POD_NAME))),
    /** The pod's uid when the finding gives it: a pod recreated under the same name differs. */
    podUid: z.optional(z.string().check(z.regex(K8S_UID))),
    /** Container ids (64 hex) from the finding, used to find the pod when it is not named. */
    containerIds: z._default(
      z.array(z.string().check(z.regex(CONTAINER_ID))).check(z.maxLength(32)),
      [],
    ),
    /** Node the pod runs on, when the finding says (EC2 instance id of the node). */
    nodeInstanceId: z.optional(z.string().check(z.regex(INSTANCE_ID))),
    /**
     * The Kubernetes node the pod likely runs on: the node's private DNS name, which EKS uses
     * as the node name unless the node group chose another hostname type. Only narrows the
     * search by container id; a pod not found on it is looked for in the whole namespace.
     */
    nodeName: z.optional(z.string().check(z.regex(K8S_NODE_NAME))),
  })
  .check(
    z.refine((t) => t.podName !== undefined || t.containerIds.length > 0, {
      message: 'an eks-pod target needs a podName or at least one container id',
    }),
  );

export const EcsTaskTargetSchema = z.strictObject({
  surface: z.literal('ecs-task'),
  clusterArn: z.string().check(z.regex(ECS_CLUSTER_ARN)),
  taskArn: z.string().check(z.regex(ECS_TASK_ARN)),
  launchType: z.enum(['FARGATE', 'EC2', 'EXTERNAL', 'UNKNOWN']),
  /** EC2 launch type: the instance that hosts the task, when the finding says. */
  containerInstanceId: z.optional(z.string().check(z.regex(INSTANCE_ID))),
});

export const Ec2InstanceTargetSchema = z.strictObject({
  surface: z.literal('ec2-instance'),
  instanceId: z.string().check(z.regex(INSTANCE_ID)),
});

export const TargetSchema = z.discriminatedUnion('surface', [
  EksPodTargetSchema,
  EcsTaskTargetSchema,
  Ec2InstanceTargetSchema,
]);
/** Validated identifiers of the workload to contain. */
export type Target = z.infer<typeof TargetSchema>;
export type EksPodTarget = z.infer<typeof EksPodTargetSchema>;
export type EcsTaskTarget = z.infer<typeof EcsTaskTargetSchema>;
export type Ec2InstanceTarget = z.infer<typeof Ec2InstanceTargetSchema>;

export const ContainmentRequestSchema = z.strictObject({
  version: z.literal(1),
  findingId: z.string().check(z.regex(GUARDDUTY_ID)),
  findingType: z.string().check(z.regex(RUNTIME_FINDING_TYPE)),
  severity: z.number().check(z.gte(0), z.lte(10)),
  accountId: z.string().check(z.regex(ACCOUNT_ID)),
  region: z.string().check(z.regex(REGION)),
  target: TargetSchema,
  actions: z.array(z.enum(ACTION_IDS)).check(z.minLength(1)),
  /** EKS only: signals that the host may be compromised, so the node is cordoned. */
  hostCompromise: z.boolean(),
  dryRun: z.boolean(),
  /** Exemption tag key (EC2/ECS) or label/annotation key (EKS) the function re-checks live. */
  exemptionKey: z.string().check(z.minLength(1), z.maxLength(317)),
  /** EKS settings from the policy; present for eks-pod requests. */
  eks: z.optional(
    z.strictObject({
      /** Let the isolated pod still resolve names through cluster DNS. */
      allowDnsEgress: z.boolean(),
      /** What to do when other NetworkPolicies bypass the quarantine; absent: `report`. */
      whenIsolationBypassed: z.optional(z.enum(BYPASS_RESPONSES)),
      /** Count the responder's deny above NetworkPolicies in the verdict; absent: false. */
      trustDenyTier: z.optional(z.boolean()),
      /** Never have more nodes cordoned by the responder in one cluster than this. */
      maxCordonedNodes: z.int().check(z.gte(0), z.lte(1000)),
      /** Namespaces the function must never touch (re-checked after finding the pod). */
      protectedNamespaces: z
        .array(z.string().check(z.regex(K8S_NAMESPACE)))
        .check(z.maxLength(100)),
    }),
  ),
});
/** What the router asks a containment function to do. Never carries attacker text. */
export type ContainmentRequest = z.infer<typeof ContainmentRequestSchema>;

export const OUTCOME_STATUSES = [
  'contained',
  'already-contained',
  'skipped',
  'dry-run',
  'failed',
] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export const ActionOutcomeSchema = z
  .object({
    action: z.enum(ACTION_IDS),
    status: z.enum(OUTCOME_STATUSES),
    /** One line a human can read: what happened or why not. */
    detail: z.string().check(z.maxLength(2000)),
    /** Present on `failed`: whether a later attempt may succeed. */
    retryable: z.optional(z.boolean()),
    /** Facts captured by the action (ids, previous state), bounded in size. */
    evidence: z.optional(z.record(z.string(), z.unknown())),
  })
  .check(
    z.refine((o) => o.status !== 'failed' || o.retryable !== undefined, {
      message: 'a failed outcome must say whether it is retryable',
    }),
  );
/** Result of one containment action. A failure is never reported as success. */
export type ActionOutcome = z.infer<typeof ActionOutcomeSchema>;

export const ContainmentResultSchema = z.object({
  findingId: z.string().check(z.regex(GUARDDUTY_ID)),
  outcomes: z.array(ActionOutcomeSchema),
  /** How to undo what was done, as a command or steps (identifiers only, no attacker text). */
  release: z.optional(z.string().check(z.maxLength(2000))),
  /** Consequences an operator should know (e.g. a service will start a replacement task). */
  notes: z._default(z.array(z.string().check(z.maxLength(1000))).check(z.maxLength(20)), []),
});
/** What a containment function returns to the router. */
export type ContainmentResult = z.infer<typeof ContainmentResultSchema>;
