/**
 * Actions the policy may add after the quarantine: keep evidence (EBS snapshots) and keep
 * the instance from being replaced or served traffic (Auto Scaling, load balancers).
 */
import {
  DescribeAutoScalingInstancesCommand,
  DetachInstancesCommand,
  SetInstanceProtectionCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateSnapshotCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { failedOutcome, outcome } from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import type { InstanceFacts } from './describe.js';
import { TAG } from './record.js';

/** Snapshot every attached volume once per finding (existing snapshots are found by tag). */
export async function snapshotVolumes(
  ec2: EC2Client,
  facts: InstanceFacts,
  findingId: string,
): Promise<ActionOutcome> {
  const action = 'ec2:snapshot-volumes';
  if (facts.volumes.length === 0)
    return outcome(action, 'skipped', 'the instance has no attached EBS volume');
  try {
    const existing = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [
          { Name: `tag:${TAG.findingId}`, Values: [findingId] },
          { Name: 'volume-id', Values: facts.volumes.map((v) => v.volumeId) },
        ],
      }),
    );
    const done = new Map((existing.Snapshots ?? []).map((s) => [s.VolumeId, s.SnapshotId]));
    const missing = facts.volumes.filter((v) => !done.has(v.volumeId));
    const created = await Promise.all(
      missing.map((volume) =>
        ec2.send(
          new CreateSnapshotCommand({
            VolumeId: volume.volumeId,
            Description: `GuardDuty finding ${findingId}: evidence from ${facts.instanceId} ${volume.device}`,
            TagSpecifications: [
              {
                ResourceType: 'snapshot',
                Tags: [
                  { Key: TAG.findingId, Value: findingId },
                  { Key: TAG.instanceId, Value: facts.instanceId },
                ],
              },
            ],
          }),
        ),
      ),
    );
    created.forEach((snapshot, i) => done.set(missing[i]!.volumeId, snapshot.SnapshotId));
    const list = facts.volumes.map(
      (v) => `${v.volumeId} (${v.device}) -> ${done.get(v.volumeId) ?? '?'}`,
    );
    return outcome(
      action,
      missing.length === 0 ? 'already-contained' : 'contained',
      `snapshots: ${list.join(', ')}`,
      {
        snapshots: Object.fromEntries(done),
      },
    );
  } catch (error) {
    return failedOutcome(action, 'CreateSnapshot', error, 'ec2:CreateSnapshot');
  }
}

async function autoScalingGroupOf(autoScaling: AutoScalingClient, instanceId: string) {
  const found = await autoScaling.send(
    new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
  );
  return found.AutoScalingInstances?.[0];
}

/** Detach from the Auto Scaling group without lowering desired capacity (a clean replacement starts). */
export async function detachFromAutoScaling(
  autoScaling: AutoScalingClient,
  instanceId: string,
): Promise<ActionOutcome> {
  const action = 'ec2:detach-from-autoscaling';
  try {
    const membership = await autoScalingGroupOf(autoScaling, instanceId);
    if (!membership?.AutoScalingGroupName)
      return outcome(action, 'skipped', 'the instance is not in an Auto Scaling group');
    await autoScaling.send(
      new DetachInstancesCommand({
        AutoScalingGroupName: membership.AutoScalingGroupName,
        InstanceIds: [instanceId],
        ShouldDecrementDesiredCapacity: false,
      }),
    );
    return outcome(
      action,
      'contained',
      `detached from ${membership.AutoScalingGroupName}; desired capacity kept, so a replacement starts`,
      {
        autoScalingGroup: membership.AutoScalingGroupName,
      },
    );
  } catch (error) {
    return failedOutcome(action, 'DetachInstances', error, 'autoscaling:DetachInstances');
  }
}

/** Protect from scale-in, so the group does not terminate (and destroy) the evidence. */
export async function protectFromScaleIn(
  autoScaling: AutoScalingClient,
  instanceId: string,
): Promise<ActionOutcome> {
  const action = 'ec2:protect-from-scale-in';
  try {
    const membership = await autoScalingGroupOf(autoScaling, instanceId);
    if (!membership?.AutoScalingGroupName)
      return outcome(action, 'skipped', 'the instance is not in an Auto Scaling group');
    if (membership.ProtectedFromScaleIn)
      return outcome(
        action,
        'already-contained',
        `already protected from scale-in in ${membership.AutoScalingGroupName}`,
      );
    await autoScaling.send(
      new SetInstanceProtectionCommand({
        AutoScalingGroupName: membership.AutoScalingGroupName,
        InstanceIds: [instanceId],
        ProtectedFromScaleIn: true,
      }),
    );
    return outcome(
      action,
      'contained',
      `protected from scale-in in ${membership.AutoScalingGroupName}`,
    );
  } catch (error) {
    return failedOutcome(
      action,
      'SetInstanceProtection',
      error,
      'autoscaling:SetInstanceProtection',
    );
  }
}

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
