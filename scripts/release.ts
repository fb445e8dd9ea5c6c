/**
 * `npm run release -- ec2 <instance-id> [--region R]`: undo a quarantine from its record,
 * with the default credential chain (AWS_ENDPOINT_URL honoured).
 */
import { parseArgs } from 'node:util';
import { EC2Client } from '@aws-sdk/client-ec2';
import { releaseInstance, ReleaseError } from '../functions/quarantine-ec2/release.js';
import { INSTANCE_ID } from '../shared/identifiers.js';
import { describeError } from '../shared/containment.js';

const USAGE = 'usage: npm run release -- ec2 <instance-id> [--region REGION]';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { region: { type: 'string' } },
  });
  const [surface, id] = positionals;
  if (surface !== 'ec2' || id === undefined || !INSTANCE_ID.test(id)) {
    process.stderr.write(`release: expected "ec2" and a valid instance id\n${USAGE}\n`);
    return 2;
  }
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) {
    process.stderr.write('release: no region: pass --region or set AWS_REGION\n');
    return 2;
  }
  try {
    const report = await releaseInstance(new EC2Client({ region }), id);
    for (const { interfaceId, groups } of report.restored)
      process.stdout.write(`restored ${interfaceId}: ${groups.join(', ')}\n`);
    if (report.terminationProtection !== undefined)
      process.stdout.write(`termination protection: ${String(report.terminationProtection)}\n`);
    if (report.shutdownBehavior !== undefined)
      process.stdout.write(`shutdown behaviour: ${report.shutdownBehavior}\n`);
    for (const problem of report.problems) process.stderr.write(`problem: ${problem}\n`);
    process.stdout.write(
      report.problems.length === 0
        ? `released ${id}\n`
        : `release of ${id} incomplete: run it again\n`,
    );
    return report.problems.length === 0 ? 0 : 1;
  } catch (error) {
    process.stderr.write(
      `release: ${error instanceof ReleaseError ? error.message : describeError(error).summary}\n`,
    );
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
