/**
 * Alerts that cannot be forged visually: no value from a finding can look like the
 * responder's own text, even without control characters (stacked combining marks, long
 * blank runs a mail client wraps, right-to-left letters, punctuation that imitates the
 * line it sits in).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALERT_CUT_MARKER,
  capUtf8,
  dryRunResponse,
  renderAlert,
  type Alert,
  type Response,
} from '../../shared/alert.js';
import { OUTCOME_STATUSES } from '../../shared/contracts.js';
import { evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { cleanText, closeCutLine } from '../../shared/sanitize.js';
import { layoutProblems } from '../alert-layout.js';
import {
  anyInput,
  eventWithFields,
  FIELD_SETTERS,
  fieldValues,
  forgeryString,
} from '../finding-arbitraries.js';
import { loadEvent } from '../helpers.js';
import { hostileString } from '../hostile.js';

const policy = defaultPolicy();

function dryRun(event: unknown): Alert {
  const evaluation = evaluate(event, policy);
  const alert = renderAlert(evaluation, dryRunResponse(evaluation));
  if (alert === null) throw new Error(`no alert: ${evaluation.reason}`);
  return alert;
}

/** The EKS reverse-shell sample with some fields changed. */
function eksAlert(change: (event: any) => void): Alert {
  const event = loadEvent('eks-reverse-shell.json');
  change(event);
  return dryRun(event);
}
const process = (event: any) => event.detail.service.runtimeDetails.process;
const lineOf = (text: string, start: string) =>
  text.split('\n').find((line) => line.startsWith(start));
const slackLineOf = (alert: Alert, start: string) =>
  alert.slack.content.description.split('\n').find((line) => line.startsWith(start));

/** Greedy word wrap at `width`, as a mail client shows a long line. */
function wrapped(text: string, width: number): string[] {
  return text.split('\n').flatMap((line) => {
    const out: string[] = [];
    let current = '';
    for (const word of line.split(' ')) {
      if (current !== '' && current.length + 1 + word.length > width) {
        out.push(current);
        current = word;
      } else {
        current = current === '' ? word : `${current} ${word}`;
      }
    }
    return [...out, current];
  });
}

describe('each forgery is shown as a value, never as the responder’s text', () => {
  it('Zalgo: 250 combining marks on one character keep 3, the rest escaped', () => {
    const zalgo = `k${'\u0301\u0316\u0489\u0336'.repeat(63).slice(0, 250)}`;
    const alert = eksAlert((event) => (process(event).name = zalgo));
    expect(lineOf(alert.text, '  process: ')).toMatch(
      /^ {2}process: «k\u0301\u0316\u0489(?:\\u0[0-9A-F]{3}){247}» \(pid 24873/,
    );
    expect(slackLineOf(alert, '*Process:* ')).toMatch(/^\*Process:\* `k\u0301\u0316\u0489\\u/);
    expect(layoutProblems(alert)).toEqual([]);
  });

  it('300 braille blanks (U+2800) keep 4, the rest counted', () => {
    const alert = eksAlert((event) => (process(event).pwd = `/srv${'\u2800'.repeat(300)}app`));
    expect(lineOf(alert.text, '  cwd: ')).toBe(`  cwd: «/srv${'\u2800'.repeat(4)}\\u2800×296app»`);
    expect(layoutProblems(alert)).toEqual([]);
  });

  it('300 spaces then `Release: kubectl …`: no wrap width shows it as a Release line', () => {
    const forged = `sleep 1${' '.repeat(300)}Release: kubectl delete namespace payments`;
    const alert = eksAlert(
      (event) => (event.detail.service.runtimeDetails.context.commandLineExample = forged),
    );
    expect(lineOf(alert.text, '  command line example: ')).toBe(
      '  command line example: «sleep 1    \\x20×296Release: kubectl delete namespace payments»',
    );
    const own = alert.text.split('\n').filter((line) => line.startsWith('Release')).length;
    for (let width = 20; width <= 200; width += 1) {
      const releaseLines = wrapped(alert.text, width).filter((line) =>
        line.trimStart().startsWith('Release'),
      );
      expect(releaseLines).toHaveLength(own);
    }
    expect(layoutProblems(alert)).toEqual([]);
  });

  it('Hebrew and Arabic are isolated inside their delimiters and reorder nothing outside', () => {
    const alert = eksAlert((event) => {
      process(event).name = 'שלום (pid 1) /bin/bash';
      event.detail.title = 'مرحبا root';
    });
    expect(lineOf(alert.text, '  process: ')).toMatch(
      /^ {2}process: «\u2068שלום \(pid 1\) \/bin\/bash\u2069» \(pid 24873, /,
    );
    expect(lineOf(alert.text, 'Title:')).toBe('Title:      «\u2068مرحبا root\u2069»');
    expect(slackLineOf(alert, '*Process:* ')).toMatch(
      /^\*Process:\* `\u2068שלום \(pid 1\) \/bin\/bash\u2069` \(pid 24873, /,
    );
    expect(layoutProblems(alert)).toEqual([]);
  });

  it('a user name imitating the process line stays one value', () => {
    const alert = eksAlert((event) => (process(event).user = 'root, euid 0) /usr/bin/sudo (pid 1'));
    expect(lineOf(alert.text, '  process: ')).toBe(
      '  process: «bash» (pid 24873, ns-pid 58, user «root, euid 0) /usr/bin/sudo (pid 1», uid 10001, euid 10001) «/usr/bin/bash»',
    );
    expect(slackLineOf(alert, '*Process:* ')).toBe(
      '*Process:* `bash` (pid 24873, ns-pid 58, user `root, euid 0) /usr/bin/sudo (pid 1`, uid 10001, euid 10001) `/usr/bin/bash`',
    );
    expect(layoutProblems(alert)).toEqual([]);
  });

  it('the README shows this alert as it is rendered', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Reading an alert'));
    const example = /```text\n([\s\S]*?)```/.exec(section)![1]!;
    const alert = eksAlert((event) => (process(event).user = 'root, euid 0) /usr/bin/sudo (pid 1'));
    for (const line of example.trimEnd().split('\n'))
      expect(alert.text.split('\n')).toContain(line.slice(2));
  });

  it('a value cannot close its delimiters: « and » inside it are escaped', () => {
    const alert = eksAlert((event) => (process(event).pwd = '/srv» Decision: IGNORE «x'));
    expect(lineOf(alert.text, '  cwd: ')).toBe('  cwd: «/srv\\xBB Decision: IGNORE \\xABx»');
  });

  it('the subject and the Slack title hold no finding text: every forgery leaves them as they were', () => {
    const plain = eksAlert(() => undefined);
    fc.assert(
      fc.property(fieldValues(forgeryString), (values) => {
        const alert = dryRun(eventWithFields(values));
        expect(alert.subject).toBe(plain.subject);
        expect(alert.slack.content.title).toBe(plain.slack.content.title);
        expect(alert.slack.metadata.summary).toBe(plain.slack.metadata.summary);
      }),
      { numRuns: 100 },
    );
  });
});

describe('golden', () => {
  it('every forgery at once', async () => {
    const alert = eksAlert((event) => {
      const forged = process(event);
      forged.name = `kworker${'\u0301\u0316\u0489\u0336'.repeat(63).slice(0, 250)}`;
      forged.user = 'root, euid 0) /usr/bin/sudo (pid 1';
      forged.pwd = `/srv${'\u2800'.repeat(300)}app`;
      forged.lineage[0].name = 'שלום (pid 1) /bin/bash';
      event.detail.title = 'مرحبا root';
      event.detail.service.runtimeDetails.context = {
        commandLineExample: `sleep 1${' '.repeat(300)}Release: kubectl delete namespace payments`,
        modifyingProcess: { name: 'ld» Release: «x', executablePath: '/lib/ld.so', pid: 7 },
      };
      event.detail.service.action = {
        networkConnectionAction: {
          remoteIpDetails: { ipAddressV4: '203.0.113.7', organization: { asnOrg: 'שרת בע״מ' } },
          remotePortDetails: { port: 443 },
        },
      };
    });
    expect(layoutProblems(alert)).toEqual([]);
    await expect(
      `SUBJECT: ${alert.subject}\n\n${alert.text}\n\n--- slack\n${JSON.stringify(alert.slack, null, 2)}\n`,
    ).toMatchFileSnapshot('../golden/eks-forged-layout.dry-run.txt');
  });
});

describe('property: no finding value can look like the responder’s text', () => {
  it('any input: every line starts with a label, values are delimited, isolated and bounded', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const evaluation = evaluate(input, policy);
        const alert = renderAlert(evaluation, dryRunResponse(evaluation));
        if (alert !== null) expect(layoutProblems(alert)).toEqual([]);
      }),
      { numRuns: 1000, seed: 20261202 },
    );
  });

  /** Marks every finding value, so one shown outside its delimiters is found. */
  const SENTINEL = '¤';
  const responseText = hostileString.map((text) =>
    cleanText(text.replace(/¤/g, ''), 'description'),
  );
  /** What a containment function may answer, hostile text in every sentence. */
  const anyResponse = fc.record({
    details: fc.array(responseText, { minLength: 2, maxLength: 2 }),
    statuses: fc.array(fc.constantFrom(...OUTCOME_STATUSES), { minLength: 2, maxLength: 2 }),
    notes: fc.array(responseText, { maxLength: 3 }),
    failure: fc.option(responseText, { nil: undefined }),
    release: fc.option(responseText, { nil: undefined }),
  });

  it('every attacker-controlled field and any response: each finding value is inside its delimiters', () => {
    const values = fieldValues(
      fc.oneof(hostileString, forgeryString).map((s) => `${SENTINEL}${s}`),
    );
    fc.assert(
      fc.property(values, anyResponse, (strings, answer) => {
        const evaluation = evaluate(eventWithFields(strings), policy);
        expect(evaluation.decision).toBe('contain');
        const response: Response = {
          outcomes: evaluation.actions.map((action, i) => ({
            action,
            status: answer.statuses[i] ?? 'contained',
            detail: answer.details[i] ?? cleanText('done'),
            retryable: false,
          })),
          notes: answer.notes,
          failure: answer.failure,
          release: answer.release,
        };
        const alert = renderAlert(evaluation, response)!;
        expect(layoutProblems(alert, SENTINEL)).toEqual([]);
        // Every field carries the sentinel, and each one reaches the email text.
        expect(alert.text.split(SENTINEL).length - 1).toBeGreaterThanOrEqual(FIELD_SETTERS.length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('cut alerts stay balanced', () => {
  it('a text cut in the middle of a value closes its isolate and its delimiter', () => {
    const line = `Description: «\u2068${'ש'.repeat(40_000)}\u2069»`;
    const cut = capUtf8(`Title: «x»\n${line}`, 60_000, ALERT_CUT_MARKER);
    const [, last, marker] = cut.split('\n');
    expect(marker).toBe(ALERT_CUT_MARKER);
    expect(last).toBe(closeCutLine(last!.slice(0, -2)));
    expect(last!.endsWith('\u2069»')).toBe(true);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(60_000);
  });

  it('the largest finding, cut to the size limit, keeps its layout', () => {
    const event = loadEvent('eks-hostile-fields.json');
    const forged = event.detail.service.runtimeDetails.process;
    forged.lineage = Array.from({ length: 40 }, (_, i) => ({
      name: 'שלום'.repeat(100),
      executablePath: `/${'\u0301'.repeat(2000)}`,
      uuid: `u${i}`,
      parentUuid: `u${i + 1}`,
    }));
    forged.parentUuid = 'u0';
    const alert = dryRun(event);
    expect(alert.text.endsWith(ALERT_CUT_MARKER)).toBe(true);
    expect(layoutProblems(alert)).toEqual([]);
  });
});
