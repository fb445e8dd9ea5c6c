/** Publishing the one alert per finding to the SNS topic. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ALERT_CUT_MARKER, capUtf8, type Alert } from '../../shared/alert.js';

/** SNS refuses a message over 256 KiB (its attributes included). */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/**
 * Kept free below the limit: the message is measured exactly, so this is only for what
 * SNS counts besides it (the subject, at most 100 characters, and attributes; we send none).
 */
export const SNS_MARGIN_BYTES = 4_096;
const SNS_MESSAGE_BUDGET = SNS_MAX_MESSAGE_BYTES - SNS_MARGIN_BYTES;

/**
 * Per-protocol messages: email subscribers get the plain text, AWS Chatbot (an HTTPS
 * subscriber) gets the custom-notification JSON, and every other protocol (SQS, Lambda)
 * the plain text as the default.
 */
export function snsMessage(alert: Alert): string {
  const slack = JSON.stringify(alert.slack);
  let text = alert.text;
  for (;;) {
    const message = JSON.stringify({ default: text, email: text, https: slack });
    const over = Buffer.byteLength(message, 'utf8') - SNS_MESSAGE_BUDGET;
    if (over <= 0) return message;
    // The text is in the message twice, each byte at least once after JSON escaping (a `"`
    // or `\` twice): cutting half the excess from it, plus room for the marker, shrinks
    // the message by at least the excess, so this ends in one or two rounds.
    text = capUtf8(
      text,
      Buffer.byteLength(text, 'utf8') - Math.ceil(over / 2) - ALERT_CUT_MARKER.length - 1,
      ALERT_CUT_MARKER,
    );
  }
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

/** Sends one alert and returns its message id; errors propagate so the event is retried. */
export type AlertSender = (alert: Alert) => Promise<string>;

export const snsAlerts =
  (sns: SNSClient, topicArn: string): AlertSender =>
  (alert) =>
    publishAlert(sns, topicArn, alert);
