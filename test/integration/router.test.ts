/**
 * The router against the emulator, end to end: the real SDK publishes the alert to a real
 * SNS topic (read back from a subscribed SQS queue), invokes a containment function by
 * name in moto's Lambda, and claims the finding in moto's DynamoDB.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { dryRunResponse, renderAlert } from '../../shared/alert.js';
import { containmentRequest, evaluate } from '../../shared/decide.js';
import { defaultPolicy } from '../../shared/policy.js';
import { invokeContainment, lambdaContainment } from '../../functions/router/containment.js';
import { publishAlert, snsAlerts } from '../../functions/router/publish.js';
import { respond } from '../../functions/router/respond.js';
import { DynamoResponseStore } from '../../functions/router/store.js';
import { loadEvent } from '../helpers.js';
import {
  awsClientConfig,
  createStateTable,
  createFunction,
  createTopicWithQueue,
  parseSnsNotification,
  queueLambdaResults,
  receiveOne,
  type TopicWithQueue,
} from './aws-helpers.js';
import { uniqueName } from './test-env.js';

const policy = defaultPolicy();
let topic: TopicWithQueue;
let functionName: string;

beforeAll(async () => {
  topic = await createTopicWithQueue('gdrr-router');
  ({ functionName } = await createFunction(uniqueName('gdrr-quarantine-ec2')));
});

const withFreshId = (file: string) => {
  const event = loadEvent(file);
  event.detail.id = randomBytes(16).toString('hex');
  return event;
};

describe('router against the emulator', () => {
  it('the alert reaches an SQS subscriber exactly as rendered', async () => {
    const evaluation = evaluate(loadEvent('eks-hostile-fields.json'), policy);
    const alert = renderAlert(evaluation, dryRunResponse(evaluation))!;
    const messageId = await publishAlert(new SNSClient(awsClientConfig()), topic.topicArn, alert);
    const notification = parseSnsNotification(await receiveOne(topic.queueUrl));
    expect(notification.MessageId).toBe(messageId);
    expect(notification.Subject).toBe(alert.subject);
    // SQS is not email or HTTPS: it gets the default message, the plain-text alert.
    expect(notification.Message).toBe(alert.text);
  });

  it('invokes a containment function by name and reads its answer', async () => {
    const evaluation = evaluate(withFreshId('ec2-suspicious-command.json'), policy);
    const request = containmentRequest(evaluation, policy)!;
    const answer = {
      findingId: request.findingId,
      outcomes: [{ action: 'ec2:quarantine-instance', status: 'contained', detail: 'moved eni-1' }],
      notes: [],
    };
    await queueLambdaResults([JSON.stringify(answer)]);
    const response = await invokeContainment(
      new LambdaClient(awsClientConfig()),
      functionName,
      request,
      10_000,
    );
    expect(response.failure).toBeUndefined();
    expect(response.outcomes).toEqual([
      { action: 'ec2:quarantine-instance', status: 'contained', detail: 'moved eni-1' },
    ]);
  });

  it('a function answer that breaks the contract is a failure, not a success', async () => {
    const evaluation = evaluate(withFreshId('ec2-suspicious-command.json'), policy);
    // Unqueued, moto echoes the request back: valid JSON, but not a ContainmentResult.
    const response = await invokeContainment(
      new LambdaClient(awsClientConfig()),
      functionName,
      containmentRequest(evaluation, policy)!,
      10_000,
    );
    expect(response.failure).toMatch(/does not match the contract/);
  });

  it('respond(): claim, invoke, publish, record — one CONTAINED alert on the topic', async () => {
    const dynamo = new DynamoDBClient(awsClientConfig());
    const table = await createStateTable('gdrr-router-state', dynamo);
    const event = withFreshId('ec2-suspicious-command.json');
    const answer = {
      findingId: event.detail.id as string,
      outcomes: [{ action: 'ec2:quarantine-instance', status: 'contained', detail: 'moved eni-1' }],
      notes: [],
      release: 'npm run release -- ec2 i-055da26526efd12fc',
    };
    await queueLambdaResults([JSON.stringify(answer)]);
    const deps = {
      policy,
      contain: lambdaContainment(
        new LambdaClient(awsClientConfig()),
        { 'ec2-instance': functionName },
        10_000,
      ),
      publish: snsAlerts(new SNSClient(awsClientConfig()), topic.topicArn),
      store: new DynamoResponseStore(dynamo, table),
      logger: new Logger({ logLevel: 'SILENT' }),
    };
    const result = await respond(event, deps);
    expect(result).toMatchObject({ decision: 'contain', status: 'CONTAINED' });
    const notification = parseSnsNotification(await receiveOne(topic.queueUrl));
    expect(notification.Subject).toMatch(
      /^\[HIGH\] CONTAINED: Execution:Runtime\/SuspiciousCommand on i-/,
    );
    expect(notification.Message).toContain('[contained] ec2:quarantine-instance: moved eni-1');
    // The same finding again: recorded as handled, so no second containment.
    await expect(respond(event, deps)).resolves.toMatchObject({ status: 'DUPLICATE' });
  });
});
