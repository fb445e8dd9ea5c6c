/**
 * quarantine-ec2: contain an EC2 instance. Checks first (exists, ours, running, not
 * exempt, not already done), then the quarantine, then what the policy adds. Used by the
 * Lambda handler and by `replay --live` alike.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describeAction } from '../../shared/decide.js';
import { ec2ReleaseText } from '../../shared/release-commands.js';
import {
  failedBecause,
  failedOutcome,
  outcome,
  sameForAll,
  type RequestFor,
} from '../../shared/containment.js';
import type { ActionId, ActionOutcome, ContainmentResult } from '../../shared/contracts.js';
import { snapshotVolumes } from './after-quarantine.js';
import { describeInstance, type InstanceFacts } from './describe.js';
import { describePlan, isQuarantined, knownGroups, quarantine } from './quarantine.js';
import { tagValue } from './record.js';

export interface Ec2Deps {
  ec2: EC2Client;
  /**
   * Clients for the optional Auto Scaling and target-group actions, made on first use:
   * the default policy never needs them, and each SDK client loaded at start costs every
   * cold start a few milliseconds.
   */
  autoScaling: () => Promise<AutoScalingClient>;
  elb: () => Promise<ElasticLoadBalancingV2Client>;
  /** The region the clients talk to. */
  region: string;
  now?: () => Date;
}

type Request = RequestFor<'ec2-instance'>;

/** Why the instance must not be touched, or undefined when it may be. */
function reasonToSkip(request: Request, facts: InstanceFacts, region: string): string | undefined {
  if (facts.ownerId !== undefined && facts.ownerId !== request.accountId) {
    return `instance belongs to account ${facts.ownerId}, not the finding's account ${request.accountId}`;
  }
  if (region !== request.region)
    return `the finding is in ${request.region}; this function acts in ${region}`;
  if (facts.state === 'terminated' || facts.state === 'shutting-down')
    return `instance is ${facts.state}`;
  const exemption = tagValue(facts.tags, request.exemptionKey);
  if (exemption !== undefined && exemption.toLowerCase() !== 'false') {
    return `instance carries the exemption tag ${request.exemptionKey}`;
  }
  return undefined;
}

/**
 * The Auto Scaling and target-group actions (and their SDK clients) are imported when
 * first requested, so a bundle evaluates them only for a policy that uses them.
 */
async function runOptional(
  action: ActionId,
  request: Request,
  facts: InstanceFacts,
  deps: Ec2Deps,
): Promise<ActionOutcome> {
  switch (action) {
    case 'ec2:snapshot-volumes':
      return snapshotVolumes(deps.ec2, facts, request.findingId);
    case 'ec2:detach-from-autoscaling': {
      const { detachFromAutoScaling } = await import('./auto-scaling.js');
      return detachFromAutoScaling(await deps.autoScaling(), facts.instanceId);
    }
    case 'ec2:protect-from-scale-in': {
      const { protectFromScaleIn } = await import('./auto-scaling.js');
      return protectFromScaleIn(await deps.autoScaling(), facts.instanceId);
    }
    case 'ec2:deregister-from-target-groups': {
      const { deregisterFromTargetGroups } = await import('./target-groups.js');
      return deregisterFromTargetGroups(await deps.elb(), facts);
    }
    default:
      return failedBecause(action, `${action} is not an action of quarantine-ec2`, false);
  }
}

/** An optional action that could not even start (its code failed to load) is a failed outcome. */
const runOptionalSafely = (
  action: ActionId,
  request: Request,
  facts: InstanceFacts,
  deps: Ec2Deps,
): Promise<ActionOutcome> =>
  runOptional(action, request, facts, deps).catch((error: unknown) =>
    failedOutcome(action, `starting ${action}`, error),
  );

const result = (
  request: Request,
  outcomes: ActionOutcome[],
  notes: string[] = [],
): ContainmentResult => ({
  findingId: request.findingId,
  outcomes,
  notes,
  release: outcomes.some(
    (o) => o.status === 'contained' || o.status === 'already-contained' || o.status === 'failed',
  )
    ? ec2ReleaseText(request.target.instanceId, request.region)
    : undefined,
});

/** Contain the instance named by the request; one outcome per requested action, in order. */
export async function containInstance(request: Request, deps: Ec2Deps): Promise<ContainmentResult> {
  const { instanceId } = request.target;
  let facts: InstanceFacts | null;
  try {
    facts = await describeInstance(deps.ec2, instanceId);
  } catch (error) {
    return result(
      request,
      request.actions.map((action) =>
        failedOutcome(action, 'DescribeInstances', error, 'ec2:DescribeInstances'),
      ),
    );
  }
  if (facts === null) {
    return result(
      request,
      request.actions.map((action) =>
        failedBecause(action, `instance ${instanceId} was not found in ${deps.region}`, false),
      ),
    );
  }
  const skip = reasonToSkip(request, facts, deps.region);
  if (skip)
    return {
      findingId: request.findingId,
      outcomes: sameForAll(request, 'skipped', skip),
      notes: [],
    };

  const groups = knownGroups(facts);
  if (request.dryRun) {
    const outcomes = request.actions.map((action) =>
      outcome(
        action,
        'dry-run',
        action === 'ec2:quarantine-instance'
          ? describePlan(facts, groups)
          : `would ${describeAction(action)}`,
      ),
    );
    return { findingId: request.findingId, outcomes, notes: [] };
  }

  const main = isQuarantined(facts, groups)
    ? outcome(
        'ec2:quarantine-instance',
        'already-contained',
        `every interface of ${instanceId} is already in the quarantine group`,
      )
    : await quarantine({
        ec2: deps.ec2,
        facts,
        findingId: request.findingId,
        now: (deps.now ?? (() => new Date()))(),
      });
  const isolated = main.status === 'contained' || main.status === 'already-contained';
  const optional = await Promise.all(
    request.actions
      .filter((action) => action !== 'ec2:quarantine-instance')
      .map((action) => runOptionalSafely(action, request, facts, deps)),
  );
  const byAction = new Map<ActionId, ActionOutcome>([
    ['ec2:quarantine-instance', main],
    ...optional.map((o) => [o.action, o] as const),
  ]);
  const notes = isolated
    ? []
    : [
        'the quarantine did not complete: the instance may still reach and be reached by the network',
      ];
  return result(
    request,
    request.actions.map((action) => byAction.get(action)!),
    notes,
  );
}
