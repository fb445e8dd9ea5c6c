/** Reading the instance, its network interfaces and its recorded state in one round trip. */
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  type EC2Client,
  type Instance,
  type NetworkInterface,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { describeResponderGroups } from './groups.js';
import type { Tag } from './record.js';

export interface InterfaceFacts {
  id: string;
  deviceIndex: number;
  vpcId: string;
  groupIds: string[];
  /** Managed by another AWS service: its groups cannot be changed by us. */
  requesterManaged: boolean;
  tags: Tag[];
}

export interface InstanceFacts {
  instanceId: string;
  ownerId: string | undefined;
  state: string;
  tags: Tag[];
  interfaces: InterfaceFacts[];
  volumes: { volumeId: string; device: string }[];
  terminationProtection: boolean | undefined;
  shutdownBehavior: string | undefined;
  /** The responder's untrack/quarantine groups in the region (undefined when the read failed). */
  responderGroups: SecurityGroup[] | undefined;
}

const tagsOf = (list: { Key?: string; Value?: string }[] | undefined): Tag[] =>
  (list ?? []).map((tag) => ({ Key: tag.Key ?? '', Value: tag.Value ?? '' }));

function interfaceFacts(eni: NetworkInterface): InterfaceFacts {
  return {
    id: eni.NetworkInterfaceId ?? '',
    deviceIndex: eni.Attachment?.DeviceIndex ?? -1,
    vpcId: eni.VpcId ?? '',
    groupIds: (eni.Groups ?? []).map((group) => group.GroupId ?? '').filter(Boolean),
    requesterManaged: eni.RequesterManaged === true,
    tags: tagsOf(eni.TagSet),
  };
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return name === 'InvalidInstanceID.NotFound' || name === 'InvalidInstanceID.Malformed';
}

/** Attribute reads are only needed to record the original values; a failure leaves them unknown. */
async function attribute<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

/**
 * Describe the instance, its attached interfaces (with their tags) and its termination
 * settings, all at once. Returns null when the instance does not exist.
 */
export async function describeInstance(
  ec2: EC2Client,
  instanceId: string,
): Promise<InstanceFacts | null> {
  const [reservations, interfaces, protection, shutdown, responderGroups] = await Promise.all([
    ec2
      .send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))
      .catch((error: unknown) => {
        if (isNotFound(error)) return null;
        throw error;
      }),
    ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
      }),
    ),
    attribute(() =>
      ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: instanceId,
          Attribute: 'disableApiTermination',
        }),
      ),
    ),
    attribute(() =>
      ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: instanceId,
          Attribute: 'instanceInitiatedShutdownBehavior',
        }),
      ),
    ),
    attribute(() => describeResponderGroups(ec2)),
  ]);
  const reservation = reservations?.Reservations?.[0];
  const instance: Instance | undefined = reservation?.Instances?.find(
    (i) => i.InstanceId === instanceId,
  );
  if (!reservation || !instance) return null;
  return {
    instanceId,
    ownerId: reservation.OwnerId,
    state: instance.State?.Name ?? 'unknown',
    tags: tagsOf(instance.Tags),
    interfaces: (interfaces.NetworkInterfaces ?? [])
      .map(interfaceFacts)
      .sort((a, b) => a.deviceIndex - b.deviceIndex),
    volumes: (instance.BlockDeviceMappings ?? []).flatMap((mapping) =>
      mapping.Ebs?.VolumeId
        ? [{ volumeId: mapping.Ebs.VolumeId, device: mapping.DeviceName ?? '?' }]
        : [],
    ),
    terminationProtection: protection?.DisableApiTermination?.Value,
    shutdownBehavior: shutdown?.InstanceInitiatedShutdownBehavior?.Value,
    responderGroups,
  };
}
