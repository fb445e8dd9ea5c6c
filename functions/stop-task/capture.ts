/**
 * `ecs:capture-task`: record the task description, its task definition (with where the logs
 * went) and, for a service task, the service's network configuration, before stopping the
 * task destroys them. Incomplete evidence is reported as `failed`, with what was captured.
 */
import {
  boundedEvidence,
  describeError,
  failedBecause,
  outcome,
} from '../../shared/containment.js';
import type { ActionOutcome } from '../../shared/contracts.js';
import { boundedDetail, type TaskContext } from './context.js';
import { describeTaskDefinition } from './ecs-reads.js';
import {
  logLocations,
  serviceEvidence,
  taskDefinitionEvidence,
  taskEvidence,
  type LogLocation,
} from './evidence.js';
import { serviceReadProblem } from './service.js';

const ACTION = 'ecs:capture-task';

interface Problem {
  text: string;
  retryable: boolean;
}

export interface Capture {
  outcome: ActionOutcome;
  logs: LogLocation[];
}

function captureStatus(ctx: TaskContext): 'contained' | 'already-contained' | 'dry-run' {
  if (ctx.state.kind === 'stopped-by-us') return 'already-contained';
  return ctx.request.dryRun ? 'dry-run' : 'contained';
}

function successDetail(ctx: TaskContext, parts: string[]): string {
  const what = `task description and task definition${parts.length > 0 ? `, ${parts.join(', ')}` : ''}`;
  switch (captureStatus(ctx)) {
    case 'already-contained':
      return `the task was already stopped for this finding; ${what} read again from the stopped task`;
    case 'dry-run':
      return `would capture the ${what} as evidence (read now and attached; nothing changed)`;
    case 'contained':
      return ctx.state.kind === 'stopped'
        ? `${what} captured from the already stopped task`
        : `${what} captured`;
  }
}

/**
 * Capture the evidence; describe calls only, so it runs in dry runs too. The task description
 * is the one read before the stop (`ctx.task`), so this may run while the task is stopped.
 */
export async function captureTask(ctx: TaskContext): Promise<Capture> {
  const { task, request } = ctx;
  const evidence: Record<string, unknown> = {
    capturedAt: ctx.now().toISOString(),
    task: taskEvidence(task),
  };
  const problems: Problem[] = [];
  const parts: string[] = [];
  let logs: LogLocation[] = [];

  // Both reads at once, alongside the stop: a task definition never changes, and stopping a
  // task changes neither the service's desired count nor its network configuration.
  const [definition, service] = await Promise.all([
    describeTaskDefinition(ctx.ecs, task.taskDefinitionArn),
    ctx.service(),
  ]);
  if (definition.kind === 'found') {
    evidence.taskDefinition = taskDefinitionEvidence(definition.value);
    logs = logLocations(definition.value, request.target.taskArn, request.region);
    evidence.logs = logs;
  } else if (definition.kind === 'missing') {
    problems.push({ text: definition.detail, retryable: false });
  } else {
    const facts = describeError(definition.error, 'ecs:DescribeTaskDefinition');
    problems.push({
      text: `DescribeTaskDefinition failed: ${facts.summary}`,
      retryable: facts.retryable,
    });
  }

  if (service.kind === 'service' && service.read.kind === 'found') {
    evidence.service = serviceEvidence(service.read.value, task.startedBy);
    parts.push(`service ${service.name} (desired count, network configuration)`);
  }
  const serviceProblem = serviceReadProblem(service);
  if (serviceProblem !== undefined) problems.push(serviceProblem);

  const bounded = boundedEvidence(evidence);
  if (problems.length > 0) {
    const detail = boundedDetail(
      `evidence incomplete: ${problems.map((p) => p.text).join('; ')}; the task description was captured (see evidence)`,
    );
    const retryable = problems.some((problem) => problem.retryable);
    return { outcome: { ...failedBecause(ACTION, detail, retryable), evidence: bounded }, logs };
  }
  return { outcome: outcome(ACTION, captureStatus(ctx), successDetail(ctx, parts), bounded), logs };
}
