/**
 * IAM statements for a containment function, derived from the action registry: a role
 * grants exactly the IAM actions its surface's actions declare, each scoped as narrowly
 * as the service allows. An action without a scoping rule fails synth, so a new action
 * cannot ship with an accidental wildcard.
 */
import { Aws } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { actionsOf } from '../shared/actions.js';
import type { Surface } from '../shared/contracts.js';

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

interface Scope {
  resources: string[];
  conditions?: Record<string, Record<string, unknown>>;
}

/** Where an IAM action may act. */
function scopeOf(action: string, props: ScopeProps): Scope {
  if (UNSCOPED_READS.has(action)) return { resources: ['*'] };
  const [service] = action.split(':');
  const inClusters =
    props.ecsClusterArns.length > 0
      ? { ArnEquals: { 'ecs:cluster': [...props.ecsClusterArns] } }
      : undefined;
  switch (service) {
    case 'ec2':
      // Instance, interface and group ids are only known when a finding arrives: this
      // account and region, plus the account-less snapshot ARNs CreateSnapshot needs.
      return { resources: [arn('ec2', '*'), arn('ec2', 'snapshot/*', '')] };
    case 'ecs':
      if (action === 'ecs:DescribeServices' || action === 'ecs:UpdateService') {
        return { resources: [arn('ecs', 'service/*')], conditions: inClusters };
      }
      return {
        resources: [arn('ecs', 'task/*'), arn('ecs', 'container-instance/*')],
        conditions: inClusters,
      };
    case 'eks':
      return {
        resources:
          props.eksClusterNames.length > 0
            ? props.eksClusterNames.map((name) => arn('eks', `cluster/${name}`))
            : [arn('eks', 'cluster/*')],
      };
    case 'autoscaling':
      return { resources: [arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*')] };
    case 'elasticloadbalancing':
      return { resources: [arn('elasticloadbalancing', 'targetgroup/*')] };
    default:
      throw new Error(`no IAM scoping rule for ${action}: add one in infra/iam.ts`);
  }
}

/** The IAM actions a surface's containment function needs (union over its actions). */
export function declaredIamActions(surface: Surface): string[] {
  return [...new Set(actionsOf(surface).flatMap((action) => action.iamActions))].sort();
}

/** One statement per distinct scope, covering exactly `declaredIamActions(surface)`. */
export function containmentStatements(surface: Surface, props: ScopeProps): PolicyStatement[] {
  const byScope = new Map<string, { scope: Scope; actions: string[] }>();
  for (const action of declaredIamActions(surface)) {
    const scope = scopeOf(action, props);
    const key = JSON.stringify(scope);
    const entry = byScope.get(key) ?? { scope, actions: [] };
    entry.actions.push(action);
    byScope.set(key, entry);
  }
  return [...byScope.values()].map(
    ({ scope, actions }) =>
      new PolicyStatement({
        actions,
        resources: scope.resources.map(asToken),
        conditions: scope.conditions,
      }),
  );
}

/** The wildcard resources of a surface's statements, as cdk-nag names them (IAM5 findings). */
export function wildcardResources(surface: Surface, props: ScopeProps): string[] {
  const resources = declaredIamActions(surface).flatMap(
    (action) => scopeOf(action, props).resources,
  );
  return [...new Set(resources.filter((resource) => resource.includes('*')).map(asNagName))];
}
