/**
 * The bundles as they deploy (built by the same script the stack uses: minified, SDK
 * schemas pruned, chunks loaded on demand), imported and invoked against the test
 * environment. The other integration tests run the source; these prove that what ships
 * runs too: its chunks load, its SDK clients serialize real requests, its schemas parse.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../infra/bundle.js';
import { parseContainmentRequest } from '../../shared/containment.js';
import type { ActionId, ContainmentResult } from '../../shared/contracts.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { loadEvent } from '../helpers.js';
import {
  awsClientConfig,
  createStateTable,
  createFunction,
  createTopicWithQueue,
  parseSnsNotification,
  queueLambdaResults,
  receiveOne,
  type TopicWithQueue,
} from './aws-helpers.js';
import { integrationEnv, skipReason, uniqueName } from './test-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
type Handler = (event: unknown, context?: { invokedFunctionArn: string }) => Promise<unknown>;
/** The Lambda context of a function in the test account and region (isolate-pod acts only there). */
const IN_TEST_ACCOUNT = {
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:gdrr-isolate-pod',
};
const ROUTER_ENV = [
  'ALERT_TOPIC_ARN',
  'STATE_TABLE',
  'QUARANTINE_EC2_FUNCTION',
  'CONTAINMENT_TIMEOUT_MS',
] as const;

let dir: string;
const handlers = new Map<string, Handler>();
const shipped = (name: string) => handlers.get(name)!;

let ec2: EC2Client;
let subnetId: string;
let groupId: string;

const freshId = () => randomBytes(16).toString('hex');
const statuses = (result: unknown) =>
  (result as ContainmentResult).outcomes.map(({ action, status }) => `${action}=${status}`);

/** The sample finding of `file`, with a fresh id, about the given workload. */
function finding(file: string, change: (detail: Record<string, any>) => void) {
  const event = loadEvent(file);
  event.detail.id = freshId();
  change(event.detail);
  return event;
}

/** The request the router sends for `event` under the default policy. */
function requestOf(event: unknown, actions?: ActionId[]) {
  const policy = defaultPolicy();
  const request = containmentRequest(evaluate(event, policy), policy)!;
  return actions ? { ...request, actions } : request;
}

async function launchInstance(): Promise<string> {
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: subnetId,
      SecurityGroupIds: [groupId],
    }),
  );
  return run.Instances![0]!.InstanceId!;
}

async function groupsOf(instanceId: string): Promise<string[]> {
  const found = await ec2.send(
    new DescribeNetworkInterfacesCommand({
      Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
    }),
  );
  return (found.NetworkInterfaces ?? []).flatMap((eni) =>
    (eni.Groups ?? []).map((g) => g.GroupName ?? '?'),
  );
}

describe.skipIf(skipReason())('the shipped bundles against the test environment', () => {
  beforeAll(async () => {
    integrationEnv();
    dir = mkdtempSync(join(tmpdir(), 'gdrr-bundles-'));
    for (const name of ['router', 'quarantine-ec2', 'stop-task', 'isolate-pod']) {
      const outdir = join(dir, name);
      bundleFunction({ root: ROOT, name }, outdir);
      const module = (await import(pathToFileURL(join(outdir, 'index.mjs')).href)) as {
        handler: Handler;
      };
      handlers.set(name, module.handler);
    }
    ec2 = new EC2Client(awsClientConfig());
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }));
    const subnet = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.77.1.0/24' }),
    );
    subnetId = subnet.Subnet!.SubnetId!;
    const group = await ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: vpc.Vpc!.VpcId!,
        GroupName: uniqueName('gdrr-bundle-app'),
        Description: 'shipped bundle test',
      }),
    );
    groupId = group.GroupId!;
  }, 120_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const key of ROUTER_ENV) delete process.env[key];
  });

  it('quarantine-ec2 contains an instance and loads the optional actions on demand', async () => {
    const instanceId = await launchInstance();
    const event = finding('ec2-suspicious-command.json', (detail) => {
      detail.resource.instanceDetails.instanceId = instanceId;
    });
    const result = await shipped('quarantine-ec2')(
      requestOf(event, [
        'ec2:quarantine-instance',
        'ec2:protect-from-scale-in',
        'ec2:deregister-from-target-groups',
      ]),
    );
    // The Auto Scaling and load balancer chunks loaded and their clients asked moto: the
    // instance is in no group, so both are skipped rather than failed.
    expect(statuses(result)).toEqual([
      'ec2:quarantine-instance=contained',
      'ec2:protect-from-scale-in=skipped',
      'ec2:deregister-from-target-groups=skipped',
    ]);
    expect(new Set(await groupsOf(instanceId))).toEqual(
      new Set(['guardduty-responder-quarantine']),
    );
  });

  it("router: contains through a function by name with quarantine-ec2's real answer, one alert", async () => {
    const topic: TopicWithQueue = await createTopicWithQueue('gdrr-bundle');
    const table = await createStateTable('gdrr-bundle-state');
    const { functionName } = await createFunction(uniqueName('gdrr-bundle-quarantine-ec2'));
    // The router bundle reads its configuration from the environment on first use.
    Object.assign(process.env, {
      ALERT_TOPIC_ARN: topic.topicArn,
      STATE_TABLE: table,
      QUARANTINE_EC2_FUNCTION: functionName,
      CONTAINMENT_TIMEOUT_MS: '10000',
    });
    const instanceId = await launchInstance();
    const event = finding('ec2-suspicious-command.json', (detail) => {
      detail.resource.instanceDetails.instanceId = instanceId;
    });
    // moto does not run a function's code: the answer it returns is the one the shipped
    // quarantine-ec2 bundle gave for the request the router will send.
    const answer = await shipped('quarantine-ec2')(requestOf(event));
    await queueLambdaResults([JSON.stringify(answer)]);

    await expect(shipped('router')(event)).resolves.toMatchObject({
      decision: 'contain',
      status: 'CONTAINED',
    });
    const alert = parseSnsNotification(await receiveOne(topic.queueUrl));
    expect(alert.Subject).toMatch(
      /^\[HIGH\] CONTAINED: Execution:Runtime\/SuspiciousCommand on i-/,
    );
    expect(alert.Message).toContain(`[contained] ec2:quarantine-instance`);
    expect(alert.Message).toContain(`npm run release -- ec2 ${instanceId}`);
    await expect(shipped('router')(event)).resolves.toMatchObject({ status: 'DUPLICATE' });
  });

  it('stop-task stops a Fargate task', async () => {
    const ecs = new ECSClient(awsClientConfig());
    const clusterName = uniqueName('gdrr-bundle-ecs');
    const cluster = await ecs.send(new CreateClusterCommand({ clusterName }));
    const definition = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: clusterName,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [
          { name: 'web', image: 'registry.example/web:1', cpu: 256, memory: 512 },
        ],
      }),
    );
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: cluster.cluster!.clusterArn!,
        taskDefinition: definition.taskDefinition!.taskDefinitionArn!,
        launchType: 'FARGATE',
        networkConfiguration: {
          awsvpcConfiguration: { subnets: [subnetId], securityGroups: [groupId] },
        },
      }),
    );
    const event = finding('ecs-fargate-crypto-miner.json', (detail) => {
      const details = detail.resource.ecsClusterDetails;
      details.arn = cluster.cluster!.clusterArn!;
      details.name = clusterName;
      details.taskDetails.arn = run.tasks![0]!.taskArn!;
    });
    const request = parseContainmentRequest(requestOf(event), 'ecs-task');
    expect(statuses(await shipped('stop-task')(request))).toEqual([
      'ecs:capture-task=contained',
      'ecs:stop-task=contained',
    ]);
  });

  it('isolate-pod reports a cluster EKS does not know as failed, not retryable', async () => {
    const cluster = uniqueName('gdrr-no-such-cluster');
    const event = finding('eks-reverse-shell.json', (detail) => {
      detail.resource.eksClusterDetails.name = cluster;
    });
    const result = (await shipped('isolate-pod')(
      requestOf(event),
      IN_TEST_ACCOUNT,
    )) as ContainmentResult;
    expect(result.outcomes.length).toBeGreaterThan(0);
    for (const outcome of result.outcomes) {
      expect(outcome).toMatchObject({ status: 'failed', retryable: false });
      expect(outcome.detail).toBe(
        `connect to cluster ${cluster}: ResourceNotFoundException: No cluster found for name: ${cluster}.`,
      );
    }
  });
});
