/**
 * The CDK app: one stack holding the responder, configured from a JSON file
 * (`-c config=FILE`, default `infra/config.json`, falling back to `infra/config.example.json`
 * with a notice). A configuration or policy that cannot be used stops synth with one line
 * naming the file and the key, and no stack.
 */
import { existsSync } from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { chooseDeploymentConfig, DeploymentConfigError, type ChosenConfig } from './config.js';
import { addStackOutputs } from './outputs.js';
import { RuntimeFindingResponder } from './responder.js';

// Synthesized explicitly, and only once the configuration is known to be usable.
const app = new App({ autoSynth: false });

let chosen: ChosenConfig | undefined;
try {
  chosen = chooseDeploymentConfig(
    app.node.tryGetContext('config') as string | undefined,
    existsSync,
  );
} catch (error) {
  if (!(error instanceof DeploymentConfigError)) throw error;
  process.stderr.write(`synth: ${error.message}\n`);
  process.exitCode = 1;
}

if (chosen !== undefined) {
  const { config, notice } = chosen;
  process.stderr.write(`synth: ${notice}\n`);
  const stack = new Stack(app, config.stackName, {
    description:
      'guardduty-runtime-responder: contain workloads flagged by GuardDuty Runtime Monitoring',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  const responder = new RuntimeFindingResponder(stack, 'Responder', {
    policyPath: config.policyPath,
    alertEmails: config.alertEmails,
    slack: config.slack,
    eksClusterNames: config.eksClusterNames,
    ecsClusterArns: config.ecsClusterArns,
    logRetention: config.logRetentionDays as RetentionDays,
  });
  addStackOutputs(stack, responder);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
}
