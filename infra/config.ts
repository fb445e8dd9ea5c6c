/** The deployment configuration file (`infra/config.json`, or `-c config=FILE`), validated. */
import { readFileSync } from 'node:fs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
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

/** Read and validate the configuration; errors name the file and each bad key. */
export function loadDeploymentConfig(path: string): DeploymentConfig {
  const result = DeploymentConfigSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`invalid deployment configuration ${path}: ${problems.join('; ')}`);
  }
  return result.data;
}
