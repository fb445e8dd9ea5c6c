/**
 * NetworkPolicies add up: a pod may send or receive whatever ANY policy that selects it
 * allows, so the quarantine policy's "allow nothing" isolates the pod only when no other
 * policy selecting it allows anything. This module decides, from the namespace's policies
 * and the labels the pod carries, which policies still let traffic through and what they
 * allow, taking into account a cluster-scoped deny the responder placed above them (which
 * overrides namespace allows). Pure: no I/O.
 *
 * Policy names, selectors and peers are written by whoever may create NetworkPolicies in
 * the namespace (possibly the attacker): everything shown goes through `cleanText`.
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import { cleanText } from '../../shared/sanitize.js';
import { selectorMatches } from './detach.js';

type Labels = Readonly<Record<string, string>>;

// The outcome detail is at most 2000 characters: a few policies, a few rules of each.
export const MAX_SHOWN_POLICIES = 8;
const MAX_SHOWN_RULES = 3;
export type Direction = 'ingress' | 'egress';

/**
 * What a deny placed in a tier above NetworkPolicies covers for the pod:
 * - `none`: no such deny; every allow of every selecting policy counts.
 * - `pod-peers-and-all-egress`: the ClusterNetworkPolicy Admin tier. Egress rules may name
 *   networks (0.0.0.0/0 and ::/0 cover every destination, pods included), but ingress rules
 *   can only name pods and namespaces, so sources outside the cluster (ipBlock peers, or a
 *   rule without peers, which admits every source) still reach the pod through an allow.
 * - `everything`: a deny that covers every peer in both directions (Cilium's deny rules to
 *   and from the `all` entity).
 */
export type TierCoverage = 'none' | 'pod-peers-and-all-egress' | 'everything';

/** One policy that still lets traffic through, and what it lets through. */
export interface Bypass {
  /** `namespace/name`, cleaned for display. */
  policy: string;
  /** One line per allowing rule, e.g. `egress to 0.0.0.0/0 on TCP 443`; at most a few. */
  allows: string[];
  /** How many rules allow something (more than `allows` shows when the policy is long). */
  allowingRules: number;
}

// Cut before cleaning: a selector or peer list may be megabytes long.
const MAX_SHOWN_TEXT = 400;
const show = (text: string): string => cleanText(text.slice(0, MAX_SHOWN_TEXT), 'name');

/** `k=v,k2 In (a,b)`: a label selector the way kubectl prints one; empty selects everything. */
export function describeSelector(selector: V1LabelSelector | undefined): string {
  const byLabel = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const byExpression = (selector?.matchExpressions ?? []).map(({ key, operator, values }) =>
    values?.length ? `${key} ${operator} (${values.join(',')})` : `${key} ${operator}`,
  );
  const all = [...byLabel, ...byExpression];
  return all.length === 0 ? 'all' : all.join(',');
}

/** The directions a policy governs (Kubernetes defaults when `policyTypes` is absent). */
export function governedDirections(policy: V1NetworkPolicy): Direction[] {
  const types = policy.spec?.policyTypes;
  if (types === undefined || types.length === 0) {
    // Ingress always; Egress only when the policy has egress rules.
    return (policy.spec?.egress ?? []).length > 0 ? ['ingress', 'egress'] : ['ingress'];
  }
  return (['ingress', 'egress'] as const).filter((direction) =>
    types.some((type) => type.toLowerCase() === direction),
  );
}

function describePeer(peer: V1NetworkPolicyPeer): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(',')}` : '';
    return `${peer.ipBlock.cidr}${except}`;
  }
  const selected = peer.podSelector ? describeSelector(peer.podSelector) : 'all';
  const pods = selected === 'all' ? 'all pods' : `pods ${selected}`;
  if (peer.namespaceSelector) {
    const namespaces = describeSelector(peer.namespaceSelector);
    return `${pods} in ${namespaces === 'all' ? 'all namespaces' : `namespaces ${namespaces}`}`;
  }
  return `${pods} of the namespace`;
}

function describePorts(ports: readonly V1NetworkPolicyPort[] | undefined): string {
  if (!ports?.length) return 'all ports';
  return ports
    .map(({ protocol, port, endPort }) => {
      const range = port === undefined ? 'all ports' : `${port}${endPort ? `-${endPort}` : ''}`;
      return `${protocol ?? 'TCP'} ${range}`;
    })
    .join(', ');
}

type Rule = V1NetworkPolicyIngressRule | V1NetworkPolicyEgressRule;
const peersOf = (rule: Rule, direction: Direction): V1NetworkPolicyPeer[] | undefined =>
  direction === 'ingress'
    ? (rule as V1NetworkPolicyIngressRule)._from
    : (rule as V1NetworkPolicyEgressRule).to;

/** The peers of one rule that a tier deny of `coverage` does not cover. */
function survivors(
  rule: Rule,
  direction: Direction,
  coverage: TierCoverage,
): V1NetworkPolicyPeer[] | 'every source' | 'sources outside the cluster' {
  const peers = peersOf(rule, direction) ?? [];
  if (coverage === 'everything') return [];
  if (coverage === 'pod-peers-and-all-egress') {
    if (direction === 'egress') return [];
    // A rule without peers admits every source, those outside the cluster included.
    if (peers.length === 0) return 'sources outside the cluster';
    return peers.filter((peer) => peer.ipBlock !== undefined);
  }
  return peers.length === 0 ? 'every source' : peers;
}

const survives = (rule: Rule, direction: Direction, coverage: TierCoverage): boolean => {
  const left = survivors(rule, direction, coverage);
  return typeof left === 'string' || left.length > 0;
};

// Peers described per rule: a rule may list thousands of blocks.
const MAX_SHOWN_PEERS = 4;

function describeSurvivors(rule: Rule, direction: Direction, coverage: TierCoverage): string {
  const left = survivors(rule, direction, coverage);
  if (left === 'every source') return 'everywhere';
  if (typeof left === 'string') return left;
  const more = left.length > MAX_SHOWN_PEERS ? ` (+${left.length - MAX_SHOWN_PEERS} more)` : '';
  return `${left.slice(0, MAX_SHOWN_PEERS).map(describePeer).join('; ')}${more}`;
}

/** A few of a policy's allowing rules, and how many there are. */
export interface Allows {
  allows: string[];
  allowingRules: number;
}

/**
 * What one policy still allows for a pod it selects: every allowing rule counted, the
 * first few described (a policy may hold thousands of rules; describing them all would
 * cost time for nothing).
 */
export function allowances(policy: V1NetworkPolicy, coverage: TierCoverage): Allows {
  const allows: string[] = [];
  let allowingRules = 0;
  for (const direction of governedDirections(policy)) {
    const rules: readonly Rule[] =
      (direction === 'ingress' ? policy.spec?.ingress : policy.spec?.egress) ?? [];
    const preposition = direction === 'ingress' ? 'from' : 'to';
    for (const rule of rules) {
      if (!survives(rule, direction, coverage)) continue;
      allowingRules += 1;
      if (allows.length < MAX_SHOWN_RULES) {
        const peers = describeSurvivors(rule, direction, coverage);
        allows.push(show(`${direction} ${preposition} ${peers} on ${describePorts(rule.ports)}`));
      }
    }
  }
  return { allows, allowingRules };
}

/**
 * What is kept of a policy that allows something: its name, whom it selects and a few of
 * its allowing rules under each tier coverage, so a namespace full of large policies costs
 * little memory and the coverage can be decided after the policies were read.
 */
export interface AllowingPolicy {
  policy: string;
  podSelector: V1LabelSelector;
  byCoverage: Readonly<Record<TierCoverage, Allows>>;
}

const TIER_COVERAGES: readonly TierCoverage[] = ['none', 'pod-peers-and-all-egress', 'everything'];

/**
 * The policy's allows, or undefined when it allows nothing or is the quarantine policy
 * itself (`isQuarantine`: the responder's policy exactly as it made it; a policy of that
 * name that was changed is judged like any other).
 */
export function allowingPolicy(
  policy: V1NetworkPolicy,
  isQuarantine: (policy: V1NetworkPolicy) => boolean,
): AllowingPolicy | undefined {
  if (isQuarantine(policy)) return undefined;
  const byCoverage = Object.fromEntries(
    TIER_COVERAGES.map((coverage) => [coverage, allowances(policy, coverage)]),
  ) as Record<TierCoverage, Allows>;
  // Nothing allowed even without a tier deny: nothing to keep.
  if (byCoverage.none.allowingRules === 0) return undefined;
  return {
    policy: show(`${policy.metadata?.namespace ?? ''}/${policy.metadata?.name ?? ''}`),
    podSelector: policy.spec?.podSelector ?? {},
    byCoverage,
  };
}

/**
 * The allowing policies that select a pod carrying any of `labelSets`, and what they still
 * allow under `coverage`. Several label sets: the pod's labels change while it is
 * contained (quarantine label, then maybe its controller labels), and a policy that selects
 * it under any of them lets traffic through.
 */
export const bypassingPolicies = (
  allowing: readonly AllowingPolicy[],
  labelSets: readonly Labels[],
  coverage: TierCoverage,
): Bypass[] =>
  allowing
    .filter(({ byCoverage }) => byCoverage[coverage].allowingRules > 0)
    .filter(({ podSelector }) => labelSets.some((labels) => selectorMatches(podSelector, labels)))
    .map(({ policy, byCoverage }) => ({ policy, ...byCoverage[coverage] }));

/** `ns/a allows egress to …; ns/b allows …`, bounded; `total` counts policies not kept. */
export function describeBypasses(bypasses: readonly Bypass[], total = bypasses.length): string {
  const shown = bypasses.slice(0, MAX_SHOWN_POLICIES).map(({ policy, allows, allowingRules }) => {
    const more = allowingRules > allows.length ? ` (+${allowingRules - allows.length} rules)` : '';
    return `${policy} allows ${allows.join(' and ')}${more}`;
  });
  const hidden = total - shown.length;
  return `${shown.join('; ')}${hidden > 0 ? `; and ${hidden} more policies` : ''}`;
}
