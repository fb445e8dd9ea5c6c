/** `npm run release`, run as a separate process the way an operator runs it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runWithReaderClosing, STACK_FRAME } from '../cli.js';

const INSTANCE = 'i-0123456789abcdef0';

/** The environment of an operator with no AWS region and no kubeconfig anywhere. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: mkdtempSync(join(tmpdir(), 'gdrr-home-')),
  };
  for (const key of ['KUBECONFIG', 'AWS_REGION', 'AWS_DEFAULT_REGION']) delete env[key];
  return env;
}

const release = (args: string[], env: NodeJS.ProcessEnv = bareEnv()) =>
  runCli('scripts/release.ts', args, { env });

/** A refusal: exit 2, the one given line on stderr before the usage, nothing on stdout. */
function expectUsageError(args: string[], line: string | RegExp): void {
  const { status, stdout, stderr } = release(args);
  expect(status).toBe(2);
  expect(stdout).toBe('');
  expect(stderr.split('\n')[0]).toMatch(line);
  expect(stderr).toContain('usage: npm run -s release -- ec2');
  expect(stderr).not.toMatch(STACK_FRAME);
}

// Each test starts the CLI (tsx) once or more: seconds each on a busy machine.
describe('npm run release', { timeout: 60_000 }, () => {
  it('--help and -h: the usage on stdout, exit 0', () => {
    for (const flag of ['--help', '-h']) {
      const { status, stdout, stderr } = release([flag]);
      expect(status).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^usage: npm run -s release -- ec2 <instance-id> \[--region REGION\]/);
      expect(stdout).toContain('--json');
    }
  });

  it('an unknown option: one line naming it, exit 2', () => {
    expectUsageError(['ec2', INSTANCE, '--nope'], /^release: Unknown option '--nope'$/);
    expectUsageError(['--regoin', 'us-east-1', 'ec2', INSTANCE], /Unknown option '--regoin'$/);
  });

  it('extra arguments and options of another surface are refused', () => {
    expectUsageError(
      ['ec2', INSTANCE, 'i-0fedcba9876543210', '--region', 'us-east-1'],
      /^release: unexpected argument "i-0fedcba9876543210"$/,
    );
    expectUsageError(['ecs', 'my-task'], /^release: unexpected argument "my-task"$/);
    expectUsageError(
      ['eks', 'payments/web', '--region', 'us-east-1'],
      /^release: --region does not apply to eks$/,
    );
    expectUsageError(['lambda'], /^release: unknown surface "lambda": ec2, eks or ecs$/);
    expectUsageError([], /^release: name what to release: ec2, eks or ecs$/);
  });

  it('EC2 without a region, or with one that is not a region name: said, exit 2', () => {
    expectUsageError(['ec2', INSTANCE], /^release: no region: pass --region or set AWS_REGION$/);
    expectUsageError(
      ['ec2', INSTANCE, '--region', 'us-east-1;id'],
      /^release: region "us-east-1;id" is not a region name/,
    );
  });

  it('EKS without a kubeconfig: says so, instead of a connection error', () => {
    const { status, stdout, stderr } = release(['eks', 'payments/web']);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('release: no kubeconfig: pass --kubeconfig or set KUBECONFIG\n');
  });

  it('EKS with a kubeconfig that cannot be used: names the file and why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-kube-'));
    const missing = join(dir, 'missing');
    const broken = join(dir, 'broken');
    writeFileSync(broken, 'clusters: [');
    const empty = join(dir, 'empty');
    writeFileSync(empty, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    for (const [file, why] of [
      [missing, /^release: cannot load kubeconfig .*missing: ENOENT/],
      [broken, /^release: cannot load kubeconfig .*broken: unexpected end of the stream/],
      [empty, /^release: kubeconfig .*empty has no current context with a cluster/],
    ] as const) {
      const { status, stderr } = release(['eks', 'payments/web', '--kubeconfig', file]);
      expect(status).toBe(2);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(why);
    }
  });

  it('--json: one record on stdout, also when the release cannot run', () => {
    const ecs = release(['ecs', '--json']);
    expect(ecs.status).toBe(0);
    expect(JSON.parse(ecs.stdout)).toEqual({
      surface: 'ecs',
      target: null,
      released: false,
      steps: [],
      problems: [],
      notes: [expect.stringMatching(/^A stopped ECS task cannot be resumed/), expect.any(String)],
    });
    const eks = release(['eks', 'payments/web', '--json']);
    expect(eks.status).toBe(2);
    expect(JSON.parse(eks.stdout)).toEqual({
      surface: 'eks',
      target: 'payments/web',
      released: false,
      steps: [],
      problems: ['no kubeconfig: pass --kubeconfig or set KUBECONFIG'],
      notes: [],
    });
    // No EC2 endpoint answers: the failure is the record's problem, not a stack trace.
    const ec2 = release(['ec2', INSTANCE, '--region', 'us-east-1', '--json'], {
      ...bareEnv(),
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_MAX_ATTEMPTS: '1',
    });
    expect(ec2.status).toBe(1);
    expect(JSON.parse(ec2.stdout)).toMatchObject({
      surface: 'ec2',
      target: INSTANCE,
      released: false,
      problems: [expect.stringMatching(/ECONNREFUSED/)],
    });
    expect(ec2.stderr).not.toMatch(STACK_FRAME);
  });

  it('a reader that closed its pipe: no EPIPE trace, the result as usual', async () => {
    const { status, stderr } = await runWithReaderClosing('scripts/release.ts', ['ecs'], 0);
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
