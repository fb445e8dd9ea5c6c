/**
 * stop-task against the moto server: real ECS API calls (RunTask on Fargate in a real
 * VPC/subnet/security group, DescribeTasks, StopTask, TagResource, ListTasks) as moto models
 * them. Call order is taken from an SDK middleware on the client under test.
 *
 * moto 5.1.1 differs from ECS in ways these tests adapt to, openly:
 * - task ids are dashed UUIDs (the older AWS form; the request schema accepts both);
 * - containers carry no `imageDigest`, so siblings are matched by image reference (the
 *   responder says so in a note);
 * - RunTask ignores `group`, so a task never names its service: scaling is skipped;
 * - each DescribeTasks call moves a task's `lastStatus` one step along
 *   RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED while `desiredStatus` stays
 *   RUNNING, so "still running" is checked as desiredStatus RUNNING with no stoppedReason;
 * - an unknown task comes back as no task and no failure (ECS answers failure MISSING).
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Tag,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { stopTask } from '../../functions/stop-task/stop-task.js';
import { ACTIONS } from '../../shared/actions.js';
import { parseContainmentRequest, type RequestFor } from '../../shared/containment.js';
import type { ActionId, ContainmentResult } from '../../shared/contracts.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { loadEvent } from '../helpers.js';
import { awsClientConfig } from './aws-helpers.js';
import { integrationEnv, skipReason, uniqueName } from './test-env.js';

const QUARANTINED_BY = 'guardduty-responder:quarantined-by';
const FINDING_TAG = 'guardduty-responder:finding-id';
const CONTAINED_AT = 'guardduty-responder:contained-at';

let ecs: ECSClient;
let subnetId: string;
let securityGroupId: string;

/** An ECS client that records the name of each command it sends, in order. */
function recordingEcs(log: string[]): ECSClient {
  const client = new ECSClient({ ...awsClientConfig(), maxAttempts: 2 });
  client.middlewareStack.add(
    (next, context) => (args) => {
      log.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'commandLog' },
  );
  return client;
}

/** A cluster and a Fargate task definition of its own, so tests never see each other's tasks. */
async function workload(image = `registry.example/gdrr-it/${uniqueName('web')}:1`) {
  const name = uniqueName('gdrr-it-ecs');
  const cluster = await ecs.send(new CreateClusterCommand({ clusterName: name }));
  const clusterArn = cluster.cluster?.clusterArn;
  if (!clusterArn) throw new Error('moto did not create the cluster');
  return { name, clusterArn, image, taskDefinitionArn: await register(name, image) };
}

async function register(family: string, image: string): Promise<string> {
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        {
          name: 'web',
          image,
          // moto places Fargate tasks only with container-level cpu and memory.
          cpu: 256,
          memory: 512,
          essential: true,
          environment: [{ name: 'API_KEY', value: 'it-secret-value' }],
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': `/ecs/${family}`,
              'awslogs-region': 'us-east-1',
              'awslogs-stream-prefix': 'app',
            },
          },
        },
      ],
    }),
  );
  const arn = registered.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new Error('moto did not register the task definition');
  return arn;
}

async function runTask(
  clusterArn: string,
  taskDefinitionArn: string,
  options: { tags?: Tag[]; startedBy?: string } = {},
): Promise<string> {
  const run = await ecs.send(
    new RunTaskCommand({
      cluster: clusterArn,
      taskDefinition: taskDefinitionArn,
      launchType: 'FARGATE',
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.startedBy ? { startedBy: options.startedBy } : {}),
      networkConfiguration: {
        awsvpcConfiguration: { subnets: [subnetId], securityGroups: [securityGroupId] },
      },
    }),
  );
  const arn = run.tasks?.[0]?.taskArn;
  if (!arn) throw new Error(`moto did not run a task: ${JSON.stringify(run.failures)}`);
  return arn;
}

async function describe1(clusterArn: string, taskArn: string): Promise<Task> {
  const answer = await ecs.send(
    new DescribeTasksCommand({ cluster: clusterArn, tasks: [taskArn], include: ['TAGS'] }),
  );
  const found = answer.tasks?.[0];
  if (!found) throw new Error(`task ${taskArn} not described`);
  return found;
}

const tagsOf = (task: Task) => Object.fromEntries((task.tags ?? []).map((t) => [t.key, t.value]));

/** A request as the router builds it from the sample Fargate finding, pointed at this task. */
function requestFor(
  clusterArn: string,
  clusterName: string,
  taskArn: string,
  options: { actions?: ActionId[]; dryRun?: boolean; findingId?: string } = {},
): RequestFor<'ecs-task'> {
  const event = loadEvent('ecs-fargate-crypto-miner.json');
  event.detail.id = options.findingId ?? randomBytes(16).toString('hex');
  const cluster = event.detail.resource.ecsClusterDetails;
  cluster.arn = clusterArn;
  cluster.name = clusterName;
  cluster.taskDetails.arn = taskArn;
  const built = containmentRequest(evaluate(event, defaultPolicy()), defaultPolicy());
  const request = parseContainmentRequest(built, 'ecs-task');
  if (options.actions) request.actions = options.actions;
  if (options.dryRun !== undefined) request.dryRun = options.dryRun;
  return request;
}

/** Every ECS call made is one the requested actions declare in the registry (the role grants those). */
function expectDeclaredPermissions(calls: readonly string[], request: RequestFor<'ecs-task'>) {
  const declared = new Set(request.actions.flatMap((action) => ACTIONS[action].iamActions));
  const called = new Set(calls.map((command) => `ecs:${command.replace(/Command$/, '')}`));
  expect([...called].filter((action) => !declared.has(action))).toEqual([]);
}

const statuses = (result: ContainmentResult) =>
  Object.fromEntries(result.outcomes.map((o) => [o.action, o.status]));

const reasonFor = (request: RequestFor<'ecs-task'>) =>
  `GuardDuty runtime finding ${request.findingId} (${request.findingType}): stopped by guardduty-runtime-responder`;

describe.skipIf(skipReason())('stop-task against moto', () => {
  beforeAll(async () => {
    integrationEnv();
    ecs = new ECSClient({ ...awsClientConfig(), maxAttempts: 2 });
    const ec2 = new EC2Client(awsClientConfig());
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }));
    const vpcId = vpc.Vpc?.VpcId;
    if (!vpcId) throw new Error('moto did not create the VPC');
    const subnet = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.1.0/24' }),
    );
    const group = await ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: vpcId,
        GroupName: uniqueName('gdrr-it-task'),
        Description: 'stop-task integration test',
      }),
    );
    subnetId = subnet.Subnet?.SubnetId ?? '';
    securityGroupId = group.GroupId ?? '';
  });

  it('captures a running task, then stops it with the finding in the reason and tags it', async () => {
    const { name, clusterArn, taskDefinitionArn, image } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    const request = requestFor(clusterArn, name, taskArn);
    const calls: string[] = [];

    const result = await stopTask(request, { ecs: recordingEcs(calls) });

    expect(statuses(result)).toEqual({
      'ecs:capture-task': 'contained',
      'ecs:stop-task': 'contained',
    });
    // The task description (the evidence the stop destroys) is read before StopTask; the task
    // definition, which survives the stop, is read alongside it.
    expect(calls[0]).toBe('DescribeTasksCommand');
    expect(calls.indexOf('DescribeTaskDefinitionCommand')).toBeGreaterThan(-1);
    expect(calls.indexOf('DescribeTasksCommand')).toBeLessThan(calls.indexOf('StopTaskCommand'));
    expect(calls.indexOf('DescribeTasksCommand')).toBeLessThan(calls.indexOf('TagResourceCommand'));
    expect(calls).not.toContain('UntagResourceCommand');
    expectDeclaredPermissions(calls, request);

    const after = await describe1(clusterArn, taskArn);
    expect(after).toMatchObject({
      desiredStatus: 'STOPPED',
      lastStatus: 'STOPPED',
      stoppedReason: reasonFor(request),
    });
    expect(tagsOf(after)).toMatchObject({
      [QUARANTINED_BY]: 'guardduty-runtime-responder',
      [FINDING_TAG]: request.findingId,
    });
    expect(Date.parse(tagsOf(after)[CONTAINED_AT] ?? '')).not.toBeNaN();

    const evidence = result.outcomes[0]?.evidence as Record<string, any>;
    expect(evidence.task).toMatchObject({
      taskArn,
      clusterArn,
      launchType: 'FARGATE',
      containers: [{ name: 'web', image }],
      attachments: [{ type: 'ElasticNetworkInterface', details: { subnetId } }],
    });
    expect(evidence.task.attachments[0].details.networkInterfaceId).toMatch(/^eni-/);
    expect(evidence.taskDefinition.containers[0]).toMatchObject({
      environmentNames: ['API_KEY'],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': `/ecs/${name}` } },
    });
    expect(evidence.logs[0]).toMatchObject({
      group: `/ecs/${name}`,
      stream: `app/web/${taskArn.slice(taskArn.lastIndexOf('/') + 1)}`,
    });
    expect(JSON.stringify(result)).not.toContain('it-secret-value');
    expect(result.notes.some((n) => n.includes('compared by image reference'))).toBe(true);
    expect(result.release).toMatch(/cannot be resumed/);
  });

  it('withdraws the tags sent with a stop that failed: the running task carries none', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    const request = requestFor(clusterArn, name, taskArn);
    const calls: string[] = [];
    const client = recordingEcs(calls);
    // StopTask fails before it leaves the client; tagging and untagging reach moto for real.
    client.middlewareStack.add(
      (next, context) => (args) =>
        context.commandName === 'StopTaskCommand'
          ? Promise.reject(
              Object.assign(new Error('Service unavailable'), {
                name: 'ServerException',
                $fault: 'server',
                $metadata: { httpStatusCode: 503 },
              }),
            )
          : next(args),
      { step: 'initialize', name: 'failStopTask' },
    );

    const result = await stopTask(request, { ecs: client });

    expect(result.outcomes.find((o) => o.action === 'ecs:stop-task')).toMatchObject({
      status: 'failed',
      retryable: true,
      detail: expect.stringContaining('the tags sent with the stop were removed'),
    });
    expect(calls).toEqual(expect.arrayContaining(['TagResourceCommand', 'UntagResourceCommand']));
    expectDeclaredPermissions(calls, request);
    const after = await describe1(clusterArn, taskArn);
    expect(after.desiredStatus).toBe('RUNNING');
    expect(tagsOf(after)[QUARANTINED_BY]).toBeUndefined();
    expect(tagsOf(after)[FINDING_TAG]).toBeUndefined();
    expect(tagsOf(after)[CONTAINED_AT]).toBeUndefined();
  });

  it('is safe to re-run for the same finding: already-contained, no second stop', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    const request = requestFor(clusterArn, name, taskArn);
    await stopTask(request, { ecs });
    const calls: string[] = [];

    const again = await stopTask(request, { ecs: recordingEcs(calls) });

    expect(statuses(again)).toEqual({
      'ecs:capture-task': 'already-contained',
      'ecs:stop-task': 'already-contained',
    });
    expect(calls).not.toContain('StopTaskCommand');
    expect(calls).not.toContain('TagResourceCommand');
  });

  it('skips a task someone else already stopped, saying why, and still captures it', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    await ecs.send(
      new StopTaskCommand({
        cluster: clusterArn,
        task: taskArn,
        reason: 'Scaling activity initiated by deployment',
      }),
    );

    const result = await stopTask(requestFor(clusterArn, name, taskArn), { ecs });

    expect(statuses(result)).toEqual({
      'ecs:capture-task': 'contained',
      'ecs:stop-task': 'skipped',
    });
    expect(result.outcomes[1]?.detail).toContain('already stopped');
    expect(result.outcomes[1]?.detail).toContain('Scaling activity initiated by deployment');
  });

  it('reports already-contained for a task stopped earlier with this finding in the reason', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    const request = requestFor(clusterArn, name, taskArn);
    // As an earlier run whose tagging failed leaves it: our reason, none of our tags.
    await ecs.send(
      new StopTaskCommand({ cluster: clusterArn, task: taskArn, reason: reasonFor(request) }),
    );

    const result = await stopTask(request, { ecs });

    expect(result.outcomes[1]).toMatchObject({
      status: 'already-contained',
      detail: expect.stringContaining(request.findingId),
    });
  });

  it('skips a task that carries the exemption tag and leaves it running', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn, {
      tags: [{ key: 'guardduty-responder/exempt', value: 'incident-response-sandbox' }],
    });
    const calls: string[] = [];

    const result = await stopTask(requestFor(clusterArn, name, taskArn), {
      ecs: recordingEcs(calls),
    });

    expect(statuses(result)).toEqual({ 'ecs:capture-task': 'skipped', 'ecs:stop-task': 'skipped' });
    expect(result.outcomes[0]?.detail).toContain('exemption tag guardduty-responder/exempt');
    expect(calls).toEqual(['DescribeTasksCommand']);
    const after = await describe1(clusterArn, taskArn);
    expect(after.desiredStatus).toBe('RUNNING');
    expect(after.stoppedReason ?? '').toBe('');
    expect(tagsOf(after)[FINDING_TAG]).toBeUndefined();
  });

  it('lists another task that runs the same image, and leaves it running by default', async () => {
    const { name, clusterArn, taskDefinitionArn, image } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    const siblingArn = await runTask(clusterArn, taskDefinitionArn);
    const otherImage = await register(uniqueName('gdrr-it-other'), `${image}-other`);
    const unrelatedArn = await runTask(clusterArn, otherImage);

    const result = await stopTask(requestFor(clusterArn, name, taskArn), { ecs });

    const note = result.notes.find((n) => n.includes('run the same image'));
    expect(note).toContain(`1 other task(s) in the cluster run the same image (${image})`);
    expect(note).toContain(siblingArn.slice(siblingArn.lastIndexOf('/') + 1));
    expect(note).not.toContain(unrelatedArn.slice(unrelatedArn.lastIndexOf('/') + 1));
    expect((await describe1(clusterArn, siblingArn)).desiredStatus).toBe('RUNNING');
  });

  it('stops the sibling too when ecs:stop-sibling-tasks is requested, with the same reason', async () => {
    const { name, clusterArn, taskDefinitionArn, image } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    const siblingArn = await runTask(clusterArn, taskDefinitionArn);
    const exemptSiblingArn = await runTask(clusterArn, taskDefinitionArn, {
      tags: [{ key: 'guardduty-responder/exempt', value: 'true' }],
    });
    const unrelatedArn = await runTask(
      clusterArn,
      await register(uniqueName('gdrr-it-other'), `${image}-other`),
    );
    const request = requestFor(clusterArn, name, taskArn, {
      actions: ['ecs:capture-task', 'ecs:stop-task', 'ecs:stop-sibling-tasks'],
    });
    const calls: string[] = [];

    const result = await stopTask(request, { ecs: recordingEcs(calls) });

    expectDeclaredPermissions(calls, request);

    expect(statuses(result)).toEqual({
      'ecs:capture-task': 'contained',
      'ecs:stop-task': 'contained',
      'ecs:stop-sibling-tasks': 'contained',
    });
    expect(result.outcomes[2]?.detail).toContain('stopped 1 other task(s)');
    expect(result.outcomes[2]?.detail).toContain('1 exempt (left running)');
    expect(await describe1(clusterArn, siblingArn)).toMatchObject({
      desiredStatus: 'STOPPED',
      stoppedReason: reasonFor(request),
    });
    expect((await describe1(clusterArn, exemptSiblingArn)).desiredStatus).toBe('RUNNING');
    expect((await describe1(clusterArn, unrelatedArn)).desiredStatus).toBe('RUNNING');
  });

  it('fails with a clear error for a task ARN that does not exist, and stops nothing', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const bystanderArn = await runTask(clusterArn, taskDefinitionArn);
    const unknownArn = `arn:aws:ecs:us-east-1:123456789012:task/${name}/${randomUUID()}`;
    const calls: string[] = [];

    const result = await stopTask(requestFor(clusterArn, name, unknownArn), {
      ecs: recordingEcs(calls),
    });

    expect(result.outcomes).toEqual([
      expect.objectContaining({ status: 'failed', retryable: false }),
      expect.objectContaining({ status: 'failed', retryable: false }),
    ]);
    expect(result.outcomes[0]?.detail).toContain(
      `task ${unknownArn} not found in cluster ${clusterArn}`,
    );
    expect(calls).toEqual(['DescribeTasksCommand']);
    expect((await describe1(clusterArn, bystanderArn)).desiredStatus).toBe('RUNNING');
  });

  it('changes nothing in a dry run and says what it would do', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const taskArn = await runTask(clusterArn, taskDefinitionArn);
    const request = requestFor(clusterArn, name, taskArn, { dryRun: true });
    const calls: string[] = [];

    const result = await stopTask(request, { ecs: recordingEcs(calls) });

    expect(statuses(result)).toEqual({ 'ecs:capture-task': 'dry-run', 'ecs:stop-task': 'dry-run' });
    expect(result.outcomes[1]?.detail).toContain(
      `would stop task ${taskArn} with reason "${reasonFor(request)}"`,
    );
    expect(calls.filter((c) => !/^(Describe|List)/.test(c))).toEqual([]);
    const after = await describe1(clusterArn, taskArn);
    expect(after.desiredStatus).toBe('RUNNING');
    expect(tagsOf(after)[FINDING_TAG]).toBeUndefined();
  });

  it('does not scale a service it cannot name (moto keeps no task group): skipped, count unchanged', async () => {
    const { name, clusterArn, taskDefinitionArn } = await workload();
    const created = await ecs.send(
      new CreateServiceCommand({
        cluster: clusterArn,
        serviceName: 'web',
        taskDefinition: taskDefinitionArn,
        desiredCount: 2,
        launchType: 'FARGATE',
        networkConfiguration: {
          awsvpcConfiguration: { subnets: [subnetId], securityGroups: [securityGroupId] },
        },
      }),
    );
    const deployment = created.service?.deployments?.[0]?.id;
    expect(deployment).toMatch(/^ecs-svc\//);
    const taskArn = await runTask(clusterArn, taskDefinitionArn, { startedBy: deployment });
    const request = requestFor(clusterArn, name, taskArn, {
      actions: ['ecs:stop-task', 'ecs:scale-service-to-zero'],
    });
    const calls: string[] = [];

    const result = await stopTask(request, { ecs: recordingEcs(calls) });

    expectDeclaredPermissions(calls, request);

    expect(statuses(result)).toEqual({
      'ecs:stop-task': 'contained',
      'ecs:scale-service-to-zero': 'skipped',
    });
    expect(result.outcomes[1]?.detail).toContain('group names no service');
    expect(result.notes[0]).toContain(`started by a service deployment (${deployment})`);
    const service = await ecs.send(
      new DescribeServicesCommand({ cluster: clusterArn, services: ['web'] }),
    );
    expect(service.services?.[0]?.desiredCount).toBe(2);
  });
});
