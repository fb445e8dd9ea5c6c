/**
 * Undo a quarantine from what was recorded: each interface's original groups, the original
 * termination protection and shutdown behaviour. Quarantine tags are removed; one audit tag
 * stays. Without a record nothing is changed.
 */
import { CreateTagsCommand, DeleteTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { describeError } from '../../shared/containment.js';
import { describeInstance } from './describe.js';
import { setGroups, setInstanceSettings } from './quarantine.js';
import { decodeOriginalGroups, originalGroupsKeys, TAG, tagValue } from './record.js';

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
}

export interface ReleaseReport {
  instanceId: string;
  restored: { interfaceId: string; groups: string[] }[];
  problems: string[];
  terminationProtection?: boolean;
  shutdownBehavior?: string;
}

async function attempt(
  label: string,
  call: () => Promise<unknown>,
  problems: string[],
): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    problems.push(`${label}: ${describeError(error).summary}`);
    return false;
  }
}

/** Release a quarantined instance. Throws ReleaseError when there is nothing to release. */
export async function releaseInstance(
  ec2: EC2Client,
  instanceId: string,
  now: Date = new Date(),
): Promise<ReleaseReport> {
  const facts = await describeInstance(ec2, instanceId);
  if (facts === null) throw new ReleaseError(`instance ${instanceId} was not found`);
  const records = facts.interfaces.map((eni) => ({ eni, groups: decodeOriginalGroups(eni.tags) }));
  if (records.every((record) => record.groups === undefined)) {
    throw new ReleaseError(
      `instance ${instanceId} has no quarantine record (no ${TAG.quarantinedBy.split(':')[0]} original-groups tag on any interface): nothing to restore`,
    );
  }
  const problems: string[] = [];
  const restored: ReleaseReport['restored'] = [];
  await Promise.all(
    records.map(async ({ eni, groups }) => {
      if (groups === undefined) {
        problems.push(`${eni.id} has no record of its original groups: left as it is`);
        return;
      }
      if (
        await attempt(
          `restoring ${eni.id}`,
          () => setGroups(ec2, instanceId, eni, groups),
          problems,
        )
      ) {
        restored.push({ interfaceId: eni.id, groups });
      }
    }),
  );
  const report: ReleaseReport = {
    instanceId,
    restored: restored.sort((a, b) => a.interfaceId.localeCompare(b.interfaceId)),
    problems,
  };

  const protection = tagValue(facts.tags, TAG.originalTerminationProtection);
  const shutdown = tagValue(facts.tags, TAG.originalShutdownBehavior);
  const original = {
    terminationProtection:
      protection === 'true' ? true : protection === 'false' ? false : undefined,
    shutdownBehavior: shutdown === 'stop' || shutdown === 'terminate' ? shutdown : undefined,
  } as const;
  const LABEL = {
    terminationProtection: 'termination protection',
    shutdownBehavior: 'shutdown behaviour',
  } as const;
  await Promise.all(
    setInstanceSettings(ec2, instanceId, original).map(async ({ setting, call }) => {
      if (await attempt(LABEL[setting], call, problems)) {
        if (setting === 'terminationProtection')
          report.terminationProtection = original.terminationProtection;
        else report.shutdownBehavior = original.shutdownBehavior;
      }
    }),
  );

  // Tags go only after the groups are back, so a failed release can be run again.
  if (report.problems.length === 0) {
    const audit = `${tagValue(facts.tags, TAG.findingId) ?? '?'} contained ${tagValue(facts.tags, TAG.containedAt) ?? '?'} released ${now.toISOString()}`;
    const instanceKeys = [
      TAG.quarantinedBy,
      TAG.findingId,
      TAG.containedAt,
      TAG.originalTerminationProtection,
      TAG.originalShutdownBehavior,
    ];
    await Promise.all([
      attempt(
        'removing instance tags',
        () =>
          ec2.send(
            new DeleteTagsCommand({
              Resources: [instanceId],
              Tags: instanceKeys.map((Key) => ({ Key })),
            }),
          ),
        problems,
      ),
      attempt(
        'writing the audit tag',
        () =>
          ec2.send(
            new CreateTagsCommand({
              Resources: [instanceId],
              Tags: [{ Key: TAG.audit, Value: audit.slice(0, 256) }],
            }),
          ),
        problems,
      ),
      ...records
        .filter((record) => record.groups !== undefined)
        .map(({ eni }) =>
          attempt(
            `removing the record on ${eni.id}`,
            () =>
              ec2.send(
                new DeleteTagsCommand({
                  Resources: [eni.id],
                  Tags: originalGroupsKeys(eni.tags).map((Key) => ({ Key })),
                }),
              ),
            problems,
          ),
        ),
    ]);
  }
  return report;
}
