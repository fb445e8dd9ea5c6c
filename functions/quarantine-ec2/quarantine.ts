/**
 * `ec2:quarantine-instance`. Changing security groups does not end connections they already
 * track, so every interface first goes to a group that allows everything (which makes its
 * flows untracked) and then to the no-rule quarantine group, which drops them.
 */
import {
  CreateTagsCommand,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { describeError, failedBecause, outcome } from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import type { InstanceFacts, InterfaceFacts } from './describe.js';
import { ensureQuarantineGroups, responderGroupsIn, type QuarantineGroups } from './groups.js';
import {
  decodeOriginalGroups,
  encodeOriginalGroups,
  RESPONDER,
  TAG,
  tagValue,
  type Tag,
} from './record.js';

const ACTION = 'ec2:quarantine-instance';

export interface QuarantineInput {
  ec2: EC2Client;
  facts: InstanceFacts;
  findingId: string;
  now: Date;
}

/** One API step's result: `ok`, or the error and whether a retry may help. */
type StepResult = 'ok' | `${'retryable' | 'final'}: ${string}`;

/** What happened to one interface, for the outcome's evidence. */
interface InterfaceReport {
  id: string;
  originalGroups: string[];
  untrack: StepResult;
  quarantine: StepResult;
}

const vpcsOf = (interfaces: InterfaceFacts[]) => [...new Set(interfaces.map((eni) => eni.vpcId))];

/** Already contained: marked by us, and every interface is in its VPC's quarantine group only. */
export function isQuarantined(
  facts: InstanceFacts,
  groups: Record<string, Partial<QuarantineGroups>>,
): boolean {
  if (tagValue(facts.tags, TAG.quarantinedBy) !== RESPONDER) return false;
  const changeable = facts.interfaces.filter((eni) => !eni.requesterManaged);
  return (
    changeable.length > 0 &&
    changeable.every(
      (eni) => eni.groupIds.length === 1 && eni.groupIds[0] === groups[eni.vpcId]?.quarantine,
    )
  );
}

/** The responder's groups per VPC of the instance, from what `describeInstance` read. */
export function knownGroups(facts: InstanceFacts): Record<string, Partial<QuarantineGroups>> {
  return Object.fromEntries(
    vpcsOf(facts.interfaces).map((vpc) => {
      const found = responderGroupsIn(facts.responderGroups ?? [], vpc);
      return [vpc, { untrack: found.untrack?.GroupId, quarantine: found.quarantine?.GroupId }];
    }),
  );
}

/**
 * Set an interface's groups. For the primary interface AWS offers two calls with the same
 * effect (ModifyNetworkInterfaceAttribute, and ModifyInstanceAttribute Groups); emulators
 * model them as separate state, so both are sent, in parallel. Both are idempotent.
 */
export async function setGroups(
  ec2: EC2Client,
  instanceId: string,
  eni: InterfaceFacts,
  groupIds: string[],
): Promise<void> {
  const onInterface = ec2.send(
    new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.id, Groups: groupIds }),
  );
  if (eni.deviceIndex !== 0) {
    await onInterface;
    return;
  }
  await Promise.all([
    onInterface,
    ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, Groups: groupIds })),
  ]);
}

async function settle(call: () => Promise<unknown>, permission: string): Promise<StepResult> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    const facts = describeError(error, permission);
    return `${facts.retryable ? 'retryable' : 'final'}: ${facts.summary}`;
  }
}

const permissionFor = (eni: InterfaceFacts) =>
  eni.deviceIndex === 0
    ? 'ec2:ModifyNetworkInterfaceAttribute or ec2:ModifyInstanceAttribute'
    : 'ec2:ModifyNetworkInterfaceAttribute';

/** Record originals where no record exists yet (a re-run must not overwrite the true originals). */
function recordCalls(
  input: QuarantineInput,
  interfaces: InterfaceFacts[],
  groupsByVpc: Record<string, QuarantineGroups>,
): (() => Promise<unknown>)[] {
  const { ec2, facts, findingId, now } = input;
  // Never record one of our own groups as an "original": after an earlier run that moved
  // an interface but could not tag it, release must not restore the quarantine.
  const ours = new Set(Object.values(groupsByVpc).flatMap((g) => [g.untrack, g.quarantine]));
  const interfaceRecords = interfaces
    .filter((eni) => decodeOriginalGroups(eni.tags) === undefined)
    .map((eni) => ({ eni, originals: eni.groupIds.filter((id) => !ours.has(id)) }))
    .filter(({ originals }) => originals.length > 0)
    .map(
      ({ eni, originals }) =>
        () =>
          ec2.send(
            new CreateTagsCommand({ Resources: [eni.id], Tags: encodeOriginalGroups(originals) }),
          ),
    );
  const instanceTags: Tag[] = [
    { Key: TAG.quarantinedBy, Value: RESPONDER },
    { Key: TAG.findingId, Value: findingId },
    { Key: TAG.containedAt, Value: now.toISOString() },
  ];
  if (
    tagValue(facts.tags, TAG.originalTerminationProtection) === undefined &&
    facts.terminationProtection !== undefined
  ) {
    instanceTags.push({
      Key: TAG.originalTerminationProtection,
      Value: String(facts.terminationProtection),
    });
  }
  if (
    tagValue(facts.tags, TAG.originalShutdownBehavior) === undefined &&
    facts.shutdownBehavior !== undefined
  ) {
    instanceTags.push({ Key: TAG.originalShutdownBehavior, Value: facts.shutdownBehavior });
  }
  const instanceRecord = () =>
    ec2.send(new CreateTagsCommand({ Resources: [facts.instanceId], Tags: instanceTags }));
  return [...interfaceRecords, instanceRecord];
}

/**
 * Set the two instance settings the quarantine changes and release restores. EC2 takes one
 * attribute per ModifyInstanceAttribute call, so each is its own call (sent in parallel).
 */
export function setInstanceSettings(
  ec2: EC2Client,
  instanceId: string,
  settings: { terminationProtection?: boolean; shutdownBehavior?: 'stop' | 'terminate' },
): { setting: 'terminationProtection' | 'shutdownBehavior'; call: () => Promise<unknown> }[] {
  const calls: ReturnType<typeof setInstanceSettings> = [];
  if (settings.terminationProtection !== undefined) {
    const Value = settings.terminationProtection;
    calls.push({
      setting: 'terminationProtection',
      call: () =>
        ec2.send(
          new ModifyInstanceAttributeCommand({
            InstanceId: instanceId,
            DisableApiTermination: { Value },
          }),
        ),
    });
  }
  if (settings.shutdownBehavior !== undefined) {
    const Value = settings.shutdownBehavior;
    calls.push({
      setting: 'shutdownBehavior',
      call: () =>
        ec2.send(
          new ModifyInstanceAttributeCommand({
            InstanceId: instanceId,
            InstanceInitiatedShutdownBehavior: { Value },
          }),
        ),
    });
  }
  return calls;
}

/** A one-line plan for a dry run. */
export function describePlan(
  facts: InstanceFacts,
  groups: Record<string, Partial<QuarantineGroups>>,
): string {
  const interfaces = facts.interfaces
    .map(
      (eni) =>
        `${eni.id} (${eni.groupIds.join(', ') || 'no groups'}${eni.requesterManaged ? ', requester-managed: cannot change' : ''})`,
    )
    .join('; ');
  const target = vpcsOf(facts.interfaces)
    .map((vpc) => `${vpc}: ${groups[vpc]?.quarantine ?? 'quarantine group to be created'}`)
    .join(', ');
  return `would record original groups, move ${interfaces} through an allow-all group to the quarantine group (${target}), enable termination protection (now ${String(facts.terminationProtection ?? 'unknown')}) and set shutdown behaviour to stop (now ${facts.shutdownBehavior ?? 'unknown'})`;
}

/** Run the quarantine. Every step's result is reported; nothing failed is called contained. */
export async function quarantine(input: QuarantineInput): Promise<ActionOutcome> {
  const { ec2, facts } = input;
  const changeable = facts.interfaces.filter((eni) => !eni.requesterManaged);
  const managed = facts.interfaces.filter((eni) => eni.requesterManaged);
  if (changeable.length === 0) {
    return failedBecause(
      ACTION,
      `instance ${facts.instanceId} has no network interface whose groups can be changed`,
      false,
    );
  }

  let groupsByVpc: Record<string, QuarantineGroups>;
  try {
    const vpcs = vpcsOf(changeable);
    const ensured = await Promise.all(
      vpcs.map((vpc) =>
        ensureQuarantineGroups(
          ec2,
          vpc,
          facts.responderGroups ? responderGroupsIn(facts.responderGroups, vpc) : undefined,
        ),
      ),
    );
    groupsByVpc = Object.fromEntries(vpcs.map((vpc, i) => [vpc, ensured[i]!]));
  } catch (error) {
    const problem = describeError(error, 'ec2:CreateSecurityGroup');
    return {
      action: ACTION,
      status: 'failed',
      detail: `preparing quarantine groups: ${problem.summary}`,
      retryable: problem.retryable,
    };
  }

  // The record, the untrack step and termination protection go out together: the
  // originals were read before anything changed, so the record holds them whatever the
  // order. A recording failure does not stop containment (the originals also travel in
  // this outcome's evidence, so the alert and the audit log still carry them).
  const [recorded, untrackResults, protection] = await Promise.all([
    Promise.all(
      recordCalls(input, changeable, groupsByVpc).map((call) => settle(call, 'ec2:CreateTags')),
    ),
    Promise.all(
      changeable.map((eni) =>
        settle(
          () => setGroups(ec2, facts.instanceId, eni, [groupsByVpc[eni.vpcId]!.untrack]),
          permissionFor(eni),
        ),
      ),
    ),
    Promise.all(
      setInstanceSettings(ec2, facts.instanceId, {
        terminationProtection: true,
        shutdownBehavior: 'stop',
      }).map(({ call }) => settle(call, 'ec2:ModifyInstanceAttribute')),
    ),
  ]);
  // Quarantine every interface, even one whose untrack step failed: new connections are
  // blocked either way, and the report says that its live flows may survive.
  const quarantineResults = await Promise.all(
    changeable.map((eni) =>
      settle(
        () => setGroups(ec2, facts.instanceId, eni, [groupsByVpc[eni.vpcId]!.quarantine]),
        permissionFor(eni),
      ),
    ),
  );
  const reports: InterfaceReport[] = changeable.map((eni, i) => ({
    id: eni.id,
    originalGroups: eni.groupIds,
    untrack: untrackResults[i]!,
    quarantine: quarantineResults[i]!,
  }));

  const problems = [
    ...reports.flatMap((r) => [
      ...(r.quarantine === 'ok' ? [] : [`${r.id} not quarantined (${r.quarantine})`]),
      ...(r.untrack === 'ok'
        ? []
        : [`${r.id} untrack step failed, live connections may survive (${r.untrack})`]),
    ]),
    ...managed.map(
      (eni) =>
        `${eni.id} is managed by another service (requester-managed): its groups cannot be changed`,
    ),
    ...(protection[0] === 'ok' ? [] : [`termination protection not enabled (${protection[0]})`]),
    ...(protection[1] === 'ok' ? [] : [`shutdown behaviour not set to stop (${protection[1]})`]),
  ];
  const unrecorded = recorded.filter((result) => result !== 'ok');
  const evidence = {
    groups: groupsByVpc,
    interfaces: reports,
    requesterManaged: managed.map((eni) => eni.id),
    original: {
      terminationProtection: facts.terminationProtection,
      shutdownBehavior: facts.shutdownBehavior,
    },
    recordedInTags: unrecorded.length === 0,
  };
  const recordNote =
    unrecorded.length === 0
      ? ''
      : `; original groups NOT recorded in tags (${unrecorded[0]}): they are only in this alert`;
  const moved = reports.filter((r) => r.quarantine === 'ok').map((r) => r.id);

  if (problems.length > 0) {
    const retryable = [...reports.flatMap((r) => [r.untrack, r.quarantine]), ...protection].some(
      (r) => r.startsWith('retryable'),
    );
    return {
      action: ACTION,
      status: 'failed',
      detail: `quarantined ${moved.length} of ${facts.interfaces.length} interfaces (${moved.join(', ') || 'none'}); ${problems.join('; ')}${recordNote}`,
      retryable,
      evidence,
    };
  }
  const groupList = Object.values(groupsByVpc)
    .map((g) => `${g.untrack} -> ${g.quarantine}`)
    .join(', ');
  return outcome(
    ACTION,
    'contained',
    `moved ${moved.join(', ')} through ${groupList}; termination protection on; shutdown behaviour stop${recordNote}`,
    evidence,
  );
}
