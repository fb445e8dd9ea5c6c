/**
 * The ECS read calls, each returning a result the caller must look at: found, missing (a
 * fact: not retried) or error (the SDK error, classified later by `describeError`).
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  type ECSClient,
  type Failure,
  type Service,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { EcsTaskTarget } from '../../shared/contracts.js';
import { cleanText } from '../../shared/sanitize.js';
import { taskIdOf } from './task-facts.js';

export type Read<T> =
  | { kind: 'found'; value: T }
  | { kind: 'missing'; detail: string }
  | { kind: 'error'; error: unknown };

/** DescribeTasks accepts at most this many tasks per call. */
export const DESCRIBE_BATCH = 100;

const failureText = (failures: readonly Failure[] | undefined): string => {
  const first = failures?.[0];
  if (!first) return 'ECS returned neither the resource nor a failure';
  const detail = first.detail ? ` (${first.detail})` : '';
  return cleanText(`ECS reports ${first.reason ?? 'a failure'}${detail}`, 'tag');
};

/** Describe the finding's task, with its tags (the exemption tag is read from them). */
export async function describeTarget(ecs: ECSClient, target: EcsTaskTarget): Promise<Read<Task>> {
  try {
    const answer = await ecs.send(
      new DescribeTasksCommand({
        cluster: target.clusterArn,
        tasks: [target.taskArn],
        include: ['TAGS'],
      }),
    );
    const id = taskIdOf(target.taskArn);
    const task = answer.tasks?.find((candidate) => taskIdOf(candidate.taskArn ?? '') === id);
    if (task) return { kind: 'found', value: task };
    return {
      kind: 'missing',
      detail: `task ${target.taskArn} not found in cluster ${target.clusterArn}: ${failureText(answer.failures)}`,
    };
  } catch (error) {
    return { kind: 'error', error };
  }
}

/** Describe the task definition a task runs. */
export async function describeTaskDefinition(
  ecs: ECSClient,
  taskDefinitionArn: string | undefined,
): Promise<Read<TaskDefinition>> {
  if (!taskDefinitionArn) {
    return { kind: 'missing', detail: 'DescribeTasks reported no task definition for the task' };
  }
  try {
    const answer = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }),
    );
    if (answer.taskDefinition) return { kind: 'found', value: answer.taskDefinition };
    return {
      kind: 'missing',
      detail: `task definition ${cleanText(taskDefinitionArn, 'path')} not returned by ECS`,
    };
  } catch (error) {
    return { kind: 'error', error };
  }
}

/** Describe one service of the cluster by name. */
export async function describeService(
  ecs: ECSClient,
  clusterArn: string,
  serviceName: string,
): Promise<Read<Service>> {
  try {
    const answer = await ecs.send(
      new DescribeServicesCommand({ cluster: clusterArn, services: [serviceName] }),
    );
    const service = answer.services?.find((candidate) => candidate.serviceName === serviceName);
    if (service) return { kind: 'found', value: service };
    return {
      kind: 'missing',
      detail: `service ${serviceName} not found in cluster ${clusterArn}: ${failureText(answer.failures)}`,
    };
  } catch (error) {
    return { kind: 'error', error };
  }
}

/** ARNs of the cluster's tasks whose desired status is RUNNING, up to `limit`. */
export async function listRunningTaskArns(
  ecs: ECSClient,
  clusterArn: string,
  limit: number,
): Promise<{ arns: string[]; truncated: boolean }> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTasksCommand({
        cluster: clusterArn,
        desiredStatus: 'RUNNING',
        maxResults: DESCRIBE_BATCH,
        nextToken,
      }),
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
    if (arns.length >= limit) {
      return { arns: arns.slice(0, limit), truncated: arns.length > limit || !!nextToken };
    }
  } while (nextToken);
  return { arns, truncated: false };
}

/**
 * Describe tasks (with tags) in batches of 100, the most DescribeTasks accepts. The batches
 * go out together (the sibling search passes at most 1000 tasks: 10 batches); the tasks come
 * back in batch order.
 */
export async function describeTasksInBatches(
  ecs: ECSClient,
  clusterArn: string,
  taskArns: readonly string[],
): Promise<Task[]> {
  const batches: string[][] = [];
  for (let start = 0; start < taskArns.length; start += DESCRIBE_BATCH) {
    batches.push(taskArns.slice(start, start + DESCRIBE_BATCH));
  }
  const answers = await Promise.all(
    batches.map((tasks) =>
      ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks, include: ['TAGS'] })),
    ),
  );
  return answers.flatMap((answer) => answer.tasks ?? []);
}
