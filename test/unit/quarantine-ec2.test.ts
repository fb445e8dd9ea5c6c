import { Readable } from 'node:stream';
import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  SetInstanceProtectionCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateSecurityGroupCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  AuthorizeSecurityGroupIngressCommand,
  AuthorizeSecurityGroupEgressCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { HttpResponse } from '@smithy/core/transport';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseContainmentRequest } from '../../shared/containment.js';
import { containInstance } from '../../functions/quarantine-ec2/contain.js';
import { once } from '../../functions/quarantine-ec2/handler.js';
import { isQuarantined } from '../../functions/quarantine-ec2/quarantine.js';
import {
  decodeOriginalGroups,
  encodeOriginalGroups,
  GROUP_ROLES,
  INSTANCE_ATTRIBUTES_SET,
  RESPONDER,
  TAG,
  TAG_KEYS_WRITTEN,
} from '../../functions/quarantine-ec2/record.js';

const INSTANCE = 'i-0123456789abcdef0';
const request = (overrides: Record<string, unknown> = {}) =>
  parseContainmentRequest(
    {
      version: 1,
      findingId: 'a'.repeat(32),
      findingType: 'Execution:Runtime/ReverseShell',
      severity: 8,
      accountId: '123456789012',
      region: 'us-east-1',
      target: { surface: 'ec2-instance', instanceId: INSTANCE },
      actions: ['ec2:quarantine-instance'],
      hostCompromise: false,
      dryRun: false,
      exemptionKey: 'guardduty-responder/exempt',
      ...overrides,
    },
    'ec2-instance',
  );

const deps = (ec2: EC2Client) => ({
  ec2,
  autoScaling: () => Promise.resolve(new AutoScalingClient({ region: 'us-east-1' })),
  elb: () => Promise.resolve(new ElasticLoadBalancingV2Client({ region: 'us-east-1' })),
  region: 'us-east-1',
});

const ec2Mock = mockClient(EC2Client);
const eni = (
  id: string,
  deviceIndex: number,
  groups: string[],
  extra: Record<string, unknown> = {},
) => ({
  NetworkInterfaceId: id,
  VpcId: 'vpc-1',
  Attachment: { DeviceIndex: deviceIndex },
  Groups: groups.map((GroupId) => ({ GroupId })),
  TagSet: [],
  ...extra,
});

/** DescribeInstances answers with the one running instance, these fields added. */
function describesInstance(extra: Record<string, unknown> = {}) {
  ec2Mock.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        OwnerId: '123456789012',
        Instances: [{ InstanceId: INSTANCE, State: { Name: 'running' }, Tags: [], ...extra }],
      },
    ],
  });
}

/** The VPC has no responder group yet: both are created (sg-…e untrack, sg-…f quarantine). */
function noResponderGroupsYet() {
  ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ec2Mock
    .on(CreateSecurityGroupCommand, { GroupName: 'guardduty-responder-untrack' })
    .resolves({ GroupId: 'sg-0000000e' });
  ec2Mock
    .on(CreateSecurityGroupCommand, { GroupName: 'guardduty-responder-quarantine' })
    .resolves({ GroupId: 'sg-0000000f' });
  ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({});
  ec2Mock.on(AuthorizeSecurityGroupEgressCommand).resolves({});
  ec2Mock.on(RevokeSecurityGroupEgressCommand).resolves({});
}

function runningInstance(
  interfaces = [eni('eni-a', 0, ['sg-0000000a']), eni('eni-b', 1, ['sg-0000000b'])],
) {
  describesInstance();
  ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: interfaces });
  ec2Mock.on(DescribeInstanceAttributeCommand).resolves({
    DisableApiTermination: { Value: false },
    InstanceInitiatedShutdownBehavior: { Value: 'terminate' },
  });
  ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
    SecurityGroups: [
      {
        GroupId: 'sg-0000000c',
        GroupName: 'guardduty-responder-untrack',
        Tags: [{ Key: 'guardduty-responder:role', Value: 'untrack' }],
        IpPermissions: [
          {
            IpProtocol: '-1',
            IpRanges: [{ CidrIp: '0.0.0.0/0' }],
            Ipv6Ranges: [{ CidrIpv6: '::/0' }],
          },
        ],
        IpPermissionsEgress: [
          {
            IpProtocol: '-1',
            IpRanges: [{ CidrIp: '0.0.0.0/0' }],
            Ipv6Ranges: [{ CidrIpv6: '::/0' }],
          },
        ],
      },
      {
        GroupId: 'sg-0000000d',
        GroupName: 'guardduty-responder-quarantine',
        Tags: [{ Key: 'guardduty-responder:role', Value: 'quarantine' }],
        IpPermissions: [],
        IpPermissionsEgress: [],
      },
    ],
  });
  ec2Mock.on(CreateTagsCommand).resolves({});
  ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
  ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
}

const accessDenied = (action: string) =>
  Object.assign(
    new Error(
      `You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform: ${action} on resource: x`,
    ),
    {
      name: 'UnauthorizedOperation',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    },
  );

beforeEach(() => ec2Mock.reset());

describe('quarantine-ec2 with mocked EC2', () => {
  it('contains: every interface to untrack then quarantine, originals recorded', async () => {
    runningInstance();
    const result = await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    expect(result.outcomes[0]).toMatchObject({ status: 'contained' });
    const groupsSet = ec2Mock
      .commandCalls(ModifyNetworkInterfaceAttributeCommand)
      .map((c) => [c.args[0].input.NetworkInterfaceId, c.args[0].input.Groups]);
    expect(groupsSet).toEqual([
      ['eni-a', ['sg-0000000c']],
      ['eni-b', ['sg-0000000c']],
      ['eni-a', ['sg-0000000d']],
      ['eni-b', ['sg-0000000d']],
    ]);
    const records = ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input);
    expect(records).toContainEqual({
      Resources: ['eni-a'],
      Tags: [{ Key: 'guardduty-responder:original-groups', Value: 'sg-0000000a' }],
    });
    expect(records.find((r) => r.Resources?.[0] === INSTANCE)?.Tags).toContainEqual({
      Key: 'guardduty-responder:original-termination-protection',
      Value: 'false',
    });
  });

  it('makes the Auto Scaling and load balancer clients only for the actions that need them', async () => {
    runningInstance();
    const made: string[] = [];
    const asg = mockClient(AutoScalingClient);
    asg.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [
        {
          InstanceId: INSTANCE,
          AutoScalingGroupName: 'web',
          AvailabilityZone: 'us-east-1a',
          LifecycleState: 'InService',
          HealthStatus: 'HEALTHY',
          ProtectedFromScaleIn: false,
        },
      ],
    });
    asg.on(SetInstanceProtectionCommand).resolves({});
    const lazy = {
      ...deps(new EC2Client({ region: 'us-east-1' })),
      autoScaling: () => {
        made.push('autoscaling');
        return Promise.resolve(new AutoScalingClient({ region: 'us-east-1' }));
      },
      elb: () => {
        made.push('elb');
        return Promise.reject(new Error('must not be made'));
      },
    };
    const plain = await containInstance(request(), lazy);
    expect(plain.outcomes.map((o) => o.status)).toEqual(['contained']);
    expect(made).toEqual([]);

    const protect = await containInstance(
      request({ actions: ['ec2:quarantine-instance', 'ec2:protect-from-scale-in'] }),
      lazy,
    );
    expect(protect.outcomes[1]).toMatchObject({
      action: 'ec2:protect-from-scale-in',
      status: 'contained',
      detail: 'protected from scale-in in web',
    });
    expect(made).toEqual(['autoscaling']);
    asg.restore();
  });

  it('makes an on-demand client once, and tries again after a failed attempt', async () => {
    let attempts = 0;
    const client = once(() => {
      attempts += 1;
      return attempts === 1 ? Promise.reject(new Error('EMFILE')) : Promise.resolve({ attempts });
    });
    await expect(client()).rejects.toThrow('EMFILE');
    const [first, second] = await Promise.all([client(), client()]);
    expect(first).toBe(second);
    expect(await client()).toEqual({ attempts: 2 });
    expect(attempts).toBe(2);
  });

  it('an optional action whose client cannot be made fails alone, naming why', async () => {
    runningInstance();
    const result = await containInstance(
      request({ actions: ['ec2:quarantine-instance', 'ec2:deregister-from-target-groups'] }),
      {
        ...deps(new EC2Client({ region: 'us-east-1' })),
        elb: () => Promise.reject(new Error('cannot load the client')),
      },
    );
    expect(result.outcomes[0]).toMatchObject({ status: 'contained' });
    expect(result.outcomes[1]).toMatchObject({
      action: 'ec2:deregister-from-target-groups',
      status: 'failed',
      detail: 'starting ec2:deregister-from-target-groups: Error: cannot load the client',
    });
  });

  it('does not overwrite an existing record (a re-run after a partial failure)', async () => {
    runningInstance([
      eni('eni-a', 0, ['sg-0000000c'], { TagSet: encodeOriginalGroups(['sg-0000000a']) }),
      eni('eni-b', 1, ['sg-0000000b']),
    ]);
    await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    const taggedInterfaces = ec2Mock
      .commandCalls(CreateTagsCommand)
      .map((c) => c.args[0].input.Resources?.[0]);
    expect(taggedInterfaces).not.toContain('eni-a');
    expect(taggedInterfaces).toContain('eni-b');
  });

  it('partial failure: names the interface that failed; the others are still quarantined', async () => {
    runningInstance();
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand, { NetworkInterfaceId: 'eni-b' }).rejects(
      Object.assign(new Error('boom'), {
        name: 'InternalError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    const result = await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'failed', retryable: true });
    expect(outcome.detail).toMatch(
      /quarantined 1 of 2 interfaces \(eni-a\); eni-b not quarantined \(retryable: InternalError: boom\)/,
    );
    expect(
      ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand, {
        NetworkInterfaceId: 'eni-a',
        Groups: ['sg-0000000d'],
      }),
    ).toHaveLength(1);
    expect(result.notes.join(' ')).toMatch(/did not complete/);
  });

  it('a partially quarantined instance is never taken for an already contained one', () => {
    const facts = {
      instanceId: INSTANCE,
      ownerId: '123456789012',
      state: 'running',
      tags: [{ Key: 'guardduty-responder:quarantined-by', Value: 'guardduty-runtime-responder' }],
      interfaces: [
        {
          id: 'eni-a',
          deviceIndex: 0,
          vpcId: 'vpc-1',
          groupIds: ['sg-0000000d'],
          requesterManaged: false,
          tags: [],
        },
        {
          id: 'eni-b',
          deviceIndex: 1,
          vpcId: 'vpc-1',
          groupIds: ['sg-0000000b'],
          requesterManaged: false,
          tags: [],
        },
      ],
      volumes: [],
      terminationProtection: true,
      shutdownBehavior: 'stop',
      responderGroups: [],
    };
    const groups = { 'vpc-1': { untrack: 'sg-0000000c', quarantine: 'sg-0000000d' } };
    expect(isQuarantined(facts, groups)).toBe(false);
    facts.interfaces[1]!.groupIds = ['sg-0000000d'];
    expect(isQuarantined(facts, groups)).toBe(true);
  });

  it("never records one of the responder's own groups as an original", async () => {
    runningInstance([
      eni('eni-a', 0, ['sg-0000000c']),
      eni('eni-b', 1, ['sg-0000000b', 'sg-0000000d']),
    ]);
    await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    const records = ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input);
    expect(records.find((r) => r.Resources?.[0] === 'eni-a')).toBeUndefined();
    expect(records.find((r) => r.Resources?.[0] === 'eni-b')?.Tags).toEqual([
      { Key: 'guardduty-responder:original-groups', Value: 'sg-0000000b' },
    ]);
  });

  it('AccessDenied: failed, not retryable, names the missing permission', async () => {
    runningInstance();
    ec2Mock
      .on(ModifyNetworkInterfaceAttributeCommand)
      .rejects(accessDenied('ec2:ModifyNetworkInterfaceAttribute'));
    const result = await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    expect(result.outcomes[0]).toMatchObject({ status: 'failed', retryable: false });
    expect(result.outcomes[0]!.detail).toContain(
      'missing permission: ec2:ModifyNetworkInterfaceAttribute',
    );
  });

  it('a requester-managed interface is reported, not silently skipped', async () => {
    runningInstance([
      eni('eni-a', 0, ['sg-0000000a']),
      eni('eni-m', 1, ['sg-0000000b'], { RequesterManaged: true }),
    ]);
    const result = await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    expect(result.outcomes[0]).toMatchObject({ status: 'failed', retryable: false });
    expect(result.outcomes[0]!.detail).toMatch(
      /eni-m is managed by another service \(requester-managed\)/,
    );
    expect(
      ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand, { NetworkInterfaceId: 'eni-m' }),
    ).toHaveLength(0);
  });

  it('creates the groups when the VPC has none: untrack allows all, quarantine loses its default egress', async () => {
    runningInstance();
    noResponderGroupsYet();
    const result = await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    expect(result.outcomes[0]!.status).toBe('contained');
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand)[0]!.args[0].input.GroupId).toBe(
      'sg-0000000f',
    );
    expect(
      ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input,
    ).toMatchObject({ GroupId: 'sg-0000000e' });
  });

  it('uses only groups carrying the role tag: a same-named untagged group is named and left alone', async () => {
    runningInstance();
    // Groups with the responder's names but without its tags (made by hand, say).
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: 'sg-0000000e', GroupName: 'guardduty-responder-untrack', VpcId: 'vpc-1' },
        { GroupId: 'sg-0000000f', GroupName: 'guardduty-responder-quarantine', VpcId: 'vpc-1' },
      ],
    });
    ec2Mock.on(CreateSecurityGroupCommand).rejects(
      Object.assign(new Error('The security group already exists'), {
        name: 'InvalidGroup.Duplicate',
      }),
    );
    const result = await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    expect(result.outcomes[0]).toMatchObject({ status: 'failed', retryable: false });
    expect(result.outcomes[0]!.detail).toMatch(
      /security group sg-0000000[ef] in vpc-1 is named guardduty-responder-(untrack|quarantine) but lacks the tag guardduty-responder:role=(untrack|quarantine)/,
    );
    expect([
      ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand),
      ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand),
      ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand),
      ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand),
      ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand),
    ]).toEqual([[], [], [], [], []]);
  });

  it('writes only the tag keys, tag values and instance attributes its IAM grant allows', async () => {
    runningInstance();
    describesInstance({
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-1' } }],
    });
    noResponderGroupsYet();
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2Mock.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-1' });
    const result = await containInstance(
      request({ actions: ['ec2:quarantine-instance', 'ec2:snapshot-volumes'] }),
      deps(new EC2Client({ region: 'us-east-1' })),
    );
    expect(result.outcomes.map((o) => o.status)).toEqual(['contained', 'contained']);

    const allowed = (patterns: readonly string[]) => (tag: Tag) =>
      patterns.some((p) => new RegExp(`^${p.replace(/\*/g, '.*')}$`).test(tag.Key!));
    const written = (resourcePrefix: string) =>
      ec2Mock
        .commandCalls(CreateTagsCommand)
        .filter((c) => c.args[0].input.Resources![0]!.startsWith(resourcePrefix))
        .flatMap((c) => c.args[0].input.Tags!);
    expect(written('i-').length).toBeGreaterThan(0);
    expect(written('i-').every(allowed(TAG_KEYS_WRITTEN.instance))).toBe(true);
    expect(written('eni-').length).toBeGreaterThan(0);
    expect(written('eni-').every(allowed(TAG_KEYS_WRITTEN.networkInterface))).toBe(true);

    // Tags at creation: exactly the keys (and, for groups, the values) the grant requires.
    for (const call of ec2Mock.commandCalls(CreateSecurityGroupCommand)) {
      const tags = call.args[0].input.TagSpecifications!.flatMap((spec) => spec.Tags!);
      expect(tags.map((t) => t.Key).sort()).toEqual([...TAG_KEYS_WRITTEN.securityGroup].sort());
      expect(GROUP_ROLES).toContain(tags.find((t) => t.Key === TAG.role)!.Value);
      expect(tags.find((t) => t.Key === TAG.quarantinedBy)!.Value).toBe(RESPONDER);
    }
    const snapshotTags = ec2Mock
      .commandCalls(CreateSnapshotCommand)
      .flatMap((c) => c.args[0].input.TagSpecifications!.flatMap((spec) => spec.Tags!));
    expect(snapshotTags.map((t) => t.Key).sort()).toEqual([...TAG_KEYS_WRITTEN.snapshot].sort());

    // One attribute per ModifyInstanceAttribute call, always one the grant names.
    const members = ec2Mock
      .commandCalls(ModifyInstanceAttributeCommand)
      .map((c) => Object.keys(c.args[0].input).filter((key) => key !== 'InstanceId'));
    expect(members.every((set) => set.length === 1)).toBe(true);
    expect(new Set(members.flat())).toEqual(new Set(INSTANCE_ATTRIBUTES_SET));

    // Rules are only added to the untrack group and only removed from the quarantine group.
    const authorized = [
      ...ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand),
      ...ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand),
    ].map((c) => c.args[0].input.GroupId);
    expect(authorized).toEqual(['sg-0000000e', 'sg-0000000e']);
    const revoked = [
      ...ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand),
      ...ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand),
    ].map((c) => c.args[0].input.GroupId);
    expect(revoked).toEqual(['sg-0000000f']);
  });

  it('exempt (tag value other than "false") is skipped; "false" is not exempt', async () => {
    runningInstance();
    describesInstance({ Tags: [{ Key: 'guardduty-responder/exempt', Value: 'yes' }] });
    const result = await containInstance(request(), deps(new EC2Client({ region: 'us-east-1' })));
    expect(result.outcomes[0]).toMatchObject({ status: 'skipped' });
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
  });

  it('refuses to act in another region than the finding', async () => {
    runningInstance();
    const result = await containInstance(
      request({ region: 'eu-west-1' }),
      deps(new EC2Client({ region: 'us-east-1' })),
    );
    expect(result.outcomes[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/finding is in eu-west-1; this function acts in us-east-1/),
    });
  });
});

describe('SDK retries before reporting failure (real retry middleware, fake transport)', () => {
  function failingTransport(status: number, code: string) {
    const seen = { attempts: 0, byAction: new Map<string, number>() };
    const requestHandler = {
      handle: (request: { body?: unknown }) => {
        seen.attempts += 1;
        const sent = typeof request.body === 'string' ? request.body : '';
        const action = /Action=(\w+)/.exec(sent)?.[1] ?? '?';
        seen.byAction.set(action, (seen.byAction.get(action) ?? 0) + 1);
        const body = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>try later</Message></Error></Errors><RequestID>r-1</RequestID></Response>`;
        return Promise.resolve({
          response: new HttpResponse({
            statusCode: status,
            headers: { 'content-type': 'text/xml' },
            body: Readable.from([Buffer.from(body)]),
          }),
        });
      },
    };
    const client = new EC2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      requestHandler,
      retryStrategy: new ConfiguredRetryStrategy(3, () => 0),
    });
    return { client, seen };
  }

  it.each([
    ['throttling', 503, 'RequestLimitExceeded'],
    ['5xx', 500, 'InternalError'],
  ])('%s: retried by the SDK, then failed and retryable', async (_name, status, code) => {
    ec2Mock.restore();
    const { client, seen } = failingTransport(status, code);
    const result = await containInstance(request(), deps(client));
    // Several reads start at once; the one that decides (DescribeInstances) made 3 attempts.
    expect(seen.byAction.get('DescribeInstances')).toBe(3);
    expect(result.outcomes[0]).toMatchObject({
      status: 'failed',
      retryable: true,
      detail: expect.stringContaining(code),
    });
  });

  it('AccessDenied is not retried', async () => {
    ec2Mock.restore();
    const { client, seen } = failingTransport(403, 'UnauthorizedOperation');
    const result = await containInstance(request(), deps(client));
    expect(result.outcomes[0]).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringContaining('missing permission: ec2:DescribeInstances'),
    });
    expect(seen.byAction.get('DescribeInstances')).toBe(1);
  });
});

describe('original-groups record', () => {
  it('round-trips and splits long lists across tags within 256 characters', () => {
    const ids = Array.from({ length: 16 }, (_, i) => `sg-${i.toString(16).padStart(17, '0')}`);
    const tags = encodeOriginalGroups(ids);
    expect(tags.length).toBe(2);
    for (const tag of tags) expect(tag.Value.length).toBeLessThanOrEqual(256);
    expect(decodeOriginalGroups(tags)).toEqual(ids);
  });

  it('ignores a tampered record', () => {
    expect(
      decodeOriginalGroups([
        { Key: 'guardduty-responder:original-groups', Value: 'sg-00000001,$(reboot)' },
      ]),
    ).toBeUndefined();
    expect(decodeOriginalGroups([])).toBeUndefined();
  });
});
