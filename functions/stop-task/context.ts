/** What every step of a stop-task run shares: the request, the described task, the client. */
import type { ECSClient, Task } from '@aws-sdk/client-ecs';
import type { ServiceLookup } from './service.js';
import type { EcsTaskRequest, StopState } from './task-facts.js';

export interface TaskContext {
  request: EcsTaskRequest;
  /** The finding's task as DescribeTasks reported it (with tags). */
  task: Task;
  state: StopState;
  ecs: ECSClient;
  now: () => Date;
  /** The task's service, described at most once per run. */
  service: () => Promise<ServiceLookup>;
}

/** Details must fit the contract (2000 characters) after sanitizing; lists go to evidence. */
export function boundedDetail(text: string, max = 1500): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max).join('')}…`;
}
