/**
 * Stack outputs: the names an operator needs after a deploy (subscribe to the topic, read the
 * router's logs, query the audit table, watch the dead letters) without opening the console.
 * Declared on the stack, not inside the construct, so their names stay short and stable.
 */
import { CfnOutput, type Stack } from 'aws-cdk-lib';
import { CONTAINMENT_FUNCTIONS } from '../shared/actions.js';
import type { Surface } from '../shared/contracts.js';
import type { RuntimeFindingResponder } from './responder.js';

/** Output name of each containment function, e.g. `IsolatePodFunctionName`. */
export const containmentOutputName = (functionName: string): string =>
  `${functionName
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}FunctionName`;

export function addStackOutputs(stack: Stack, responder: RuntimeFindingResponder): void {
  const output = (id: string, value: string, description: string) =>
    new CfnOutput(stack, id, { value, description });

  output('AlertTopicArn', responder.topic.topicArn, 'SNS topic of every alert');
  output('RouterFunctionName', responder.router.functionName, 'router Lambda function');
  output(
    'RouterLogGroupName',
    responder.router.logGroup.logGroupName,
    'router log group: one "response recorded" line per response',
  );
  for (const [surface, name] of Object.entries(CONTAINMENT_FUNCTIONS) as [Surface, string][]) {
    output(
      containmentOutputName(name),
      responder.containment[surface].functionName,
      `${name} containment function`,
    );
  }
  output(
    'StateTableName',
    responder.stateTable.tableName,
    'DynamoDB table: claims, budget counters, one record per response',
  );
  output(
    'DeadLetterQueueUrl',
    responder.deadLetterQueue.queueUrl,
    'findings the router could not handle after every retry',
  );
}
