/**
 * `npm run -s release -- <surface> …`: undo a containment from what the responder recorded,
 * with the operator's own credentials.
 *   ec2 <instance-id> [--region R]                 groups, termination protection, shutdown behaviour (tags)
 *   eks <namespace>/<pod> [--kubeconfig FILE]      NetworkPolicy, labels, relabelled controller labels, cordon
 *   ecs                                            explains: a stopped task cannot be resumed
 * `--json` prints one record instead of lines. The AWS and Kubernetes clients are loaded
 * only for the surface released, so `--help` and usage errors answer at once.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { NETWORK_INTERFACE_ID } from '../shared/identifiers.js';
import { describeError } from '../shared/containment.js';
import { cleanText } from '../shared/sanitize.js';
import { exitWith, quietOnClosedPipes } from './cli-output.js';
import { parseReleaseArgs, RELEASE_USAGE, type ReleaseCommand } from './release-args.js';

/** What a release did: `--json` prints it as it is, otherwise as lines. */
export interface ReleaseRecord {
  surface: ReleaseCommand['surface'];
  /** The instance id or `namespace/pod`; null for ecs. */
  target: string | null;
  /** True when everything recorded was restored. */
  released: boolean;
  /** What was done, one line each. */
  steps: string[];
  /** What could not be done; the release can be run again. */
  problems: string[];
  /** What there is to know besides (ecs: why there is nothing to release). */
  notes: string[];
}

/** The release found nothing to do, or cannot do it (no record, no such pod): exit 1. */
class ReleaseRefused extends Error {}

/** What the release needs from the operator's setup is missing (a kubeconfig): exit 2. */
class SetupProblem extends Error {}

async function releaseEc2(
  command: Extract<ReleaseCommand, { surface: 'ec2' }>,
): Promise<ReleaseRecord> {
  const [{ EC2Client }, { releaseInstance, ReleaseError }] = await Promise.all([
    import('@aws-sdk/client-ec2'),
    import('../functions/quarantine-ec2/release.js'),
  ]);
  try {
    const report = await releaseInstance(
      new EC2Client({ region: command.region }),
      command.instanceId,
    );
    // The ids come from EC2 and the record (whose group ids were checked when read back);
    // printed only when they have their syntax.
    const steps = report.restored.map(({ interfaceId, groups }) => {
      const shownId = NETWORK_INTERFACE_ID.test(interfaceId) ? interfaceId : 'an interface';
      return `restored ${shownId}: ${groups.join(', ')}`;
    });
    if (report.terminationProtection !== undefined)
      steps.push(`termination protection: ${String(report.terminationProtection)}`);
    if (report.shutdownBehavior !== undefined)
      steps.push(`shutdown behaviour: ${report.shutdownBehavior}`);
    return record('ec2', command.instanceId, steps, report.problems);
  } catch (error) {
    if (error instanceof ReleaseError) throw new ReleaseRefused(error.message);
    throw error;
  }
}

async function releaseEks(
  command: Extract<ReleaseCommand, { surface: 'eks' }>,
): Promise<ReleaseRecord> {
  const [{ KubeConfig }, { undoPodQuarantine, UndoError }] = await Promise.all([
    import('@kubernetes/client-node'),
    import('../functions/isolate-pod/undo.js'),
  ]);
  const kc = loadKubeconfig(new KubeConfig(), command.kubeconfig);
  try {
    const report = await undoPodQuarantine(kc, command.namespace, command.pod);
    return record('eks', report.pod, report.steps, report.problems);
  } catch (error) {
    if (error instanceof UndoError) throw new ReleaseRefused(error.message);
    throw error;
  }
}

/**
 * The operator's kubeconfig: --kubeconfig, else KUBECONFIG, else ~/.kube/config. Without
 * one, the client would fall back to http://localhost:8080 and fail with a connection
 * error that names no cause, so the missing file is said instead.
 */
function loadKubeconfig(kc: KubeConfig, flag: string | undefined): KubeConfig {
  const defaultFile = join(homedir(), '.kube', 'config');
  const source = flag ?? (process.env.KUBECONFIG || (existsSync(defaultFile) ? defaultFile : ''));
  if (!source) throw new SetupProblem('no kubeconfig: pass --kubeconfig or set KUBECONFIG');
  try {
    if (flag === undefined) kc.loadFromDefault();
    else kc.loadFromFile(flag);
  } catch (error) {
    // The YAML parser's message goes on to quote the file: its first line says what is wrong.
    const reason = (error as Error).message.split('\n')[0];
    throw new SetupProblem(
      `cannot load kubeconfig ${source}: ${cleanText(reason ?? '', 'description')}`,
    );
  }
  if (kc.getCurrentCluster() === null) {
    throw new SetupProblem(
      `kubeconfig ${source} has no current context with a cluster: select one (kubectl config use-context NAME, or aws eks update-kubeconfig --region REGION --name CLUSTER)`,
    );
  }
  return kc;
}

function releaseEcs(): ReleaseRecord {
  return {
    ...record('ecs', null, [], []),
    released: false,
    notes: [
      'A stopped ECS task cannot be resumed: there is nothing to release.',
      'If the policy scaled its service to zero, the alert gives the exact "aws ecs update-service --desired-count N" that restores it.',
    ],
  };
}

const record = (
  surface: ReleaseRecord['surface'],
  target: string | null,
  steps: string[],
  problems: string[],
): ReleaseRecord => ({
  surface,
  target,
  released: problems.length === 0,
  steps,
  problems,
  notes: [],
});

/** The record as an operator reads it: steps on stdout, problems on stderr, a last line. */
function printLines(result: ReleaseRecord): void {
  for (const line of [...result.steps, ...result.notes]) process.stdout.write(`${line}\n`);
  for (const problem of result.problems) process.stderr.write(`problem: ${problem}\n`);
  if (result.target === null) return;
  process.stdout.write(
    result.released
      ? `released ${result.target}\n`
      : `release of ${result.target} incomplete: run it again\n`,
  );
}

async function run(command: ReleaseCommand): Promise<ReleaseRecord> {
  switch (command.surface) {
    case 'ec2':
      return releaseEc2(command);
    case 'eks':
      return releaseEks(command);
    case 'ecs':
      return releaseEcs();
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseReleaseArgs(argv, process.env);
  if ('help' in parsed) {
    process.stdout.write(`${RELEASE_USAGE}\n`);
    return 0;
  }
  if ('usageError' in parsed) {
    process.stderr.write(`release: ${parsed.usageError}\n${RELEASE_USAGE}\n`);
    return 2;
  }
  let result: ReleaseRecord;
  try {
    result = await run(parsed);
  } catch (error) {
    const known = error instanceof ReleaseRefused || error instanceof SetupProblem;
    const message = known ? error.message : describeError(error).summary;
    process.stderr.write(`release: ${message}\n`);
    if (parsed.json) {
      const failed = {
        ...record(parsed.surface, targetOf(parsed), [], [message]),
        released: false,
      };
      process.stdout.write(`${JSON.stringify(failed)}\n`);
    }
    return error instanceof SetupProblem ? 2 : 1;
  }
  if (parsed.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else printLines(result);
  return result.problems.length === 0 ? 0 : 1;
}

function targetOf(command: ReleaseCommand): string | null {
  switch (command.surface) {
    case 'ec2':
      return command.instanceId;
    case 'eks':
      return `${command.namespace}/${command.pod}`;
    case 'ecs':
      return null;
  }
}

quietOnClosedPipes('release');
exitWith(await main(process.argv.slice(2)));
