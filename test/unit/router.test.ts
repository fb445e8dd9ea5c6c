import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ContainmentRequestSchema,
  type ContainmentRequest,
  type ContainmentResult,
} from '../../shared/contracts.js';
import { defaultPolicy } from '../../shared/policy.js';
import { depsFromEnv, handler } from '../../functions/router/handler.js';
import {
  ContainmentFailedError,
  respond,
  type RouterDeps,
} from '../../functions/router/respond.js';
import { loadEvent, policyWith } from '../helpers.js';
import { MemoryStore } from '../fakes/memory-store.js';
import { DynamoResponseStore } from '../../functions/router/store.js';
import { lambdaContainment } from '../../functions/router/containment.js';
import { snsAlerts } from '../../functions/router/publish.js';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:gdrr-alerts';
const lambdaMock = mockClient(LambdaClient);
const snsMock = mockClient(SNSClient);

const FUNCTION_NAMES = {
  'eks-pod': 'gdrr-isolate-pod',
  'ecs-task': 'gdrr-stop-task',
  'ec2-instance': 'gdrr-quarantine-ec2',
};

/** The router's deps with its real Lambda and SNS ports on mocked clients. */
function deps(
  overrides: Partial<RouterDeps> & {
    containmentTimeoutMs?: number;
    functionNames?: Partial<typeof FUNCTION_NAMES>;
  } = {},
): RouterDeps {
  const { containmentTimeoutMs = 5000, functionNames = FUNCTION_NAMES, ...rest } = overrides;
  return {
    policy: defaultPolicy(),
    contain: lambdaContainment(
      new LambdaClient({ region: 'us-east-1' }),
      functionNames,
      containmentTimeoutMs,
    ),
    publish: snsAlerts(new SNSClient({ region: 'us-east-1' }), TOPIC),
    store: new MemoryStore(),
    logger: new Logger({ logLevel: 'SILENT' }),
    ...rest,
  };
}

// The SDK wraps payloads in a blob adapter; a plain Uint8Array is what goes over the wire.
const payload = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

/** A containment function that reports every requested action as `status`. */
function answerAll(
  status: 'contained' | 'dry-run' | 'skipped' | 'failed',
  extra: Partial<ContainmentResult> = {},
) {
  lambdaMock.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
    const request = JSON.parse(new TextDecoder().decode(input.Payload)) as ContainmentRequest;
    const result: ContainmentResult = {
      findingId: request.findingId,
      outcomes: request.actions.map((action) => ({
        action,
        status,
        detail: `${action} ${status}`,
        ...(status === 'failed' ? { retryable: true } : {}),
      })),
      notes: [],
      ...extra,
    };
    return { StatusCode: 200, Payload: payload(result) };
  });
}

const published = () => snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input);
const invoked = () => lambdaMock.commandCalls(InvokeCommand).map((call) => call.args[0].input);
const sentRequest = () =>
  JSON.parse(new TextDecoder().decode(invoked()[0]!.Payload as Uint8Array)) as unknown;

beforeEach(() => {
  lambdaMock.reset();
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: 'msg-1' });
});

describe('router: contained', () => {
  it('invokes the surface function with a narrow request and publishes one CONTAINED alert', async () => {
    answerAll('contained', { release: 'kubectl ...', notes: ['a note from the function'] });
    const result = await respond(loadEvent('eks-reverse-shell.json'), deps());
    expect(result).toMatchObject({
      decision: 'contain',
      status: 'CONTAINED',
      alertMessageId: 'msg-1',
    });
    expect(invoked()).toHaveLength(1);
    expect(invoked()[0]).toMatchObject({
      FunctionName: 'gdrr-isolate-pod',
      InvocationType: 'RequestResponse',
    });
    const request = ContainmentRequestSchema.parse(sentRequest());
    expect(request.actions).toEqual(['eks:label-pod', 'eks:isolate-pod-network']);
    expect(published()).toHaveLength(1);
    const message = published()[0]!;
    expect(message).toMatchObject({ TopicArn: TOPIC, MessageStructure: 'json' });
    expect(message.Subject).toMatch(
      /^\[HIGH\] CONTAINED: Execution:Runtime\/ReverseShell on payments\//,
    );
    const bodies = JSON.parse(message.Message!) as Record<string, string>;
    expect(bodies.email).toBe(bodies.default);
    expect(bodies.default).toContain('[contained] eks:label-pod');
    expect(bodies.default).toContain('note: a note from the function');
    expect(JSON.parse(bodies.https!)).toMatchObject({ version: '1.0', source: 'custom' });
  });

  it('routes each surface to its own function', async () => {
    answerAll('contained');
    await respond(loadEvent('ecs-fargate-crypto-miner.json'), deps());
    await respond(loadEvent('ec2-suspicious-command.json'), deps());
    await respond(loadEvent('container-docker-socket.json'), deps());
    expect(invoked().map((input) => input.FunctionName)).toEqual([
      'gdrr-stop-task',
      'gdrr-quarantine-ec2',
      'gdrr-quarantine-ec2',
    ]);
  });

  it('never sends attacker text to the containment function', async () => {
    answerAll('contained');
    await respond(loadEvent('eks-hostile-fields.json'), deps());
    const raw = new TextDecoder().decode(invoked()[0]!.Payload as Uint8Array);
    expect(raw).not.toMatch(/kworker|channel|evil|script/);
    expect(Object.keys(sentRequest() as object).sort()).toEqual([
      'accountId',
      'actions',
      'dryRun',
      'eks',
      'exemptionKey',
      'findingId',
      'findingType',
      'hostCompromise',
      'region',
      'severity',
      'target',
      'version',
    ]);
  });

  it('passes dry run from the policy and reports DRY RUN', async () => {
    answerAll('dry-run');
    const result = await respond(
      loadEvent('ec2-suspicious-command.json'),
      deps({ policy: policyWith((p) => (p.dryRun = true)) }),
    );
    expect(sentRequest()).toMatchObject({ dryRun: true });
    expect(result.status).toBe('DRY RUN');
  });
});

describe('router: not contained', () => {
  it('notify: one alert with the reason and no invoke', async () => {
    const result = await respond(loadEvent('eks-kube-system-crypto-miner.json'), deps());
    expect(result).toMatchObject({ decision: 'notify', status: 'NOT CONTAINED' });
    expect(invoked()).toHaveLength(0);
    expect(published()).toHaveLength(1);
    expect(published()[0]!.Message).toContain('namespace kube-system is protected by policy');
  });

  it('ignore and reject: no invoke, no alert, no error', async () => {
    expect(await respond(loadEvent('archived-ec2-reverse-shell.json'), deps())).toMatchObject({
      decision: 'ignore',
      alertMessageId: null,
    });
    expect(await respond({ not: 'a finding' }, deps())).toMatchObject({ decision: 'reject' });
    expect(await respond('garbage', deps())).toMatchObject({ decision: 'reject' });
    expect(invoked()).toHaveLength(0);
    expect(published()).toHaveLength(0);
  });

  it('skipped by the function: NOT CONTAINED, no error', async () => {
    answerAll('skipped');
    await expect(respond(loadEvent('ec2-suspicious-command.json'), deps())).resolves.toMatchObject({
      status: 'NOT CONTAINED',
    });
  });
});

describe('router: containment failed -> CONTAINMENT FAILED alert, then the invocation fails', () => {
  /**
   * A retryable failure fails the invocation (retry, then dead-letter); a final one is
   * alerted once and recorded, and the invocation succeeds. Either way: one alert.
   */
  async function expectFailure(event: unknown, text: RegExp, routerDeps = deps()) {
    const outcome = await respond(event, routerDeps).catch((e: unknown) => e);
    if (outcome instanceof ContainmentFailedError) {
      expect(outcome.retryable).toBe(true);
    } else {
      expect(outcome).toMatchObject({ status: 'CONTAINMENT FAILED' });
    }
    expect(published()).toHaveLength(1);
    const message = published()[0]!;
    expect(message.Subject).toContain('CONTAINMENT FAILED');
    expect((JSON.parse(message.Message!) as { default: string }).default).toMatch(text);
    return outcome instanceof ContainmentFailedError ? outcome : null;
  }

  it('an action failed', async () => {
    answerAll('failed');
    const error = await expectFailure(
      loadEvent('ec2-suspicious-command.json'),
      /\[failed\] ec2:quarantine-instance/,
    );
    expect(error?.retryable).toBe(true);
  });

  it('the function raised an error', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'Error', errorMessage: 'boom' }),
    });
    await expectFailure(
      loadEvent('ecs-fargate-crypto-miner.json'),
      /gdrr-stop-task raised Unhandled error: .*boom/,
    );
  });

  it('the invoke call failed (throttled)', async () => {
    lambdaMock
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    const error = await expectFailure(
      loadEvent('eks-reverse-shell.json'),
      /invoking gdrr-isolate-pod failed: TooManyRequestsException: Rate exceeded/,
    );
    expect(error?.retryable).toBe(true);
  });

  it('the router may not invoke the function: alerted once, not retried', async () => {
    lambdaMock.on(InvokeCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: lambda:InvokeFunction'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const error = await expectFailure(
      loadEvent('eks-reverse-shell.json'),
      /missing permission: lambda:InvokeFunction/,
    );
    expect(error).toBeNull();
  });

  it('the function does not exist: alerted once, not retried', async () => {
    lambdaMock.on(InvokeCommand).rejects(
      Object.assign(
        new Error(
          'Function not found: arn:aws:lambda:us-east-1:123456789012:function:gdrr-isolate-pod',
        ),
        {
          name: 'ResourceNotFoundException',
          $fault: 'client',
          $metadata: { httpStatusCode: 404 },
        },
      ),
    );
    const error = await expectFailure(
      loadEvent('eks-reverse-shell.json'),
      /invoking gdrr-isolate-pod failed: ResourceNotFoundException/,
    );
    expect(error).toBeNull();
  });

  it('the call timed out', async () => {
    lambdaMock.on(InvokeCommand).callsFake(() => new Promise(() => {}));
    await expectFailure(
      loadEvent('eks-reverse-shell.json'),
      /invoking gdrr-isolate-pod failed: TimeoutError: no answer within 50 ms/,
      deps({ containmentTimeoutMs: 50 }),
    );
  });

  it('the answer does not match the contract', async () => {
    lambdaMock
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload({ outcomes: 'all good' }) });
    await expectFailure(loadEvent('eks-reverse-shell.json'), /does not match the contract/);
  });

  it('the answer is for another finding', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({ findingId: 'ffff', outcomes: [], notes: [] }),
    });
    await expectFailure(loadEvent('eks-reverse-shell.json'), /answered for finding ffff/);
  });

  it('an action is missing from the answer', async () => {
    lambdaMock.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
      const request = JSON.parse(new TextDecoder().decode(input.Payload)) as ContainmentRequest;
      return {
        Payload: payload({
          findingId: request.findingId,
          outcomes: [{ action: 'eks:label-pod', status: 'contained', detail: 'ok' }],
          notes: [],
        }),
      };
    });
    await expectFailure(
      loadEvent('eks-reverse-shell.json'),
      /\[failed\] eks:isolate-pod-network: no outcome reported/,
    );
  });

  it('no function is configured for the surface', async () => {
    await expectFailure(
      loadEvent('eks-reverse-shell.json'),
      /no containment function is configured for eks-pod/,
      deps({ functionNames: {} }),
    );
    expect(invoked()).toHaveLength(0);
  });

  it('sanitizes what the function reports', async () => {
    answerAll('failed');
    lambdaMock.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
      const request = JSON.parse(new TextDecoder().decode(input.Payload)) as ContainmentRequest;
      return {
        Payload: payload({
          findingId: request.findingId,
          outcomes: [
            {
              action: 'ec2:quarantine-instance',
              status: 'failed',
              retryable: false,
              detail: 'tag <!channel>\n\u202E',
            },
          ],
          notes: [],
        }),
      };
    });
    await expectFailure(loadEvent('ec2-suspicious-command.json'), /tag <!channel>\\n\\u202E/);
    const slack = JSON.parse(JSON.parse(published()[0]!.Message!).https) as {
      content: { description: string };
    };
    expect(slack.content.description).toContain('&lt;!channel&gt;');
  });
});

describe('router: alert delivery', () => {
  it('an SNS failure fails the invocation (the event is retried)', async () => {
    snsMock.on(PublishCommand).rejects(new Error('SNS down'));
    await expect(respond(loadEvent('eks-kube-system-crypto-miner.json'), deps())).rejects.toThrow(
      'SNS down',
    );
  });
});

describe('router: handler and configuration', () => {
  it('refuses to start with a bad environment, naming the key', () => {
    expect(() => depsFromEnv({ ALERT_TOPIC_ARN: 'not-an-arn' })).toThrow(/ALERT_TOPIC_ARN/);
    expect(() => depsFromEnv({ ALERT_TOPIC_ARN: TOPIC, CONTAINMENT_TIMEOUT_MS: '-1' })).toThrow(
      /CONTAINMENT_TIMEOUT_MS/,
    );
  });

  it('fails closed on an invalid policy file: starts, contains nothing, alerts why', async () => {
    const configured = depsFromEnv({
      ALERT_TOPIC_ARN: TOPIC,
      STATE_TABLE: 'gdrr-state',
      POLICY_PATH: '/nonexistent/policy.json',
    });
    expect(configured.policyError).toMatch(/cannot read policy file/);
    answerAll('contained');
    const result = await respond(loadEvent('eks-reverse-shell.json'), {
      ...deps(),
      policy: configured.policy,
      policyError: configured.policyError,
    });
    expect(result).toMatchObject({ decision: 'notify', status: 'NOT CONTAINED' });
    expect(invoked()).toHaveLength(0);
    expect(published()[0]!.Message).toContain("the responder's policy could not be loaded");
  });

  it('a partial policy file is laid over the default; one with an unknown key fails closed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-router-'));
    const env = (policy: unknown) => {
      const path = join(dir, `${Math.random()}.json`);
      writeFileSync(path, JSON.stringify(policy));
      return { ALERT_TOPIC_ARN: TOPIC, STATE_TABLE: 'gdrr-state', POLICY_PATH: path };
    };
    const partial = depsFromEnv(env({ surfaces: { 'ec2-instance': { mode: 'notify' } } }));
    expect(partial.policyError).toBeUndefined();
    expect(partial.policy).toEqual(
      policyWith((policy) => (policy.surfaces['ec2-instance'].mode = 'notify')),
    );
    const typo = depsFromEnv(env({ surfaces: { 'ec2-instance': { mod: 'notify' } } }));
    expect(typo.policyError).toMatch(
      /invalid policy in .*surfaces\.ec2-instance: Unrecognized key: "mod"/,
    );
  });

  it('the exported handler runs end to end from the environment', async () => {
    process.env.ALERT_TOPIC_ARN = TOPIC;
    process.env.STATE_TABLE = 'gdrr-state';
    process.env.QUARANTINE_EC2_FUNCTION = 'gdrr-quarantine-ec2';
    const dynamoMock = mockClient(DynamoDBClient);
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    process.env.AWS_REGION = 'us-east-1';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    answerAll('contained');
    await expect(handler(loadEvent('ec2-suspicious-command.json'))).resolves.toMatchObject({
      status: 'CONTAINED',
    });
    expect(invoked()[0]!.FunctionName).toBe('gdrr-quarantine-ec2');
    expect(dynamoMock.commandCalls(PutItemCommand)[0]!.args[0].input).toMatchObject({
      TableName: 'gdrr-state',
      ConditionExpression: expect.stringContaining('attribute_not_exists(pk)'),
    });
    dynamoMock.restore();
  });
});

describe('router: at-least-once delivery, budget and failures', () => {
  it('a re-delivery does not contain again; it sends one "still active" update per interval', async () => {
    answerAll('contained');
    const store = new MemoryStore();
    let now = Date.parse('2026-07-14T10:00:00Z');
    const routerDeps = deps({ store, now: () => now });
    await respond(loadEvent('eks-reverse-shell.json'), routerDeps);
    const again = loadEvent('eks-repeat-delivery.json');
    now += 10 * 60_000;
    expect(await respond(again, routerDeps)).toMatchObject({
      status: 'DUPLICATE',
      alertMessageId: null,
    });
    now += 60 * 60_000;
    expect(await respond(again, routerDeps)).toMatchObject({
      status: 'DUPLICATE',
      alertMessageId: 'msg-1',
    });
    expect(await respond(again, routerDeps)).toMatchObject({
      status: 'DUPLICATE',
      alertMessageId: null,
    });
    expect(invoked()).toHaveLength(1);
    expect(published().map((m) => m.Subject)).toEqual([
      expect.stringContaining('CONTAINED'),
      expect.stringMatching(/^\[HIGH\] STILL ACTIVE \(seen 7x\)/),
    ]);
  });

  /** An EC2 finding about instance number `i` of account `account`, with its own finding id. */
  function instanceFinding(i: number, account = '123456789012') {
    const event = loadEvent('ec2-suspicious-command.json');
    event.detail.id = `${account.slice(-4)}${i}`.padStart(32, 'b');
    event.detail.accountId = account;
    event.detail.resource.instanceDetails.instanceId = `i-0${`${i}`.padStart(16, '0')}`;
    return event;
  }

  it('the budget caps containments per surface across accounts; one loud alert; the rest notify', async () => {
    answerAll('contained');
    const store = new MemoryStore();
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 2));
    const results = [];
    for (let i = 0; i < 5; i += 1) {
      const account = `${i}`.repeat(12);
      results.push(await respond(instanceFinding(i, account), deps({ store, policy })));
    }
    expect(results.map((r) => r.status)).toEqual([
      'CONTAINED',
      'CONTAINED',
      'NOT CONTAINED',
      'NOT CONTAINED',
      'NOT CONTAINED',
    ]);
    expect(results.map((r) => r.budget?.outcome)).toEqual([
      'taken',
      'taken',
      'surface-exhausted',
      'surface-exhausted',
      'surface-exhausted',
    ]);
    expect(invoked()).toHaveLength(2);
    const subjects = published().map((m) => m.Subject!);
    expect(subjects.filter((s) => s.includes('BUDGET EXHAUSTED'))).toHaveLength(1);
    expect(
      published().filter((m) => m.Message!.includes('blast-radius budget used up')),
    ).toHaveLength(3);
  });

  it("one account uses at most its share; another account's instance is still contained", async () => {
    answerAll('contained');
    const store = new MemoryStore();
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 4));
    const results = [];
    for (let i = 0; i < 4; i += 1)
      results.push(await respond(instanceFinding(i), deps({ store, policy })));
    results.push(await respond(instanceFinding(9, '210987654321'), deps({ store, policy })));
    expect(results.map((r) => r.budget?.outcome)).toEqual([
      'taken',
      'taken',
      'scope-exhausted',
      'scope-exhausted',
      'taken',
    ]);
    const loud = published().filter((m) => m.Subject!.includes('BUDGET EXHAUSTED'));
    expect(loud).toHaveLength(1);
    expect(loud[0]!.Subject).toContain('ec2-instance in account 123456789012');
    expect(loud[0]!.Message).toContain('EC2 instances of account 123456789012');
  });

  it('a containment that changes nothing (exempt, gone, already contained) gives its unit back', async () => {
    const store = new MemoryStore();
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 2));
    answerAll('skipped');
    for (let i = 0; i < 6; i += 1) {
      const result = await respond(instanceFinding(i, `${i}`.repeat(12)), deps({ store, policy }));
      expect(result.budget?.outcome).toBe('released');
    }
    answerAll('contained');
    const contained = await respond(instanceFinding(7), deps({ store, policy }));
    expect(contained).toMatchObject({ status: 'CONTAINED', budget: { outcome: 'taken' } });
  });

  it('a retry after a failure that changed nothing takes one unit, not two', async () => {
    const store = new MemoryStore();
    const policy = policyWith((p) => (p.budget.maxContainments['ec2-instance'] = 1));
    answerAll('failed');
    await expect(respond(instanceFinding(1), deps({ store, policy }))).rejects.toMatchObject({
      retryable: true,
    });
    answerAll('contained');
    await expect(respond(instanceFinding(1), deps({ store, policy }))).resolves.toMatchObject({
      status: 'CONTAINED',
      budget: { outcome: 'taken' },
    });
  });

  it('a retry after a partial containment uses the unit the workload already holds', async () => {
    const store = new MemoryStore();
    const policy = policyWith((p) => (p.budget.maxContainments['eks-pod'] = 1));
    lambdaMock.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
      const request = JSON.parse(new TextDecoder().decode(input.Payload)) as ContainmentRequest;
      const [first, ...rest] = request.actions;
      return {
        StatusCode: 200,
        Payload: payload({
          findingId: request.findingId,
          outcomes: [
            { action: first, status: 'contained', detail: 'labelled' },
            ...rest.map((action) => ({ action, status: 'failed', retryable: true, detail: 'x' })),
          ],
          notes: [],
        }),
      };
    });
    await expect(
      respond(loadEvent('eks-reverse-shell.json'), deps({ store, policy })),
    ).rejects.toMatchObject({ retryable: true });
    answerAll('contained');
    await expect(
      respond(loadEvent('eks-reverse-shell.json'), deps({ store, policy })),
    ).resolves.toMatchObject({ status: 'CONTAINED', budget: { outcome: 'held' } });
  });

  it('a dry run does not use the budget', async () => {
    answerAll('dry-run');
    const store = new MemoryStore();
    await respond(
      loadEvent('ec2-suspicious-command.json'),
      deps({ store, policy: policyWith((p) => (p.dryRun = true)) }),
    );
    expect(store.budgets.size).toBe(0);
  });

  it('state store down: nothing contained, an alert says so, the invocation fails for a retry', async () => {
    answerAll('contained');
    const store = new MemoryStore();
    store.failWith = Object.assign(new Error('Rate exceeded'), {
      name: 'ProvisionedThroughputExceededException',
    });
    await expect(respond(loadEvent('eks-reverse-shell.json'), deps({ store }))).rejects.toThrow(
      ContainmentFailedError,
    );
    expect(invoked()).toHaveLength(0);
    expect(published()[0]!.Message).toContain('state store is unavailable');
  });

  it('a retryable failure is re-claimable: the retry contains', async () => {
    const store = new MemoryStore();
    answerAll('failed');
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).rejects.toThrow(ContainmentFailedError);
    answerAll('contained');
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).resolves.toMatchObject({ status: 'CONTAINED' });
  });

  it('a non-retryable failure is alerted once and recorded, not retried', async () => {
    const store = new MemoryStore();
    lambdaMock
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload({ outcomes: 'nonsense' }) });
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).resolves.toMatchObject({ status: 'CONTAINMENT FAILED' });
    expect([...store.records.values()][0]!.status).toBe('done');
  });

  it('an alert that could not be sent releases the claim, so the retry is not a duplicate', async () => {
    const store = new MemoryStore();
    answerAll('contained');
    snsMock.on(PublishCommand).rejectsOnce(new Error('SNS down')).resolves({ MessageId: 'msg-2' });
    await expect(respond(loadEvent('eks-reverse-shell.json'), deps({ store }))).rejects.toThrow(
      'SNS down',
    );
    await expect(
      respond(loadEvent('eks-reverse-shell.json'), deps({ store })),
    ).resolves.toMatchObject({ status: 'CONTAINED', alertMessageId: 'msg-2' });
  });
});

describe('router: faults in each AWS call it makes (DynamoDB, Lambda, SNS)', () => {
  const throttled = () =>
    Object.assign(new Error('Rate exceeded'), {
      name: 'ProvisionedThroughputExceededException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  const serverError = () =>
    Object.assign(new Error('We encountered an internal error'), {
      name: 'InternalServerError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });

  function dynamoStore() {
    const dynamoMock = mockClient(DynamoDBClient);
    const store = new DynamoResponseStore(
      new DynamoDBClient({ region: 'us-east-1' }),
      'gdrr-state',
    );
    return { dynamoMock, store };
  }

  it('DynamoDB throttles the claim: nothing contained, an alert, a retryable failure', async () => {
    const { dynamoMock, store } = dynamoStore();
    dynamoMock.on(PutItemCommand).rejects(throttled());
    answerAll('contained');
    const error = await respond(loadEvent('eks-reverse-shell.json'), deps({ store })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'ContainmentFailedError', retryable: true });
    expect(invoked()).toHaveLength(0);
    expect(published()[0]!.Message).toContain('ProvisionedThroughputExceededException');
    dynamoMock.restore();
  });

  it('DynamoDB fails recording the outcome after containment: the invocation fails, and is retried', async () => {
    const { dynamoMock, store } = dynamoStore();
    dynamoMock.on(PutItemCommand).resolves({});
    // The budget's records work; recording the finished response does not.
    dynamoMock
      .on(UpdateItemCommand)
      .callsFake((input: { Key?: { pk?: { S?: string } } }) =>
        input.Key?.pk?.S?.startsWith('budget')
          ? Promise.resolve({})
          : Promise.reject(serverError()),
      );
    answerAll('contained');
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).rejects.toThrow('internal error');
    // Contained and alerted once; the retry finds the function reporting already-contained.
    expect(invoked()).toHaveLength(1);
    expect(published()).toHaveLength(1);
    dynamoMock.restore();
  });

  it('DynamoDB fails taking the budget: nothing contained, an alert, a retryable failure', async () => {
    const { dynamoMock, store } = dynamoStore();
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).rejects(throttled());
    answerAll('contained');
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).rejects.toMatchObject({ retryable: true });
    expect(invoked()).toHaveLength(0);
    expect(published()[0]!.Message).toContain('state store is unavailable');
    dynamoMock.restore();
  });

  it('a failure after the claim never leaves it held: the retry acts instead of being a duplicate', async () => {
    const store = new MemoryStore();
    const reserveBudget = store.reserveBudget.bind(store);
    let failBudget = true;
    store.reserveBudget = (hold) =>
      failBudget ? Promise.reject(throttled()) : reserveBudget(hold);
    answerAll('contained');
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).rejects.toMatchObject({ retryable: true });
    failBudget = false;
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).resolves.toMatchObject({ status: 'CONTAINED' });
  });

  it('SNS 5xx: the claim is released (recorded as failed) so the retry alerts', async () => {
    const { dynamoMock, store } = dynamoStore();
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    snsMock.on(PublishCommand).rejects(serverError());
    answerAll('contained');
    await expect(
      respond(loadEvent('ec2-suspicious-command.json'), deps({ store })),
    ).rejects.toThrow('internal error');
    const finish = dynamoMock
      .commandCalls(UpdateItemCommand)
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':status']?.S)
      .filter((status) => status !== undefined);
    expect(finish).toEqual(['failed']);
    dynamoMock.restore();
  });
});
