/**
 * Evidence the policy may add after the quarantine: EBS snapshots of the attached volumes.
 */
import {
  CreateSnapshotCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
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
