/**
 * Whether the quarantine NetworkPolicy actually isolates the pod. NetworkPolicies add up:
 * any other policy in the namespace that selects the pod and allows some traffic lets that
 * traffic through, whatever the quarantine policy says. So the network step is reported
 * `contained` only after every policy of the namespace was read and none of them selects
 * the pod (under the labels it carries once quarantined) with an allow.
 *
 * The namespace's policies are written by whoever may create NetworkPolicies there, the
 * attacker included: they are read in small pages, judged page by page and dropped, and
 * only a bounded description of the offending ones is kept.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { failedBecause, type RequestFor } from '../../shared/containment.js';
import type { ActionOutcome, BypassResponse } from '../../shared/contracts.js';
import { QUARANTINE_LABEL, networkPolicyName } from '../../shared/labels.js';
import { podRef, type FoundPod } from './find-pod.js';
import { isolationConflict, quarantinePolicy } from './network-policy.js';
import { kubeFailed, type StepResult } from './plan.js';
import { respondToBypass } from './bypass-response.js';
import { isLabelled } from './label.js';
import type { KubeClients } from './kube.js';
import {
  placeTierDenies,
  reliedCoverage,
  rehearsedTiers,
  withTierDenies,
  type TierDiscovery,
  type TierKind,
  type TierPlacement,
} from './policy-tier.js';
import {
  MAX_SHOWN_POLICIES,
  allowingPolicy,
  bypassingPolicies,
  describeBypasses,
  type AllowingPolicy,
  type Bypass,
  type TierCoverage,
} from './policy-bypass.js';

const ACTION = 'eks:isolate-pod-network';

// Policies per page: each may be large (up to about 1.5 MB, the API server's object limit),
// so a page holds few of them (as pod pages do); a namespace rarely has more than a handful.
const POLICY_PAGE_SIZE = 10;

/**
 * What may be kept of the allowing policies while they are read: each keeps its pod
 * selector (judged once the pod's final labels are known). Past these, the namespace holds
 * more policy than can be judged in the function's memory, and the check is unknown.
 */
const MAX_ALLOWING_POLICIES = 2_000;
const MAX_KEPT_SELECTOR_BYTES = 2_000_000;

type Labels = Readonly<Record<string, string>>;

/** The policies that let traffic through, at most a few kept, and how many there are. */
export interface PolicyReview {
  bypasses: Bypass[];
  total: number;
}

export type PolicyReading =
  | {
      kind: 'read';
      review: (labelSets: readonly Labels[], coverage: TierCoverage) => PolicyReview;
    }
  | { kind: 'failed'; outcome: ActionOutcome };

/**
 * Read every NetworkPolicy of the pod's namespace, page by page, keeping of each only what
 * it allows and whom it selects: they are judged once the pod's final labels and the tier
 * deny above them are known.
 */
export async function readNamespacePolicies(
  kube: KubeClients,
  found: FoundPod,
  quarantine: V1NetworkPolicy,
): Promise<PolicyReading> {
  // The responder's own policy is left out only as it made it: changed, it is judged too.
  const isQuarantine = (policy: V1NetworkPolicy) =>
    policy.metadata?.name === quarantine.metadata?.name &&
    isolationConflict(policy, quarantine) === undefined;
  const allowing: AllowingPolicy[] = [];
  let selectorBytes = 0;
  let page: string | undefined;
  try {
    do {
      const list = await kube.networking.listNamespacedNetworkPolicy({
        namespace: found.namespace,
        limit: POLICY_PAGE_SIZE,
        _continue: page,
      });
      for (const policy of list.items) {
        const kept = allowingPolicy(policy, isQuarantine);
        if (kept === undefined) continue;
        allowing.push(kept);
        selectorBytes += JSON.stringify(kept.podSelector).length;
      }
      if (allowing.length > MAX_ALLOWING_POLICIES || selectorBytes > MAX_KEPT_SELECTOR_BYTES) {
        return {
          kind: 'failed',
          outcome: failedBecause(
            ACTION,
            `namespace ${found.namespace} holds more allowing NetworkPolicies than can be judged (over ${MAX_ALLOWING_POLICIES} policies or ${MAX_KEPT_SELECTOR_BYTES / 1_000_000} MB of selectors)`,
            false,
          ),
        };
      }
      page = list.metadata?._continue || undefined;
    } while (page !== undefined);
  } catch (error) {
    return {
      kind: 'failed',
      outcome: kubeFailed(
        ACTION,
        `list NetworkPolicies in namespace ${found.namespace} (to check that none lets traffic past the quarantine)`,
        error,
        'listNamespacedNetworkPolicy',
      ),
    };
  }
  return {
    kind: 'read',
    review: (labelSets, coverage) => {
      const bypasses = bypassingPolicies(allowing, labelSets, coverage);
      return { bypasses: bypasses.slice(0, MAX_SHOWN_POLICIES), total: bypasses.length };
    },
  };
}

/** The pod's labels (as read, or as a step left them) once the quarantine label is on it. */
export const quarantinedLabels = (
  found: FoundPod,
  labels: Labels = found.pod.metadata?.labels ?? {},
): Labels => ({ ...labels, [QUARANTINE_LABEL]: found.uid });

/** A network step after the check; `bypassed` when other policies let traffic through. */
export interface Judged {
  result: StepResult;
  bypassed: boolean;
}

const unchanged = (result: StepResult): Judged => ({ result, bypassed: false });

const inPlace = (step: StepResult): boolean =>
  step.outcome.status === 'contained' || step.outcome.status === 'already-contained';

/**
 * The network step's result, judged against the namespace's other policies: a policy in
 * place that other policies bypass becomes a failure that names them and what they allow
 * (not retryable: a retry creates nothing that would change it). The release is kept: the
 * quarantine policy is in place and still has to be undone.
 */
export function judgeIsolation(
  step: StepResult,
  found: FoundPod,
  reading: PolicyReading,
  labelSets: readonly Labels[],
  coverage: TierCoverage,
): Judged {
  if (!inPlace(step)) return unchanged(step);
  const policy = `NetworkPolicy ${found.namespace}/${networkPolicyName(found.uid)}`;
  if (reading.kind === 'failed') {
    return unchanged({
      ...step,
      outcome: {
        ...reading.outcome,
        detail: `${policy} is in place, but whether other NetworkPolicies still let traffic through is unknown: ${reading.outcome.detail}`,
      },
    });
  }
  const { bypasses, total } = reading.review(labelSets, coverage);
  if (total === 0) return unchanged(step);
  const result: StepResult = {
    ...step,
    outcome: {
      ...failedBecause(
        ACTION,
        `${policy} is in place, but pod ${podRef(found)} is NOT isolated: NetworkPolicies add up, and ${describeBypasses(bypasses, total)}`,
        false,
      ),
      evidence: {
        ...step.outcome.evidence,
        bypassedBy: bypasses.map(({ policy: name }) => name).join(', '),
      },
    },
    notes: [
      ...step.notes,
      `to isolate pod ${podRef(found)}, remove or narrow the NetworkPolicies named in ${ACTION} (or isolate its node); the quarantine policy stays in place`,
    ],
  };
  return { result, bypassed: true };
}

/** A dry run's view: what the write would meet, said in the plan's detail. */
export function rehearsedIsolation(
  step: StepResult,
  found: FoundPod,
  reading: PolicyReading,
  coverage: TierCoverage,
): Judged {
  if (step.outcome.status !== 'dry-run') return unchanged(step);
  if (reading.kind === 'failed') {
    return unchanged({
      ...step,
      outcome: {
        ...step.outcome,
        detail: `${step.outcome.detail}; the namespace's other NetworkPolicies could not be read: ${reading.outcome.detail}`,
      },
    });
  }
  const { bypasses, total } = reading.review([quarantinedLabels(found)], coverage);
  if (total === 0) return unchanged(step);
  const detail = `${step.outcome.detail}; but the pod would NOT be isolated: NetworkPolicies add up, and ${describeBypasses(bypasses, total)}`;
  return { result: { ...step, outcome: { ...step.outcome, detail } }, bypassed: true };
}

/** The reads and writes that decide whether the quarantine holds, started together. */
export interface IsolationChecks {
  reading: Promise<PolicyReading>;
  discovery: Promise<TierDiscovery>;
  /** Denies placed above NetworkPolicies (none in a dry run: it writes nothing). */
  placements: Promise<TierPlacement[]>;
}

export function startIsolationChecks(
  kube: KubeClients,
  found: FoundPod,
  request: RequestFor<'eks-pod'>,
  settings: { allowDnsEgress: boolean },
  discovery: Promise<TierDiscovery>,
): IsolationChecks {
  return {
    reading: readNamespacePolicies(
      kube,
      found,
      quarantinePolicy(found, request.findingId, settings.allowDnsEgress),
    ),
    discovery,
    placements: request.dryRun
      ? Promise.resolve([])
      : discovery.then((served) =>
          placeTierDenies(
            kube,
            served,
            found,
            request.findingId,
            settings.allowDnsEgress,
            isLabelled(found),
          ),
        ),
  };
}

interface IsolationContext {
  kube: KubeClients;
  found: FoundPod;
  request: RequestFor<'eks-pod'>;
  settings: {
    allowDnsEgress: boolean;
    whenIsolationBypassed?: BypassResponse;
    trustDenyTier?: boolean;
  };
  /** Every set of labels the pod carries while contained. */
  labelSets: readonly Labels[];
}

/**
 * The network step's final result: judged against the namespace's other policies under
 * the deny the tiers placed (in a dry run, the tiers served), answered as the policy says
 * when bypassed, with the tier objects in its evidence, release and notes.
 */
export async function finishIsolation(
  network: StepResult,
  checks: IsolationChecks,
  context: IsolationContext,
): Promise<StepResult> {
  const { kube, found, request, settings } = context;
  const [reading, discovery, placements] = await Promise.all([
    checks.reading,
    checks.discovery,
    checks.placements,
  ]);
  const placed = placements.flatMap((p) => ('placed' in p ? [p.placed.tier] : []));
  // A deny above NetworkPolicies counts only where the operator says its plugin enforces it.
  const trusted = (tiers: readonly TierKind[]) =>
    settings.trustDenyTier === true ? reliedCoverage(tiers) : 'none';
  const judged = request.dryRun
    ? rehearsedIsolation(network, found, reading, trusted(discovery.served))
    : judgeIsolation(network, found, reading, context.labelSets, trusted(placed));
  const answered = judged.bypassed
    ? await respondToBypass(
        kube,
        found,
        judged.result,
        settings.whenIsolationBypassed ?? 'report',
        request.dryRun,
      )
    : judged.result;
  if (!request.dryRun) {
    return withTierDenies(answered, found, discovery, placements, {
      allowDnsEgress: settings.allowDnsEgress,
      trusted: settings.trustDenyTier === true,
    });
  }
  const tiers = rehearsedTiers(discovery, found);
  return tiers === ''
    ? answered
    : {
        ...answered,
        outcome: { ...answered.outcome, detail: `${answered.outcome.detail}${tiers}` },
      };
}
