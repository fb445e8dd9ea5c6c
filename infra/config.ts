/** The deployment configuration file (`infra/config.json`, or `-c config=FILE`), validated. */
import { readFileSync } from 'node:fs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { loadPolicyFile, PolicyError } from '../shared/policy.js';
import * as z from '../shared/zod.js';

/**
 * The retention periods CloudWatch Logs accepts, in days: any other synthesizes, then
 * fails the deployment. (Never expiring is not offered: a security tool's logs should end.)
 */
export const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays)
  .filter((days): days is number => typeof days === 'number' && days !== RetentionDays.INFINITE)
  .sort((a, b) => a - b);

export const DeploymentConfigSchema = z.strictObject({
  stackName: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)),
  policyPath: z.optional(z.string()),
  alertEmails: z._default(z.array(z.email()), []),
  slack: z.optional(
    z.strictObject({
      workspaceId: z.string().check(z.regex(/^[A-Z0-9]{1,32}$/)),
      channelId: z.string().check(z.regex(/^[A-Z0-9]{1,32}$/)),
    }),
  ),
  eksClusterNames: z._default(
    z.array(z.string().check(z.regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/))),
    [],
  ),
  ecsClusterArns: z._default(
    z.array(
      z
        .string()
        .check(z.regex(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/)),
    ),
    [],
  ),
  logRetentionDays: z._default(
    z.int().check(
      z.refine((days) => LOG_RETENTION_DAYS.includes(days), {
        message: `must be one of the retention periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
      }),
    ),
    90,
  ),
});
export type DeploymentConfig = z.infer<typeof DeploymentConfigSchema>;

/** A configuration that cannot be used; `message` is one line naming the file and the key. */
export class DeploymentConfigError extends Error {
  override readonly name = 'DeploymentConfigError';
}

/** Read and validate the configuration; errors name the file and each bad key. */
export function loadDeploymentConfig(path: string): DeploymentConfig {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeploymentConfigError(
      `cannot read deployment configuration ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(raw);
  } catch (error) {
    throw new DeploymentConfigError(
      `deployment configuration ${path} is not JSON: ${(error as Error).message}`,
    );
  }
  const result = DeploymentConfigSchema.safeParse(document);
  if (!result.success) {
    throw new DeploymentConfigError(
      `invalid deployment configuration ${path}: ${z.issueLines(result.error).join('; ')}`,
    );
  }
  return result.data;
}

export const CONFIG_FILE = 'infra/config.json';
export const EXAMPLE_CONFIG_FILE = 'infra/config.example.json';

/** The configuration synth uses, where it came from, and what to tell the operator about it. */
export interface ChosenConfig {
  path: string;
  config: DeploymentConfig;
  /** For stderr: which file was used, and whether it leaves alerts without a recipient. */
  notice: string;
}

/**
 * The configuration for synth: `-c config=FILE`, else `infra/config.json`, else the example.
 * The example keeps `npm run synth` working from a clean clone (CI checks the stack that
 * way), but a stack from it sends alerts to no one, so using it is always said, with what
 * it lacks. The policy it names is checked here too, so a bad one is named with the key
 * that points to it. Throws a DeploymentConfigError.
 */
export function chooseDeploymentConfig(
  requested: string | undefined,
  exists: (path: string) => boolean,
): ChosenConfig {
  const path = requested ?? (exists(CONFIG_FILE) ? CONFIG_FILE : EXAMPLE_CONFIG_FILE);
  const config = loadDeploymentConfig(path);
  if (config.policyPath !== undefined) {
    // Absent, the stack bundles the default policy, which the tests keep valid.
    try {
      loadPolicyFile(config.policyPath);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      throw new DeploymentConfigError(`${path}: policyPath: ${error.message}`);
    }
  }
  // A stack without alert recipients contains workloads and tells no one: always said.
  const silent =
    config.alertEmails.length === 0 && config.slack === undefined
      ? ', which has no alert recipient (alertEmails, slack): alerts would reach no one'
      : '';
  const notice =
    path === EXAMPLE_CONFIG_FILE && requested === undefined
      ? `${CONFIG_FILE} not found: using ${EXAMPLE_CONFIG_FILE}${silent}; copy it to ${CONFIG_FILE} and fill it in before deploying`
      : `using ${path}${silent}`;
  return { path, config, notice };
}
