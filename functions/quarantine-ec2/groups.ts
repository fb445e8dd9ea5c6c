/**
 * The two security groups the quarantine moves interfaces through, one pair per VPC, created
 * once with the responder's tags and found by name and tag. Their rules are converged on
 * every use, so a group created by a concurrent invocation (or edited by hand) is never used
 * half-configured. Only tagged groups are used: the function's role may change rules only on
 * groups carrying the `role` tag (infra/iam.ts).
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { GROUP_ROLES, RESPONDER, TAG } from './record.js';

export type GroupRole = (typeof GROUP_ROLES)[number];
export interface QuarantineGroups {
  untrack: string;
  quarantine: string;
}

const GROUP_NAME: Record<GroupRole, string> = {
  untrack: 'guardduty-responder-untrack',
  quarantine: 'guardduty-responder-quarantine',
};
const DESCRIPTION: Record<GroupRole, string> = {
  // Security group descriptions allow a limited character set: keep it plain ASCII.
  untrack:
    'GuardDuty responder: allow all so tracked connections become untracked before quarantine',
  quarantine: 'GuardDuty responder: quarantine, no inbound or outbound rules',
};

/** Allow everything, IPv4 and IPv6: AWS only untracks flows through such rules. */
const ALLOW_ALL: IpPermission = {
  IpProtocol: '-1',
  IpRanges: [{ CidrIp: '0.0.0.0/0' }],
  Ipv6Ranges: [{ CidrIpv6: '::/0' }],
};

const allowsAll = (rules: IpPermission[] | undefined): boolean =>
  (rules ?? []).some(
    (rule) => rule.IpProtocol === '-1' && rule.IpRanges?.some((r) => r.CidrIp === '0.0.0.0/0'),
  ) &&
  (rules ?? []).some(
    (rule) => rule.IpProtocol === '-1' && rule.Ipv6Ranges?.some((r) => r.CidrIpv6 === '::/0'),
  );

const roleOf = (group: SecurityGroup): GroupRole | undefined => {
  const role = group.Tags?.find((tag) => tag.Key === TAG.role)?.Value;
  return GROUP_ROLES.find((known) => known === role);
};

/**
 * The responder's groups found in `groups`, by role, for one VPC. A group counts only by
 * its `role` tag, which every version set at creation: a same-named group without it was
 * made by someone else, and the role could not change its rules anyway.
 */
export function responderGroupsIn(
  groups: readonly SecurityGroup[],
  vpcId: string,
): Partial<Record<GroupRole, SecurityGroup>> {
  const byRole: Partial<Record<GroupRole, SecurityGroup>> = {};
  for (const group of groups) {
    if (group.VpcId !== undefined && group.VpcId !== vpcId) continue;
    const role = roleOf(group);
    if (role && !byRole[role]) byRole[role] = group;
  }
  return byRole;
}

/** A group with the responder's name but not its tag blocks creating the real one. */
class UntaggedResponderGroupError extends Error {
  override readonly name = 'UntaggedResponderGroupError';
}

function untaggedGroupError(vpcId: string, role: GroupRole, groupId: string | undefined) {
  return new UntaggedResponderGroupError(
    `security group ${groupId ?? GROUP_NAME[role]} in ${vpcId} is named ${GROUP_NAME[role]} but lacks the tag ${TAG.role}=${role}, so the responder neither uses it nor may change its rules: check it, then tag it ${TAG.role}=${role} or delete it`,
  );
}

/**
 * The responder's groups in every VPC of the region, by name: cheap, and independent of
 * the instance, so it runs in the same round trip as the instance's description.
 */
export async function describeResponderGroups(
  ec2: EC2Client,
  vpcIds?: string[],
): Promise<SecurityGroup[]> {
  const found = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        ...(vpcIds ? [{ Name: 'vpc-id', Values: vpcIds }] : []),
        { Name: 'group-name', Values: Object.values(GROUP_NAME) },
      ],
    }),
  );
  return found.SecurityGroups ?? [];
}

async function lookUp(
  ec2: EC2Client,
  vpcId: string,
): Promise<Partial<Record<GroupRole, SecurityGroup>>> {
  return responderGroupsIn(await describeResponderGroups(ec2, [vpcId]), vpcId);
}

const ignoring = (names: string[]) => (error: unknown) => {
  if (!names.includes((error as { name?: string }).name ?? '')) throw error;
};

/**
 * Bring a group's rules to what its role needs; no call when they already are. The untrack
 * group is only ever authorized and the quarantine group only ever revoked: the role's
 * grant is split the same way, so it can never open the quarantine group.
 */
async function converge(ec2: EC2Client, role: GroupRole, group: SecurityGroup): Promise<void> {
  const GroupId = group.GroupId;
  if (role === 'untrack') {
    await Promise.all([
      allowsAll(group.IpPermissions)
        ? undefined
        : ec2
            .send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: [ALLOW_ALL] }))
            .catch(ignoring(['InvalidPermission.Duplicate'])),
      allowsAll(group.IpPermissionsEgress)
        ? undefined
        : ec2
            .send(new AuthorizeSecurityGroupEgressCommand({ GroupId, IpPermissions: [ALLOW_ALL] }))
            .catch(ignoring(['InvalidPermission.Duplicate'])),
    ]);
    return;
  }
  const inbound = group.IpPermissions ?? [];
  const outbound = group.IpPermissionsEgress ?? [];
  await Promise.all([
    inbound.length === 0
      ? undefined
      : ec2
          .send(new RevokeSecurityGroupIngressCommand({ GroupId, IpPermissions: inbound }))
          .catch(ignoring(['InvalidPermission.NotFound'])),
    outbound.length === 0
      ? undefined
      : ec2
          .send(new RevokeSecurityGroupEgressCommand({ GroupId, IpPermissions: outbound }))
          .catch(ignoring(['InvalidPermission.NotFound'])),
  ]);
}

async function create(ec2: EC2Client, vpcId: string, role: GroupRole): Promise<SecurityGroup> {
  try {
    const created = await ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: vpcId,
        GroupName: GROUP_NAME[role],
        Description: DESCRIPTION[role],
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: [
              { Key: TAG.role, Value: role },
              { Key: TAG.quarantinedBy, Value: RESPONDER },
            ],
          },
        ],
      }),
    );
    // A new group has no inbound rule and AWS's default allow-all IPv4 outbound rule.
    return {
      GroupId: created.GroupId,
      IpPermissions: [],
      IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    };
  } catch (error) {
    // Another invocation created it first: use theirs (converge makes it right).
    if ((error as { name?: string }).name !== 'InvalidGroup.Duplicate') throw error;
    const sameName = await describeResponderGroups(ec2, [vpcId]);
    const group = responderGroupsIn(sameName, vpcId)[role];
    if (group) return group;
    const untagged = sameName.find((g) => g.GroupName === GROUP_NAME[role]);
    throw untagged ? untaggedGroupError(vpcId, role, untagged.GroupId) : error;
  }
}

/** Find or create both groups of a VPC, with their rules converged. */
export async function ensureQuarantineGroups(
  ec2: EC2Client,
  vpcId: string,
  known?: Partial<Record<GroupRole, SecurityGroup>>,
): Promise<QuarantineGroups> {
  const found = known ?? (await lookUp(ec2, vpcId));
  const [untrack, quarantine] = await Promise.all(
    (['untrack', 'quarantine'] as const).map(async (role) => {
      const group = found[role] ?? (await create(ec2, vpcId, role));
      await converge(ec2, role, group);
      return group.GroupId ?? '';
    }),
  );
  return { untrack: untrack!, quarantine: quarantine! };
}
