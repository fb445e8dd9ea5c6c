/**
 * Hostile input fuzzing: 100,000 generated events through parse → decide → render. Zero
 * uncaught exceptions, every input ends in one of the four decisions, and every alert keeps
 * the sanitizer's guarantees. Inputs are mutated fixtures (wrong types, huge strings, deep
 * nesting, prototype-pollution keys, invalid UTF-16).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dryRunResponse, renderAlert } from '../../shared/alert.js';
import { evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { EVENTS_DIR, jsonFiles, loadEvent } from '../helpers.js';
import { FORBIDDEN, withoutIsolates } from '../hostile.js';

const policy = defaultPolicy();
const FILES = jsonFiles(EVENTS_DIR);
const TEMPLATES = FILES.map((file) => loadEvent(file));

/** Every path (list of keys) in a JSON value. */
function pathsOf(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      out.push([...prefix, key]);
      pathsOf(child, [...prefix, key], out);
    }
  }
  return out;
}
const PATHS = TEMPLATES.map((template) => pathsOf(template));

function deepNest(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { nested: value };
  return value;
}

const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    '__proto__',
    'constructor',
  ),
  fc
    .integer({ min: 5_000, max: 60_000 })
    .map((n) => '\u202E<!channel>\u001b[2J\n'.repeat(Math.ceil(n / 16)).slice(0, n)),
  fc.integer({ min: 50, max: 400 }).map(deepNest),
  fc.constant(
    JSON.parse(
      '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
    ) as unknown,
  ),
);

/** A fixture with up to 4 of its fields replaced by hostile values. */
const mutatedEvent = fc
  .record({
    template: fc.integer({ min: 0, max: TEMPLATES.length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), hostileValue), { maxLength: 4 }),
    unwrap: fc.boolean(),
  })
  .map(({ template, edits, unwrap }) => {
    const event = structuredClone(TEMPLATES[template]!) as Record<string, unknown>;
    const paths = PATHS[template]!;
    for (const [pick, value] of edits) {
      const path = paths[pick % paths.length]!;
      let node = event;
      for (const key of path.slice(0, -1)) {
        const child = node[key];
        if (child === null || typeof child !== 'object') break;
        node = child as Record<string, unknown>;
      }
      node[path[path.length - 1]!] = value;
    }
    return unwrap && typeof event.detail === 'object' ? event.detail : event;
  });

const anyInput = fc.oneof(
  { weight: 8, arbitrary: mutatedEvent },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: hostileValue },
);

function checkAlertGuarantees(input: unknown): void {
  const evaluation = evaluate(input, policy);
  expect(['contain', 'notify', 'ignore', 'reject']).toContain(evaluation.decision);
  expect(evaluation.reason).not.toMatch(FORBIDDEN);
  const alert = renderAlert(evaluation, dryRunResponse(evaluation));
  if (evaluation.decision === 'ignore' || evaluation.decision === 'reject') {
    expect(alert).toBeNull();
    return;
  }
  expect(alert).not.toBeNull();
  const { subject, text, slack } = alert!;
  expect(subject.length).toBeLessThanOrEqual(100);
  expect(subject).toMatch(/^[\x20-\x7E]+$/);
  expect(withoutIsolates(text).replace(/\n/g, '')).not.toMatch(FORBIDDEN);
  for (const field of [
    slack.content.title,
    slack.content.description,
    ...slack.content.nextSteps,
    slack.metadata.summary,
  ]) {
    expect(withoutIsolates(field).replace(/\n/g, '')).not.toMatch(FORBIDDEN);
    expect(field).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
  }
  expect(
    Buffer.byteLength(JSON.stringify({ default: text, email: text, https: JSON.stringify(slack) })),
  ).toBeLessThan(256 * 1024);
}

describe('hostile input fuzzing', () => {
  it('100,000 generated events: no exception, four decisions, sanitizer guarantees hold', () => {
    let runs = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        runs += 1;
        checkAlertGuarantees(input);
      }),
      { numRuns: 100_000, seed: 20261121 },
    );
    expect(runs).toBe(100_000);
    // Nothing a finding carried reached Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 600_000);

  it('invalid UTF-16 (lone surrogates) in every string field is made visible', () => {
    const event = loadEvent('eks-hostile-fields.json');
    event.detail.service.runtimeDetails.process.name = 'a\uD800b\uDFFFc';
    event.detail.title = '\uDBFF';
    const evaluation = evaluate(event, policy);
    const alert = renderAlert(evaluation, dryRunResponse(evaluation))!;
    expect(alert.text).toContain('a\\uD800b\\uDFFFc');
    expect(alert.text).not.toMatch(
      /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/,
    );
  });
});
