/**
 * `npm run release -- <surface> …`: undo a containment from what the responder recorded,
 * with the operator's own credentials.
 *   ec2 <instance-id> [--region R]                 groups, termination protection, shutdown behaviour (tags)
 *   eks <namespace>/<pod> [--kubeconfig FILE]      NetworkPolicy, labels, relabelled controller labels, cordon
 *   ecs                                            explains: a stopped task cannot be resumed
 */
import { parseArgs } from 'node:util';
import { EC2Client } from '@aws-sdk/client-ec2';
import { KubeConfig } from '@kubernetes/client-node';
import { releaseInstance, ReleaseError } from '../functions/quarantine-ec2/release.js';
import { undoPodQuarantine, UndoError } from '../functions/isolate-pod/undo.js';
import {
  INSTANCE_ID,
  K8S_NAMESPACE,
  K8S_POD_NAME,
  NETWORK_INTERFACE_ID,
} from '../shared/identifiers.js';
import { describeError } from '../shared/containment.js';
import { exitWith, quietOnClosedPipes } from './cli-output.js';

const USAGE = `usage: npm run release -- ec2 <instance-id> [--region REGION]
       npm run release -- eks <namespace>/<pod> [--kubeconfig FILE]
       npm run release -- ecs`;

const say = (line: string) => process.stdout.write(`${line}\n`);
const complain = (line: string) => process.stderr.write(`${line}\n`);

async function releaseEc2(id: string | undefined, region: string | undefined): Promise<number> {
  if (id === undefined || !INSTANCE_ID.test(id)) {
    complain(`release: expected a valid EC2 instance id\n${USAGE}`);
    return 2;
  }
  if (!region) {
    complain('release: no region: pass --region or set AWS_REGION');
    return 2;
  }
  const report = await releaseInstance(new EC2Client({ region }), id);
  // The ids come from EC2 and the record (whose group ids were checked when read back);
  // printed only when they have their syntax.
  for (const { interfaceId, groups } of report.restored) {
    const shownId = NETWORK_INTERFACE_ID.test(interfaceId) ? interfaceId : 'an interface';
    say(`restored ${shownId}: ${groups.join(', ')}`);
  }
  if (report.terminationProtection !== undefined)
    say(`termination protection: ${String(report.terminationProtection)}`);
  if (report.shutdownBehavior !== undefined) say(`shutdown behaviour: ${report.shutdownBehavior}`);
  for (const problem of report.problems) complain(`problem: ${problem}`);
  say(
    report.problems.length === 0 ? `released ${id}` : `release of ${id} incomplete: run it again`,
  );
  return report.problems.length === 0 ? 0 : 1;
}

async function releaseEks(
  target: string | undefined,
  kubeconfig: string | undefined,
): Promise<number> {
  const [namespace, pod] = (target ?? '').split('/');
  if (!K8S_NAMESPACE.test(namespace ?? '') || !K8S_POD_NAME.test(pod ?? '')) {
    complain(`release: expected <namespace>/<pod> with valid Kubernetes names\n${USAGE}`);
    return 2;
  }
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  const report = await undoPodQuarantine(kc, namespace!, pod!);
  for (const step of report.steps) say(step);
  for (const problem of report.problems) complain(`problem: ${problem}`);
  say(
    report.problems.length === 0
      ? `released ${report.pod}`
      : `release of ${report.pod} incomplete: run it again`,
  );
  return report.problems.length === 0 ? 0 : 1;
}

function releaseEcs(): number {
  say('A stopped ECS task cannot be resumed: there is nothing to release.');
  say('If the policy scaled its service to zero, the alert gives the exact');
  say('"aws ecs update-service --desired-count N" that restores it.');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { region: { type: 'string' }, kubeconfig: { type: 'string' } },
  });
  const [surface, target] = positionals;
  try {
    switch (surface) {
      case 'ec2':
        return await releaseEc2(
          target,
          values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
        );
      case 'eks':
        return await releaseEks(target, values.kubeconfig);
      case 'ecs':
        return releaseEcs();
      default:
        complain(USAGE);
        return 2;
    }
  } catch (error) {
    const known = error instanceof ReleaseError || error instanceof UndoError;
    complain(`release: ${known ? error.message : describeError(error).summary}`);
    return 1;
  }
}

quietOnClosedPipes('release');
exitWith(await main(process.argv.slice(2)));
