import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  DetachInstancesCommand,
  SetInstanceProtectionCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  detachFromAutoScaling,
  protectFromScaleIn,
} from '../../functions/quarantine-ec2/auto-scaling.js';
import { deregisterFromTargetGroups } from '../../functions/quarantine-ec2/target-groups.js';
import type { InstanceFacts } from '../../functions/quarantine-ec2/describe.js';

const INSTANCE = 'i-0123456789abcdef0';
const asg = mockClient(AutoScalingClient);
const elb = mockClient(ElasticLoadBalancingV2Client);
const facts: InstanceFacts = {
  instanceId: INSTANCE,
  ownerId: '123456789012',
  state: 'running',
  tags: [],
  interfaces: [
    {
      id: 'eni-a',
      deviceIndex: 0,
      vpcId: 'vpc-1',
      groupIds: ['sg-1'],
      requesterManaged: false,
      tags: [],
    },
  ],
  volumes: [],
  terminationProtection: false,
  shutdownBehavior: 'stop',
  responderGroups: [],
};

beforeEach(() => {
  asg.reset();
  elb.reset();
});

describe('Auto Scaling', () => {
  it('detaches without lowering the desired capacity', async () => {
    asg.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [
        {
          InstanceId: INSTANCE,
          AutoScalingGroupName: 'web-asg',
          ProtectedFromScaleIn: false,
        } as never,
      ],
    });
    asg.on(DetachInstancesCommand).resolves({});
    const outcome = await detachFromAutoScaling(
      new AutoScalingClient({ region: 'us-east-1' }),
      INSTANCE,
    );
    expect(outcome).toMatchObject({
      status: 'contained',
      detail: expect.stringContaining('detached from web-asg'),
    });
    expect(asg.commandCalls(DetachInstancesCommand)[0]!.args[0].input).toEqual({
      AutoScalingGroupName: 'web-asg',
      InstanceIds: [INSTANCE],
      ShouldDecrementDesiredCapacity: false,
    });
  });

  it('protects from scale-in, once', async () => {
    asg
      .on(DescribeAutoScalingInstancesCommand)
      .resolvesOnce({
        AutoScalingInstances: [
          {
            InstanceId: INSTANCE,
            AutoScalingGroupName: 'web-asg',
            ProtectedFromScaleIn: false,
          } as never,
        ],
      })
      .resolves({
        AutoScalingInstances: [
          {
            InstanceId: INSTANCE,
            AutoScalingGroupName: 'web-asg',
            ProtectedFromScaleIn: true,
          } as never,
        ],
      });
    asg.on(SetInstanceProtectionCommand).resolves({});
    const client = new AutoScalingClient({ region: 'us-east-1' });
    expect(await protectFromScaleIn(client, INSTANCE)).toMatchObject({ status: 'contained' });
    expect(await protectFromScaleIn(client, INSTANCE)).toMatchObject({
      status: 'already-contained',
    });
    expect(asg.commandCalls(SetInstanceProtectionCommand)).toHaveLength(1);
  });

  it('AccessDenied names the missing permission', async () => {
    asg.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{ InstanceId: INSTANCE, AutoScalingGroupName: 'web-asg' } as never],
    });
    asg.on(DetachInstancesCommand).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const outcome = await detachFromAutoScaling(
      new AutoScalingClient({ region: 'us-east-1' }),
      INSTANCE,
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringContaining('missing permission: autoscaling:DetachInstances'),
    });
  });
});

describe('load balancer target groups', () => {
  it('deregisters every port the instance is registered on, only in its VPC', async () => {
    elb.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [
        { TargetGroupArn: 'arn:tg/web', TargetType: 'instance', VpcId: 'vpc-1' },
        { TargetGroupArn: 'arn:tg/other-vpc', TargetType: 'instance', VpcId: 'vpc-2' },
        { TargetGroupArn: 'arn:tg/ip', TargetType: 'ip', VpcId: 'vpc-1' },
        { TargetGroupArn: 'arn:tg/admin', TargetType: 'instance', VpcId: 'vpc-1' },
      ],
    });
    elb.on(DescribeTargetHealthCommand, { TargetGroupArn: 'arn:tg/web' }).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: INSTANCE, Port: 80 } },
        { Target: { Id: INSTANCE, Port: 8080 } },
        { Target: { Id: 'i-0ther', Port: 80 } },
      ],
    });
    elb
      .on(DescribeTargetHealthCommand, { TargetGroupArn: 'arn:tg/admin' })
      .resolves({ TargetHealthDescriptions: [{ Target: { Id: 'i-0ther', Port: 22 } }] });
    elb.on(DeregisterTargetsCommand).resolves({});
    const outcome = await deregisterFromTargetGroups(
      new ElasticLoadBalancingV2Client({ region: 'us-east-1' }),
      facts,
    );
    expect(outcome).toMatchObject({ status: 'contained', detail: 'deregistered from arn:tg/web' });
    expect(elb.commandCalls(DeregisterTargetsCommand).map((c) => c.args[0].input)).toEqual([
      {
        TargetGroupArn: 'arn:tg/web',
        Targets: [
          { Id: INSTANCE, Port: 80 },
          { Id: INSTANCE, Port: 8080 },
        ],
      },
    ]);
  });
});
