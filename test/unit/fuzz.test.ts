/**
 * Hostile input fuzzing: 100,000 generated events through parse → decide → render. Zero
 * uncaught exceptions, every input ends in one of the four decisions, and every alert keeps
 * the sanitizer's guarantees. Inputs are mutated fixtures (wrong types, huge strings, deep
 * nesting, prototype-pollution keys, invalid UTF-16, layout forgeries).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dryRunResponse, renderAlert } from '../../shared/alert.js';
import { evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { layoutProblems } from '../alert-layout.js';
import { anyInput } from '../finding-arbitraries.js';
import { loadEvent } from '../helpers.js';
import { FORBIDDEN, withoutIsolates } from '../hostile.js';

const policy = defaultPolicy();

function checkAlertGuarantees(input: unknown): void {
  const evaluation = evaluate(input, policy);
  expect(['contain', 'notify', 'ignore', 'reject']).toContain(evaluation.decision);
  expect(withoutIsolates(evaluation.reason)).not.toMatch(FORBIDDEN);
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
  expect(layoutProblems(alert!)).toEqual([]);
}

describe('hostile input fuzzing', () => {
  it('100,000 generated events: no exception, four decisions, sanitizer and layout guarantees hold', () => {
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
