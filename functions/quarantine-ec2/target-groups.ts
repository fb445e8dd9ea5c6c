/**
 * Optional after the quarantine: take the instance out of every load balancer target group,
 * so it serves no more traffic. Loaded only when the policy asks for it (see contain.ts).
 */
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type ElasticLoadBalancingV2ClientConfig,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { failedOutcome, outcome } from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import type { InstanceFacts } from './describe.js';

/**
 * The client, made here rather than imported by the caller: a dynamic import of the SDK
 * package itself would bring every load balancer command into the bundle.
 */
export const loadBalancerClient = (config: ElasticLoadBalancingV2ClientConfig) =>
  new ElasticLoadBalancingV2Client(config);

/** At most this many target groups are examined (the API has no "groups of this instance" call). */
export const MAX_TARGET_GROUPS = 400;

async function targetGroupsOfVpcs(
  elb: ElasticLoadBalancingV2Client,
  vpcs: Set<string>,
): Promise<TargetGroup[]> {
  const groups: TargetGroup[] = [];
  let Marker: string | undefined;
  do {
    const page = await elb.send(new DescribeTargetGroupsCommand({ Marker, PageSize: 400 }));
    groups.push(
      ...(page.TargetGroups ?? []).filter(
        (g) => g.TargetType === 'instance' && vpcs.has(g.VpcId ?? ''),
      ),
    );
    Marker = page.NextMarker;
  } while (Marker && groups.length < MAX_TARGET_GROUPS);
  return groups.slice(0, MAX_TARGET_GROUPS);
}

/** Deregister the instance (every registered port) from every target group it is in. */
export async function deregisterFromTargetGroups(
  elb: ElasticLoadBalancingV2Client,
  facts: InstanceFacts,
): Promise<ActionOutcome> {
  const action = 'ec2:deregister-from-target-groups';
  try {
    const groups = await targetGroupsOfVpcs(elb, new Set(facts.interfaces.map((eni) => eni.vpcId)));
    const registrations = await Promise.all(
      groups.map(async (group) => {
        const health = await elb.send(
          new DescribeTargetHealthCommand({ TargetGroupArn: group.TargetGroupArn }),
        );
        const targets = (health.TargetHealthDescriptions ?? [])
          .map((d) => d.Target)
          .filter((t) => t?.Id === facts.instanceId)
          .map((t) => ({ Id: facts.instanceId, Port: t?.Port }));
        return { arn: group.TargetGroupArn ?? '', targets };
      }),
    );
    const registered = registrations.filter((r) => r.targets.length > 0);
    if (registered.length === 0)
      return outcome(
        action,
        'skipped',
        `the instance is in none of the ${groups.length} instance target groups of its VPC`,
      );
    await Promise.all(
      registered.map((r) =>
        elb.send(new DeregisterTargetsCommand({ TargetGroupArn: r.arn, Targets: r.targets })),
      ),
    );
    return outcome(
      action,
      'contained',
      `deregistered from ${registered.map((r) => r.arn).join(', ')}`,
      {
        targetGroups: registered.map((r) => ({ arn: r.arn, ports: r.targets.map((t) => t.Port) })),
      },
    );
  } catch (error) {
    return failedOutcome(
      action,
      'DeregisterTargets',
      error,
      'elasticloadbalancing:DeregisterTargets',
    );
  }
}
