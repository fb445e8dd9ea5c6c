/**
 * quarantine-ec2 against the moto server: the real AWS SDK, real EC2 API semantics as moto
 * models them. Call order is taken from an SDK middleware on the client under test.
 */
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContainmentRequest } from '../../shared/contracts.js';
import { parseContainmentRequest } from '../../shared/containment.js';
import { containInstance, type Ec2Deps } from '../../functions/quarantine-ec2/contain.js';
import { releaseInstance, ReleaseError } from '../../functions/quarantine-ec2/release.js';
import { TAG } from '../../functions/quarantine-ec2/record.js';
import { ACTIONS } from '../../shared/actions.js';
import { awsClientConfig } from './aws-helpers.js';
import { integrationEnv, uniqueName } from './test-env.js';

interface CallEvent {
  phase: 'start' | 'end';
  command: string;
  input: Record<string, unknown>;
  at: number;
}

let sequence = 0;
/** An EC2 client that logs when each call starts and ends, in order. */
function recordingEc2(log: CallEvent[]): EC2Client {
  const client = new EC2Client({ ...awsClientConfig(), maxAttempts: 2 });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '?';
      const input = args.input as Record<string, unknown>;
      log.push({ phase: 'start', command, input, at: sequence++ });
      try {
        return await next(args);
      } finally {
        log.push({ phase: 'end', command, input, at: sequence++ });
      }
    },
    { step: 'initialize', name: 'callOrderLog' },
  );
  return client;
}

const env = () => integrationEnv();
let ec2: EC2Client;
let vpcId: string;
let subnetId: string;

async function group(name: string): Promise<string> {
  const created = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: uniqueName(name),
      Description: name,
    }),
  );
  return created.GroupId!;
}

/** A running instance with a primary interface (app group) and a second interface (admin group). */
async function launch(tags: { Key: string; Value: string }[] = []) {
  const app = await group('app');
  const admin = await group('admin');
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: subnetId,
      SecurityGroupIds: [app],
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 8 } }],
      TagSpecifications: tags.length ? [{ ResourceType: 'instance', Tags: tags }] : undefined,
    }),
  );
  const instanceId = run.Instances![0]!.InstanceId!;
  const second = await ec2.send(
    new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [admin] }),
  );
  const secondId = second.NetworkInterface!.NetworkInterfaceId!;
  await ec2.send(
    new AttachNetworkInterfaceCommand({
      InstanceId: instanceId,
      NetworkInterfaceId: secondId,
      DeviceIndex: 1,
    }),
  );
  return { instanceId, secondId, app, admin };
}

function request(instanceId: string, overrides: Partial<ContainmentRequest> = {}) {
  return parseContainmentRequest(
    {
      version: 1,
      findingId: uniqueName('f')
        .replace(/[^0-9a-f]/g, '')
        .padEnd(32, 'a')
        .slice(0, 32),
      findingType: 'Execution:Runtime/ReverseShell',
      severity: 8,
      accountId: '123456789012',
      region: env().AWS_REGION,
      target: { surface: 'ec2-instance', instanceId },
      actions: ['ec2:quarantine-instance'],
      hostCompromise: false,
      dryRun: false,
      exemptionKey: 'guardduty-responder/exempt',
      ...overrides,
    },
    'ec2-instance',
  );
}

function deps(client: EC2Client = ec2): Ec2Deps {
  return {
    ec2: client,
    autoScaling: () => Promise.resolve(new AutoScalingClient(awsClientConfig())),
    elb: () => Promise.resolve(new ElasticLoadBalancingV2Client(awsClientConfig())),
    region: env().AWS_REGION,
  };
}

async function interfaceGroups(instanceId: string): Promise<Record<string, string[]>> {
  const found = await ec2.send(
    new DescribeNetworkInterfacesCommand({
      Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
    }),
  );
  return Object.fromEntries(
    (found.NetworkInterfaces ?? []).map((eni) => [
      eni.NetworkInterfaceId!,
      (eni.Groups ?? []).map((g) => g.GroupId!).sort(),
    ]),
  );
}

async function responderGroups() {
  const found = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        {
          Name: 'group-name',
          Values: ['guardduty-responder-untrack', 'guardduty-responder-quarantine'],
        },
      ],
    }),
  );
  return found.SecurityGroups ?? [];
}

const attribute = async (
  instanceId: string,
  name: 'disableApiTermination' | 'instanceInitiatedShutdownBehavior',
) => {
  const answer = await ec2.send(
    new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: name }),
  );
  return name === 'disableApiTermination'
    ? answer.DisableApiTermination?.Value
    : answer.InstanceInitiatedShutdownBehavior?.Value;
};

const instanceTags = async (instanceId: string) => {
  const found = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return Object.fromEntries(
    (found.Reservations![0]!.Instances![0]!.Tags ?? []).map((t) => [t.Key!, t.Value!]),
  );
};

beforeAll(async () => {
  ec2 = new EC2Client(awsClientConfig());
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc!.VpcId!;
  subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.1.0/24' })))
    .Subnet!.SubnetId!;
});

describe('quarantine-ec2 against moto', () => {
  it('moves every interface through the untrack group to the quarantine group, records, protects', async () => {
    const { instanceId, secondId } = await launch();
    const before = await interfaceGroups(instanceId);
    const log: CallEvent[] = [];
    const result = await containInstance(request(instanceId), deps(recordingEc2(log)));

    expect(result.outcomes).toHaveLength(1);
    expect(result.outcomes[0]).toMatchObject({
      action: 'ec2:quarantine-instance',
      status: 'contained',
    });
    const [untrack, quarantine] = [
      'guardduty-responder-untrack',
      'guardduty-responder-quarantine',
    ].map((name) => responderGroups().then((groups) => groups.find((g) => g.GroupName === name)!));
    const untrackGroup = (await untrack)!;
    const quarantineGroup = (await quarantine)!;

    // Both groups carry the tags they were created with: the role's rule changes and group
    // moves are conditioned on `role` (moto does not enforce IAM; the template tests check
    // the conditions, this checks the tags they rely on).
    for (const [group, role] of [
      [untrackGroup, 'untrack'],
      [quarantineGroup, 'quarantine'],
    ] as const) {
      expect(Object.fromEntries((group.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
        [TAG.role]: role,
        [TAG.quarantinedBy]: 'guardduty-runtime-responder',
      });
    }

    // Every interface ends on the quarantine group only.
    const after = await interfaceGroups(instanceId);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const groups of Object.values(after)) expect(groups).toEqual([quarantineGroup.GroupId]);

    // The quarantine group has no rule; the untrack group allows everything, v4 and v6.
    expect(quarantineGroup.IpPermissions ?? []).toEqual([]);
    expect(quarantineGroup.IpPermissionsEgress ?? []).toEqual([]);
    expect(JSON.stringify(untrackGroup.IpPermissions)).toContain('0.0.0.0/0');
    expect(JSON.stringify(untrackGroup.IpPermissions)).toContain('::/0');

    // For each interface, the untrack call finished before its quarantine call started.
    const groupCalls = log.filter(
      (e) =>
        (e.command === 'ModifyNetworkInterfaceAttributeCommand' ||
          e.command === 'ModifyInstanceAttributeCommand') &&
        Array.isArray(e.input.Groups),
    );
    const targetOf = (e: CallEvent) =>
      (e.input.NetworkInterfaceId as string | undefined) ??
      `primary:${e.input.InstanceId as string}`;
    const targets = [...new Set(groupCalls.map(targetOf))];
    expect(targets.sort()).toEqual([`primary:${instanceId}`, ...Object.keys(before)].sort());
    expect(targets).toContain(secondId);
    for (const target of targets) {
      const calls = groupCalls.filter((e) => targetOf(e) === target);
      const untrackEnd = calls.find(
        (e) => e.phase === 'end' && (e.input.Groups as string[])[0] === untrackGroup.GroupId,
      )!;
      const quarantineStart = calls.find(
        (e) => e.phase === 'start' && (e.input.Groups as string[])[0] === quarantineGroup.GroupId,
      )!;
      expect(untrackEnd, `untrack call for ${target}`).toBeDefined();
      expect(quarantineStart, `quarantine call for ${target}`).toBeDefined();
      expect(untrackEnd.at).toBeLessThan(quarantineStart.at);
    }

    // Originals are recorded per interface; protection and shutdown behaviour are set.
    const enis = await ec2.send(
      new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: Object.keys(before) }),
    );
    for (const eni of enis.NetworkInterfaces ?? []) {
      const record = eni.TagSet?.find(
        (t) => t.Key === 'guardduty-responder:original-groups',
      )?.Value;
      expect(record?.split(',').sort()).toEqual(before[eni.NetworkInterfaceId!]);
    }
    expect(await attribute(instanceId, 'disableApiTermination')).toBe(true);
    expect(await attribute(instanceId, 'instanceInitiatedShutdownBehavior')).toBe('stop');
    expect(await instanceTags(instanceId)).toMatchObject({
      [TAG.quarantinedBy]: 'guardduty-runtime-responder',
      [TAG.originalTerminationProtection]: 'false',
    });
    expect(result.release).toContain(
      `npm run release -- ec2 ${instanceId} --region ${env().AWS_REGION}`,
    );

    // Every call the action made is an IAM action it declares (least privilege stays true).
    const called = new Set(log.map((e) => `ec2:${e.command.replace(/Command$/, '')}`));
    expect(
      [...called].filter(
        (action) => !ACTIONS['ec2:quarantine-instance'].iamActions.includes(action),
      ),
    ).toEqual([]);

    // Re-run: already contained, no new groups, the record keeps the true originals.
    const again = await containInstance(request(instanceId), deps());
    expect(again.outcomes[0]).toMatchObject({ status: 'already-contained' });
    expect((await responderGroups()).length).toBe(2);
    const enisAgain = await ec2.send(
      new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: Object.keys(before) }),
    );
    for (const eni of enisAgain.NetworkInterfaces ?? []) {
      expect(
        eni.TagSet?.find((t) => t.Key === 'guardduty-responder:original-groups')
          ?.Value?.split(',')
          .sort(),
      ).toEqual(before[eni.NetworkInterfaceId!]);
    }

    // Release restores exactly what was there and keeps one audit tag.
    const report = await releaseInstance(ec2, instanceId);
    expect(report.problems).toEqual([]);
    expect(await interfaceGroups(instanceId)).toEqual(before);
    expect(await attribute(instanceId, 'disableApiTermination')).toBe(false);
    const tags = await instanceTags(instanceId);
    expect(tags[TAG.quarantinedBy]).toBeUndefined();
    expect(tags[TAG.audit]).toMatch(/ contained .* released /);
    await expect(releaseInstance(ec2, instanceId)).rejects.toThrow(ReleaseError);
    await expect(releaseInstance(ec2, instanceId)).rejects.toThrow(/no quarantine record/);
  });

  it('concurrent containments in one VPC share one pair of groups', async () => {
    const [a, b, c] = await Promise.all([launch(), launch(), launch()]);
    const results = await Promise.all(
      [a, b, c].map(({ instanceId }) => containInstance(request(instanceId), deps())),
    );
    for (const result of results) expect(result.outcomes[0]!.status).toBe('contained');
    const groups = await responderGroups();
    expect(groups.map((g) => g.GroupName).sort()).toEqual([
      'guardduty-responder-quarantine',
      'guardduty-responder-untrack',
    ]);
  });

  it('refuses a same-named group without the responder tag, and leaves it and the instance alone', async () => {
    // A VPC of its own: the shared one already holds the responder's tagged groups.
    const otherVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.43.0.0/16' }))).Vpc!
      .VpcId!;
    const otherSubnet = (
      await ec2.send(new CreateSubnetCommand({ VpcId: otherVpc, CidrBlock: '10.43.1.0/24' }))
    ).Subnet!.SubnetId!;
    const lookalike = await ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: otherVpc,
        GroupName: 'guardduty-responder-quarantine',
        Description: 'made by hand',
      }),
    );
    const app = await ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: otherVpc,
        GroupName: uniqueName('app'),
        Description: 'app',
      }),
    );
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: otherSubnet,
        SecurityGroupIds: [app.GroupId!],
      }),
    );
    const instanceId = run.Instances![0]!.InstanceId!;
    const before = await interfaceGroups(instanceId);

    const result = await containInstance(request(instanceId), deps());
    expect(result.outcomes[0]).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringContaining(
        `security group ${lookalike.GroupId} in ${otherVpc} is named guardduty-responder-quarantine but lacks the tag ${TAG.role}=quarantine`,
      ),
    });
    expect(await interfaceGroups(instanceId)).toEqual(before);
    const [untouched] = (
      await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [lookalike.GroupId!] }))
    ).SecurityGroups!;
    // Still AWS's default egress rule: nothing was revoked on a group that is not ours.
    expect(JSON.stringify(untouched!.IpPermissionsEgress)).toContain('0.0.0.0/0');
  });

  it('skips an exempt instance and leaves it untouched', async () => {
    const { instanceId } = await launch([{ Key: 'guardduty-responder/exempt', Value: 'true' }]);
    const before = await interfaceGroups(instanceId);
    const result = await containInstance(request(instanceId), deps());
    expect(result.outcomes[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/exemption tag/),
    });
    expect(await interfaceGroups(instanceId)).toEqual(before);
  });

  it('skips a terminated instance', async () => {
    const { instanceId } = await launch();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    const result = await containInstance(request(instanceId), deps());
    expect(result.outcomes[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/terminated|shutting-down/),
    });
  });

  it('skips an instance of another account than the finding', async () => {
    const { instanceId } = await launch();
    const result = await containInstance(
      request(instanceId, { accountId: '210987654321' }),
      deps(),
    );
    expect(result.outcomes[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/not the finding's account 210987654321/),
    });
  });

  it('fails clearly for an unknown instance id', async () => {
    const result = await containInstance(request('i-0123456789abcdef0'), deps());
    expect(result.outcomes[0]).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringMatching(/instance i-0123456789abcdef0 was not found/),
    });
  });

  it('dry run changes nothing and says what it would do', async () => {
    const { instanceId } = await launch();
    const before = await interfaceGroups(instanceId);
    const result = await containInstance(request(instanceId, { dryRun: true }), deps());
    expect(result.outcomes[0]).toMatchObject({
      status: 'dry-run',
      detail: expect.stringMatching(/^would record original groups, move eni-/),
    });
    expect(await interfaceGroups(instanceId)).toEqual(before);
    expect(await attribute(instanceId, 'disableApiTermination')).toBe(false);
  });

  it('snapshots attached volumes once per finding', async () => {
    const { instanceId } = await launch();
    const contain = request(instanceId, {
      actions: ['ec2:quarantine-instance', 'ec2:snapshot-volumes'],
    });
    const first = await containInstance(contain, deps());
    expect(first.outcomes.map((o) => o.status)).toEqual(['contained', 'contained']);
    const snapshots = await ec2.send(
      new DescribeSnapshotsCommand({
        Filters: [{ Name: `tag:${TAG.findingId}`, Values: [contain.findingId] }],
      }),
    );
    expect(snapshots.Snapshots?.length).toBeGreaterThan(0);
    const second = await containInstance(contain, deps());
    expect(second.outcomes[1]).toMatchObject({ status: 'already-contained' });
  });

  it('skips Auto Scaling and target-group actions for an instance in neither', async () => {
    const { instanceId } = await launch();
    const result = await containInstance(
      request(instanceId, {
        actions: [
          'ec2:quarantine-instance',
          'ec2:protect-from-scale-in',
          'ec2:deregister-from-target-groups',
        ],
      }),
      deps(),
    );
    expect(result.outcomes.map((o) => o.status)).toEqual(['contained', 'skipped', 'skipped']);
  });

  it('release refuses an instance that was never quarantined', async () => {
    const { instanceId } = await launch();
    await ec2.send(
      new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'team', Value: 'x' }] }),
    );
    await expect(releaseInstance(ec2, instanceId)).rejects.toThrow(/has no quarantine record/);
  });
});

describe('the CLI paths run the same code', () => {
  const root = join(import.meta.dirname, '..', '..');
  const run = (script: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...integrationEnv() },
    });

  it('replay --live contains the instance of a finding, and release undoes it', async () => {
    const { instanceId } = await launch();
    const before = await interfaceGroups(instanceId);
    const event = JSON.parse(
      readFileSync(join(root, 'events', 'ec2-suspicious-command.json'), 'utf8'),
    ) as { detail: { resource: { instanceDetails: { instanceId: string } } } };
    event.detail.resource.instanceDetails.instanceId = instanceId;
    const file = join(mkdtempSync(join(tmpdir(), 'gdrr-live-')), 'finding.json');
    writeFileSync(file, JSON.stringify(event));

    const live = run('scripts/replay.ts', '--live', '--json', file);
    expect(live.status, live.stderr).toBe(0);
    const record = JSON.parse(live.stdout) as {
      outcomes: { status: string }[];
      alert: { subject: string };
    };
    expect(record.outcomes.map((o) => o.status)).toEqual(['contained']);
    expect(record.alert.subject).toMatch(/^\[HIGH\] CONTAINED: /);
    for (const groups of Object.values(await interfaceGroups(instanceId)))
      expect(groups).toHaveLength(1);

    const release = run('scripts/release.ts', 'ec2', instanceId);
    expect(release.status, release.stderr).toBe(0);
    expect(release.stdout).toContain(`released ${instanceId}`);
    expect(await interfaceGroups(instanceId)).toEqual(before);
    const again = run('scripts/release.ts', 'ec2', instanceId);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/no quarantine record/);
  });
});
