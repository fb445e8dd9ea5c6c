/**
 * The pure decision core: for any input, `evaluate` returns contain | notify | ignore |
 * reject with a reason, the surface, the validated target and the planned actions. No SDK,
 * no I/O: the router and the replay CLI run exactly this.
 */
import { ACTIONS } from './actions.js';
import { classify, type Classification } from './classify.js';
import type { ActionId, ContainmentRequest, Surface, Target } from './contracts.js';
import type { Finding, Tag } from './finding.js';
import { intake, type Known } from './intake.js';
import { modeFor, thresholdFor, type Policy } from './policy.js';

export type Decision = 'contain' | 'notify' | 'ignore' | 'reject';

/** Everything the router and the CLI need to act and to report. */
export interface Evaluation {
  decision: Decision;
  /** One line, our own words plus sanitized values. */
  reason: string;
  finding: Finding | null;
  known: Known;
  surface: Surface | null;
  target: Target | null;
  /** Planned actions: non-empty exactly when the decision is `contain`. */
  actions: ActionId[];
  /** Why the host may be compromised (empty when there is no such signal). */
  hostSignals: string[];
}

/** Types whose success means the attacker reached (or tried to reach) the host. */
const HOST_ESCAPE_TYPES: ReadonlySet<string> = new Set([
  'PrivilegeEscalation:Runtime/RuncContainerEscape',
  'PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified',
  'PrivilegeEscalation:Runtime/ContainerMountsHostDirectory',
  'PrivilegeEscalation:Runtime/DockerSocketAccessed',
  'DefenseEvasion:Runtime/KernelModuleLoaded',
]);

/** Signals that the node under a pod may be compromised, each as a short reason. */
export function hostCompromiseSignals(finding: Finding): string[] {
  const signals: string[] = [];
  if (HOST_ESCAPE_TYPES.has(finding.type)) signals.push('container-escape finding type');
  else if (finding.type.startsWith('PrivilegeEscalation:'))
    signals.push('privilege-escalation finding type');
  const workload = finding.resource.workload;
  if (workload?.containers.some((container) => container.privileged))
    signals.push('privileged container');
  const hostNamespaces = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter(
    (key) => workload?.[key],
  );
  if (hostNamespaces.length > 0)
    signals.push(`pod shares host namespaces (${hostNamespaces.join(', ')})`);
  return signals;
}

/** Tags that may carry the exemption key, for the surface's resource and its cluster. */
function exemptionTags(finding: Finding, surface: Surface): Tag[] {
  const { resource } = finding;
  switch (surface) {
    case 'eks-pod':
      return resource.eksCluster?.tags ?? [];
    case 'ecs-task':
      return [...(resource.ecsCluster?.tags ?? []), ...(resource.ecsTask?.tags ?? [])];
    case 'ec2-instance':
      return resource.instance?.tags ?? [];
  }
}

/** Exempt when the key is present with any value other than "false". */
function isExempt(finding: Finding, surface: Surface, key: string): boolean {
  return exemptionTags(finding, surface).some(
    (tag) => tag.key === key && tag.value.toLowerCase() !== 'false',
  );
}

type Verdict = { decision: Decision; reason: string };

/** The policy's verdict for a classified runtime finding. First matching rule wins. */
export function decide(finding: Finding, classification: Classification, policy: Policy): Verdict {
  const notify = (reason: string): Verdict => ({ decision: 'notify', reason });
  if (finding.sample)
    return notify('GuardDuty sample finding (generated, not real activity): never contained');
  const { surface } = classification;
  if (surface === null) return notify(classification.problem ?? 'no containment surface');

  const mode = modeFor(policy, surface, finding.type);
  if (mode === 'off')
    return { decision: 'ignore', reason: `policy mode is off for ${surface} / ${finding.type}` };
  if (mode === 'notify') return notify(`policy mode is notify for ${surface} / ${finding.type}`);
  if (classification.viaHost && policy.standaloneContainer === 'notify') {
    return notify('standalone container on an instance: policy standaloneContainer is notify');
  }
  const threshold = thresholdFor(policy, finding.type);
  if (finding.severity < threshold) {
    return notify(
      `severity ${finding.severity.toFixed(1)} is below the containment threshold ${threshold.toFixed(1)}`,
    );
  }
  const namespace = finding.resource.workload?.namespace;
  if (
    surface === 'eks-pod' &&
    namespace !== undefined &&
    policy.protectedNamespaces.includes(namespace)
  ) {
    return notify(`namespace ${namespace} is protected by policy (notify only)`);
  }
  if (isExempt(finding, surface, policy.exemptionKey)) {
    return notify(`the workload carries the exemption tag ${policy.exemptionKey}`);
  }
  if (classification.target === null)
    return notify(`cannot contain: ${classification.problem ?? 'no target'}`);
  const via = classification.viaHost ? ' (standalone container: its host instance)' : '';
  return {
    decision: 'contain',
    reason: `severity ${finding.severity.toFixed(1)} >= ${threshold.toFixed(1)} and policy mode contain for ${surface}${via}`,
  };
}

/**
 * The actions to run for a contained finding, in the order they run: containment first,
 * then what the policy adds (evidence, capacity, load balancers).
 */
export function plan(surface: Surface, hostSignals: readonly string[], policy: Policy): ActionId[] {
  const when = <T extends ActionId>(condition: boolean, action: T): T[] =>
    condition ? [action] : [];
  switch (surface) {
    case 'eks-pod':
      return [
        'eks:label-pod',
        'eks:isolate-pod-network',
        ...when(hostSignals.length > 0 && policy.eks.cordonNodeOnHostCompromise, 'eks:cordon-node'),
        ...when(policy.eks.detachFromController, 'eks:detach-from-controller'),
      ];
    case 'ecs-task':
      return [
        'ecs:capture-task',
        'ecs:stop-task',
        ...when(policy.ecs.stopSiblingTasks, 'ecs:stop-sibling-tasks'),
        ...when(policy.ecs.scaleServiceToZero, 'ecs:scale-service-to-zero'),
      ];
    case 'ec2-instance':
      return [
        'ec2:quarantine-instance',
        ...when(policy.ec2.snapshotVolumes, 'ec2:snapshot-volumes'),
        ...when(policy.ec2.autoScaling === 'detach', 'ec2:detach-from-autoscaling'),
        ...when(policy.ec2.autoScaling === 'protect-from-scale-in', 'ec2:protect-from-scale-in'),
        ...when(policy.ec2.deregisterFromTargetGroups, 'ec2:deregister-from-target-groups'),
      ];
  }
}

/** Whether some finding could be contained on a surface: its mode, or a finding type's override. */
const mayContainOn = (policy: Policy, surface: Surface): boolean =>
  policy.surfaces[surface].mode === 'contain' ||
  Object.values(policy.findingTypes).some((override) => override.mode === 'contain');

/**
 * Every action the policy could plan for some finding: what a deployment of it must be
 * allowed to do, and no more. Host signals come from the finding, so both ways are tried.
 * Severity thresholds withhold nothing (a finding can reach any), and neither does `dryRun`,
 * to stay on the safe side: a dry run is deployed with the grant containing will use.
 */
export function actionsEnabledBy(policy: Policy): Set<ActionId> {
  const surfaces = (Object.keys(policy.surfaces) as Surface[]).filter((surface) =>
    mayContainOn(policy, surface),
  );
  const hostSignals = [[], ['host signal']];
  return new Set(
    surfaces.flatMap((surface) => hostSignals.flatMap((signals) => plan(surface, signals, policy))),
  );
}

/** Parse, classify, decide and plan one input. Never throws for any JSON value. */
export function evaluate(input: unknown, policy: Policy): Evaluation {
  const taken = intake(input);
  if (taken.kind !== 'finding') {
    return {
      decision: taken.kind,
      reason: taken.reason,
      finding: null,
      known: taken.known,
      surface: null,
      target: null,
      actions: [],
      hostSignals: [],
    };
  }
  const { finding } = taken;
  const classification = classify(finding);
  const verdict = decide(finding, classification, policy);
  const hostSignals = classification.surface === 'eks-pod' ? hostCompromiseSignals(finding) : [];
  const contain = verdict.decision === 'contain' && classification.surface !== null;
  return {
    ...verdict,
    finding,
    known: { findingId: finding.id, findingType: finding.type, severity: finding.severity },
    surface: classification.surface,
    target: classification.target,
    actions:
      contain && classification.surface ? plan(classification.surface, hostSignals, policy) : [],
    hostSignals,
  };
}

/** The narrow request sent to a containment function; null unless the decision is contain. */
export function containmentRequest(
  evaluation: Evaluation,
  policy: Policy,
): ContainmentRequest | null {
  const { finding, target, actions } = evaluation;
  if (
    evaluation.decision !== 'contain' ||
    finding === null ||
    target === null ||
    actions.length === 0
  ) {
    return null;
  }
  return {
    version: 1,
    findingId: finding.id,
    findingType: finding.type,
    severity: finding.severity,
    accountId: finding.accountId,
    region: finding.region,
    target,
    actions,
    hostCompromise: actions.includes('eks:cordon-node'),
    dryRun: policy.dryRun,
    exemptionKey: policy.exemptionKey,
    eks:
      target.surface === 'eks-pod'
        ? {
            allowDnsEgress: policy.eks.allowDnsEgress,
            whenIsolationBypassed: policy.eks.whenIsolationBypassed,
            trustDenyTier: policy.eks.trustDenyTier,
            maxCordonedNodes: policy.eks.maxCordonedNodesPerCluster,
            protectedNamespaces: policy.protectedNamespaces,
          }
        : undefined,
  };
}

/** Describe a planned action in one line (for dry runs and plans). */
export const describeAction = (id: ActionId): string => ACTIONS[id].description;
