/**
 * Router Lambda: the composition root. Only here are environment variables read and
 * clients built; `respond` does the work with what it is given.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import * as z from '../../shared/zod.js';
import { defaultPolicy, loadPolicyFile, PolicyError, type Policy } from '../../shared/policy.js';
import { lambdaContainment } from './containment.js';
import { snsAlerts } from './publish.js';
import { respond, type RouterDeps, type RouterResult } from './respond.js';
import { DynamoResponseStore } from './store.js';

const SERVICE = 'guardduty-runtime-responder-router';
const logger = new Logger({ serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: 'GuardDutyRuntimeResponder', serviceName: SERVICE });

const functionName = z.optional(z.string().check(z.regex(/^[A-Za-z0-9:_-]{1,140}$/)));

/** The router's environment; a bad value stops the function from starting. */
export const RouterEnvSchema = z.object({
  ALERT_TOPIC_ARN: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/)),
  /** DynamoDB table of claims, budget counters and the audit record. */
  STATE_TABLE: z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/)),
  ISOLATE_POD_FUNCTION: functionName,
  STOP_TASK_FUNCTION: functionName,
  QUARANTINE_EC2_FUNCTION: functionName,
  POLICY_PATH: z.optional(z.string().check(z.minLength(1))),
  CONTAINMENT_TIMEOUT_MS: z._default(
    z.pipe(z.coerce.number(), z.int().check(z.gte(1000), z.lte(900_000))),
    60_000,
  ),
});

/** Build the router's dependencies from the environment (throws with the bad key named). */
export function depsFromEnv(env: NodeJS.ProcessEnv): RouterDeps {
  const parsed = RouterEnvSchema.safeParse(env);
  if (!parsed.success) {
    const keys = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(`router configuration is invalid: ${keys}`);
  }
  const config = parsed.data;
  const { policy, policyError } = loadPolicy(config.POLICY_PATH);
  return {
    policy,
    policyError,
    store: new DynamoResponseStore(
      tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 4 })),
      config.STATE_TABLE,
    ),
    contain: lambdaContainment(
      tracer.captureAWSv3Client(new LambdaClient({})),
      {
        'eks-pod': config.ISOLATE_POD_FUNCTION,
        'ecs-task': config.STOP_TASK_FUNCTION,
        'ec2-instance': config.QUARANTINE_EC2_FUNCTION,
      },
      config.CONTAINMENT_TIMEOUT_MS,
    ),
    publish: snsAlerts(tracer.captureAWSv3Client(new SNSClient({})), config.ALERT_TOPIC_ARN),
    logger,
    metrics,
  };
}

/**
 * Fail closed: a policy that cannot be loaded never falls back to containing. The router
 * still runs (with the default policy only to read findings) so each finding gets an alert
 * saying nothing was contained and why.
 */
function loadPolicy(path: string | undefined): { policy: Policy; policyError?: string } {
  if (path === undefined) return { policy: defaultPolicy() };
  try {
    return { policy: loadPolicyFile(path) };
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    logger.error('policy could not be loaded: failing closed', { error: error.message });
    return { policy: defaultPolicy(), policyError: error.message };
  }
}

let deps: RouterDeps | undefined;

/** EventBridge target. Throws when containment failed, so the event is retried. */
export async function handler(event: unknown): Promise<RouterResult> {
  deps ??= depsFromEnv(process.env);
  try {
    return await respond(event, deps);
  } finally {
    metrics.publishStoredMetrics();
  }
}
