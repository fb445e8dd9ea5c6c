/**
 * Small helpers for integration tests against the moto server of the test environment:
 * client configuration, an SNS topic delivering to an SQS queue, Lambda functions that
 * moto "runs" without Docker, and moto's request recorder.
 */
import { crc32 } from 'node:zlib';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { integrationEnv, uniqueName } from './test-env.js';

/** Endpoint, region and test credentials for any SDK v3 client. */
export function awsClientConfig() {
  const env = integrationEnv();
  return {
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  };
}

/** A new table shaped like the router's state table (key `pk`, on demand); returns its name. */
export async function createStateTable(
  prefix: string,
  dynamo = new DynamoDBClient(awsClientConfig()),
) {
  const table = uniqueName(prefix);
  await dynamo.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  return table;
}

/** An SNS topic with an SQS queue subscribed to it (envelope delivery, not raw). */
export interface TopicWithQueue {
  topicArn: string;
  queueUrl: string;
  queueArn: string;
  subscriptionArn: string;
}

export async function createTopicWithQueue(prefix = 'gdrr-it'): Promise<TopicWithQueue> {
  const sns = new SNSClient(awsClientConfig());
  const sqs = new SQSClient(awsClientConfig());
  const name = uniqueName(prefix);
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = Attributes?.QueueArn;
  if (!TopicArn || !QueueUrl || !queueArn) throw new Error('moto did not create topic and queue');
  const { SubscriptionArn } = await sns.send(
    new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queueArn }),
  );
  return {
    topicArn: TopicArn,
    queueUrl: QueueUrl,
    queueArn,
    subscriptionArn: SubscriptionArn ?? '',
  };
}

/** Waits (bounded) for one message, deletes it from the queue and returns it. */
export async function receiveOne(queueUrl: string, timeoutMs = 10_000): Promise<Message> {
  const sqs = new SQSClient(awsClientConfig());
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
    );
    const message = Messages?.[0];
    if (message) {
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      return message;
    }
  }
  throw new Error(`no message arrived on ${queueUrl} within ${timeoutMs} ms`);
}

/** The SNS notification envelope an SQS subscriber receives. */
export interface SnsNotification {
  Type: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  MessageId: string;
}

export function parseSnsNotification(message: Message): SnsNotification {
  return JSON.parse(message.Body ?? '') as SnsNotification;
}

const LAMBDA_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});

/** The role Lambda functions are created with (moto checks that it exists). */
export async function ensureLambdaRole(roleName = 'gdrr-it-lambda'): Promise<string> {
  const iam = new IAMClient(awsClientConfig());
  try {
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
    if (Role?.Arn) return Role.Arn;
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchEntityException') throw error;
  }
  const { Role } = await iam.send(
    new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: LAMBDA_TRUST_POLICY }),
  );
  if (!Role?.Arn) throw new Error('moto did not create the Lambda role');
  return Role.Arn;
}

/** Creates a Lambda function in moto (a tiny in-memory zip; moto answers invokes itself). */
export async function createFunction(
  name: string,
  options: { environment?: Record<string, string>; source?: string } = {},
): Promise<{ functionName: string; functionArn: string }> {
  const lambda = new LambdaClient(awsClientConfig());
  const source =
    options.source ?? 'export const handler = async (event) => ({ received: event });\n';
  const created = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: await ensureLambdaRole(),
      Code: { ZipFile: zipOneFile('index.mjs', Buffer.from(source, 'utf8')) },
      Environment: options.environment ? { Variables: options.environment } : undefined,
    }),
  );
  if (!created.FunctionArn) throw new Error(`moto did not create function ${name}`);
  return { functionName: name, functionArn: created.FunctionArn };
}

async function motoApi(path: string, init: RequestInit = {}): Promise<string> {
  const response = await fetch(`${integrationEnv().AWS_ENDPOINT_URL}${path}`, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`moto ${path}: HTTP ${response.status} ${text}`);
  return text;
}

/**
 * Queues the payloads moto returns for the next Lambda invocations. moto without Docker
 * does not run the code: unqueued, it echoes the request payload (or answers
 * "Simple Lambda happy path OK" when there is none).
 */
export async function queueLambdaResults(results: string[], region = integrationEnv().AWS_REGION) {
  await motoApi('/moto-api/static/lambda-simple/response', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ results, region }),
  });
}

/** One request moto recorded. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** `X-Amz-Target` or `Action=` of the request, else `METHOD /path`. */
  operation: string;
}

/** Clears moto's recording and records every request from now on. */
export async function startRecording(): Promise<void> {
  await motoApi('/moto-api/recorder/reset-recording', { method: 'POST' });
  await motoApi('/moto-api/recorder/start-recording', { method: 'POST' });
}

/** The requests recorded since `startRecording`, oldest first. */
export async function recordedRequests(): Promise<RecordedRequest[]> {
  const text = await motoApi('/moto-api/recorder/download-recording');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const entry = JSON.parse(line) as Omit<RecordedRequest, 'operation'> & {
        body_encoded?: boolean;
      };
      const body = entry.body_encoded
        ? Buffer.from(entry.body, 'base64').toString('utf8')
        : (entry.body ?? '');
      return {
        ...entry,
        body,
        operation: operationOf(entry.method, entry.url, entry.headers, body),
      };
    });
}

function operationOf(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string,
): string {
  const target = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-amz-target');
  if (target) return target[1];
  const parsed = new URL(url);
  const action = parsed.searchParams.get('Action') ?? new URLSearchParams(body).get('Action');
  return action ?? `${method} ${parsed.pathname}`;
}

/** A zip archive (stored, uncompressed) holding one file: enough for CreateFunction. */
export function zipOneFile(fileName: string, content: Buffer): Buffer {
  const name = Buffer.from(fileName, 'utf8');
  const checksum = crc32(content);
  const dosDate = (1 << 5) | 1; // 1980-01-01
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(dosDate, 12);
  local.writeUInt32LE(checksum, 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(0x0314, 4); // made by Unix, spec 2.0
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(dosDate, 14);
  central.writeUInt32LE(checksum, 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  const centralOffset = local.length + name.length + content.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, content, central, name, end]);
}
