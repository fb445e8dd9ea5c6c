import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, runWithReaderClosing, STACK_FRAME } from '../cli.js';
import { EVENTS_DIR, jsonFiles } from '../helpers.js';
import {
  defaultPolicy,
  effectivePolicyDocument,
  loadPolicyFile,
  parsePolicy,
} from '../../shared/policy.js';

const replay = (...args: string[]) => runCli('scripts/replay.ts', args);

const KEYS = [
  'actions',
  'alert',
  'decision',
  'file',
  'findingId',
  'findingType',
  'reason',
  'severity',
  'surface',
  'target',
];

// Each test starts the CLI (tsx) once or twice: seconds each on a busy machine.
describe('npm run replay', { timeout: 30_000 }, () => {
  it('--json: exactly one JSON object per file per line, with the documented keys', () => {
    const { status, stdout, stderr } = replay('--json', 'events');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(jsonFiles(EVENTS_DIR).length);
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(record).sort()).toEqual(KEYS);
      if (record.decision === 'ignore' || record.decision === 'reject')
        expect(record.alert).toBeNull();
      else
        expect(record.alert).toMatchObject({
          subject: expect.any(String),
          text: expect.any(String),
          slack: { version: '1.0' },
        });
    }
  });

  it('the README example reports the EKS reverse shell plan and the alert', () => {
    const { status, stdout } = replay('events/eks-reverse-shell.json');
    expect(status).toBe(0);
    expect(stdout).toContain('Decision:   CONTAIN');
    expect(stdout).toContain(
      'Planned:    eks:label-pod, eks:isolate-pod-network (dry run: nothing executed)',
    );
    expect(stdout).toContain('--- alert text (email)');
  });

  it('a file that cannot be read or is not JSON: one line on stderr, the others still processed, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    writeFileSync(join(dir, 'broken.json'), '{"detail": ');
    const { status, stdout, stderr } = replay(
      '--json',
      join(dir, 'broken.json'),
      join(dir, 'missing.json'),
      'events/eks-reverse-shell.json',
    );
    expect(status).toBe(1);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    const errors = stderr.trimEnd().split('\n');
    expect(errors).toHaveLength(2);
    expect(errors.find((line) => line.includes('broken.json'))).toMatch(/is not valid JSON/);
    expect(errors.find((line) => line.includes('missing.json'))).toMatch(
      /cannot read .*missing\.json: no such file or directory \(ENOENT\)$/,
    );
  });

  it('file names reach the terminal escaped: a name with an escape sequence and a newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    const hostile = join(dir, 'x\u001b[2J\nDecision:   IGNORE.json');
    writeFileSync(hostile, readFileSync(join(ROOT, 'events', 'eks-reverse-shell.json')));
    const broken = join(dir, 'y\u001b]0;title\u0007.json');
    writeFileSync(broken, '{');
    const { stdout, stderr } = replay(hostile, broken);
    expect(stdout).not.toContain('\u001b');
    expect(stderr).not.toContain('\u001b');
    expect(stdout).toContain('x\\x1B[2J\\nDecision:   IGNORE.json');
    // No line the name made: the report's own `Decision:` lines only (report and alert).
    expect(stdout.split('\n').filter((line) => line.startsWith('Decision:   IGNORE'))).toEqual([]);
    expect(stderr).toMatch(/y\\x1B\]0;title\\x07\.json is not valid JSON/);
  });

  it('ignore and reject are normal outcomes (exit 0)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    writeFileSync(join(dir, 'array.json'), '[]');
    const { status, stdout } = replay(
      '--json',
      join(dir, 'array.json'),
      'events/archived-ec2-reverse-shell.json',
    );
    expect(status).toBe(0);
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { decision: string }).decision),
    ).toEqual(['reject', 'ignore']);
  });

  it('--policy: uses the file, and an invalid one stops with the bad key named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    const notifyOnly = join(dir, 'notify.json');
    const policy = JSON.parse(
      readFileSync(join(ROOT, 'shared', 'default-policy.json'), 'utf8'),
    ) as Record<string, any>;
    policy.surfaces['eks-pod'].mode = 'notify';
    writeFileSync(notifyOnly, JSON.stringify(policy));
    const used = replay('--json', '--policy', notifyOnly, 'events/eks-reverse-shell.json');
    expect((JSON.parse(used.stdout) as { decision: string }).decision).toBe('notify');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...policy, minSeverity: 3 }));
    const refused = replay('--policy', bad, 'events');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/invalid policy in .*bad\.json: .*minSeverity/);
    expect(refused.stdout).toBe('');
  });

  it('--policy: a partial file is laid over the default; problems are all named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    const partial = join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ surfaces: { 'eks-pod': { mode: 'notify' } } }));
    const used = replay('--json', '--policy', partial, 'events/eks-reverse-shell.json');
    expect(used.stderr).toBe('');
    expect((JSON.parse(used.stdout) as { decision: string }).decision).toBe('notify');
    const typos = join(dir, 'typos.json');
    writeFileSync(typos, JSON.stringify({ eks: { allowDNSEgress: true }, minSeverity: 3 }));
    const refused = replay('--policy', typos, 'events');
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trimEnd()).toMatch(
      /^replay: invalid policy in .*typos\.json: eks: Unrecognized key: "allowDNSEgress"; \(root\): Unrecognized key: "minSeverity"$/,
    );
  });

  it('--print-policy: the policy in force as JSON, with or without --policy', () => {
    const printed = replay('--print-policy');
    expect(printed.status).toBe(0);
    expect(printed.stderr).toBe('');
    const defaults = effectivePolicyDocument(defaultPolicy());
    expect(defaults).not.toHaveProperty('$schema');
    expect(JSON.parse(printed.stdout)).toEqual(defaults);

    const dir = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    const partial = join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ dryRun: true, protectedNamespaces: ['payments'] }));
    const layeredPrint = replay('--print-policy', '--policy', partial);
    expect(layeredPrint.status).toBe(0);
    expect(JSON.parse(layeredPrint.stdout)).toEqual({
      ...defaults,
      dryRun: true,
      protectedNamespaces: ['payments'],
    });
    // What it prints is itself a policy file that gives the same policy.
    const saved = join(dir, 'saved.json');
    writeFileSync(saved, layeredPrint.stdout);
    expect(loadPolicyFile(saved)).toEqual(parsePolicy(JSON.parse(readFileSync(partial, 'utf8'))));

    const refused = replay('--print-policy', 'events');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^replay: --print-policy takes no finding file/);
  });

  it('--html writes a self-contained report where no finding text is markup', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'gdrr-replay-')), 'report.html');
    const { status } = replay('--json', '--html', out, 'events');
    expect(status).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html.match(/<tr class=/g)).toHaveLength(jsonFiles(EVENTS_DIR).length);
    expect(html).toContain('Content-Security-Policy" content="default-src \'none\'');
    expect(html).not.toMatch(/<script|<!channel|<@U/);
    expect(html).toContain('&#x3C;script&#x3E;');
  });

  it('--html into a missing folder or onto a directory: one line, exit 2, nothing replayed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    for (const [out, problem] of [
      [join(dir, 'missing', 'report.html'), /the folder .*missing does not exist$/],
      [dir, /is a directory: name the report file to write$/],
    ] as const) {
      const { status, stdout, stderr } = replay('--html', out, 'events');
      expect(status).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr.trimEnd()).toMatch(problem);
      expect(stderr).not.toMatch(STACK_FRAME);
    }
  });

  it('a directory with no .json file is said, exit 1', () => {
    const empty = mkdtempSync(join(tmpdir(), 'gdrr-replay-'));
    writeFileSync(join(empty, 'notes.txt'), 'not a finding');
    const { status, stdout, stderr } = replay(empty);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`replay: ${empty} holds no .json file\n`);
    // The other inputs are still replayed.
    const mixed = replay('--json', empty, 'events/eks-reverse-shell.json');
    expect(mixed.status).toBe(1);
    expect(mixed.stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a reader that closes early (`| head`) ends the replay quietly, exit 0', async () => {
    // Far more output than a pipe holds, so the replay must write after the reader has gone.
    const { status, stderr } = await runWithReaderClosing(
      'scripts/replay.ts',
      Array.from({ length: 10 }, () => 'events'),
      1,
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });

  it('--json and --stream: the same with a reader closed before the first line', async () => {
    for (const args of [
      ['--json', 'events'],
      ['--stream', '--json', 'events'],
    ]) {
      const { status, stderr } = await runWithReaderClosing('scripts/replay.ts', args, 0);
      expect(stderr).toBe('');
      expect(status).toBe(0);
    }
  });

  it('usage errors exit 2', () => {
    expect(replay().status).toBe(2);
    expect(replay('--nope', 'events').status).toBe(2);
    // A kubeconfig given for a dry run would be silently unused: the user meant --live.
    const kubeconfigAlone = replay('--kubeconfig', 'kubeconfig.yaml', 'events');
    expect(kubeconfigAlone.status).toBe(2);
    expect(kubeconfigAlone.stderr).toMatch(/^replay: --kubeconfig is read only with --live\n/);
    expect(kubeconfigAlone.stdout).toBe('');
  });

  it('--stream --json: one record per delivery, the replay keys plus the router status and budget', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-stream-'));
    const shell = readFileSync(join(EVENTS_DIR, 'eks-reverse-shell.json'), 'utf8');
    // The same finding twice, then a broken file: two deliveries, one error line, exit 1.
    writeFileSync(join(dir, '1.json'), shell);
    writeFileSync(join(dir, '2.json'), shell);
    writeFileSync(join(dir, '3.json'), '{');
    const { status, stdout, stderr } = replay('--stream', '--json', dir);
    expect(status).toBe(1);
    expect(stderr).toMatch(/3\.json is not valid JSON/);
    const records = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(Object.keys(record)).toEqual(
        expect.arrayContaining([...KEYS, 'delivery', 'at', 'status', 'budgetAlert']),
      );
    }
    expect(records.map((r) => [r.delivery, r.status])).toEqual([
      [1, 'DRY RUN'],
      [2, 'DUPLICATE'],
    ]);
    expect(records[0]!.budget).toMatchObject({ outcome: 'taken', scopeLimit: 5, surfaceLimit: 10 });
  });

  it('--stream: one line per delivery and totals; --stream with --live is a usage error', () => {
    const { status, stdout } = replay('--stream', join(EVENTS_DIR, 'eks-reverse-shell.json'));
    expect(status).toBe(0);
    expect(stdout).toMatch(
      /^#1 .*eks-reverse-shell\.json: Execution:Runtime\/ReverseShell on eks-pod payments\/checkout-api-\S+ -> DRY RUN \| budget taken/,
    );
    expect(stdout).toContain('1 deliveries: 1 DRY RUN');
    const refused = replay('--stream', '--live', 'events');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^replay: --stream is a dry run/);
    expect(refused.stderr).not.toMatch(STACK_FRAME);
  });
});
