import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  boundedEvidence,
  describeError,
  failedOutcome,
  homeOfArn,
  parseContainmentRequest,
} from '../../shared/containment.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { loadEvent } from '../helpers.js';

const sdkError = (
  name: string,
  message: string,
  status: number,
  fault: 'client' | 'server' = 'client',
) =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('describeError', () => {
  it.each([
    ['EC2 throttling', sdkError('RequestLimitExceeded', 'Request limit exceeded.', 503), true],
    ['ECS throttling', sdkError('ThrottlingException', 'Rate exceeded', 400), true],
    [
      'server fault',
      sdkError('InternalError', 'An internal error has occurred', 500, 'server'),
      true,
    ],
    ['ECS server exception', sdkError('ServerException', 'boom', 500, 'server'), true],
    ['network reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
    ['timeout', Object.assign(new Error('no answer'), { name: 'TimeoutError' }), true],
    ['validation', sdkError('InvalidParameterValue', 'bad value', 400), false],
    [
      'not found',
      sdkError('InvalidInstanceID.NotFound', "The instance ID 'i-0123' does not exist", 400),
      false,
    ],
    ['kubernetes 503', Object.assign(new Error('HTTP-Code: 503'), { code: 503, body: '{}' }), true],
    [
      'kubernetes 409',
      Object.assign(new Error('HTTP-Code: 409'), { code: 409, body: 'AlreadyExists' }),
      false,
    ],
  ])('%s -> retryable %s', (_name, error, retryable) => {
    expect(describeError(error).retryable).toBe(retryable);
  });

  it('AccessDenied is not retryable and names the permission from the message', () => {
    const facts = describeError(
      sdkError(
        'UnauthorizedOperation',
        'You are not authorized to perform this operation. User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ec2:ModifyNetworkInterfaceAttribute on resource: arn:aws:ec2:us-east-1:1:network-interface/eni-1',
        403,
      ),
    );
    expect(facts).toMatchObject({
      retryable: false,
      missingPermission: 'ec2:ModifyNetworkInterfaceAttribute',
    });
    expect(facts.summary).toContain('(missing permission: ec2:ModifyNetworkInterfaceAttribute)');
  });

  it('falls back to the permission the step declared', () => {
    expect(
      describeError(sdkError('AccessDeniedException', 'denied', 400), 'ecs:StopTask')
        .missingPermission,
    ).toBe('ecs:StopTask');
  });

  it('names the Kubernetes verb and resource of a 403', () => {
    const error = Object.assign(new Error('HTTP-Code: 403'), {
      code: 403,
      body: '{"message":"pods \\"x\\" is forbidden: User \\"u\\" cannot delete resource \\"pods\\" in API group \\"\\" in the namespace \\"payments\\""}',
    });
    expect(describeError(error)).toMatchObject({
      retryable: false,
      missingPermission: 'delete pods',
      status: 403,
    });
  });

  it('sanitizes messages from services', () => {
    const facts = describeError(sdkError('InvalidParameterValue', 'tag <!channel>\n\u202E', 400));
    expect(facts.summary).toBe('InvalidParameterValue: tag <!channel>\\n\\u202E');
  });

  it('handles values that are not errors', () => {
    expect(describeError('plain string')).toMatchObject({
      retryable: false,
      summary: 'Error: plain string',
    });
    expect(describeError(undefined).retryable).toBe(false);
  });

  it('failedOutcome names the step', () => {
    expect(
      failedOutcome(
        'ecs:stop-task',
        'StopTask',
        sdkError('ThrottlingException', 'Rate exceeded', 400),
      ),
    ).toEqual({
      action: 'ecs:stop-task',
      status: 'failed',
      detail: 'StopTask: ThrottlingException: Rate exceeded',
      retryable: true,
    });
  });
});

describe('parseContainmentRequest', () => {
  const policy = defaultPolicy();
  const request = (file: string) => containmentRequest(evaluate(loadEvent(file), policy), policy);

  it('accepts a request for its own surface', () => {
    expect(
      parseContainmentRequest(request('ec2-suspicious-command.json'), 'ec2-instance').target
        .instanceId,
    ).toMatch(/^i-/);
  });

  it.each([
    [
      'another surface',
      () => parseContainmentRequest(request('ec2-suspicious-command.json'), 'ecs-task'),
      /contains ecs-task targets, not ec2-instance/,
    ],
    [
      'an action of another surface',
      () =>
        parseContainmentRequest(
          { ...request('ec2-suspicious-command.json'), actions: ['ecs:stop-task'] },
          'ec2-instance',
        ),
      /actions not for ec2-instance: ecs:stop-task/,
    ],
    [
      'a malformed instance id',
      () =>
        parseContainmentRequest(
          {
            ...request('ec2-suspicious-command.json'),
            target: { surface: 'ec2-instance', instanceId: 'i-1;reboot' },
          },
          'ec2-instance',
        ),
      /request\.target\.instanceId/,
    ],
    [
      'extra keys',
      () =>
        parseContainmentRequest(
          { ...request('ec2-suspicious-command.json'), finding: {} },
          'ec2-instance',
        ),
      /invalid containment request/,
    ],
    [
      'not an object',
      () => parseContainmentRequest('x', 'ec2-instance'),
      /invalid containment request/,
    ],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(BadRequestError);
    expect(call).toThrow(message);
  });
});

describe('boundedEvidence', () => {
  it('keeps small evidence and truncates large evidence', () => {
    expect(boundedEvidence({ a: 1 })).toEqual({ a: 1 });
    const big = boundedEvidence({ blob: 'x'.repeat(50_000) }, 1000);
    expect(big).toMatchObject({ truncated: true });
    expect(JSON.stringify(big).length).toBeLessThan(1000);
  });
});

describe('fitContract', () => {
  it('keeps any result within the contract limits, so the router never rejects it for size', async () => {
    const { ContainmentResultSchema } = await import('../../shared/contracts.js');
    const { fitContract } = await import('../../shared/containment.js');
    const huge = '\u202E'.repeat(5000);
    const fitted = fitContract({
      findingId: 'a'.repeat(32),
      outcomes: [{ action: 'ecs:stop-task', status: 'failed', retryable: false, detail: huge }],
      notes: Array.from({ length: 30 }, () => huge),
      release: huge,
    });
    expect(() => ContainmentResultSchema.parse(fitted)).not.toThrow();
    expect(fitted.outcomes[0]!.detail.endsWith('…[cut]')).toBe(true);
    expect(fitted.notes).toHaveLength(20);
  });
});

describe('homeOfArn', () => {
  it.each([
    ['arn:aws:lambda:eu-west-1:123456789012:function:isolate-pod', '123456789012', 'eu-west-1'],
    [
      'arn:aws:lambda:us-east-1:123456789012:function:isolate-pod:live',
      '123456789012',
      'us-east-1',
    ],
    ['arn:aws-us-gov:eks:us-gov-west-1:210987654321:cluster/prod', '210987654321', 'us-gov-west-1'],
    ['arn:aws-cn:lambda:cn-north-1:123456789012:function:f', '123456789012', 'cn-north-1'],
    [
      'arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:f',
      '123456789012',
      'us-isob-east-1',
    ],
  ])('%s', (arn, accountId, region) => {
    expect(homeOfArn(arn)).toEqual({ accountId, region });
  });

  it.each([undefined, '', 'prod-eks', 'arn:aws:iam::123456789012:role/x', 'arn:aws:s3:::bucket'])(
    'not a regional ARN: %s',
    (arn) => {
      expect(homeOfArn(arn)).toBeUndefined();
    },
  );
});
