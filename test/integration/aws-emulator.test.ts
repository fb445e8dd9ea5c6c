/**
 * The AWS emulator (moto server) as the SDK v3 sees it: SNS to SQS delivery with
 * per-protocol messages, and Lambda functions invoked by name without Docker.
 */
import { GetFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  awsClientConfig,
  createFunction,
  createTopicWithQueue,
  parseSnsNotification,
  queueLambdaResults,
  receiveOne,
  recordedRequests,
  startRecording,
} from './aws-helpers.js';
import { integrationEnv, skipReason, uniqueName } from './test-env.js';

describe.skipIf(skipReason())('AWS emulator (moto server)', () => {
  beforeAll(() => {
    integrationEnv();
  });

  it('delivers an SNS message published with MessageStructure json to an SQS subscriber', async () => {
    const { topicArn, queueUrl } = await createTopicWithQueue();
    const sns = new SNSClient(awsClientConfig());
    const published = await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'GuardDuty runtime finding contained',
        MessageStructure: 'json',
        Message: JSON.stringify({
          default: 'plain text for every other protocol',
          sqs: '{"version":"1.0","source":"custom"}',
          email: 'plain text for email',
        }),
      }),
    );
    expect(published.MessageId).toMatch(/^[0-9a-f-]{36}$/);

    const notification = parseSnsNotification(await receiveOne(queueUrl));
    expect(notification).toMatchObject({
      Type: 'Notification',
      TopicArn: topicArn,
      MessageId: published.MessageId,
      Subject: 'GuardDuty runtime finding contained',
      Message: '{"version":"1.0","source":"custom"}',
    });
  });

  it('creates a Lambda function and invokes it by name (moto answers, no Docker)', async () => {
    const name = uniqueName('gdrr-it-fn');
    const { functionArn } = await createFunction(name, { environment: { DRY_RUN: 'true' } });
    expect(functionArn).toBe(`arn:aws:lambda:us-east-1:123456789012:function:${name}`);

    const lambda = new LambdaClient(awsClientConfig());
    const described = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    expect(described.Configuration).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Environment: { Variables: { DRY_RUN: 'true' } },
    });

    // moto without Docker does not run the code: it echoes the payload, or a fixed text.
    const echoed = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{"ping":true}') }),
    );
    expect(echoed.StatusCode).toBe(200);
    expect(echoed.FunctionError).toBeUndefined();
    expect(Buffer.from(echoed.Payload ?? []).toString('utf8')).toBe('{"ping":true}');
    const empty = await lambda.send(new InvokeCommand({ FunctionName: name }));
    expect(Buffer.from(empty.Payload ?? []).toString('utf8')).toBe('Simple Lambda happy path OK');
  });

  it('returns queued results for the next invocations, in order', async () => {
    const name = uniqueName('gdrr-it-fn');
    await createFunction(name);
    await queueLambdaResults(['{"outcome":"contained"}', '{"outcome":"failed"}']);
    const lambda = new LambdaClient(awsClientConfig());
    const payloads: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { Payload } = await lambda.send(new InvokeCommand({ FunctionName: name }));
      payloads.push(Buffer.from(Payload ?? []).toString('utf8'));
    }
    expect(payloads).toEqual(['{"outcome":"contained"}', '{"outcome":"failed"}']);
  });

  it('records the API calls a test makes, in order', async () => {
    await startRecording();
    const { topicArn } = await createTopicWithQueue('gdrr-it-rec');
    await new SNSClient(awsClientConfig()).send(
      new PublishCommand({ TopicArn: topicArn, Message: 'hello' }),
    );
    const operations = (await recordedRequests()).map((r) => r.operation);
    expect(operations).toEqual([
      'CreateTopic',
      'AmazonSQS.CreateQueue',
      'AmazonSQS.GetQueueAttributes',
      'Subscribe',
      'Publish',
    ]);
  });
});
