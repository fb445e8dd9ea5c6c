/**
 * ECS: stop-task's `stopTask` against moto, on a Fargate task that runs alone in a cluster
 * of its own (so the sibling search finds nothing and no other run's tasks are touched).
 */
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { stopTask } from '../../functions/stop-task/stop-task.js';
import { CallRecorder, recordSdkCalls } from './recorder.js';
import { requestFor, scenarioFigures, timedRun, type ScenarioFigures } from './surface.js';
import { awsConfig, uniqueName, type BenchEnv } from './testenv.js';

const RUNS = 5;

export const FLOOR = {
  trips: 2,
  why: "DescribeTasks (state and exemption tags; ListTasks for the sibling search can go alongside), then StopTask with TagResource, DescribeTaskDefinition (immutable, survives the stop) and the siblings' DescribeTasks alongside",
};

interface Network {
  subnetId: string;
  groupId: string;
}

async function network(config: ReturnType<typeof awsConfig>): Promise<Network> {
  const ec2 = new EC2Client(config);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.62.0.0/16' }));
  const vpcId = vpc.Vpc?.VpcId;
  const subnet = await ec2.send(
    new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.62.1.0/24' }),
  );
  const group = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: uniqueName('gdrr-bench-task'),
      Description: 'bench',
    }),
  );
  if (!subnet.Subnet?.SubnetId || !group.GroupId)
    throw new Error('moto did not create the network');
  return { subnetId: subnet.Subnet.SubnetId, groupId: group.GroupId };
}

/** A cluster with one running Fargate task; returns what the finding must name. */
async function loneTask(ecs: ECSClient, net: Network) {
  const name = uniqueName('gdrr-bench-ecs');
  const cluster = await ecs.send(new CreateClusterCommand({ clusterName: name }));
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: name,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      // moto places Fargate tasks only with container-level cpu and memory.
      containerDefinitions: [
        {
          name: 'web',
          image: `registry.example/${name}:1`,
          cpu: 256,
          memory: 512,
          essential: true,
        },
      ],
    }),
  );
  const run = await ecs.send(
    new RunTaskCommand({
      cluster: cluster.cluster?.clusterArn,
      taskDefinition: registered.taskDefinition?.taskDefinitionArn,
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: { subnets: [net.subnetId], securityGroups: [net.groupId] },
      },
    }),
  );
  const taskArn = run.tasks?.[0]?.taskArn;
  if (!cluster.cluster?.clusterArn || !taskArn) throw new Error('moto did not run the task');
  return { name, clusterArn: cluster.cluster.clusterArn, taskArn };
}

export async function ecsScenario(env: BenchEnv): Promise<ScenarioFigures> {
  const config = awsConfig(env);
  const admin = new ECSClient(config);
  const recorder = new CallRecorder();
  const ecs = new ECSClient({ ...config, maxAttempts: 2 });
  recordSdkCalls(ecs.middlewareStack, recorder);
  const net = await network(config);
  const runs = [];
  for (let i = 0; i < RUNS; i += 1) {
    const task = await loneTask(admin, net);
    const request = requestFor('ecs-fargate-crypto-miner.json', 'ecs-task', {
      'resource.ecsClusterDetails.name': task.name,
      'resource.ecsClusterDetails.arn': task.clusterArn,
      'resource.ecsClusterDetails.taskDetails.arn': task.taskArn,
    });
    runs.push(await timedRun(recorder, () => stopTask(request, { ecs })));
  }
  return scenarioFigures(
    {
      surface: 'ecs-task',
      label: 'ECS',
      scenario: 'ecs-fargate-crypto-miner.json: ecs:capture-task + ecs:stop-task (default policy)',
      floor: FLOOR,
    },
    runs,
  );
}
