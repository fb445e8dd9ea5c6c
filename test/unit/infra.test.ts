/**
 * The CDK stack, synthesized without bundling (fast). The permissions test walks the
 * action registry: each containment role grants exactly what its actions declare.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadAllYaml } from '@kubernetes/client-node';
import { ACTIONS, CONTAINMENT_FUNCTIONS } from '../../shared/actions.js';
import type { Surface } from '../../shared/contracts.js';
import { actionsEnabledBy } from '../../shared/decide.js';
import { ISOLATE_POD_K8S_GROUP } from '../../shared/labels.js';
import { defaultPolicy, loadPolicyFile, type Policy } from '../../shared/policy.js';
import { actionsToGrant, declaredIamActions } from '../../infra/iam.js';
import {
  chooseDeploymentConfig,
  CONFIG_FILE,
  DeploymentConfigError,
  EXAMPLE_CONFIG_FILE,
  loadDeploymentConfig,
} from '../../infra/config.js';
import { runCli, STACK_FRAME } from '../cli.js';
import { bundleFunction } from '../../infra/bundle.js';
import { addStackOutputs } from '../../infra/outputs.js';
import { enableEveryOption, policyWith } from '../helpers.js';
import {
  RuntimeFindingResponder,
  TIMEOUTS,
  type RuntimeFindingResponderProps,
} from '../../infra/responder.js';

const ROOT = join(import.meta.dirname, '..', '..');

function synth(props: RuntimeFindingResponderProps = {}, withNag = false) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
  const responder = new RuntimeFindingResponder(stack, 'Responder', props);
  if (withNag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, responder, template: () => Template.fromStack(stack) };
}

const FULL: RuntimeFindingResponderProps = {
  alertEmails: ['security@example.com'],
  slack: { workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' },
  eksClusterNames: ['prod-eks'],
};

/** Every action any policy attached to the role grants, with the infrastructure ones left out. */
function grantedActions(template: Template, roleLogicalId: string): string[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const actions = Object.values(policies)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleLogicalId))
    .flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[],
    )
    .flatMap((statement) =>
      Array.isArray(statement.Action) ? statement.Action : [statement.Action],
    );
  // Every function writes its own logs and traces; those are not containment permissions.
  const infrastructure = new Set([
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
  ]);
  return [...new Set(actions.filter((action) => !infrastructure.has(action)))].sort();
}

interface Statement {
  Action: string[];
  /** ARNs as text: `arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*`. */
  Resource: string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const asText = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const { Ref: ref, 'Fn::Join': join } = value as {
    Ref?: string;
    'Fn::Join'?: [string, unknown[]];
  };
  if (ref) return `\${${ref}}`;
  return join ? join[1].map(asText).join(join[0]) : JSON.stringify(value);
};
const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The statements of every policy attached to a role, with ARNs rendered as text. */
function statementsOf(template: Template, roleLogicalId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleLogicalId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Record<string, unknown>[])
    .map((statement) => ({
      Action: asList(statement.Action as string | string[]),
      Resource: asList(statement.Resource).map(asText),
      ...(statement.Condition ? { Condition: statement.Condition as Statement['Condition'] } : {}),
    }));
}

/** The resource type an EC2 ARN names (`security-group/*`), or the ARN itself. */
const ec2Type = (resource: string) =>
  resource.replace(/^arn:\$\{AWS::Partition\}:ec2:\$\{AWS::Region\}:(\$\{AWS::AccountId\})?:/, '');

function roleOf(template: Template, functionLogicalIdPrefix: string): string {
  const functions = template.findResources('AWS::Lambda::Function');
  const [, fn] = Object.entries(functions).find(([id]) => id.startsWith(functionLogicalIdPrefix))!;
  return (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

const logicalPrefix = (name: string) => `Responder${name.replace(/-/g, '')}`;

describe('template', () => {
  const { template } = synth(FULL);
  const t = template();

  it('matches runtime findings only: source, detail-type and the *:Runtime/* wildcard', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.guardduty'],
        'detail-type': ['GuardDuty Finding'],
        detail: { type: [{ wildcard: '*:Runtime/*' }] },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: Match.objectLike({}),
        }),
      ],
    });
  });

  it('alarms can publish: the topic and its key grant CloudWatch, only for alarms of this account and region', () => {
    type Statement = {
      Effect: string;
      Principal?: { Service?: string };
      Action: string | string[];
      Condition?: Record<string, Record<string, unknown>>;
    };
    const statementsOf = (type: string, property: string): Statement[] =>
      Object.values(t.findResources(type)).flatMap(
        (resource) =>
          (resource as { Properties: Record<string, { Statement: Statement[] }> }).Properties[
            property
          ]!.Statement,
      );
    const fromCloudWatch = (statements: Statement[]) =>
      statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    const alarmArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':cloudwatch:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':alarm:*',
        ],
      ],
    };
    const bound = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': alarmArn },
    };
    const topic = fromCloudWatch(statementsOf('AWS::SNS::TopicPolicy', 'PolicyDocument'));
    expect(topic).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 'sns:Publish', Condition: bound }),
    ]);
    const key = fromCloudWatch(statementsOf('AWS::KMS::Key', 'KeyPolicy'));
    expect(key).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: bound,
      }),
    ]);
    // The TLS-only deny is still there.
    expect(
      statementsOf('AWS::SNS::TopicPolicy', 'PolicyDocument').some(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'),
      ),
    ).toBe(true);
    // Every alarm's action is that topic.
    const topicRef = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(7);
    for (const alarm of alarms) {
      expect(
        (alarm as { Properties: { AlarmActions: unknown[] } }).Properties.AlarmActions,
      ).toEqual([{ Ref: topicRef }]);
    }
  });

  it('has four functions on nodejs22.x, arm64, with active tracing and their own log groups', () => {
    const functions = Object.values(t.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
    t.resourceCountIs('AWS::Logs::LogGroup', 4);
    t.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('nests timeouts: containment < router waits for it < router', () => {
    expect(TIMEOUTS.containment.toSeconds() * 1000).toBeLessThan(
      TIMEOUTS.routerWaitsForContainmentMs,
    );
    expect(TIMEOUTS.routerWaitsForContainmentMs).toBeLessThan(TIMEOUTS.router.toSeconds() * 1000);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: TIMEOUTS.router.toSeconds(),
      Environment: {
        Variables: Match.objectLike({
          CONTAINMENT_TIMEOUT_MS: String(TIMEOUTS.routerWaitsForContainmentMs),
          POLICY_PATH: '/var/task/policy.json',
        }),
      },
    });
  });

  it('encrypts the topic (KMS) and the dead-letter queue, and sends router failures there', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'security@example.com',
    });
  });

  it('alarms on router errors, dead letters, containment failures, rejected events and function errors', () => {
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    const metrics = alarms.map((alarm) => alarm.Properties.MetricName as string);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'Errors',
        'ApproximateNumberOfMessagesVisible',
        'ContainmentFailed',
        'Decision_reject',
      ]),
    );
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });

  it('keeps claims, budgets and the audit record in an on-demand table with TTL and recovery', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STATE_TABLE: Match.anyValue() }) },
    });
  });

  it('maps the isolate-pod role to the Kubernetes group the shipped RBAC binds', () => {
    t.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'prod-eks',
      KubernetesGroups: [ISOLATE_POD_K8S_GROUP],
      Type: 'STANDARD',
    });
    const manifests = loadAllYaml(
      readFileSync(join(ROOT, 'infra', 'k8s', 'rbac.yaml'), 'utf8'),
    ) as { kind: string; subjects?: { name: string }[] }[];
    const binding = manifests.find((m) => m.kind === 'ClusterRoleBinding')!;
    expect(binding.subjects?.map((s) => s.name)).toEqual([ISOLATE_POD_K8S_GROUP]);
  });

  it('sends alerts to Slack through Chatbot with a deny-all guardrail', () => {
    t.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCD',
      SnsTopicArns: [Match.anyValue()],
    });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] },
    });
  });
});

/** Every code file of a bundle folder (the entry and its chunks), concatenated. */
const codeIn = (folder: string) =>
  readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.mjs'))
    .map((name) => readFileSync(join(folder, name), 'utf8'))
    .join('\n');

describe('bundling (for real, as `cdk synth` does)', () => {
  it('stages each function as its own production bundle, the router with its policy', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'gdrr-synth-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bundled', {
      env: { account: '123456789012', region: 'us-east-1' },
    });
    new RuntimeFindingResponder(stack, 'Responder');
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    // The name of an API operation only that function calls (its SDK schema survives
    // minification), to tell the staged bundles apart.
    const marker: Record<string, string> = {
      router: '"Invoke"',
      'isolate-pod': '"DescribeCluster"',
      'stop-task': '"StopTask"',
      'quarantine-ec2': '"ModifyNetworkInterfaceAttribute"',
    };
    const staged = Object.keys(marker).map((name) => {
      const [, fn] = Object.entries(functions).find(([id]) =>
        id.startsWith(`Responder${name.replace('-', '')}`),
      )!;
      const key = (fn.Properties.Code as { S3Key: string }).S3Key;
      const folder = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      return { name, folder, code: codeIn(folder) };
    });
    expect(new Set(staged.map((s) => s.folder)).size).toBe(4);
    for (const { name, code } of staged) {
      for (const [other, text] of Object.entries(marker)) {
        expect(code.includes(text), `${name} bundle holds ${text}`).toBe(other === name);
      }
    }
    const router = staged.find((s) => s.name === 'router')!;
    expect(readdirSync(router.folder).sort()).toEqual([
      'chunks',
      'index.mjs',
      'index.mjs.map',
      'policy.json',
    ]);
  }, 120_000);
});

/** A copy of the default policy with some keys changed, written where synth can read it. */
function policyFile(name: string, change: (policy: Policy) => void): string {
  const path = join(mkdtempSync(join(tmpdir(), 'gdrr-policy-')), `${name}.json`);
  writeFileSync(path, JSON.stringify(policyWith(change)));
  return path;
}

describe('least privilege: each role grants exactly what its granted actions declare', () => {
  const t = synth(FULL).template();
  const allPath = policyFile('all', enableEveryOption);
  const all = synth({ ...FULL, policyPath: allPath }).template();

  it.each(Object.entries(CONTAINMENT_FUNCTIONS) as [Surface, string][])(
    '%s -> %s, under the default policy',
    (surface, name) => {
      const enabled = actionsEnabledBy(defaultPolicy());
      expect(grantedActions(t, roleOf(t, logicalPrefix(name)))).toEqual(
        declaredIamActions(actionsToGrant(surface, enabled)),
      );
    },
  );

  it.each(Object.entries(CONTAINMENT_FUNCTIONS) as [Surface, string][])(
    '%s -> %s, under a policy that enables every option',
    (surface, name) => {
      const enabled = actionsEnabledBy(loadPolicyFile(allPath));
      expect(grantedActions(all, roleOf(all, logicalPrefix(name)))).toEqual(
        declaredIamActions(actionsToGrant(surface, enabled)),
      );
    },
  );

  it('every registry action is granted under some policy', () => {
    const protect = policyFile('protect', (p) => (p.ec2.autoScaling = 'protect-from-scale-in'));
    const granted = new Set([
      ...actionsEnabledBy(loadPolicyFile(allPath)),
      ...actionsEnabledBy(loadPolicyFile(protect)),
    ]);
    expect([...granted].sort()).toEqual(Object.keys(ACTIONS).sort());
  });

  it('router: invoke the three functions, publish the alert, use the topic key, dead-letter', () => {
    // The sqs:* actions are CDK's grant for the on-failure destination (send to the queue only).
    expect(grantedActions(t, roleOf(t, 'Responderrouter'))).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'lambda:InvokeFunction',
      'sns:Publish',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
  });

  it('scopes ECS writes to the configured clusters', () => {
    const scoped = synth({
      ecsClusterArns: ['arn:aws:ecs:us-east-1:123456789012:cluster/prod-ecs'],
    }).template();
    scoped.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['ecs:StopTask']),
            Condition: {
              ArnEquals: { 'ecs:cluster': ['arn:aws:ecs:us-east-1:123456789012:cluster/prod-ecs'] },
            },
          }),
        ]),
      },
    });
  });
});

describe('the roles are granted only what the bundled policy can plan', () => {
  /** IAM actions only the optional actions need. */
  const OPTIONAL_ONLY = {
    'ecs:scale-service-to-zero': ['ecs:UpdateService'],
    'ec2:snapshot-volumes': ['ec2:CreateSnapshot', 'ec2:DescribeSnapshots'],
    'ec2:detach-from-autoscaling': [
      'autoscaling:DescribeAutoScalingInstances',
      'autoscaling:DetachInstances',
    ],
    'ec2:protect-from-scale-in': [
      'autoscaling:DescribeAutoScalingInstances',
      'autoscaling:SetInstanceProtection',
    ],
    'ec2:deregister-from-target-groups': [
      'elasticloadbalancing:DeregisterTargets',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetHealth',
    ],
  };
  const every = (t: Template) =>
    Object.values(CONTAINMENT_FUNCTIONS).flatMap((name) =>
      grantedActions(t, roleOf(t, logicalPrefix(name))),
    );
  const snapshotTagging = (t: Template) =>
    statementsOf(t, roleOf(t, logicalPrefix('quarantine-ec2'))).filter(
      (s) =>
        s.Action.includes('ec2:CreateTags') && s.Resource.some((r) => r.endsWith('snapshot/*')),
    );

  it('with the default policy, no optional action is granted', () => {
    const t = synth(FULL).template();
    const granted = every(t);
    for (const action of Object.values(OPTIONAL_ONLY).flat()) expect(granted).not.toContain(action);
    expect(snapshotTagging(t)).toEqual([]);
  });

  it('with a policy that enables them, each is granted', () => {
    const t = synth({ ...FULL, policyPath: policyFile('all', enableEveryOption) }).template();
    const granted = every(t);
    for (const action of [
      ...OPTIONAL_ONLY['ecs:scale-service-to-zero'],
      ...OPTIONAL_ONLY['ec2:snapshot-volumes'],
      ...OPTIONAL_ONLY['ec2:detach-from-autoscaling'],
      ...OPTIONAL_ONLY['ec2:deregister-from-target-groups'],
    ]) {
      expect(granted).toContain(action);
    }
    expect(granted).not.toContain('autoscaling:SetInstanceProtection');
    expect(snapshotTagging(t)).toHaveLength(1);
  });

  it('protecting from scale-in grants protection, not detaching', () => {
    const path = policyFile('protect', (p) => (p.ec2.autoScaling = 'protect-from-scale-in'));
    const granted = every(synth({ policyPath: path }).template());
    expect(granted).toContain('autoscaling:SetInstanceProtection');
    expect(granted).not.toContain('autoscaling:DetachInstances');
  });

  it('a surface no finding can be contained on gets no containment permission', () => {
    const off = policyFile('ecs-off', (p) => (p.surfaces['ecs-task'].mode = 'off'));
    const t = synth({ policyPath: off }).template();
    expect(grantedActions(t, roleOf(t, logicalPrefix('stop-task')))).toEqual([]);
    const overridden = policyFile('ecs-off-but-one-type', (p) => {
      p.surfaces['ecs-task'].mode = 'off';
      p.findingTypes['Execution:Runtime/ReverseShell'] = { mode: 'contain' };
    });
    const back = synth({ policyPath: overridden }).template();
    expect(grantedActions(back, roleOf(back, logicalPrefix('stop-task')))).toContain(
      'ecs:StopTask',
    );
  });
});

describe('quarantine-ec2: EC2 writes scoped by tag and attribute', () => {
  const t = synth({ ...FULL, policyPath: policyFile('all', enableEveryOption) }).template();
  const statements = statementsOf(t, roleOf(t, logicalPrefix('quarantine-ec2')));
  const granting = (action: string) => statements.filter((s) => s.Action.includes(action));
  const shape = (s: Statement) => ({ types: s.Resource.map(ec2Type), Condition: s.Condition });
  /** The statements granting an action, in any order, are exactly these. */
  const expectGrants = (action: string, expected: ReturnType<typeof shape>[]) => {
    const actual = granting(action).map(shape);
    expect(actual).toHaveLength(expected.length);
    expect(actual).toEqual(expect.arrayContaining(expected));
  };
  const ROLE = 'aws:ResourceTag/guardduty-responder:role';

  it('adds rules only to the untrack group and removes them only from the quarantine group', () => {
    for (const action of [
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
    ]) {
      expectGrants(action, [
        { types: ['security-group/*'], Condition: { StringEquals: { [ROLE]: ['untrack'] } } },
      ]);
    }
    for (const action of ['ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress']) {
      expectGrants(action, [
        { types: ['security-group/*'], Condition: { StringEquals: { [ROLE]: ['quarantine'] } } },
      ]);
    }
  });

  it('creates security groups only with the responder tags in the request', () => {
    expectGrants('ec2:CreateSecurityGroup', [
      {
        types: ['security-group/*'],
        Condition: {
          StringEquals: {
            'aws:RequestTag/guardduty-responder:role': ['untrack', 'quarantine'],
            'aws:RequestTag/guardduty-responder:quarantined-by': 'guardduty-runtime-responder',
          },
          'ForAllValues:StringEquals': {
            'aws:TagKeys': ['guardduty-responder:role', 'guardduty-responder:quarantined-by'],
          },
        },
      },
      { types: ['vpc/*'], Condition: undefined },
    ]);
  });

  it('modifies instance attributes only for the members the quarantine sets', () => {
    expectGrants('ec2:ModifyInstanceAttribute', [
      {
        types: ['instance/*'],
        Condition: {
          StringEqualsIfExists: {
            'ec2:Attribute': [
              'Groups',
              'DisableApiTermination',
              'InstanceInitiatedShutdownBehavior',
            ],
          },
        },
      },
      {
        types: ['security-group/*'],
        Condition: { StringEquals: { [ROLE]: ['untrack', 'quarantine'] } },
      },
    ]);
  });

  it('puts only the responder groups on a network interface', () => {
    expectGrants('ec2:ModifyNetworkInterfaceAttribute', [
      { types: ['network-interface/*', 'instance/*'], Condition: undefined },
      {
        types: ['security-group/*'],
        Condition: { StringEquals: { [ROLE]: ['untrack', 'quarantine'] } },
      },
    ]);
  });

  it("tags only with the responder's keys, and security groups and snapshots only as they are created", () => {
    expectGrants('ec2:CreateTags', [
      {
        types: ['instance/*'],
        Condition: {
          'ForAllValues:StringEquals': {
            'aws:TagKeys': [
              'guardduty-responder:quarantined-by',
              'guardduty-responder:finding-id',
              'guardduty-responder:contained-at',
              'guardduty-responder:original-termination-protection',
              'guardduty-responder:original-shutdown-behavior',
            ],
          },
        },
      },
      {
        types: ['network-interface/*'],
        Condition: {
          'ForAllValues:StringLike': {
            'aws:TagKeys': [
              'guardduty-responder:original-groups',
              'guardduty-responder:original-groups-*',
            ],
          },
        },
      },
      {
        types: ['security-group/*'],
        Condition: {
          StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' },
          'ForAllValues:StringEquals': {
            'aws:TagKeys': ['guardduty-responder:role', 'guardduty-responder:quarantined-by'],
          },
        },
      },
      {
        types: ['snapshot/*'],
        Condition: {
          StringEquals: { 'ec2:CreateAction': 'CreateSnapshot' },
          'ForAllValues:StringEquals': {
            'aws:TagKeys': ['guardduty-responder:finding-id', 'guardduty-responder:instance-id'],
          },
        },
      },
    ]);
  });

  it('no EC2 write reaches every resource of the account', () => {
    const everything = 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:*';
    expect(statements.filter((s) => s.Resource.includes(everything))).toEqual([]);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('passes with every acknowledgement carrying a reason', () => {
    const { app } = synth(FULL, true);
    expect(() => app.synth()).not.toThrow();
  });

  it('passes with every optional action enabled (their wildcards acknowledged too)', () => {
    const { app } = synth({ ...FULL, policyPath: policyFile('all', enableEveryOption) }, true);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails on a wildcard nobody acknowledged (the check can fail)', () => {
    const { app, stack } = synth({}, true);
    const role = new iam.Role(stack, 'Extra', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['ec2:TerminateInstances'], resources: ['*'] }),
    );
    expect(() => app.synth()).toThrow(/wildcard permissions[\s\S]*Test\/Extra/);
  });
});

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdrr-infra-'));

  it('an invalid policy fails synth with the key named', () => {
    const policy = JSON.parse(
      readFileSync(join(ROOT, 'shared', 'default-policy.json'), 'utf8'),
    ) as Record<string, unknown>;
    const bad = join(dir, 'bad-policy.json');
    writeFileSync(bad, JSON.stringify({ ...policy, minSeverityToContain: 'high' }));
    expect(() => synth({ policyPath: bad })).toThrow(
      /invalid policy in .*bad-policy\.json: minSeverityToContain/,
    );
  });

  it('a partial policy passes synth: the router lays it over the default it carries', () => {
    const partial = join(dir, 'partial-policy.json');
    writeFileSync(partial, JSON.stringify({ eks: { allowDnsEgress: true } }));
    expect(() => synth({ policyPath: partial })).not.toThrow();
  });

  it('bundling builds the production bundle and copies the policy without a shell', () => {
    const policyPath = join(dir, 'policy;touch pwned');
    copyFileSync(join(ROOT, 'shared', 'default-policy.json'), policyPath);
    const out = join(dir, 'router-asset');
    mkdirSync(out);
    bundleFunction(
      { root: ROOT, name: 'router', extraFiles: { [policyPath]: 'policy.json' } },
      out,
    );
    expect(readdirSync(out).sort()).toEqual([
      'chunks',
      'index.mjs',
      'index.mjs.map',
      'policy.json',
    ]);
    expect(readFileSync(join(out, 'policy.json'), 'utf8')).toBe(readFileSync(policyPath, 'utf8'));
    expect(existsSync(join(ROOT, 'pwned')) || existsSync(join(dir, 'pwned'))).toBe(false);
    expect(() => bundleFunction({ root: ROOT, name: 'no-such-function' }, out)).toThrow(
      /bundling no-such-function failed: .*no function "no-such-function"/s,
    );
  }, 60_000);

  it('builds the same bytes whatever folder CDK stages into', () => {
    const shallow = join(dir, 'a');
    const deep = join(dir, 'b', 'c', 'd');
    mkdirSync(shallow, { recursive: true });
    mkdirSync(deep, { recursive: true });
    bundleFunction({ root: ROOT, name: 'stop-task' }, shallow);
    bundleFunction({ root: ROOT, name: 'stop-task' }, deep);
    const files = (folder: string) =>
      readdirSync(folder, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.mjs') || name.endsWith('.map'))
        .sort()
        .map((name) => [name, readFileSync(join(folder, name), 'utf8')]);
    expect(files(shallow).length).toBeGreaterThan(2);
    expect(files(deep)).toEqual(files(shallow));
  }, 60_000);

  it("the README's copy-paste configuration is valid", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = /Copy-paste example \(`infra\/config.json`\):\n\n```json\n([\s\S]*?)```/.exec(
      readme,
    )?.[1];
    expect(example).toBeDefined();
    const path = join(dir, 'readme-config.json');
    writeFileSync(path, example!);
    expect(loadDeploymentConfig(path)).toMatchObject({
      eksClusterNames: ['prod-eks'],
      slack: { channelId: 'C0123ABCD' },
    });
  });

  it('the example deployment configuration is valid; a bad one names the key', () => {
    expect(loadDeploymentConfig(join(ROOT, 'infra', 'config.example.json')).stackName).toBe(
      'GuardDutyRuntimeResponder',
    );
    const bad = join(dir, 'config.json');
    writeFileSync(bad, JSON.stringify({ stackName: 'x', alertEmails: ['not-an-email'] }));
    expect(() => loadDeploymentConfig(bad)).toThrow(/alertEmails\.0/);
  });

  it.each([45, 0, -1, 9999, 4000])(
    'logRetentionDays %i is refused at synth, naming the values CloudWatch Logs accepts',
    (days) => {
      const bad = join(dir, `retention-${days}.json`);
      writeFileSync(bad, JSON.stringify({ stackName: 'x', logRetentionDays: days }));
      expect(() => loadDeploymentConfig(bad)).toThrow(
        /logRetentionDays: must be one of the retention periods CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, .*3653/,
      );
    },
  );

  it.each([1, 30, 90, 365, 3653])('logRetentionDays %i is accepted', (days) => {
    const good = join(dir, `retention-${days}.json`);
    writeFileSync(good, JSON.stringify({ stackName: 'x', logRetentionDays: days }));
    expect(loadDeploymentConfig(good).logRetentionDays).toBe(days);
  });
});

describe('the configuration synth uses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdrr-config-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const typo = write('typo.json', JSON.stringify({ stackName: 'X', alertEmail: ['a@b.example'] }));
  const notJson = write('not-json.json', '{"stackName": "X",');
  const badPolicy = write('bad-policy.json', JSON.stringify({ eks: { allowDNSEgress: true } }));
  const withBadPolicy = write(
    'with-bad-policy.json',
    JSON.stringify({ stackName: 'X', policyPath: badPolicy }),
  );

  /** The one-line error chooseDeploymentConfig gives for a configuration file. */
  const refusal = (path: string) => {
    try {
      chooseDeploymentConfig(path, () => false);
    } catch (error) {
      expect(error).toBeInstanceOf(DeploymentConfigError);
      return (error as Error).message;
    }
    throw new Error(`${path} was accepted`);
  };

  it('without infra/config.json: the example, and a notice that says so and what it lacks', () => {
    const chosen = chooseDeploymentConfig(undefined, () => false);
    expect(chosen.path).toBe(EXAMPLE_CONFIG_FILE);
    expect(chosen.notice).toBe(
      `${CONFIG_FILE} not found: using ${EXAMPLE_CONFIG_FILE}, which has no alert recipient (alertEmails, slack): alerts would reach no one; copy it to ${CONFIG_FILE} and fill it in before deploying`,
    );
  });

  it('a configuration given is named; one without alert recipients says so', () => {
    const good = write(
      'good.json',
      JSON.stringify({ stackName: 'X', alertEmails: ['a@b.example'] }),
    );
    expect(chooseDeploymentConfig(good, () => true).notice).toBe(`using ${good}`);
    const silent = write('silent.json', JSON.stringify({ stackName: 'X' }));
    expect(chooseDeploymentConfig(silent, () => true).notice).toMatch(
      /^using .*silent\.json, which has no alert recipient .*: alerts would reach no one$/,
    );
  });

  it('a typo, a file that is not JSON, a missing file, a bad policy: one line naming file and key', () => {
    expect(refusal(typo)).toBe(
      `invalid deployment configuration ${typo}: (root): Unrecognized key: "alertEmail"`,
    );
    expect(refusal(notJson)).toMatch(/^deployment configuration .*not-json\.json is not JSON: /);
    expect(refusal(join(dir, 'missing.json'))).toBe(
      `cannot read deployment configuration ${join(dir, 'missing.json')}: ENOENT`,
    );
    expect(refusal(withBadPolicy)).toBe(
      `${withBadPolicy}: policyPath: invalid policy in ${badPolicy}: eks: Unrecognized key: "allowDNSEgress"`,
    );
    for (const path of [typo, notJson, withBadPolicy]) expect(refusal(path)).not.toContain('\n');
  });

  /** The CDK app as `cdk synth` runs it, with the context `-c config=FILE` gives. */
  const app = (context: Record<string, unknown>) =>
    runCli('infra/app.ts', [], {
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify(context),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'gdrr-cdk-out-')),
      },
    });

  // Each spawned app loads aws-cdk-lib: seconds each on a busy machine.
  it('the app stops with that one line, exit 1, and no stack trace', { timeout: 60_000 }, () => {
    for (const [config, line] of [
      [typo, /^synth: invalid deployment configuration .*typo\.json: .*"alertEmail"$/],
      [notJson, /^synth: deployment configuration .*not-json\.json is not JSON: /],
      [
        withBadPolicy,
        /^synth: .*with-bad-policy\.json: policyPath: invalid policy in .*"allowDNSEgress"$/,
      ],
    ] as const) {
      const { status, stdout, stderr } = app({ config });
      expect(status).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr.trimEnd()).toMatch(line);
      expect(stderr).not.toMatch(STACK_FRAME);
    }
  });

  it('the app names the configuration it synthesizes', { timeout: 60_000 }, () => {
    const { status, stderr } = app({
      config: EXAMPLE_CONFIG_FILE,
      'aws:cdk:bundling-stacks': [],
    });
    expect(status).toBe(0);
    expect(stderr).toMatch(
      /^synth: using infra\/config\.example\.json, which has no alert recipient/,
    );
  });
});

describe('stack outputs', () => {
  const { stack, responder } = synth();
  addStackOutputs(stack, responder);
  const outputs = Template.fromStack(stack).findOutputs('*');
  const ref = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { ref: string }).ref);

  it('names the topic, the four functions, the router log group, the table and the dead letters', () => {
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlertTopicArn',
        'DeadLetterQueueUrl',
        'IsolatePodFunctionName',
        'QuarantineEc2FunctionName',
        'RouterFunctionName',
        'RouterLogGroupName',
        'StateTableName',
        'StopTaskFunctionName',
      ].sort(),
    );
  });

  it('the README lists exactly these outputs', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.split('### Stack outputs')[1]?.split('\n### ')[0] ?? '';
    const tableRows = section.split('\n').filter((line) => line.startsWith('| `'));
    const documented = tableRows.flatMap((line) =>
      [...(line.split('|')[1] ?? '').matchAll(/`([A-Za-z0-9]+)`/g)].map((match) => match[1]),
    );
    expect(documented.sort()).toEqual(Object.keys(outputs).sort());
  });

  it('each output points at the resource it names', () => {
    expect(outputs.AlertTopicArn?.Value).toEqual(ref(responder.topic));
    expect(outputs.RouterFunctionName?.Value).toEqual(ref(responder.router));
    expect(outputs.IsolatePodFunctionName?.Value).toEqual(ref(responder.containment['eks-pod']));
    expect(outputs.StopTaskFunctionName?.Value).toEqual(ref(responder.containment['ecs-task']));
    expect(outputs.QuarantineEc2FunctionName?.Value).toEqual(
      ref(responder.containment['ec2-instance']),
    );
    expect(outputs.StateTableName?.Value).toEqual(ref(responder.stateTable));
    expect(outputs.RouterLogGroupName?.Value).toEqual(
      stack.resolve(responder.router.logGroup.logGroupName),
    );
    expect(outputs.DeadLetterQueueUrl?.Value).toEqual(ref(responder.deadLetterQueue));
  });
});
