/**
 * Optional after the quarantine: keep the instance from being replaced or terminated by its
 * Auto Scaling group. Loaded only when the policy asks for it (see contain.ts).
 */
import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  DetachInstancesCommand,
  SetInstanceProtectionCommand,
  type AutoScalingClientConfig,
} from '@aws-sdk/client-auto-scaling';
import { failedOutcome, outcome } from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';

/**
 * The client, made here rather than imported by the caller: a dynamic import of the SDK
 * package itself would bring every Auto Scaling command into the bundle.
 */
export const autoScalingClient = (config: AutoScalingClientConfig) => new AutoScalingClient(config);

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
