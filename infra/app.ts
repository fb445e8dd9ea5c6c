/**
 * The CDK app: one stack holding the responder, configured from a JSON file
 * (`-c config=FILE`, default `infra/config.json`, falling back to `infra/config.example.json`).
 */
import { existsSync } from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from './config.js';
import { RuntimeFindingResponder } from './responder.js';

const app = new App();
const requested = app.node.tryGetContext('config') as string | undefined;
const configPath =
  requested ??
  (existsSync('infra/config.json') ? 'infra/config.json' : 'infra/config.example.json');
const config = loadDeploymentConfig(configPath);

const stack = new Stack(app, config.stackName, {
  description:
    'guardduty-runtime-responder: contain workloads flagged by GuardDuty Runtime Monitoring',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
new RuntimeFindingResponder(stack, 'Responder', {
  policyPath: config.policyPath,
  alertEmails: config.alertEmails,
  slack: config.slack,
  eksClusterNames: config.eksClusterNames,
  ecsClusterArns: config.ecsClusterArns,
  logRetention: config.logRetentionDays as RetentionDays,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
