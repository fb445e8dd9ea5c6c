/**
 * What the responder writes on EC2 resources so `release` can undo a quarantine exactly:
 * the original security groups of each network interface (on that interface), and the
 * instance's original termination protection and shutdown behaviour (on the instance).
 */
import { SECURITY_GROUP_ID } from '../../shared/identifiers.js';

export const TAG_PREFIX = 'guardduty-responder:';
export const TAG = {
  quarantinedBy: `${TAG_PREFIX}quarantined-by`,
  findingId: `${TAG_PREFIX}finding-id`,
  /** On evidence snapshots: the instance they were taken from. */
  instanceId: `${TAG_PREFIX}instance-id`,
  containedAt: `${TAG_PREFIX}contained-at`,
  originalTerminationProtection: `${TAG_PREFIX}original-termination-protection`,
  originalShutdownBehavior: `${TAG_PREFIX}original-shutdown-behavior`,
  /** Kept after release: the last quarantine and when it was released. */
  audit: `${TAG_PREFIX}last-quarantine`,
  /** On security groups the responder created: `untrack` or `quarantine`. */
  role: `${TAG_PREFIX}role`,
} as const;

/** Value of `quarantined-by`. */
export const RESPONDER = 'guardduty-runtime-responder';

/** Values of `role`: the two security groups the quarantine moves interfaces through. */
export const GROUP_ROLES = ['untrack', 'quarantine'] as const;

/** Tag key of the n-th chunk of an interface's original groups (EC2 tag values hold 256 characters). */
export const originalGroupsKey = (chunk: number): string =>
  chunk === 0 ? `${TAG_PREFIX}original-groups` : `${TAG_PREFIX}original-groups-${chunk + 1}`;

/**
 * The tag keys the quarantine writes, by kind of resource, as IAM string patterns: the
 * function's role may write these keys and no other (infra/iam.ts). Security groups and
 * snapshots are tagged only as they are created. `role` is written on nothing else, since
 * the role's right to change a group's rules depends on it.
 */
export const TAG_KEYS_WRITTEN = {
  instance: [
    TAG.quarantinedBy,
    TAG.findingId,
    TAG.containedAt,
    TAG.originalTerminationProtection,
    TAG.originalShutdownBehavior,
  ],
  networkInterface: [originalGroupsKey(0), `${originalGroupsKey(0)}-*`],
  securityGroup: [TAG.role, TAG.quarantinedBy],
  snapshot: [TAG.findingId, TAG.instanceId],
} as const;

/**
 * The ModifyInstanceAttribute request members the quarantine sets (and release restores).
 * EC2 names the member a request sets in the `ec2:Attribute` condition key, which the role's
 * grant is limited to (infra/iam.ts): never user data, instance type, kernel and the like.
 */
export const INSTANCE_ATTRIBUTES_SET = [
  'Groups',
  'DisableApiTermination',
  'InstanceInitiatedShutdownBehavior',
] as const;

const TAG_VALUE_MAX = 256;

export interface Tag {
  Key: string;
  Value: string;
}

/** Split group ids into tags whose values stay within EC2's limit. */
export function encodeOriginalGroups(groupIds: readonly string[]): Tag[] {
  const chunks: string[][] = [[]];
  for (const id of groupIds) {
    const current = chunks[chunks.length - 1]!;
    if ([...current, id].join(',').length > TAG_VALUE_MAX) chunks.push([id]);
    else current.push(id);
  }
  return chunks.map((chunk, index) => ({ Key: originalGroupsKey(index), Value: chunk.join(',') }));
}

/** Read the original groups back; undefined when the interface carries no record. */
export function decodeOriginalGroups(
  tags: readonly { Key?: string; Value?: string }[],
): string[] | undefined {
  const byKey = new Map(tags.map((tag) => [tag.Key, tag.Value ?? '']));
  if (!byKey.has(originalGroupsKey(0))) return undefined;
  const ids: string[] = [];
  for (let chunk = 0; byKey.has(originalGroupsKey(chunk)); chunk += 1) {
    ids.push(...(byKey.get(originalGroupsKey(chunk)) ?? '').split(',').filter(Boolean));
  }
  // A tampered record must not make release attach arbitrary text as a group id.
  return ids.every((id) => SECURITY_GROUP_ID.test(id)) ? ids : undefined;
}

/** Every record key an interface may carry (for removal on release). */
export function originalGroupsKeys(tags: readonly { Key?: string }[]): string[] {
  return tags
    .map((tag) => tag.Key ?? '')
    .filter((key) => key.startsWith(`${TAG_PREFIX}original-groups`));
}

/** Tag value lookup. */
export function tagValue(
  tags: readonly { Key?: string; Value?: string }[] | undefined,
  key: string,
): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}
