/**
 * RuntimeFindingResponder: the whole responder as one construct. EventBridge rule →
 * router → one containment function per surface, alerts on an encrypted SNS topic (email,
 * Slack through AWS Chatbot), a dead-letter queue, alarms, and EKS access entries.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONTAINMENT_FUNCTIONS } from '../shared/actions.js';
import type { ActionId, Surface } from '../shared/contracts.js';
import { actionsEnabledBy } from '../shared/decide.js';
import { ISOLATE_POD_K8S_GROUP } from '../shared/labels.js';
import { loadPolicyFile } from '../shared/policy.js';
import { actionsToGrant, containmentStatements, wildcardResources } from './iam.js';
import { BUNDLE_HANDLER, functionCode } from './bundle.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Containment functions time out first; the router waits a little longer; then its own limit. */
export const TIMEOUTS = {
  containment: Duration.seconds(60),
  routerWaitsForContainmentMs: 70_000,
  router: Duration.seconds(120),
} as const;

export interface SlackTarget {
  workspaceId: string;
  channelId: string;
}

export interface RuntimeFindingResponderProps {
  /** Policy file bundled into the router, validated at synth. Default: shared/default-policy.json. */
  readonly policyPath?: string;
  /** Email addresses subscribed to the alert topic (each must confirm the subscription). */
  readonly alertEmails?: readonly string[];
  /** Slack channel for alerts through AWS Chatbot (the workspace must be authorised once in the console). */
  readonly slack?: SlackTarget;
  /** EKS clusters to contain pods in: each gets an access entry for the isolate-pod role. */
  readonly eksClusterNames?: readonly string[];
  /** ECS clusters stop-task may act in; empty or absent means every cluster of the account. */
  readonly ecsClusterArns?: readonly string[];
  /** Put isolate-pod in a VPC (clusters with private endpoints only). */
  readonly isolatePodVpc?: {
    vpcId: string;
    subnetIds: string[];
    securityGroupIds: string[];
    availabilityZones: string[];
  };
  readonly logRetention?: logs.RetentionDays;
}

const POLICY_IN_BUNDLE = 'policy.json';

export class RuntimeFindingResponder extends Construct {
  readonly topic: sns.Topic;
  readonly deadLetterQueue: sqs.Queue;
  readonly router: lambda.Function;
  readonly containment: Record<Surface, lambda.Function>;
  readonly rule: events.Rule;
  /** Claims, budget counters and the audit record of every response. */
  readonly stateTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: RuntimeFindingResponderProps = {}) {
    super(scope, id);
    const policyPath = props.policyPath ?? join(ROOT, 'shared', 'default-policy.json');
    // Fail synth, naming the bad key, rather than deploy a policy the router would refuse.
    // The roles are granted only what this policy can plan: an opt-in action's permissions
    // arrive with the policy that enables it (the policy is bundled, so it needs a deploy).
    const enabledActions = actionsEnabledBy(loadPolicyFile(policyPath));

    const key = new kms.Key(this, 'AlertKey', {
      enableKeyRotation: true,
      description: 'GuardDuty runtime responder alerts',
    });
    this.topic = new sns.Topic(this, 'Alerts', {
      masterKey: key,
      enforceSSL: true,
      displayName: 'GuardDuty runtime responder',
    });
    this.letAlarmsPublish(key);
    for (const email of props.alertEmails ?? [])
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the rule and the router.',
    });

    this.stateTable = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const containment = {} as Record<Surface, lambda.Function>;
    for (const [surface, name] of Object.entries(CONTAINMENT_FUNCTIONS) as [Surface, string][]) {
      containment[surface] = this.containmentFunction(
        surface,
        name,
        enabledActions,
        props,
        logRetention,
      );
    }
    this.containment = containment;
    this.router = this.routerFunction(policyPath, logRetention);

    this.rule = new events.Rule(this, 'RuntimeFindings', {
      description: 'GuardDuty Runtime Monitoring findings to the responder',
      eventPattern: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: { type: events.Match.wildcard('*:Runtime/*') },
      },
      targets: [
        new targets.LambdaFunction(this.router, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });

    this.accessEntries(props.eksClusterNames ?? []);
    if (props.slack) this.slackChannel(props.slack);
    this.alarms();
  }

  private logGroup(name: string, retention: logs.RetentionDays): logs.LogGroup {
    return new logs.LogGroup(this, `${name}Logs`, {
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** A role that can only write its own logs and traces; actions are added by the caller. */
  private role(name: string, logGroup: logs.LogGroup): iam.Role {
    const role = new iam.Role(this, `${name}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `guardduty-runtime-responder ${name}`,
    });
    logGroup.grantWrite(role);
    return role;
  }

  private bundledFunction(
    name: string,
    role: iam.Role,
    logGroup: logs.LogGroup,
    extra: {
      timeout: Duration;
      environment?: Record<string, string>;
      extraFiles?: Record<string, string>;
      vpc?: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>;
    },
  ): lambda.Function {
    return new lambda.Function(this, name, {
      // The SDK is bundled: a pinned version, and faster cold starts than the runtime's copy.
      code: functionCode({ root: ROOT, name, extraFiles: extra.extraFiles }),
      handler: BUNDLE_HANDLER,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: extra.timeout,
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: `guardduty-runtime-responder-${name}`,
        ...extra.environment,
      },
      ...extra.vpc,
    });
  }

  private containmentFunction(
    surface: Surface,
    name: string,
    enabledActions: ReadonlySet<ActionId>,
    props: RuntimeFindingResponderProps,
    retention: logs.RetentionDays,
  ) {
    const logGroup = this.logGroup(name, retention);
    const role = this.role(name, logGroup);
    const actions = actionsToGrant(surface, enabledActions);
    const scopeProps = {
      ecsClusterArns: props.ecsClusterArns ?? [],
      eksClusterNames: props.eksClusterNames ?? [],
    };
    for (const statement of containmentStatements(actions, scopeProps)) {
      role.addToPolicy(statement);
    }
    // Tracing adds X-Ray's PutTraceSegments/PutTelemetryRecords, which take no resource ARN.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'Describe/List and X-Ray APIs take no resource ARNs.',
    });
    for (const resource of wildcardResources(actions, scopeProps).filter((r) => r !== '*')) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`,
        reason:
          'Instance, task, interface, group and volume ids are only known when a finding arrives: writes are limited to this account and region, the configured clusters, and (EC2) the tag and attribute conditions of infra/iam.ts.',
      });
    }
    const vpc =
      surface === 'eks-pod' && props.isolatePodVpc
        ? this.vpcPlacement(props.isolatePodVpc)
        : undefined;
    const fn = this.bundledFunction(name, role, logGroup, { timeout: TIMEOUTS.containment, vpc });
    this.suppressRuntime(fn);
    return fn;
  }

  private vpcPlacement(placement: NonNullable<RuntimeFindingResponderProps['isolatePodVpc']>) {
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'IsolatePodVpc', {
      vpcId: placement.vpcId,
      availabilityZones: placement.availabilityZones,
      privateSubnetIds: placement.subnetIds,
    });
    return {
      vpc,
      vpcSubnets: {
        subnets: placement.subnetIds.map((id, i) =>
          ec2.Subnet.fromSubnetId(this, `IsolatePodSubnet${i}`, id),
        ),
      },
      securityGroups: placement.securityGroupIds.map((id, i) =>
        ec2.SecurityGroup.fromSecurityGroupId(this, `IsolatePodSg${i}`, id),
      ),
    };
  }

  private routerFunction(policyPath: string, retention: logs.RetentionDays): lambda.Function {
    const logGroup = this.logGroup('router', retention);
    const role = this.role('router', logGroup);
    const environment = {
      ALERT_TOPIC_ARN: this.topic.topicArn,
      STATE_TABLE: this.stateTable.tableName,
      ISOLATE_POD_FUNCTION: this.containment['eks-pod'].functionName,
      STOP_TASK_FUNCTION: this.containment['ecs-task'].functionName,
      QUARANTINE_EC2_FUNCTION: this.containment['ec2-instance'].functionName,
      CONTAINMENT_TIMEOUT_MS: String(TIMEOUTS.routerWaitsForContainmentMs),
      POLICY_PATH: `/var/task/${POLICY_IN_BUNDLE}`,
      POWERTOOLS_METRICS_NAMESPACE: 'GuardDutyRuntimeResponder',
    };
    const router = this.bundledFunction('router', role, logGroup, {
      timeout: TIMEOUTS.router,
      environment,
      extraFiles: { [policyPath]: POLICY_IN_BUNDLE },
    });
    // Exactly the calls the router makes: invoke the three functions (unqualified, by
    // name), publish to the topic, and use its key for that.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(this.containment).map((fn) => fn.functionArn),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
        resources: [this.stateTable.tableArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.topic.masterKey!.keyArn],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray trace APIs take no resource ARNs.',
    });
    // Async invocations that still fail after Lambda's own retries land in the dead-letter queue.
    router.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.suppressRuntime(router);
    return router;
  }

  private suppressRuntime(fn: lambda.Function): void {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason: 'nodejs22.x is the runtime the bundles target and are tested for (Node 22 ESM).',
    });
  }

  private accessEntries(clusterNames: readonly string[]): void {
    for (const clusterName of clusterNames) {
      new eks.CfnAccessEntry(this, `AccessEntry-${clusterName}`, {
        clusterName,
        principalArn: this.containment['eks-pod'].role!.roleArn,
        kubernetesGroups: [ISOLATE_POD_K8S_GROUP],
        type: 'STANDARD',
      });
    }
  }

  private slackChannel(slack: SlackTarget): void {
    // Chat members get no AWS permissions through this channel: it only receives alerts.
    const denyAll = new iam.ManagedPolicy(this, 'SlackGuardrail', {
      statements: [
        new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['*'], resources: ['*'] }),
      ],
    });
    new chatbot.SlackChannelConfiguration(this, 'Slack', {
      slackChannelConfigurationName: `guardduty-responder-${Aws.STACK_NAME}`.slice(0, 128),
      slackWorkspaceId: slack.workspaceId,
      slackChannelId: slack.channelId,
      notificationTopics: [this.topic],
      guardrailPolicies: [denyAll],
      loggingLevel: chatbot.LoggingLevel.ERROR,
    });
  }

  /**
   * CloudWatch alarms publish to the topic as the service, not as a role: the topic's
   * policy must grant it (enforceSSL makes a policy of its own, which replaces the default
   * one), and so must the key that encrypts the topic. Both only for alarms of this account
   * and region, so no other account's alarm can use the grant (confused deputy).
   */
  private letAlarmsPublish(key: kms.Key): void {
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const conditions = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: {
        'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
      },
    };
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsOfThisAccountPublish',
        principals: [cloudwatchService],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions,
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsOfThisAccountEncrypt',
        principals: [cloudwatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions,
      }),
    );
  }

  private alarms(): void {
    const action = new cloudwatchActions.SnsAction(this.topic);
    const atLeastOnce = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(action);
    };
    const period = Duration.minutes(1);
    atLeastOnce(
      'RouterErrors',
      this.router.metricErrors({ period }),
      'The router failed (containment failed or alerts could not be sent); events are retried, then dead-lettered.',
    );
    atLeastOnce(
      'DeadLetters',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period }),
      'Findings that could not be handled are waiting in the dead-letter queue.',
    );
    const routerMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'GuardDutyRuntimeResponder',
        metricName,
        dimensionsMap: { service: 'guardduty-runtime-responder-router' },
        statistic: 'Sum',
        period,
      });
    atLeastOnce(
      'ContainmentFailures',
      routerMetric('ContainmentFailed'),
      'A containment failed: the alert says which action and why.',
    );
    atLeastOnce(
      'RejectedEvents',
      routerMetric('Decision_reject'),
      'An event matched the rule but could not be parsed: see the router log for the field.',
    );
    for (const [surface, fn] of Object.entries(this.containment)) {
      atLeastOnce(
        `${surface}Errors`,
        fn.metricErrors({ period }),
        `The ${surface} containment function raised an error.`,
      );
    }
  }
}
