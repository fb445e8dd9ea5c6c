import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intake } from '../../shared/intake.js';
import { evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { loadEvent } from '../helpers.js';

const reverseShell = () => loadEvent('eks-reverse-shell.json');

describe('intake: malformed input is rejected with what and where', () => {
  it.each([
    ['null', null, /event is null, not a JSON object/],
    ['an array', [1, 2], /an array, not a JSON object/],
    ['a string', 'finding', /event is "finding", not a JSON object/],
    ['a number', 42, /a number/],
  ])('%s', (_name, input, reason) => {
    expect(intake(input)).toMatchObject({ kind: 'reject', reason: expect.stringMatching(reason) });
  });

  it.each([
    ['missing id', (e: any) => delete e.detail.id, /detail\.id is missing or not a string/],
    ['numeric id', (e: any) => (e.detail.id = 12), /detail\.id is missing or not a string/],
    ['missing type', (e: any) => delete e.detail.type, /detail\.type is missing/],
    [
      'missing resource',
      (e: any) => delete e.detail.resource,
      /detail\.resource is missing or not an object/,
    ],
    [
      'resource not an object',
      (e: any) => (e.detail.resource = 'i-0123'),
      /detail\.resource is missing or not an object/,
    ],
    [
      'detail not an object',
      (e: any) => (e.detail = 'x'),
      /malformed EventBridge envelope|is not an object/,
    ],
    [
      'severity as string',
      (e: any) => (e.detail.severity = '8'),
      /detail\.severity: .*expected number/,
    ],
    ['severity out of range', (e: any) => (e.detail.severity = 11), /detail\.severity/],
    [
      'pid as string',
      (e: any) => (e.detail.service.runtimeDetails.process.pid = '24873'),
      /detail\.service\.runtimeDetails\.process\.pid/,
    ],
    [
      'lineage not an array',
      (e: any) => (e.detail.service.runtimeDetails.process.lineage = {}),
      /process\.lineage/,
    ],
    [
      'hostNetwork as string',
      (e: any) =>
        (e.detail.resource.kubernetesDetails.kubernetesWorkloadDetails.hostNetwork = 'yes'),
      /hostNetwork/,
    ],
    [
      'accountId not 12 digits',
      (e: any) => (e.detail.accountId = '1234'),
      /detail\.accountId "1234" is not valid/,
    ],
    ['region with a path', (e: any) => (e.detail.region = 'us-east-1/../x'), /detail\.region/],
    [
      'finding id not hex',
      (e: any) => (e.detail.id = 'abc<script>'),
      /detail\.id "abc<script>" is not valid/,
    ],
    [
      'envelope time not a date',
      (e: any) => (e.time = 'yesterday'),
      /malformed EventBridge envelope: time/,
    ],
  ])('%s', (_name, mutate, reason) => {
    const event = reverseShell();
    mutate(event);
    const result = intake(event);
    expect(result.kind).toBe('reject');
    expect(result.kind === 'reject' && result.reason).toMatch(reason);
  });

  it('keeps the finding id in a rejection when the id itself is fine', () => {
    const event = reverseShell();
    event.detail.severity = 'high';
    expect(intake(event)).toMatchObject({
      kind: 'reject',
      known: { findingId: event.detail.id, findingType: 'Execution:Runtime/ReverseShell' },
    });
  });

  it('does not echo control characters from a rejected value', () => {
    const event = reverseShell();
    event.detail.accountId = '\u001b[2J\n12';
    const result = intake(event);
    expect(result.kind === 'reject' && result.reason).toContain('\\x1B[2J\\n12');
    expect(result.kind === 'reject' && result.reason).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('intake: tolerant where GuardDuty is loose', () => {
  it('accepts null optional objects, unknown fields and timestamps as numbers or strings', () => {
    const event = reverseShell();
    event.detail.resource.instanceDetails.platform = null;
    event.detail.resource.eksClusterDetails.tags = null;
    event.detail.service.evidence = null;
    event.detail.someNewField = { nested: [1, 2] };
    event.detail.service.runtimeDetails.process.startTime = '2026-07-14T09:11:37.512Z';
    event.detail.service.runtimeDetails.process.lineage[0].startTime = 1639005830.0;
    const result = intake(event);
    expect(result.kind).toBe('finding');
    if (result.kind !== 'finding') return;
    expect(result.finding.lineage[0]!.startTime).toBe('2026-07-14T09:11:37.512Z');
    expect(result.finding.lineage[1]!.startTime).toBe('2021-12-08T23:23:50.000Z');
  });

  it('reads additionalInfo in both its shapes', () => {
    const event = reverseShell();
    event.detail.service.additionalInfo = { value: 'not json', type: 'default', unusual: { x: 1 } };
    expect(intake(event)).toMatchObject({ kind: 'finding', finding: { sample: false } });
  });

  it('defaults the partition to aws and counts at least one occurrence', () => {
    const event = reverseShell();
    delete event.detail.partition;
    delete event.detail.service.count;
    expect(intake(event)).toMatchObject({
      kind: 'finding',
      finding: { partition: 'aws', count: 1 },
    });
  });

  it('ignores an archived finding even when the rest is malformed', () => {
    const event = reverseShell();
    event.detail.service.archived = true;
    event.detail.severity = 'bad';
    expect(intake(event)).toMatchObject({ kind: 'ignore', reason: 'finding is archived' });
  });
});

describe('intake: never throws', () => {
  it('for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const kind = evaluate(value, defaultPolicy()).decision;
        expect(['ignore', 'reject', 'notify', 'contain']).toContain(kind);
      }),
      { numRuns: 500 },
    );
  });

  it('for a real finding with any field replaced by any JSON value', () => {
    const paths: string[][] = [];
    const walk = (node: unknown, path: string[]) => {
      if (node && typeof node === 'object')
        for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
      if (path.length > 0) paths.push(path);
    };
    walk(reverseShell(), []);
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 }), (path, value) => {
        const event = reverseShell();
        let node: any = event;
        for (const key of path.slice(0, -1)) node = node[key];
        node[path.at(-1)!] = value;
        const evaluation = evaluate(event, defaultPolicy());
        expect(evaluation.reason.length).toBeGreaterThan(0);
        if (evaluation.decision === 'contain') expect(evaluation.target).not.toBeNull();
      }),
      { numRuns: 1000 },
    );
  });
});
