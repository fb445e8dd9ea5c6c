/**
 * stop-task logic with a mocked ECS client: what is called, in which order, with which
 * arguments, and what is reported. Retries through the real SDK stack are tested in
 * stop-task-retry.test.ts (aws-sdk-client-mock bypasses the retry middleware).
 */
import {
  AccessDeniedException,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  StopTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
  type DescribeTasksCommandInput,
  type ListTasksCommandInput,
  type Service,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/stop-task/handler.js';
import { containLive } from '../../functions/stop-task/live.js';
import { stopTask } from '../../functions/stop-task/stop-task.js';
import {
  BadRequestError,
  parseContainmentRequest,
  type RequestFor,
} from '../../shared/containment.js';
import {
  ContainmentResultSchema,
  type ActionId,
  type ContainmentResult,
} from '../../shared/contracts.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { ACTIONS } from '../../shared/actions.js';
import { loadEvent } from '../helpers.js';

const ecsMock = mockClient(ECSClient);
const NOW = new Date('2026-07-15T03:00:00.000Z');

function requestFrom(
  event: string,
  change: (request: RequestFor<'ecs-task'>) => void = () => {},
): RequestFor<'ecs-task'> {
  const built = containmentRequest(evaluate(loadEvent(event), defaultPolicy()), defaultPolicy());
  const request = parseContainmentRequest(built, 'ecs-task');
  change(request);
  return request;
}

const fargate = (change?: (request: RequestFor<'ecs-task'>) => void) =>
  requestFrom('ecs-fargate-crypto-miner.json', change);

const BASE = fargate();
const CLUSTER = BASE.target.clusterArn;
const TASK_ARN = BASE.target.taskArn;
const FINDING = BASE.findingId;
const TASK_DEFINITION_ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:57';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2026.07.2';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const DEPLOYMENT = 'ecs-svc/1234567890123456789';
const REASON = `GuardDuty runtime finding ${FINDING} (Impact:Runtime/CryptoMinerExecuted): stopped by guardduty-runtime-responder`;
const GUARDDUTY_AGENT = {
  name: 'aws-guardduty-agent-nm40lC',
  image: '593207742271.dkr.ecr.us-east-1.amazonaws.com/aws-guardduty-agent-fargate:v1.6.0',
  imageDigest: `sha256:${'9'.repeat(64)}`,
};

const arnOf = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/prod-ecs/${id}`;
const hexId = (n: number) => n.toString(16).padStart(32, '0');

function task(change: Partial<Task> = {}): Task {
  return {
    taskArn: TASK_ARN,
    clusterArn: CLUSTER,
    taskDefinitionArn: TASK_DEFINITION_ARN,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    launchType: 'FARGATE',
    group: 'service:web',
    startedBy: DEPLOYMENT,
    availabilityZone: 'us-east-1a',
    containers: [
      {
        name: 'web',
        image: IMAGE,
        imageDigest: DIGEST,
        runtimeId: 'abc-123',
        lastStatus: 'RUNNING',
      },
      GUARDDUTY_AGENT,
    ],
    attachments: [
      {
        type: 'ElasticNetworkInterface',
        status: 'ATTACHED',
        details: [
          { name: 'subnetId', value: 'subnet-0123456789abcdef0' },
          { name: 'networkInterfaceId', value: 'eni-0123456789abcdef0' },
          { name: 'privateIPv4Address', value: '10.0.1.23' },
        ],
      },
    ],
    tags: [{ key: 'team', value: 'web' }],
    ...change,
  };
}

function sibling(n: number, change: Partial<Task> = {}): Task {
  return task({ taskArn: arnOf(hexId(n)), tags: [], ...change });
}

const TASK_DEFINITION: TaskDefinition = {
  taskDefinitionArn: TASK_DEFINITION_ARN,
  family: 'web',
  revision: 57,
  networkMode: 'awsvpc',
  taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
  containerDefinitions: [
    {
      name: 'web',
      image: IMAGE,
      essential: true,
      environment: [{ name: 'DB_PASSWORD', value: 'hunter2-secret-value' }],
      logConfiguration: {
        logDriver: 'awslogs',
        options: {
          'awslogs-group': '/ecs/web',
          'awslogs-region': 'us-east-1',
          'awslogs-stream-prefix': 'ecs',
        },
      },
    },
    {
      name: 'splunk-forwarder',
      image: 'splunk/forwarder:9',
      logConfiguration: {
        logDriver: 'splunk',
        options: { 'splunk-url': 'https://splunk.example:8088', 'splunk-token': 'tok-secret-123' },
      },
    },
  ],
};

const SERVICE: Service = {
  serviceName: 'web',
  serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/prod-ecs/web',
  desiredCount: 3,
  runningCount: 3,
  deployments: [
    {
      id: DEPLOYMENT,
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ['subnet-0123456789abcdef0'], securityGroups: ['sg-0aa'] },
      },
    },
  ],
};

/** DescribeTasks answers from this list, by ARN; ListTasks lists the ones not being stopped. */
function cluster(tasks: Task[]): void {
  ecsMock.on(DescribeTasksCommand).callsFake((input: DescribeTasksCommandInput) => ({
    tasks: tasks.filter((t) => input.tasks?.includes(t.taskArn ?? '')),
    failures: [],
  }));
  ecsMock.on(ListTasksCommand).callsFake((input: ListTasksCommandInput) => ({
    taskArns: tasks
      .filter((t) => t.clusterArn === input.cluster && t.desiredStatus === input.desiredStatus)
      .map((t) => t.taskArn),
  }));
}

const client = (region = 'us-east-1') => new ECSClient({ region });
const run = (request: RequestFor<'ecs-task'>, region?: string) =>
  stopTask(request, { ecs: client(region), now: () => NOW });

/** Command names in the order they were sent. */
const sent = () => ecsMock.calls().map((call) => call.args[0].constructor.name);

function outcomeOf(result: ContainmentResult, action: ActionId) {
  const found = result.outcomes.find((o) => o.action === action);
  if (!found) throw new Error(`no outcome for ${action}`);
  return found;
}

function withActions(...actions: ActionId[]) {
  return fargate((request) => {
    request.actions = actions;
  });
}

beforeEach(() => {
  ecsMock.reset();
  cluster([task()]);
  ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: TASK_DEFINITION });
  ecsMock.on(DescribeServicesCommand).resolves({ services: [SERVICE], failures: [] });
  ecsMock.on(StopTaskCommand).resolves({ task: { desiredStatus: 'STOPPED' } });
  ecsMock.on(TagResourceCommand).resolves({});
  ecsMock.on(UpdateServiceCommand).resolves({});
});

describe('stopTask: a running task', () => {
  it('captures the evidence, then stops the task with the finding in the reason and tags it', async () => {
    const result = await run(BASE);

    expect(ContainmentResultSchema.parse(result)).toEqual(result);
    expect(result.outcomes.map((o) => [o.action, o.status])).toEqual([
      ['ecs:capture-task', 'contained'],
      ['ecs:stop-task', 'contained'],
    ]);
    const order = sent();
    // The task description (the evidence the stop destroys) is read before StopTask; the task
    // definition, which survives the stop, is read alongside it.
    expect(order[0]).toBe('DescribeTasksCommand');
    expect(order).toContain('DescribeTaskDefinitionCommand');
    expect(order.indexOf('DescribeTasksCommand')).toBeLessThan(order.indexOf('StopTaskCommand'));
    expect(order.indexOf('DescribeTasksCommand')).toBeLessThan(order.indexOf('TagResourceCommand'));
    expect(ecsMock.commandCalls(UntagResourceCommand)).toHaveLength(0);

    expect(ecsMock.commandCalls(DescribeTasksCommand)[0]?.args[0].input).toEqual({
      cluster: CLUSTER,
      tasks: [TASK_ARN],
      include: ['TAGS'],
    });
    expect(ecsMock.commandCalls(StopTaskCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CLUSTER, task: TASK_ARN, reason: REASON },
    ]);
    expect(REASON.length).toBeLessThanOrEqual(255);
    expect(ecsMock.commandCalls(TagResourceCommand)[0]?.args[0].input).toEqual({
      resourceArn: TASK_ARN,
      tags: [
        { key: 'guardduty-responder:quarantined-by', value: 'guardduty-runtime-responder' },
        { key: 'guardduty-responder:finding-id', value: FINDING },
        { key: 'guardduty-responder:contained-at', value: NOW.toISOString() },
      ],
    });
    expect(outcomeOf(result, 'ecs:stop-task').detail).toContain(REASON);
  });

  it('puts the task, its task definition, the logs and the network in the evidence, without secrets', async () => {
    const result = await run(BASE);
    const evidence = outcomeOf(result, 'ecs:capture-task').evidence as Record<string, any>;

    expect(evidence.capturedAt).toBe(NOW.toISOString());
    expect(evidence.task).toMatchObject({
      taskArn: TASK_ARN,
      launchType: 'FARGATE',
      group: 'service:web',
      startedBy: DEPLOYMENT,
      containers: [
        { name: 'web', image: IMAGE, imageDigest: DIGEST },
        { name: GUARDDUTY_AGENT.name },
      ],
      attachments: [
        {
          type: 'ElasticNetworkInterface',
          details: { networkInterfaceId: 'eni-0123456789abcdef0' },
        },
      ],
    });
    expect(evidence.taskDefinition).toMatchObject({
      family: 'web',
      revision: 57,
      taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
      containers: [
        {
          name: 'web',
          environmentNames: ['DB_PASSWORD'],
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/web' } },
        },
        { logConfiguration: { options: { 'splunk-token': '[redacted]' } } },
      ],
    });
    expect(evidence.logs[0]).toEqual({
      container: 'web',
      driver: 'awslogs',
      group: '/ecs/web',
      region: 'us-east-1',
      stream: 'ecs/web/3fb01b2f54973add354caa7136d64884',
    });
    expect(evidence.service).toMatchObject({
      serviceName: 'web',
      desiredCount: 3,
      deploymentOfTask: DEPLOYMENT,
      networkConfiguration: { securityGroups: ['sg-0aa'] },
    });
    const json = JSON.stringify(result);
    expect(json).not.toContain('hunter2-secret-value');
    expect(json).not.toContain('tok-secret-123');
    expect(Buffer.byteLength(JSON.stringify(evidence))).toBeLessThanOrEqual(16_000);
  });

  it('says the service will start a replacement and where the logs are; release says a task cannot be resumed', async () => {
    const result = await run(BASE);
    expect(result.notes).toContain(
      'the task belongs to service web: the service will start a replacement from the same image',
    );
    expect(result.notes.some((n) => n.includes('CloudWatch Logs group /ecs/web'))).toBe(true);
    expect(result.release).toMatch(/^a stopped task cannot be resumed/);
  });

  it('reports outcomes in request order but always reads the task before stopping it', async () => {
    const result = await run(withActions('ecs:stop-task', 'ecs:capture-task'));
    expect(result.outcomes.map((o) => o.action)).toEqual(['ecs:stop-task', 'ecs:capture-task']);
    const order = sent();
    expect(order[0]).toBe('DescribeTasksCommand');
    expect(order).toContain('DescribeTaskDefinitionCommand');
    expect(order.indexOf('DescribeTasksCommand')).toBeLessThan(order.indexOf('StopTaskCommand'));
    expect((outcomeOf(result, 'ecs:capture-task').evidence as any).task.lastStatus).toBe('RUNNING');
  });

  it('names the container instance for the EC2 launch type and leaves the host alone', async () => {
    const request = requestFrom('ecs-ec2-reverse-shell.json');
    cluster([
      task({
        taskArn: request.target.taskArn,
        clusterArn: request.target.clusterArn,
        launchType: 'EC2',
        group: 'service:report-api',
        containerInstanceArn:
          'arn:aws:ecs:us-east-1:123456789012:container-instance/batch-ecs/0f1e2d3c4b5a69788796a5b4c3d2e1f0',
      }),
    ]);
    ecsMock
      .on(DescribeServicesCommand)
      .resolves({ services: [{ ...SERVICE, serviceName: 'report-api' }] });
    const result = await run(request);
    expect(outcomeOf(result, 'ecs:stop-task').status).toBe('contained');
    const note = result.notes.find((n) => n.includes('EC2 launch type'));
    expect(note).toContain('i-03974d3a624df5abd');
    expect(note).toContain('separate, explicit policy choice');
  });

  it('escapes attacker-chosen image names, groups and reasons before they reach notes or evidence', async () => {
    const hostile = 'evil/image:1\u001b[31m\n<!channel>\u202e';
    cluster([
      task({ containers: [{ name: 'web\u0007', image: hostile }] }),
      sibling(1, { containers: [{ name: 'web', image: hostile }] }),
    ]);
    const result = await run(BASE);
    const json = JSON.stringify(result);
    // JSON.stringify would show a raw control character as \u00XX; U+202E it keeps raw.
    expect(json).not.toMatch(/\\u00[01][0-9a-f]|\u202e/i);
    expect(json).toContain('\\\\x1B[31m\\\\n');
    for (const note of result.notes) expect(note).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('stopTask: round trips', () => {
  it('sends StopTask, its tags and the reads that follow DescribeTasks at once; writes that must follow the stop wait for its answer', async () => {
    const answered: string[] = [];
    /** What had been answered when each call was sent. */
    const answeredAtSend = new Map<string, string[]>();
    /** A call that answers a few milliseconds after it is sent. */
    const slow = (name: string, value: object) => {
      answeredAtSend.set(name, [...answered]);
      return new Promise((resolve) =>
        setTimeout(() => {
          answered.push(name);
          resolve(value);
        }, 5),
      );
    };
    cluster([task(), sibling(1)]);
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .callsFake(() => slow('DescribeTaskDefinition', { taskDefinition: TASK_DEFINITION }));
    ecsMock
      .on(DescribeServicesCommand)
      .callsFake(() => slow('DescribeServices', { services: [SERVICE], failures: [] }));
    ecsMock
      .on(ListTasksCommand)
      .callsFake(() => slow('ListTasks', { taskArns: [TASK_ARN, arnOf(hexId(1))] }));
    ecsMock.on(StopTaskCommand).callsFake((input: { task?: string }) =>
      slow(input.task === TASK_ARN ? 'StopTask' : `StopTask ${input.task ?? ''}`, {
        task: { desiredStatus: 'STOPPED' },
      }),
    );
    ecsMock.on(TagResourceCommand).callsFake(() => slow('TagResource', {}));
    ecsMock.on(UpdateServiceCommand).callsFake(() => slow('UpdateService', {}));

    const result = await run(
      withActions(
        'ecs:capture-task',
        'ecs:stop-task',
        'ecs:stop-sibling-tasks',
        'ecs:scale-service-to-zero',
      ),
    );

    expect(result.outcomes.map((o) => [o.action, o.status])).toEqual([
      ['ecs:capture-task', 'contained'],
      ['ecs:stop-task', 'contained'],
      ['ecs:stop-sibling-tasks', 'contained'],
      ['ecs:scale-service-to-zero', 'contained'],
    ]);
    expect(sent()[0]).toBe('DescribeTasksCommand');
    // One wave after DescribeTasks: nothing waits for another answer.
    for (const call of [
      'StopTask',
      'TagResource',
      'DescribeTaskDefinition',
      'DescribeServices',
      'ListTasks',
    ]) {
      expect(answeredAtSend.get(call), call).toEqual([]);
    }
    // The sibling's stop and the scale to zero follow the finding's task's stop.
    for (const call of [`StopTask ${arnOf(hexId(1))}`, 'UpdateService']) {
      expect(answeredAtSend.get(call), call).toContain('StopTask');
    }
  });
});

describe('stopTask: tasks it must not stop', () => {
  it.each(['true', 'TRUE', '', 'yes'])(
    'skips a task that carries the exemption tag (value %j) without capturing or stopping',
    async (value) => {
      cluster([task({ tags: [{ key: 'guardduty-responder/exempt', value }] })]);
      const result = await run(BASE);
      expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped']);
      expect(result.outcomes[0]?.detail).toContain('exemption tag guardduty-responder/exempt');
      expect(sent()).toEqual(['DescribeTasksCommand']);
    },
  );

  it('does not treat the exemption tag with value "false" as an exemption', async () => {
    cluster([task({ tags: [{ key: 'guardduty-responder/exempt', value: 'False' }] })]);
    const result = await run(BASE);
    expect(outcomeOf(result, 'ecs:stop-task').status).toBe('contained');
  });

  it('does not take its own tags for proof of a stop: a task someone else stopped is skipped', async () => {
    cluster([
      task({
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stoppedReason: 'Task stopped by user',
        tags: [{ key: 'guardduty-responder:finding-id', value: FINDING }],
      }),
    ]);
    const result = await run(BASE);
    expect(outcomeOf(result, 'ecs:stop-task')).toMatchObject({
      status: 'skipped',
      detail: expect.stringContaining('stoppedReason: Task stopped by user'),
    });
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(TagResourceCommand)).toHaveLength(0);
  });

  it('recognises its own stop by the reason alone (a task whose tagging failed)', async () => {
    cluster([task({ lastStatus: 'STOPPING', desiredStatus: 'STOPPED', stoppedReason: REASON })]);
    const result = await run(BASE);
    expect(outcomeOf(result, 'ecs:stop-task')).toMatchObject({
      status: 'already-contained',
      detail: expect.stringContaining(FINDING),
    });
  });

  it('skips stopping a task stopped by someone else, says why, and still captures it', async () => {
    cluster([
      task({
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited\u001b[2J',
      }),
    ]);
    const result = await run(BASE);
    const stop = outcomeOf(result, 'ecs:stop-task');
    expect(stop.status).toBe('skipped');
    expect(stop.detail).toContain('already stopped');
    expect(stop.detail).toContain('EssentialContainerExited');
    expect(stop.detail).toContain('Essential container in task exited\\x1B[2J');
    expect(outcomeOf(result, 'ecs:capture-task')).toMatchObject({
      status: 'contained',
      detail: expect.stringContaining('already stopped task'),
    });
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  it.each([
    [
      'account',
      (r: RequestFor<'ecs-task'>) => void (r.accountId = '210987654321'),
      /account 210987654321/,
    ],
    ['region', (r: RequestFor<'ecs-task'>) => void (r.region = 'eu-west-1'), /region eu-west-1/],
    [
      'cluster',
      (r: RequestFor<'ecs-task'>) =>
        void (r.target.clusterArn = 'arn:aws:ecs:us-east-1:123456789012:cluster/other'),
      /names cluster prod-ecs, not the finding's cluster other/,
    ],
  ])(
    'skips a request whose task is not in the finding %s, before any call',
    async (_, change, why) => {
      const result = await run(fargate(change));
      expect(result.outcomes.every((o) => o.status === 'skipped')).toBe(true);
      expect(result.outcomes[0]?.detail).toMatch(why);
      expect(ecsMock.calls()).toHaveLength(0);
    },
  );

  it('skips when its ECS client calls another region than the finding', async () => {
    const result = await run(BASE, 'eu-west-1');
    expect(result.outcomes[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringContaining('calls ECS in eu-west-1'),
    });
    expect(ecsMock.calls()).toHaveLength(0);
  });

  it('skips when ECS describes the task in another cluster than the finding', async () => {
    cluster([task({ clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/other' })]);
    const result = await run(BASE);
    expect(result.outcomes[0]).toMatchObject({
      status: 'skipped',
      detail: expect.stringContaining("not in the finding's cluster"),
    });
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  it('fails every action, not retryable, when ECS reports the task MISSING', async () => {
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [], failures: [{ arn: TASK_ARN, reason: 'MISSING' }] });
    const result = await run(BASE);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ status: 'failed', retryable: false }),
      expect.objectContaining({ status: 'failed', retryable: false }),
    ]);
    expect(result.outcomes[0]?.detail).toContain(
      `task ${TASK_ARN} not found in cluster ${CLUSTER}`,
    );
    expect(result.outcomes[0]?.detail).toContain('MISSING');
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  it('fails when ECS returns neither the task nor a failure (as moto does)', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [], failures: [] });
    const result = await run(BASE);
    expect(result.outcomes[0]).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringContaining('neither the resource nor a failure'),
    });
  });

  it('fails closed when DescribeTasks is denied: nothing is stopped', async () => {
    ecsMock
      .on(DescribeTasksCommand)
      .rejects(
        new AccessDeniedException({ message: 'denied', $metadata: { httpStatusCode: 400 } }),
      );
    const result = await run(BASE);
    expect(result.outcomes.every((o) => o.status === 'failed' && o.retryable === false)).toBe(true);
    expect(result.outcomes[0]?.detail).toContain('exemption could not be checked');
    expect(result.outcomes[0]?.detail).toContain('ecs:DescribeTasks');
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });
});

describe('stopTask: failures of single steps', () => {
  it('still stops the task when the evidence capture fails, and reports the capture as failed', async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(
      new AccessDeniedException({
        message:
          'User: arn:aws:sts::123456789012:assumed-role/stop-task is not authorized to perform: ecs:DescribeTaskDefinition',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const result = await run(BASE);
    const capture = outcomeOf(result, 'ecs:capture-task');
    expect(capture).toMatchObject({ status: 'failed', retryable: false });
    expect(capture.detail).toContain('ecs:DescribeTaskDefinition');
    expect((capture.evidence as any).task.taskArn).toBe(TASK_ARN);
    expect(outcomeOf(result, 'ecs:stop-task').status).toBe('contained');
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(1);
  });

  it('reports the capture as failed and retryable when the service cannot be described (throttled)', async () => {
    ecsMock
      .on(DescribeServicesCommand)
      .rejects(
        Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }),
      );
    const result = await run(BASE);
    expect(outcomeOf(result, 'ecs:capture-task')).toMatchObject({
      status: 'failed',
      retryable: true,
      detail: expect.stringContaining('DescribeServices for web failed: ThrottlingException'),
    });
    expect((outcomeOf(result, 'ecs:capture-task').evidence as any).taskDefinition.family).toBe(
      'web',
    );
    expect(outcomeOf(result, 'ecs:stop-task').status).toBe('contained');
  });

  it('reports an AccessDenied StopTask as failed, not retryable, naming ecs:StopTask, and withdraws the tags', async () => {
    ecsMock
      .on(StopTaskCommand)
      .rejects(
        new AccessDeniedException({ message: 'Access denied', $metadata: { httpStatusCode: 400 } }),
      );
    ecsMock.on(UntagResourceCommand).resolves({});
    const result = await run(BASE);
    const stop = outcomeOf(result, 'ecs:stop-task');
    expect(stop).toMatchObject({ status: 'failed', retryable: false });
    expect(stop.detail).toContain('ecs:StopTask');
    expect(stop.detail).toContain('may still be running');
    expect(stop.detail).toContain('the tags sent with the stop were removed');
    expect(ecsMock.commandCalls(UntagResourceCommand).map((c) => c.args[0].input)).toEqual([
      {
        resourceArn: TASK_ARN,
        tagKeys: [
          'guardduty-responder:quarantined-by',
          'guardduty-responder:finding-id',
          'guardduty-responder:contained-at',
        ],
      },
    ]);
    expect(result.release).toBeUndefined();
  });

  it('says so when the tags of a failed stop cannot be withdrawn', async () => {
    ecsMock.on(StopTaskCommand).rejects(
      Object.assign(new Error('service unavailable'), {
        name: 'ServerException',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    ecsMock
      .on(UntagResourceCommand)
      .rejects(new AccessDeniedException({ message: 'no', $metadata: { httpStatusCode: 400 } }));
    const stop = outcomeOf(await run(BASE), 'ecs:stop-task');
    expect(stop).toMatchObject({ status: 'failed', retryable: true });
    expect(stop.detail).toMatch(
      /could not be removed, so the task wrongly carries guardduty-responder:contained-at: .*ecs:UntagResource/,
    );
  });

  it('does not withdraw tags it could not write when the stop fails', async () => {
    ecsMock.on(StopTaskCommand).resolves({ task: { desiredStatus: 'RUNNING' } });
    ecsMock
      .on(TagResourceCommand)
      .rejects(new AccessDeniedException({ message: 'no', $metadata: { httpStatusCode: 400 } }));
    const stop = outcomeOf(await run(BASE), 'ecs:stop-task');
    expect(stop).toMatchObject({ status: 'failed', retryable: true });
    expect(ecsMock.commandCalls(UntagResourceCommand)).toHaveLength(0);
  });

  it('keeps a successful stop contained when tagging fails, and says so', async () => {
    ecsMock
      .on(TagResourceCommand)
      .rejects(new AccessDeniedException({ message: 'no', $metadata: { httpStatusCode: 400 } }));
    const result = await run(BASE);
    const stop = outcomeOf(result, 'ecs:stop-task');
    expect(stop.status).toBe('contained');
    expect(stop.detail).toContain('tagging failed');
    expect(stop.detail).toContain('ecs:TagResource');
    expect(stop.evidence).toMatchObject({ tagged: false });
  });

  it('does not tag a task with an old-format ARN (ECS cannot), but stops it', async () => {
    const oldArn = 'arn:aws:ecs:us-east-1:123456789012:task/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9';
    const request = fargate((r) => void (r.target.taskArn = oldArn));
    cluster([task({ taskArn: oldArn })]);
    const result = await run(request);
    expect(outcomeOf(result, 'ecs:stop-task')).toMatchObject({
      status: 'contained',
      detail: expect.stringContaining('old format'),
    });
    expect(ecsMock.commandCalls(TagResourceCommand)).toHaveLength(0);
  });

  it('does not report success when StopTask answers with a task that is not stopping', async () => {
    ecsMock.on(StopTaskCommand).resolves({ task: { desiredStatus: 'RUNNING' } });
    const result = await run(BASE);
    expect(outcomeOf(result, 'ecs:stop-task')).toMatchObject({ status: 'failed', retryable: true });
  });
});

describe('stopTask: dry run', () => {
  it('only describes, and reports each planned action as dry-run with what it would do', async () => {
    const request = fargate((r) => {
      r.dryRun = true;
      r.actions = [
        'ecs:capture-task',
        'ecs:stop-task',
        'ecs:stop-sibling-tasks',
        'ecs:scale-service-to-zero',
      ];
    });
    cluster([task(), sibling(1)]);
    const result = await run(request);
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'dry-run',
      'dry-run',
      'dry-run',
      'dry-run',
    ]);
    expect(outcomeOf(result, 'ecs:stop-task').detail).toContain(
      `would stop task ${TASK_ARN} with reason "${REASON}"`,
    );
    expect(outcomeOf(result, 'ecs:stop-sibling-tasks').detail).toContain(
      `would stop 1 other task(s)`,
    );
    expect(outcomeOf(result, 'ecs:scale-service-to-zero').detail).toContain(
      'would set the desired count of service web from 3 to 0',
    );
    expect(new Set(sent())).toEqual(
      new Set([
        'DescribeTasksCommand',
        'DescribeTaskDefinitionCommand',
        'DescribeServicesCommand',
        'ListTasksCommand',
      ]),
    );
    expect(result.release).toBeUndefined();
  });
});

describe('stopTask: tasks that run the same image', () => {
  it('lists the other running tasks with the same image digest, ignoring the GuardDuty agent sidecar', async () => {
    cluster([
      task(),
      sibling(1),
      sibling(2, {
        containers: [
          { name: 'api', image: 'other:1', imageDigest: `sha256:${'b'.repeat(64)}` },
          GUARDDUTY_AGENT,
        ],
      }),
      sibling(3, { desiredStatus: 'STOPPED', lastStatus: 'STOPPED' }),
      sibling(4, { clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod-ecs-2' }),
    ]);
    const result = await run(BASE);
    const note = result.notes.find((n) => n.includes('run the same image'));
    expect(note).toContain(`1 other task(s) in the cluster run the same image (${DIGEST})`);
    expect(note).toContain(hexId(1));
    expect(note).not.toContain(hexId(2));
    expect(note).toContain('left running');
    expect(ecsMock.commandCalls(ListTasksCommand)[0]?.args[0].input).toMatchObject({
      cluster: CLUSTER,
      desiredStatus: 'RUNNING',
    });
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(1);
  });

  it('compares by image reference when ECS gives no digest, and says so', async () => {
    const noDigest = [{ name: 'web', image: IMAGE }];
    cluster([task({ containers: noDigest }), sibling(1, { containers: noDigest })]);
    const result = await run(BASE);
    expect(result.notes.some((n) => n.includes(`run the same image (${IMAGE})`))).toBe(true);
    expect(result.notes.some((n) => n.includes('compared by image reference'))).toBe(true);
  });

  it('describes the listed tasks in batches of 100, following ListTasks pages', async () => {
    const others = Array.from({ length: 150 }, (_, i) => sibling(i + 1));
    const all = [task(), ...others];
    cluster(all);
    ecsMock.on(ListTasksCommand).callsFake((input: ListTasksCommandInput) => {
      const arns = all.map((t) => t.taskArn);
      return input.nextToken
        ? { taskArns: arns.slice(100) }
        : { taskArns: arns.slice(0, 100), nextToken: 'page-2' };
    });
    const result = await run(withActions('ecs:capture-task'));
    const batches = ecsMock
      .commandCalls(DescribeTasksCommand)
      .slice(1)
      .map((c) => c.args[0].input.tasks?.length);
    expect(batches).toEqual([100, 50]);
    expect(
      result.notes.some((n) => n.startsWith('150 other task(s)') && n.includes('and 140 more')),
    ).toBe(true);
  });

  it('stops no sibling and fails when the cluster has more running tasks than it compares', async () => {
    let page = 0;
    ecsMock.on(ListTasksCommand).callsFake(() => {
      page += 1;
      const arns = Array.from({ length: 100 }, (_, i) => arnOf(hexId(page * 1000 + i)));
      return { taskArns: arns, nextToken: `page-${page + 1}` };
    });
    const result = await run(withActions('ecs:stop-task', 'ecs:stop-sibling-tasks'));
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(10);
    expect(outcomeOf(result, 'ecs:stop-sibling-tasks')).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringContaining('more than 1000 running tasks'),
    });
    expect(result.notes).toContain(
      'only the first 1000 running tasks of the cluster were compared',
    );
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(1);
  });

  it('stops the siblings with the same reason when the policy asks, but never an exempt one', async () => {
    cluster([
      task(),
      sibling(1),
      sibling(2, { tags: [{ key: 'guardduty-responder/exempt', value: 'true' }] }),
    ]);
    const result = await run(
      withActions('ecs:capture-task', 'ecs:stop-task', 'ecs:stop-sibling-tasks'),
    );
    const siblings = outcomeOf(result, 'ecs:stop-sibling-tasks');
    expect(siblings.status).toBe('contained');
    expect(siblings.detail).toContain('stopped 1 other task(s)');
    expect(siblings.detail).toContain('1 exempt (left running)');
    expect(ecsMock.commandCalls(StopTaskCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CLUSTER, task: TASK_ARN, reason: REASON },
      { cluster: CLUSTER, task: arnOf(hexId(1)), reason: REASON },
    ]);
  });

  it('reports contained when no other task runs the image, and failed when a sibling stop fails', async () => {
    const alone = await run(withActions('ecs:stop-task', 'ecs:stop-sibling-tasks'));
    expect(outcomeOf(alone, 'ecs:stop-sibling-tasks')).toMatchObject({
      status: 'contained',
      detail: expect.stringContaining('nothing to stop'),
    });

    cluster([task(), sibling(1), sibling(2)]);
    ecsMock
      .on(StopTaskCommand, { task: arnOf(hexId(2)) })
      .rejects(
        Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }),
      );
    const partial = await run(withActions('ecs:stop-task', 'ecs:stop-sibling-tasks'));
    expect(outcomeOf(partial, 'ecs:stop-sibling-tasks')).toMatchObject({
      status: 'failed',
      retryable: true,
      detail: expect.stringContaining('stopped 1 of 2 sibling task(s)'),
    });
    expect(outcomeOf(partial, 'ecs:stop-task').status).toBe('contained');
  });

  it('fails the sibling action when the tasks cannot be listed', async () => {
    ecsMock
      .on(ListTasksCommand)
      .rejects(
        new AccessDeniedException({ message: 'denied', $metadata: { httpStatusCode: 400 } }),
      );
    const result = await run(withActions('ecs:stop-task', 'ecs:stop-sibling-tasks'));
    expect(outcomeOf(result, 'ecs:stop-sibling-tasks')).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringContaining('ecs:ListTasks'),
    });
    expect(outcomeOf(result, 'ecs:stop-task').status).toBe('contained');
  });
});

describe('stopTask: scale the service to zero', () => {
  const scaleRequest = () =>
    withActions('ecs:capture-task', 'ecs:stop-task', 'ecs:scale-service-to-zero');

  it('sets the desired count to 0, records the previous count and how to restore it', async () => {
    const result = await run(scaleRequest());
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CLUSTER, service: 'web', desiredCount: 0 },
    ]);
    expect(outcomeOf(result, 'ecs:scale-service-to-zero')).toMatchObject({
      status: 'contained',
      evidence: { previousDesiredCount: 3, serviceName: 'web' },
    });
    expect(result.release).toContain(
      `aws ecs update-service --region us-east-1 --cluster ${CLUSTER} --service web --desired-count 3`,
    );
    expect(result.notes[0]).toContain('scaled to zero, so no replacement starts');
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(1);
  });

  it('reports already-contained when the service is already at zero', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ ...SERVICE, desiredCount: 0 }] });
    const result = await run(scaleRequest());
    expect(outcomeOf(result, 'ecs:scale-service-to-zero').status).toBe('already-contained');
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it.each([
    [{ group: 'family:web', startedBy: 'someone' }, 'does not belong to a service'],
    [{ group: undefined }, 'group names no service'],
    [{ startedBy: 'ci-pipeline' }, 'not started by a service deployment'],
    [{ startedBy: 'ecs-svc/999' }, 'is not a deployment of service web'],
    [{ group: 'service:web;rm -rf /' }, 'group names no service'],
  ])(
    'skips scaling when the task does not provably belong to the service (%j)',
    async (change, why) => {
      cluster([task(change)]);
      const result = await run(scaleRequest());
      expect(outcomeOf(result, 'ecs:scale-service-to-zero')).toMatchObject({
        status: 'skipped',
        detail: expect.stringContaining(why),
      });
      expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    },
  );

  it('fails the scale action (and flags capture incomplete) when the service is missing', async () => {
    ecsMock
      .on(DescribeServicesCommand)
      .resolves({ services: [], failures: [{ arn: SERVICE.serviceArn, reason: 'MISSING' }] });
    const result = await run(scaleRequest());
    expect(outcomeOf(result, 'ecs:scale-service-to-zero')).toMatchObject({
      status: 'failed',
      retryable: false,
    });
    expect(outcomeOf(result, 'ecs:capture-task')).toMatchObject({
      status: 'failed',
      retryable: false,
    });
    expect(outcomeOf(result, 'ecs:stop-task').status).toBe('contained');
  });

  it('reports an UpdateService failure as failed, naming the permission', async () => {
    ecsMock
      .on(UpdateServiceCommand)
      .rejects(new AccessDeniedException({ message: 'no', $metadata: { httpStatusCode: 400 } }));
    const result = await run(scaleRequest());
    expect(outcomeOf(result, 'ecs:scale-service-to-zero')).toMatchObject({
      status: 'failed',
      retryable: false,
      detail: expect.stringContaining('ecs:UpdateService'),
    });
    expect(result.release).not.toContain('update-service');
  });
});

describe('stopTask: permissions', () => {
  /** The IAM actions behind the commands sent: `StopTaskCommand` → `ecs:StopTask`. */
  const calledIamActions = () =>
    new Set(sent().map((name) => `ecs:${name.replace(/Command$/, '')}`));

  it.each([
    [['ecs:capture-task', 'ecs:stop-task', 'ecs:stop-sibling-tasks', 'ecs:scale-service-to-zero']],
    [['ecs:stop-task']],
    [['ecs:capture-task']],
    [['ecs:stop-task', 'ecs:scale-service-to-zero']],
    [['ecs:stop-sibling-tasks']],
  ] as ActionId[][][])(
    'calls only what the requested actions declare in the registry (%j)',
    async (actions) => {
      cluster([task(), sibling(1)]);
      await run(withActions(...actions));
      const declared = new Set(actions.flatMap((action) => ACTIONS[action].iamActions));
      expect([...calledIamActions()].filter((action) => !declared.has(action))).toEqual([]);
    },
  );

  it('declares nothing it never calls (capture, stop, siblings and scale; then a failed stop)', async () => {
    cluster([task(), sibling(1)]);
    const all = withActions(
      'ecs:capture-task',
      'ecs:stop-task',
      'ecs:stop-sibling-tasks',
      'ecs:scale-service-to-zero',
    );
    await run(all);
    // Withdrawing the tags (UntagResource) happens only when the stop fails.
    ecsMock.on(StopTaskCommand).rejects(new Error('boom'));
    ecsMock.on(UntagResourceCommand).resolves({});
    await run(all);
    const declared = new Set(
      (
        [
          'ecs:capture-task',
          'ecs:stop-task',
          'ecs:stop-sibling-tasks',
          'ecs:scale-service-to-zero',
        ] as const
      ).flatMap((action) => ACTIONS[action].iamActions),
    );
    expect(calledIamActions()).toEqual(declared);
  });

  it('does not promise a replacement-free service or a release when the stop failed', async () => {
    ecsMock.on(StopTaskCommand).rejects(
      Object.assign(new Error('boom'), {
        name: 'ServerException',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    const result = await run(BASE);
    expect(outcomeOf(result, 'ecs:stop-task')).toMatchObject({ status: 'failed', retryable: true });
    expect(result.notes[0]).toBe(
      'the task belongs to service web: when the task stops, the service will start a replacement from the same image',
    );
    expect(result.release).toBeUndefined();
  });
});

describe('handler and live entry points', () => {
  it('handler validates the request and returns the result; a bad request throws BadRequestError', async () => {
    process.env.AWS_REGION = 'us-east-1';
    await expect(handler({ version: 1 })).rejects.toBeInstanceOf(BadRequestError);
    const ec2 = containmentRequest(
      evaluate(loadEvent('ec2-suspicious-command.json'), defaultPolicy()),
      defaultPolicy(),
    );
    expect(ec2).not.toBeNull();
    await expect(handler(ec2)).rejects.toThrow(/contains ecs-task targets/);
    const result = await handler(JSON.parse(JSON.stringify(BASE)));
    expect(ContainmentResultSchema.parse(result).outcomes.map((o) => o.status)).toEqual([
      'contained',
      'contained',
    ]);
  });

  it('containLive runs the same containment with a client for the request region', async () => {
    const result = await containLive(BASE, {});
    expect(result.outcomes.map((o) => o.status)).toEqual(['contained', 'contained']);
    await expect(
      containLive(
        { ...BASE, target: { surface: 'ec2-instance', instanceId: 'i-0123456789abcdef0' } },
        {},
      ),
    ).rejects.toBeInstanceOf(BadRequestError);
  });
});
