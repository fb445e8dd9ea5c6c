import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  capUtf8,
  dryRunResponse,
  overallStatus,
  renderAlert,
  severityWord,
  type Response,
} from '../../shared/alert.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import { evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { cleanText } from '../../shared/sanitize.js';
import { TEXT_MAX_BYTES } from '../../shared/alert.js';
import {
  SNS_MARGIN_BYTES,
  SNS_MAX_MESSAGE_BYTES,
  snsMessage,
} from '../../functions/router/publish.js';
import { eventWithFields, FIELD_SETTERS, fieldValues } from '../finding-arbitraries.js';
import { loadEvent } from '../helpers.js';
import { FORBIDDEN, hostileString, withoutIsolates } from '../hostile.js';

const policy = defaultPolicy();
const evaluationOf = (name: string) => evaluate(loadEvent(name), policy);

const contained = (action: ActionOutcome['action'], detail = 'done'): ActionOutcome => ({
  action,
  status: 'contained',
  detail,
});

function golden(alert: ReturnType<typeof renderAlert>) {
  if (alert === null) throw new Error('expected an alert');
  return `SUBJECT: ${alert.subject}\n\n${alert.text}\n\n--- slack\n${JSON.stringify(alert.slack, null, 2)}\n`;
}

describe('golden alerts', () => {
  it.each([
    'eks-reverse-shell.json',
    'eks-hostile-fields.json',
    'eks-runc-container-escape.json',
    'ecs-ec2-reverse-shell.json',
    'container-docker-socket.json',
    'ec2-discovery-low.json',
    'eks-invalid-pod-name.json',
    'sample-eks-reverse-shell.json',
  ])('dry run of %s', async (file) => {
    const evaluation = evaluationOf(file);
    await expect(golden(renderAlert(evaluation, dryRunResponse(evaluation)))).toMatchFileSnapshot(
      `../golden/${file.replace('.json', '.dry-run.txt')}`,
    );
  });

  it('contained ECS task, with notes and release from the function', async () => {
    const evaluation = evaluationOf('ecs-fargate-crypto-miner.json');
    const response: Response = {
      outcomes: [
        contained('ecs:capture-task', 'task description and task definition captured'),
        contained('ecs:stop-task', 'task stopped'),
      ],
      notes: [
        cleanText(
          'the task belongs to service web: the service will start a replacement from the same image',
        ),
      ],
      release: cleanText('a stopped task cannot be restarted'),
    };
    await expect(golden(renderAlert(evaluation, response))).toMatchFileSnapshot(
      '../golden/ecs-fargate-crypto-miner.contained.txt',
    );
  });

  it('failed EC2 quarantine', async () => {
    const evaluation = evaluationOf('ec2-suspicious-command.json');
    const response: Response = {
      outcomes: [
        {
          action: 'ec2:quarantine-instance',
          status: 'failed',
          detail:
            'ModifyNetworkInterfaceAttribute: AccessDenied (ec2:ModifyNetworkInterfaceAttribute)',
          retryable: false,
        },
      ],
      notes: [],
    };
    await expect(golden(renderAlert(evaluation, response))).toMatchFileSnapshot(
      '../golden/ec2-suspicious-command.failed.txt',
    );
  });
});

describe('overall status: success is never assumed', () => {
  const eks = evaluationOf('eks-runc-container-escape.json');
  const all = (status: ActionOutcome['status']): Response => ({
    outcomes: eks.actions.map((action) => ({ action, status, detail: 'x', retryable: false })),
    notes: [],
  });

  it.each([
    ['contained', all('contained'), 'CONTAINED'],
    ['already contained', all('already-contained'), 'ALREADY CONTAINED'],
    ['dry run', all('dry-run'), 'DRY RUN'],
    ['all skipped', all('skipped'), 'NOT CONTAINED'],
    [
      'any failed',
      {
        outcomes: [
          ...all('contained').outcomes.slice(1),
          { action: 'eks:label-pod', status: 'failed', detail: 'x', retryable: true },
        ],
        notes: [],
      },
      'CONTAINMENT FAILED',
    ],
    [
      'an action without outcome',
      { outcomes: all('contained').outcomes.slice(1), notes: [] },
      'CONTAINMENT FAILED',
    ],
    ['no outcomes at all', { outcomes: [], notes: [] }, 'CONTAINMENT FAILED'],
    [
      'call failed',
      { outcomes: all('contained').outcomes, notes: [], failure: cleanText('timeout') },
      'CONTAINMENT FAILED',
    ],
    [
      'mixed',
      {
        outcomes: [
          ...all('contained').outcomes.slice(1),
          { action: 'eks:label-pod', status: 'skipped', detail: 'x' },
        ],
        notes: [],
      },
      'PARTIALLY CONTAINED',
    ],
  ] as [string, Response, string][])('%s', (_name, response, status) => {
    expect(overallStatus(eks, response)).toBe(status);
  });

  it('a notify decision is NOT CONTAINED and says why in the text', () => {
    const evaluation = evaluationOf('eks-new-binary-below-threshold.json');
    const alert = renderAlert(evaluation, { outcomes: [], notes: [] })!;
    expect(alert.subject).toMatch(
      /^\[MEDIUM\] NOT CONTAINED: Execution:Runtime\/NewBinaryExecuted/,
    );
    expect(alert.text).toContain(
      'NOT CONTAINED: severity 5.0 is below the containment threshold 7.0',
    );
  });

  it('a failure lists the planned action that reported nothing', () => {
    const alert = renderAlert(eks, { outcomes: [contained('eks:label-pod')], notes: [] })!;
    expect(alert.text).toContain('[failed] eks:isolate-pod-network: no outcome reported');
    expect(alert.subject).toContain('CONTAINMENT FAILED');
  });

  it('no alert for ignore and reject', () => {
    expect(
      renderAlert(evaluate({ source: 'aws.ec2' }, policy), { outcomes: [], notes: [] }),
    ).toBeNull();
    expect(renderAlert(evaluate([], policy), { outcomes: [], notes: [] })).toBeNull();
  });
});

describe('alert content', () => {
  it('severity words follow GuardDuty bands', () => {
    expect([1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(severityWord)).toEqual([
      'LOW',
      'LOW',
      'MEDIUM',
      'MEDIUM',
      'HIGH',
      'HIGH',
      'CRITICAL',
      'CRITICAL',
    ]);
  });

  it('carries lineage, command line, console link and release', () => {
    const evaluation = evaluationOf('ec2-suspicious-command.json');
    const alert = renderAlert(evaluation, dryRunResponse(evaluation))!;
    expect(alert.text).toMatch(/Lineage \(parent first\)\n {2}1\. /);
    expect(alert.text).toMatch(/command line example: «curl/);
    expect(alert.text).toContain(
      `https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId=${evaluation.finding!.id}`,
    );
    expect(alert.text).toMatch(
      /Release \(once contained\): restore .*: npm run release -- ec2 i-[0-9a-f]{17} --region us-east-1$/m,
    );
  });

  it('links China and GovCloud findings to their own consoles', () => {
    const event = loadEvent('ec2-suspicious-command.json');
    event.detail.partition = 'aws-cn';
    event.detail.region = 'cn-north-1';
    const evaluation = evaluate(event, policy);
    expect(renderAlert(evaluation, dryRunResponse(evaluation))!.text).toContain(
      'https://console.amazonaws.cn/guardduty/home?region=cn-north-1',
    );
  });

  it('keeps the SNS message within its size limit for the largest finding', () => {
    const event = loadEvent('eks-hostile-fields.json');
    const process = event.detail.service.runtimeDetails.process;
    process.lineage = Array.from({ length: 40 }, (_, i) => ({
      name: '\u202E'.repeat(300),
      executablePath: '\u200B'.repeat(2000),
      uuid: `u${i}`,
      parentUuid: `u${i + 1}`,
    }));
    process.parentUuid = 'u0';
    event.detail.service.runtimeDetails.context.commandLineExample = '\u{E0041}'.repeat(100_000);
    const evaluation = evaluate(event, policy);
    const alert = renderAlert(evaluation, dryRunResponse(evaluation))!;
    const message = snsMessage(alert);
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(
      SNS_MAX_MESSAGE_BYTES - SNS_MARGIN_BYTES,
    );
    expect(alert.text).toContain('[alert cut to fit the notification size limit]');
  });

  it('at the worst case for JSON escaping (every value full of `"` and `\\`) the SNS message still fits, with its margin', () => {
    const event = loadEvent('eks-hostile-fields.json');
    const process = event.detail.service.runtimeDetails.process;
    const quotes = '"\\'.repeat(60_000);
    process.name = quotes;
    process.executablePath = quotes;
    process.lineage = Array.from({ length: 40 }, (_, i) => ({
      name: quotes,
      executablePath: quotes,
      uuid: `u${i}`,
      parentUuid: `u${i + 1}`,
    }));
    process.parentUuid = 'u0';
    event.detail.service.runtimeDetails.context.commandLineExample = quotes;
    event.detail.description = quotes;
    const evaluation = evaluate(event, policy);
    const alert = renderAlert(evaluation, dryRunResponse(evaluation))!;
    expect(Buffer.byteLength(snsMessage(alert))).toBeLessThanOrEqual(
      SNS_MAX_MESSAGE_BYTES - SNS_MARGIN_BYTES,
    );
    // Beyond what rendering produces: a text of the largest size made only of characters
    // JSON doubles, next to that Slack payload. The message is cut to fit, never refused.
    const worst = { ...alert, text: '"\\'.repeat(TEXT_MAX_BYTES / 2) };
    const uncut = JSON.stringify({
      default: worst.text,
      email: worst.text,
      https: JSON.stringify(worst.slack),
    });
    expect(Buffer.byteLength(uncut)).toBeGreaterThan(SNS_MAX_MESSAGE_BYTES - SNS_MARGIN_BYTES);
    const message = snsMessage(worst);
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(
      SNS_MAX_MESSAGE_BYTES - SNS_MARGIN_BYTES,
    );
    const parsed = JSON.parse(message) as { default: string; email: string; https: string };
    expect(parsed.email).toBe(parsed.default);
    expect(parsed.email.endsWith('[alert cut to fit the notification size limit]')).toBe(true);
    expect(JSON.parse(parsed.https)).toEqual(alert.slack);
  });

  it('capUtf8 cuts at a line end and never splits a character', () => {
    const cut = capUtf8(`${'é'.repeat(30)}\n${'ü'.repeat(30)}`, 70, '[cut]');
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(70);
    expect(cut).toBe(`${'é'.repeat(30)}\n[cut]`);
    expect(capUtf8('short', 70, '[cut]')).toBe('short');
  });
});

describe('property: hostile text in any attacker-controlled field', () => {
  // Prefixed so no field becomes empty (an empty field is left out, changing the layout).
  const values = fieldValues(hostileString.map((s) => `v${s}`));

  function render(strings: string[]) {
    const evaluation = evaluate(eventWithFields(strings), policy);
    return { evaluation, alert: renderAlert(evaluation, dryRunResponse(evaluation))! };
  }

  it('never changes the decision, the subject stays ASCII <= 100, no field adds a line', () => {
    const baseline = render(FIELD_SETTERS.map(() => 'x')).alert.text.split('\n').length;
    fc.assert(
      fc.property(values, (strings) => {
        const { evaluation, alert } = render(strings);
        expect(evaluation.decision).toBe('contain');
        expect(alert.subject.length).toBeLessThanOrEqual(100);
        expect(alert.subject).toMatch(/^[\x20-\x7E]+$/);
        expect(alert.text.split('\n').length).toBe(baseline);
        expect(withoutIsolates(alert.text).replace(/\n/g, '')).not.toMatch(FORBIDDEN);
      }),
      { numRuns: 300 },
    );
  });

  it('the Slack payload has no control, bidi or zero-width character and no unescaped < > &', () => {
    fc.assert(
      fc.property(values, (strings) => {
        const { slack } = render(strings).alert;
        const fields = [
          slack.content.title,
          ...slack.content.nextSteps,
          ...slack.content.keywords,
          slack.metadata.summary,
        ];
        for (const field of [...fields, ...slack.content.description.split('\n')]) {
          expect(withoutIsolates(field)).not.toMatch(FORBIDDEN);
          expect(field).not.toMatch(/[<>]/);
          expect(field).not.toMatch(/&(?!amp;|lt;|gt;)/);
        }
        expect(JSON.parse(JSON.stringify(slack))).toEqual(slack);
      }),
      { numRuns: 300 },
    );
  });
});
