/**
 * IAM statements for a containment function, derived from the action registry: a role
 * grants exactly the IAM actions its granted actions declare, each scoped as narrowly as the
 * service allows. An action without a scoping rule fails synth, so a new action cannot ship
 * with an accidental wildcard.
 */
import { Aws } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  GROUP_ROLES,
  INSTANCE_ATTRIBUTES_SET,
  RESPONDER,
  TAG,
  TAG_KEYS_WRITTEN,
} from '../functions/quarantine-ec2/record.js';
import { actionsOf, type ActionSpec } from '../shared/actions.js';
import type { ActionId, Surface } from '../shared/contracts.js';

export interface ScopeProps {
  /** ECS clusters the responder may stop tasks in; empty means every cluster of the account. */
  ecsClusterArns: readonly string[];
  /** EKS clusters isolate-pod may describe; empty means every cluster of the account. */
  eksClusterNames: readonly string[];
}

/**
 * ARNs are written as templates so the same value renders as CloudFormation tokens (for
 * the policy) and as cdk-nag prints them (for acknowledging each wildcard by name).
 */
const arn = (service: string, resource: string, account = '{account}') =>
  `arn:{partition}:${service}:{region}:${account}:${resource}`;

const asToken = (template: string) =>
  template
    .replace('{partition}', Aws.PARTITION)
    .replace('{region}', Aws.REGION)
    .replace('{account}', Aws.ACCOUNT_ID);
const asNagName = (template: string) =>
  template
    .replace('{partition}', '<AWS::Partition>')
    .replace('{region}', '<AWS::Region>')
    .replace('{account}', '<AWS::AccountId>');

/** Read APIs that AWS does not scope to resources. */
const UNSCOPED_READS = new Set([
  'ec2:DescribeInstances',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeInstanceAttribute',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSnapshots',
  'ecs:DescribeTaskDefinition',
  'autoscaling:DescribeAutoScalingInstances',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
]);

type Conditions = Record<string, Record<string, unknown>>;

interface Scope {
  resources: string[];
  conditions?: Conditions;
}

/** Every EC2 resource of a type in this account and region: ids are known only per finding. */
const ec2Resources = (type: string) => arn('ec2', `${type}/*`);
/** Snapshot ARNs carry no account. */
const SNAPSHOTS = arn('ec2', 'snapshot/*', '');

/** Security groups the responder created, by the `role` tag they carry from creation. */
const responderGroups = (roles: readonly string[]): Scope => ({
  resources: [ec2Resources('security-group')],
  conditions: { StringEquals: { [`aws:ResourceTag/${TAG.role}`]: [...roles] } },
});

/** A request may write these tag keys and no other. */
const onlyTagKeys = (patterns: readonly string[]): Conditions => ({
  [patterns.some((key) => key.includes('*'))
    ? 'ForAllValues:StringLike'
    : 'ForAllValues:StringEquals']: { 'aws:TagKeys': [...patterns] },
});

/**
 * Tags written by a resource-creating call (TagSpecifications), which EC2 authorizes as
 * CreateTags with `ec2:CreateAction`: no existing resource of the type can be tagged.
 */
const taggedAtCreation = (
  createAction: string,
  resource: string,
  keys: readonly string[],
): Scope => ({
  resources: [resource],
  conditions: {
    StringEquals: { 'ec2:CreateAction': createAction },
    ...onlyTagKeys(keys),
  },
});

/**
 * What each registry action may tag. Existing security groups are not among them: the
 * right to change a group's rules hangs on its `role` tag.
 */
function createTagsScopes(action: ActionId): Scope[] {
  switch (action) {
    case 'ec2:quarantine-instance':
      return [
        {
          resources: [ec2Resources('instance')],
          conditions: onlyTagKeys(TAG_KEYS_WRITTEN.instance),
        },
        {
          resources: [ec2Resources('network-interface')],
          conditions: onlyTagKeys(TAG_KEYS_WRITTEN.networkInterface),
        },
        taggedAtCreation(
          'CreateSecurityGroup',
          ec2Resources('security-group'),
          TAG_KEYS_WRITTEN.securityGroup,
        ),
      ];
    case 'ec2:snapshot-volumes':
      return [taggedAtCreation('CreateSnapshot', SNAPSHOTS, TAG_KEYS_WRITTEN.snapshot)];
    default:
      throw new Error(`no ec2:CreateTags scoping rule for ${action}: add one in infra/iam.ts`);
  }
}

/**
 * Where each EC2 write may act, by the resource types and condition keys the Service
 * Authorization Reference lists for it (Amazon EC2).
 */
function ec2Scopes(iamAction: string, action: ActionId): Scope[] {
  switch (iamAction) {
    case 'ec2:CreateSecurityGroup':
      // Only groups that carry the responder's tags from the start, in any VPC.
      return [
        {
          resources: [ec2Resources('security-group')],
          conditions: {
            StringEquals: {
              [`aws:RequestTag/${TAG.role}`]: [...GROUP_ROLES],
              [`aws:RequestTag/${TAG.quarantinedBy}`]: RESPONDER,
            },
            ...onlyTagKeys(TAG_KEYS_WRITTEN.securityGroup),
          },
        },
        { resources: [ec2Resources('vpc')] },
      ];
    // The untrack group only gains rules and the quarantine group only loses them, so the
    // role can never open the quarantine group (functions/quarantine-ec2/groups.ts).
    case 'ec2:AuthorizeSecurityGroupIngress':
    case 'ec2:AuthorizeSecurityGroupEgress':
      return [responderGroups(['untrack'])];
    case 'ec2:RevokeSecurityGroupIngress':
    case 'ec2:RevokeSecurityGroupEgress':
      return [responderGroups(['quarantine'])];
    // Any interface (and the instance it is attached to, which EC2 also authorizes), but
    // only the responder's groups can be put on it. Not narrowed by attribute: the reference
    // lists ec2:Attribute for it, but no AWS document says which value a group change
    // carries, and a wrong guess would deny the quarantine itself.
    case 'ec2:ModifyNetworkInterfaceAttribute':
      return [
        { resources: [ec2Resources('network-interface'), ec2Resources('instance')] },
        responderGroups(GROUP_ROLES),
      ];
    // Only the members the quarantine sets. IfExists: AWS documents ec2:Attribute for
    // members that are a value or a Value object; the group list may carry no key at all,
    // and its groups are then held to the responder's by the security-group statement.
    case 'ec2:ModifyInstanceAttribute':
      return [
        {
          resources: [ec2Resources('instance')],
          conditions: { StringEqualsIfExists: { 'ec2:Attribute': [...INSTANCE_ATTRIBUTES_SET] } },
        },
        responderGroups(GROUP_ROLES),
      ];
    case 'ec2:CreateTags':
      return createTagsScopes(action);
    case 'ec2:CreateSnapshot':
      return [{ resources: [ec2Resources('volume'), SNAPSHOTS] }];
    default:
      throw new Error(`no IAM scoping rule for ${iamAction}: add one in infra/iam.ts`);
  }
}

/** Where an IAM action may act, for the registry action that declares it. */
function scopesOf(iamAction: string, action: ActionId, props: ScopeProps): Scope[] {
  if (UNSCOPED_READS.has(iamAction)) return [{ resources: ['*'] }];
  const [service] = iamAction.split(':');
  const inClusters =
    props.ecsClusterArns.length > 0
      ? { ArnEquals: { 'ecs:cluster': [...props.ecsClusterArns] } }
      : undefined;
  switch (service) {
    case 'ec2':
      return ec2Scopes(iamAction, action);
    case 'ecs':
      if (iamAction === 'ecs:DescribeServices' || iamAction === 'ecs:UpdateService') {
        return [{ resources: [arn('ecs', 'service/*')], conditions: inClusters }];
      }
      return [
        {
          resources: [arn('ecs', 'task/*'), arn('ecs', 'container-instance/*')],
          conditions: inClusters,
        },
      ];
    case 'eks':
      return [
        {
          resources:
            props.eksClusterNames.length > 0
              ? props.eksClusterNames.map((name) => arn('eks', `cluster/${name}`))
              : [arn('eks', 'cluster/*')],
        },
      ];
    case 'autoscaling':
      return [{ resources: [arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*')] }];
    case 'elasticloadbalancing':
      return [{ resources: [arn('elasticloadbalancing', 'targetgroup/*')] }];
    default:
      throw new Error(`no IAM scoping rule for ${iamAction}: add one in infra/iam.ts`);
  }
}

/** The surface's registry actions the role is granted: those the bundled policy can plan. */
export function actionsToGrant(surface: Surface, enabled: ReadonlySet<ActionId>): ActionSpec[] {
  return actionsOf(surface).filter((action) => enabled.has(action.id));
}

/** The IAM actions a containment function needs for these actions (their union). */
export function declaredIamActions(actions: readonly ActionSpec[]): string[] {
  return [...new Set(actions.flatMap((action) => action.iamActions))].sort();
}

/** Every (scope, IAM action) the actions need. */
const scopedIamActions = (actions: readonly ActionSpec[], props: ScopeProps) =>
  actions.flatMap((action) =>
    action.iamActions.flatMap((iamAction) =>
      scopesOf(iamAction, action.id, props).map((scope) => ({ scope, iamAction })),
    ),
  );

/** One statement per distinct scope, covering exactly `declaredIamActions(actions)`. */
export function containmentStatements(
  actions: readonly ActionSpec[],
  props: ScopeProps,
): PolicyStatement[] {
  const byScope = new Map<string, { scope: Scope; iamActions: Set<string> }>();
  for (const { scope, iamAction } of scopedIamActions(actions, props)) {
    const key = JSON.stringify(scope);
    const entry = byScope.get(key) ?? { scope, iamActions: new Set<string>() };
    entry.iamActions.add(iamAction);
    byScope.set(key, entry);
  }
  return [...byScope.values()].map(
    ({ scope, iamActions }) =>
      new PolicyStatement({
        actions: [...iamActions].sort(),
        resources: scope.resources.map(asToken),
        conditions: scope.conditions,
      }),
  );
}

/** The wildcard resources of the statements, as cdk-nag names them (IAM5 findings). */
export function wildcardResources(actions: readonly ActionSpec[], props: ScopeProps): string[] {
  const resources = scopedIamActions(actions, props).flatMap(({ scope }) => scope.resources);
  return [...new Set(resources.filter((resource) => resource.includes('*')).map(asNagName))];
}
