/** Publishing the one alert per finding to the SNS topic. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert } from '../../shared/alert.js';

/**
 * Per-protocol messages: email subscribers get the plain text, AWS Chatbot (an HTTPS
 * subscriber) gets the custom-notification JSON, and every other protocol (SQS, Lambda)
 * the plain text as the default.
 */
export function snsMessage(alert: Alert): string {
  const slack = JSON.stringify(alert.slack);
  return JSON.stringify({ default: alert.text, email: alert.text, https: slack });
}

/** Publish and return the SNS message id. Errors propagate so the event is retried. */
export async function publishAlert(
  sns: SNSClient,
  topicArn: string,
  alert: Alert,
): Promise<string> {
  const result = await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: alert.subject,
      MessageStructure: 'json',
      Message: snsMessage(alert),
    }),
  );
  if (!result.MessageId) throw new Error('SNS accepted the alert but returned no MessageId');
  return result.MessageId;
}
