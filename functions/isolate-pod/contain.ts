/**
 * isolate-pod: contain a pod through the Kubernetes API. Checks first (settings, protected
 * namespace, the pod itself, exemption), then, whatever the request's order: label the pod
 * and, at the same time, create the NetworkPolicy that selects that label; read the node
 * and the cordon budget at the same time too, then cordon; detach the pod from its
 * controller once the label and the policy are done. Used by the Lambda handler,
 * `replay --live` and the tests.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  failedBecause,
  failedOutcome,
  outsideHome,
  sameForAll,
  type HomeScope,
  type RequestFor,
} from '../../shared/containment.js';
import type { ActionId, ActionOutcome, ContainmentResult } from '../../shared/contracts.js';
import { cleanText } from '../../shared/sanitize.js';
import { planCordon } from './cordon.js';
import { planDetach } from './detach.js';
import { findPod, podRef, type FoundPod } from './find-pod.js';
import { kubeClients, type KubeClients } from './kube.js';
import { isLabelled, planLabel } from './label.js';
import { isolate, isolationWithoutLabel, planIsolation } from './network-policy.js';
import { carryOut, kubeFailed, only, rehearse, type Plan, type StepResult } from './plan.js';
import { releaseText } from './release.js';
import { NO_TIERS, discoverTiers, type TierDiscovery } from './policy-tier.js';
import { finishIsolation, quarantinedLabels, startIsolationChecks } from './verify-isolation.js';

type Request = RequestFor<'eks-pod'>;
type EksSettings = NonNullable<Request['eks']>;

/**
 * Where the function runs, so a finding from another account or region is refused before
 * anything is read: `unknown` (an ARN that could not be read) refuses every request;
 * undefined checks nothing (a local kubeconfig whose cluster is not an EKS ARN).
 */
export type Home = HomeScope | 'unknown' | undefined;

export interface IsolatePodDeps {
  kube: KubeClients;
  now?: () => Date;
  home?: Home;
}

/**
 * The order steps are reported and released in (the policy is undone before the label it
 * selects). Steps run concurrently where nothing depends on another: see `containFound`.
 */
const RUN_ORDER: readonly ActionId[] = [
  'eks:label-pod',
  'eks:isolate-pod-network',
  'eks:cordon-node',
  'eks:detach-from-controller',
];

export const ENFORCEMENT_NOTE =
  'the NetworkPolicy is enforced only by a network plugin that supports NetworkPolicies (e.g. the Amazon VPC CNI with network policy enabled, Calico, Cilium); without one it is stored and changes nothing. Whether connections the pod already had are cut also depends on that plugin';
const DNS_NOTE =
  'the pod may still query cluster DNS (UDP/TCP 53 to kube-dns in kube-system), which can carry data out through DNS names';

/** Why the pod must not be touched, or undefined when it may be. */
export function exemptionReason(found: FoundPod, exemptionKey: string): string | undefined {
  const { labels, annotations } = found.pod.metadata ?? {};
  for (const [kind, values] of [
    ['label', labels],
    ['annotation', annotations],
  ] as const) {
    const value = values?.[exemptionKey];
    if (value !== undefined && value.toLowerCase() !== 'false') {
      return `pod ${podRef(found)} carries the exemption ${kind} ${exemptionKey}`;
    }
  }
  return undefined;
}

const result = (
  request: Request,
  outcomes: ActionOutcome[],
  notes: string[] = [],
  release: string[] = [],
): ContainmentResult => ({
  findingId: request.findingId,
  outcomes,
  notes: [...new Set(notes)].map((note) => cleanText(note, 'description')).slice(0, 20),
  release: releaseText(request.region, request.target.clusterName, release),
});

function planFor(
  action: ActionId,
  kube: KubeClients,
  found: FoundPod,
  request: Request,
  settings: EksSettings,
  now: Date,
): Promise<Plan> | Plan {
  switch (action) {
    case 'eks:label-pod':
      return planLabel(kube, found, request.findingId, now);
    case 'eks:isolate-pod-network':
      return planIsolation(kube, found, request.findingId, settings.allowDnsEgress);
    case 'eks:cordon-node':
      return planCordon(kube, found, request.findingId, settings.maxCordonedNodes);
    case 'eks:detach-from-controller':
      return planDetach(kube, found);
    default:
      return {
        kind: 'settled',
        result: only(failedBecause(action, `${action} is not an action of isolate-pod`, false)),
      };
  }
}

/** An unexpected exception in a step becomes that step's failure, never the whole result's. */
async function guarded(action: ActionId, step: () => Promise<StepResult>): Promise<StepResult> {
  try {
    return await step();
  } catch (error) {
    return only(failedOutcome(action, action, error));
  }
}

const inPlace = (step: StepResult | undefined): boolean =>
  step?.outcome.status === 'contained' || step?.outcome.status === 'already-contained';

/**
 * Run (or, in a dry run, rehearse) the requested actions on the found pod. Everything the
 * actions need is known once the pod was read (its uid, labels, node), so the steps start
 * together:
 * - the label patch and the NetworkPolicy create run side by side: the policy selects the
 *   pod by that label, so it applies from the moment the label lands. The policy step is
 *   still reported failed (NOT isolated) when the label did not land; a policy made
 *   alongside is then left in place (it selects no pod) and named in the release.
 * - cordon reads its node and the cordon budget side by side, then patches the node.
 * - detach reads the ReplicaSet at once, but relabels the pod (so its controller replaces
 *   it) only after the label and policy steps are done, as before.
 * A dry run starts only reads.
 */
async function containFound(
  request: Request,
  settings: EksSettings,
  found: FoundPod,
  deps: IsolatePodDeps,
  tiers: Promise<TierDiscovery>,
): Promise<ContainmentResult> {
  const now = (deps.now ?? (() => new Date()))();
  const { kube } = deps;
  const wanted = new Set(request.actions);
  // Isolation needs the label even when labelling was not asked for on its own.
  const toRun = new Set(
    RUN_ORDER.filter(
      (action) =>
        wanted.has(action) || (action === 'eks:label-pod' && wanted.has('eks:isolate-pod-network')),
    ),
  );
  const step = (action: ActionId): Promise<StepResult> =>
    guarded(action, async () => {
      const plan = await planFor(action, kube, found, request, settings, now);
      return request.dryRun ? rehearse(action, plan) : carryOut(plan);
    });
  const started = new Map<ActionId, Promise<StepResult>>();

  if (toRun.has('eks:label-pod')) started.set('eks:label-pod', step('eks:label-pod'));
  if (toRun.has('eks:isolate-pod-network')) {
    const action = 'eks:isolate-pod-network';
    const label = started.get('eks:label-pod');
    started.set(
      action,
      request.dryRun
        ? step(action)
        : guarded(action, async () => {
            const [labelled, attempt] = await Promise.all([
              label,
              isolate(kube, found, request.findingId, settings.allowDnsEgress, {
                readFirst: isLabelled(found),
              }),
            ]);
            return inPlace(labelled)
              ? attempt.result
              : isolationWithoutLabel(found, labelled?.outcome, attempt);
          }),
    );
  }
  // The namespace's other policies are read, and denies placed in the tiers above them,
  // alongside the label and the policy: the verdict on isolation needs all of them.
  const checks = toRun.has('eks:isolate-pod-network')
    ? startIsolationChecks(kube, found, request, settings, tiers)
    : undefined;
  if (toRun.has('eks:cordon-node')) started.set('eks:cordon-node', step('eks:cordon-node'));
  if (toRun.has('eks:detach-from-controller')) {
    const action = 'eks:detach-from-controller';
    const before = [started.get('eks:label-pod'), started.get('eks:isolate-pod-network')].filter(
      (running) => running !== undefined,
    );
    started.set(
      action,
      guarded(action, async () => {
        const plan = await planFor(action, kube, found, request, settings, now);
        if (request.dryRun) return rehearse(action, plan);
        // Guarded steps never reject: this only waits for them.
        await Promise.all(before);
        return carryOut(plan);
      }),
    );
  }

  const done = new Map<ActionId, StepResult>();
  for (const action of RUN_ORDER) {
    const running = started.get(action);
    if (running !== undefined) done.set(action, await running);
  }
  const network = done.get('eks:isolate-pod-network');
  if (network !== undefined && checks !== undefined) {
    const action = 'eks:isolate-pod-network';
    const labelSets = labelsWhileContained(found, done);
    done.set(
      action,
      await guarded(action, () =>
        finishIsolation(network, checks, { kube, found, request, settings, labelSets }),
      ),
    );
  }
  // In run order; includes the label when it ran only for the policy (it still needs undoing).
  const steps = [...done.values()];
  const notes = [
    ...(wanted.has('eks:isolate-pod-network') ? [ENFORCEMENT_NOTE] : []),
    ...(wanted.has('eks:isolate-pod-network') && settings.allowDnsEgress ? [DNS_NOTE] : []),
    ...steps.flatMap((step) => step.notes),
  ];
  // Undo in reverse: the policy goes before the label it selects.
  const release = [...steps].reverse().flatMap((step) => step.release);
  return result(
    request,
    request.actions.map(
      (action) =>
        done.get(action)?.outcome ?? failedBecause(action, `${action} reported nothing`, false),
    ),
    notes,
    release,
  );
}

/**
 * Every set of labels the pod carries while contained: its labels plus the quarantine
 * label, and, when the detach step relabelled it, those labels with the detach's change
 * (the relabelling may make other policies select it).
 */
function labelsWhileContained(
  found: FoundPod,
  done: ReadonlyMap<ActionId, StepResult>,
): Readonly<Record<string, string>>[] {
  const detached = done.get('eks:detach-from-controller')?.labelsAfter;
  return detached === undefined
    ? [quarantinedLabels(found)]
    : [quarantinedLabels(found), quarantinedLabels(found, detached)];
}

/** Why the request is outside the account and region this function acts in, if it is. */
function homeProblem(request: Request, home: Home): string | undefined {
  if (home === undefined) return undefined;
  if (home === 'unknown') {
    return `this function cannot tell which account and region it runs in, so it does not act on the finding in account ${request.accountId}, region ${request.region}`;
  }
  return outsideHome(request, home);
}

/** The request's EKS settings, or the result that refuses it before anything is read. */
function admit(
  request: Request,
  home: Home,
): { settings: EksSettings } | { refused: ContainmentResult } {
  // The cluster is found by name in this function's own account and region: the same name
  // elsewhere is another cluster.
  const elsewhere = homeProblem(request, home);
  if (elsewhere !== undefined) {
    return { refused: result(request, sameForAll(request, 'skipped', elsewhere)) };
  }
  const settings = request.eks;
  if (settings === undefined) {
    return {
      refused: result(
        request,
        request.actions.map((action) =>
          failedBecause(
            action,
            'the request carries no eks settings (protected namespaces, cordon budget, DNS egress)',
            false,
          ),
        ),
      ),
    };
  }
  const { namespace } = request.target;
  // Re-checked here although the router checked: this function must be safe on its own.
  if (settings.protectedNamespaces.includes(namespace)) {
    return {
      refused: result(
        request,
        sameForAll(
          request,
          'skipped',
          `namespace ${namespace} is protected: never contained automatically`,
        ),
      ),
    };
  }
  return { settings };
}

/** Contain the pod the request names; one outcome per requested action, in request order. */
export async function containPod(
  request: Request,
  deps: IsolatePodDeps,
): Promise<ContainmentResult> {
  const admitted = admit(request, deps.home);
  if ('refused' in admitted) return admitted.refused;
  // Which deny tiers the cluster serves is read while the pod is looked up.
  const tiers = request.actions.includes('eks:isolate-pod-network')
    ? discoverTiers(deps.kube)
    : Promise.resolve(NO_TIERS);
  const lookup = await findPod(deps.kube, request.target);
  if (lookup.kind === 'error') {
    return result(
      request,
      request.actions.map((action) => kubeFailed(action, lookup.step, lookup.error, lookup.call)),
    );
  }
  if (lookup.kind === 'absent')
    return result(request, sameForAll(request, 'skipped', lookup.reason));
  if (lookup.kind === 'ambiguous') {
    // Never resolved by list order: acting on the wrong pod is worse than acting on none.
    return result(
      request,
      request.actions.map((action) => failedBecause(action, lookup.reason, false)),
    );
  }
  const exempt = exemptionReason(lookup.found, request.exemptionKey);
  if (exempt !== undefined) return result(request, sameForAll(request, 'skipped', exempt));
  return containFound(request, admitted.settings, lookup.found, deps, tiers);
}

/**
 * Connect, then contain. A connection that cannot be made (DescribeCluster denied, no
 * endpoint, unreadable kubeconfig) fails every action, and a refused request connects to
 * nothing.
 */
export async function containPodIn(
  request: Request,
  connect: () => Promise<KubeConfig>,
  options: { now?: () => Date; permission?: string; home?: Home } = {},
): Promise<ContainmentResult> {
  const admitted = admit(request, options.home);
  if ('refused' in admitted) return admitted.refused;
  let kc: KubeConfig;
  try {
    kc = await connect();
  } catch (error) {
    return result(
      request,
      request.actions.map((action) =>
        failedOutcome(
          action,
          `connect to cluster ${request.target.clusterName}`,
          error,
          options.permission,
        ),
      ),
    );
  }
  return containPod(request, { kube: kubeClients(kc), now: options.now, home: options.home });
}
