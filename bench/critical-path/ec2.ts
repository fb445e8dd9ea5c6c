/**
 * EC2: `containInstance` against moto on an instance created for the run. The first run in
 * a fresh VPC also creates the responder's security groups, so it is reported apart.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { containInstance } from '../../functions/quarantine-ec2/contain.js';
import { CallRecorder, recordSdkCalls } from './recorder.js';
import { requestFor, scenarioFigures, timedRun, type ScenarioFigures } from './surface.js';
import { awsConfig, uniqueName, type BenchEnv } from './testenv.js';

const RUNS = 5;

export const FLOOR = {
  trips: 3,
  why: 'describe the instance (its interfaces, groups and settings); then the record of the originals (tags), the untrack group and termination protection together, since the originals were read before anything changed; then the quarantine group, which must follow the untrack step so live connections are untracked before they are dropped',
};

async function network(ec2: EC2Client): Promise<{ subnetId: string; groupId: string }> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.61.0.0/16' }));
  const vpcId = vpc.Vpc?.VpcId;
  const subnet = await ec2.send(
    new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.61.1.0/24' }),
  );
  const group = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: uniqueName('gdrr-bench-app'),
      Description: 'bench',
    }),
  );
  if (!subnet.Subnet?.SubnetId || !group.GroupId)
    throw new Error('moto did not create the network');
  return { subnetId: subnet.Subnet.SubnetId, groupId: group.GroupId };
}

async function instances(ec2: EC2Client, count: number): Promise<string[]> {
  const { subnetId, groupId } = await network(ec2);
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: count,
      MaxCount: count,
      SubnetId: subnetId,
      SecurityGroupIds: [groupId],
    }),
  );
  const ids = (run.Instances ?? []).map((i) => i.InstanceId).filter((id): id is string => !!id);
  if (ids.length !== count) throw new Error('moto did not start the instances');
  return ids;
}

export async function ec2Scenario(env: BenchEnv): Promise<ScenarioFigures> {
  const config = awsConfig(env);
  const admin = new EC2Client(config);
  const recorder = new CallRecorder();
  const ec2 = new EC2Client({ ...config, maxAttempts: 2 });
  recordSdkCalls(ec2.middlewareStack, recorder);
  const deps = {
    ec2,
    autoScaling: () => Promise.resolve(new AutoScalingClient(config)),
    elb: () => Promise.resolve(new ElasticLoadBalancingV2Client(config)),
    region: env.AWS_REGION,
  };
  const ids = await instances(admin, RUNS + 1);
  const contain = (instanceId: string) => () =>
    containInstance(
      requestFor('ec2-suspicious-command.json', 'ec2-instance', {
        'resource.instanceDetails.instanceId': instanceId,
      }),
      deps,
    );
  const first = await timedRun(recorder, contain(ids[0]!));
  const runs = [];
  for (const id of ids.slice(1)) runs.push(await timedRun(recorder, contain(id)));
  return scenarioFigures(
    {
      surface: 'ec2-instance',
      label: 'EC2',
      scenario:
        'ec2-suspicious-command.json: ec2:quarantine-instance, responder groups already in the VPC',
      floor: FLOOR,
      extra: { 'first run in a new VPC (creates the responder groups)': first },
    },
    runs,
  );
}
