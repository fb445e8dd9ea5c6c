/**
 * quarantine-ec2 Lambda: the composition root. `handler` contains (router request in,
 * ContainmentResult out); `releaseHandler` undoes a quarantine by instance id.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { EC2Client } from '@aws-sdk/client-ec2';
import { parseContainmentRequest, fitContract } from '../../shared/containment.js';
import type { ContainmentResult } from '../../shared/contracts.js';
import { INSTANCE_ID } from '../../shared/identifiers.js';
import { containInstance, type Ec2Deps } from './contain.js';
import { releaseInstance, type ReleaseReport } from './release.js';

const SERVICE = 'guardduty-runtime-responder-quarantine-ec2';
const logger = new Logger({ serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });

/** SDK retries (throttling, 5xx) before an outcome is reported as failed and retryable. */
const MAX_ATTEMPTS = 4;

/**
 * The value `make` resolves to, made on the first call only. A failed attempt is not kept,
 * so one transient failure does not fail that action for the rest of a warm container.
 */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
}

/**
 * Clients for one region; the SDK honours AWS_ENDPOINT_URL (emulators, `replay --live`).
 * The Auto Scaling and load balancer clients are imported on first use (`Ec2Deps`), from
 * the action modules: importing the SDK packages here would bring all their commands.
 */
export function ec2Deps(region: string, trace = false): Ec2Deps {
  const wrap = <T>(client: T): T => (trace ? tracer.captureAWSv3Client(client) : client);
  const config = { region, maxAttempts: MAX_ATTEMPTS };
  return {
    ec2: wrap(new EC2Client(config)),
    autoScaling: once(async () =>
      wrap((await import('./auto-scaling.js')).autoScalingClient(config)),
    ),
    elb: once(async () => wrap((await import('./target-groups.js')).loadBalancerClient(config))),
    region,
  };
}

let deps: Ec2Deps | undefined;
const lambdaDeps = () => (deps ??= ec2Deps(process.env.AWS_REGION ?? 'us-east-1', true));

/** Contain: the router's ContainmentRequest in, one outcome per action out. */
export async function handler(event: unknown): Promise<ContainmentResult> {
  const request = parseContainmentRequest(event, 'ec2-instance');
  logger.appendKeys({ findingId: request.findingId, instanceId: request.target.instanceId });
  try {
    const result = await containInstance(request, lambdaDeps());
    logger.info('containment finished', {
      outcomes: result.outcomes.map(({ action, status, detail }) => ({ action, status, detail })),
    });
    return fitContract(result);
  } finally {
    logger.resetKeys();
  }
}

/** Release: `{ "instanceId": "i-…" }` in, what was restored out. */
export async function releaseHandler(event: unknown): Promise<ReleaseReport> {
  const instanceId = (event as { instanceId?: unknown } | null)?.instanceId;
  if (typeof instanceId !== 'string' || !INSTANCE_ID.test(instanceId)) {
    throw new Error('release needs { "instanceId": "i-…" } with a valid EC2 instance id');
  }
  const report = await releaseInstance(lambdaDeps().ec2, instanceId);
  logger.info('release finished', { ...report });
  return report;
}
