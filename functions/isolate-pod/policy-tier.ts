/**
 * A deny placed above NetworkPolicies, for the one quarantined pod, where the cluster
 * offers such a tier. NetworkPolicies only add allows; a tier above them can deny what
 * they allow. Three exist, each enforced only by the network plugin that implements it:
 * - `networking.k8s.aws/v1alpha1` ClusterNetworkPolicy: the Amazon VPC CNI network policy
 *   agent (VPC CNI 1.21 and later), Admin tier.
 * - `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy: the Kubernetes network-policy
 *   API (Calico 3.32 and later, among others), Admin tier.
 * - `cilium.io/v2` CiliumClusterwideNetworkPolicy deny rules, which win over every allow.
 * Which of them the cluster serves is learnt through API discovery, never assumed; a
 * cluster that serves none gets none, and the NetworkPolicy check alone decides.
 *
 * The Admin-tier objects can deny ingress only from pods (namespaces and pods peers);
 * sources outside the cluster that a NetworkPolicy admits (ipBlock peers, or rules without
 * peers) still get through: `TierCoverage` says so and the check reports them.
 */
import { FINDING_ANNOTATION, QUARANTINE_LABEL, networkPolicyName } from '../../shared/labels.js';
import { isAlreadyExists, isNotFound, type KubeClients } from './kube.js';
import type { FoundPod } from './find-pod.js';
import { KUBE_DNS_PODS, NAMESPACE_NAME_LABEL } from './network-policy.js';
import type { StepResult } from './plan.js';
import { deleteTierDeny } from './release.js';
import type { TierCoverage } from './policy-bypass.js';
import { kubeFailed } from './plan.js';

const ACTION = 'eks:isolate-pod-network';

/** The label Cilium gives every endpoint with its pod's namespace. */
const CILIUM_NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace';
/** Every address, both families: covers pods too (a pod's address is in it). */
const EVERY_NETWORK = ['0.0.0.0/0', '::/0'];
/**
 * The highest precedence an Admin-tier policy can have. Another admin policy of the same
 * priority is ordered arbitrarily by the plugin: the note on the outcome says so.
 */
const TOP_PRIORITY = 0;

type Body = Record<string, unknown>;

export interface TierKind {
  group: string;
  version: string;
  plural: string;
  kind: string;
  coverage: Exclude<TierCoverage, 'none'>;
  /** The object that denies everything for the pod, except cluster DNS when allowed. */
  body: (found: FoundPod, findingId: string, allowDnsEgress: boolean) => Body;
  /** What the plugin cannot do that the policy asked for, said in a note. */
  caveat?: (allowDnsEgress: boolean) => string | undefined;
}

/** Cluster-scoped, like every tier object: out of reach of the pod's namespace owner. */
function metadata(found: FoundPod, findingId: string): Body {
  return {
    name: networkPolicyName(found.uid),
    labels: { [QUARANTINE_LABEL]: found.uid },
    annotations: { [FINDING_ANNOTATION]: findingId },
  };
}

/** The pod, by namespace and quarantine label: the subject of a ClusterNetworkPolicy. */
const subject = (found: FoundPod): Body => ({
  pods: {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: found.namespace } },
    podSelector: { matchLabels: { [QUARANTINE_LABEL]: found.uid } },
  },
});

/**
 * A ClusterNetworkPolicy in the Admin tier. The two APIs share the shape and differ in how
 * ports are written; rules apply in order, so the DNS accept comes before the deny.
 */
function clusterNetworkPolicy(
  apiVersion: string,
  dnsPorts: Body[],
): (found: FoundPod, findingId: string, allowDnsEgress: boolean) => Body {
  const portsKey = apiVersion.startsWith('networking.k8s.aws/') ? 'ports' : 'protocols';
  return (found, findingId, allowDnsEgress) => ({
    apiVersion,
    kind: 'ClusterNetworkPolicy',
    metadata: metadata(found, findingId),
    spec: {
      tier: 'Admin',
      priority: TOP_PRIORITY,
      subject: subject(found),
      ingress: [{ name: 'deny-all-ingress', action: 'Deny', from: [{ namespaces: {} }] }],
      egress: [
        ...(allowDnsEgress
          ? [
              {
                name: 'accept-cluster-dns',
                action: 'Accept',
                to: [{ pods: KUBE_DNS_PODS }],
                [portsKey]: dnsPorts,
              },
            ]
          : []),
        {
          name: 'deny-all-egress',
          action: 'Deny',
          to: [{ networks: EVERY_NETWORK }, { namespaces: {} }],
        },
      ],
    },
  });
}

/** The tiers the responder knows, most specific to the cloud first. */
export const TIER_KINDS: readonly TierKind[] = [
  {
    group: 'networking.k8s.aws',
    version: 'v1alpha1',
    plural: 'clusternetworkpolicies',
    kind: 'ClusterNetworkPolicy',
    coverage: 'pod-peers-and-all-egress',
    body: clusterNetworkPolicy('networking.k8s.aws/v1alpha1', [
      { portNumber: { protocol: 'UDP', port: 53 } },
      { portNumber: { protocol: 'TCP', port: 53 } },
    ]),
  },
  {
    group: 'policy.networking.k8s.io',
    version: 'v1alpha2',
    plural: 'clusternetworkpolicies',
    kind: 'ClusterNetworkPolicy',
    coverage: 'pod-peers-and-all-egress',
    body: clusterNetworkPolicy('policy.networking.k8s.io/v1alpha2', [
      { udp: { destinationPort: { number: 53 } } },
      { tcp: { destinationPort: { number: 53 } } },
    ]),
  },
  {
    group: 'cilium.io',
    version: 'v2',
    plural: 'ciliumclusterwidenetworkpolicies',
    kind: 'CiliumClusterwideNetworkPolicy',
    coverage: 'everything',
    // Clusterwide, not a namespaced CiliumNetworkPolicy: whoever controls the pod's
    // namespace (maybe the attacker) cannot delete it.
    body: (found, findingId) => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumClusterwideNetworkPolicy',
      metadata: metadata(found, findingId),
      spec: {
        endpointSelector: {
          matchLabels: {
            [QUARANTINE_LABEL]: found.uid,
            [CILIUM_NAMESPACE_LABEL]: found.namespace,
          },
        },
        ingressDeny: [{ fromEntities: ['all'] }],
        egressDeny: [{ toEntities: ['all'] }],
      },
    }),
    caveat: (allowDnsEgress) =>
      allowDnsEgress
        ? 'Cilium deny rules win over every allow, so the CiliumClusterwideNetworkPolicy denies cluster DNS too (eks.allowDnsEgress cannot apply there)'
        : undefined,
  },
];

/** `clusternetworkpolicies.v1alpha1.networking.k8s.aws`: unambiguous for kubectl. */
export const qualifiedResource = (tier: TierKind): string =>
  `${tier.plural}.${tier.version}.${tier.group}`;

/** What API discovery found: the tiers served, and discovery failures worth a note. */
export interface TierDiscovery {
  served: TierKind[];
  unknown: string[];
  /** Policy kinds of the network plugin the cluster serves, whose allows are not read. */
  unreadPolicyKinds: string[];
}

export const NO_TIERS: TierDiscovery = { served: [], unknown: [], unreadPolicyKinds: [] };

/**
 * Namespaced or clusterwide policy kinds of network plugins that can allow traffic on top
 * of NetworkPolicies. Their selectors are in the plugin's own language (Calico's), or mix
 * in plugin labels (Cilium's): they are not judged, but their presence is said in a note.
 */
const PLUGIN_POLICY_KINDS = [
  { group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies' },
  { group: 'cilium.io', version: 'v2', plural: 'ciliumclusterwidenetworkpolicies' },
  { group: 'crd.projectcalico.org', version: 'v1', plural: 'networkpolicies' },
  { group: 'crd.projectcalico.org', version: 'v1', plural: 'globalnetworkpolicies' },
] as const;

type Served = { resources: string[] } | { unknown: true } | { absent: true };

/** One discovery read: the resources a group version serves, absent (404), or unknown. */
async function servedBy(kube: KubeClients, groupVersion: string): Promise<Served> {
  const [group = '', version = ''] = groupVersion.split('/');
  try {
    const list = await kube.custom.getAPIResources({ group, version });
    return { resources: list.resources.map(({ name }) => name) };
  } catch (error) {
    return isNotFound(error) ? { absent: true } : { unknown: true };
  }
}

/**
 * Which tiers the cluster serves, and which plugin policy kinds: one discovery read per
 * group version, side by side. 404 means the group version is not served; any other
 * failure leaves it unknown (its tier not used, and said in a note).
 */
export async function discoverTiers(kube: KubeClients): Promise<TierDiscovery> {
  const groupVersions = [
    ...new Set(
      [...TIER_KINDS, ...PLUGIN_POLICY_KINDS].map(({ group, version }) => `${group}/${version}`),
    ),
  ];
  const answers = new Map(
    await Promise.all(groupVersions.map(async (gv) => [gv, await servedBy(kube, gv)] as const)),
  );
  const serves = (kind: { group: string; version: string; plural: string }) => {
    const answer = answers.get(`${kind.group}/${kind.version}`);
    return answer !== undefined && 'resources' in answer && answer.resources.includes(kind.plural);
  };
  return {
    served: TIER_KINDS.filter(serves),
    unknown: groupVersions.filter((gv) => {
      const answer = answers.get(gv);
      return answer !== undefined && 'unknown' in answer;
    }),
    unreadPolicyKinds: PLUGIN_POLICY_KINDS.filter(serves).map(
      ({ group, plural }) => `${plural}.${group}`,
    ),
  };
}

/** A tier object placed (or found placed) for the pod. */
export interface PlacedTier {
  tier: TierKind;
  name: string;
}

export type TierPlacement = { placed: PlacedTier } | { failed: string };

/** `ClusterNetworkPolicy gdrr-quarantine-<uid> (networking.k8s.aws/v1alpha1)`. */
export const tierObjectRef = (tier: TierKind, uid: string): string =>
  `${tier.kind} ${networkPolicyName(uid)} (${tier.group}/${tier.version})`;

/** Whether an object of that name is the responder's deny for this pod. */
/** Whether a tier object is the responder's deny for the pod of `uid` (labelled with it). */
export const isTierDenyOf = (object: unknown, uid: string): boolean =>
  (object as { metadata?: { labels?: Record<string, string> } }).metadata?.labels?.[
    QUARANTINE_LABEL
  ] === uid;

/** Read the tier object of that name: the object, undefined when absent, or a failure. */
async function readTierObject(
  kube: KubeClients,
  tier: TierKind,
  found: FoundPod,
): Promise<{ object: unknown } | { failed: string }> {
  const where = { group: tier.group, version: tier.version, plural: tier.plural };
  const name = networkPolicyName(found.uid);
  try {
    const object: unknown = await kube.custom.getClusterCustomObject({ ...where, name });
    return { object };
  } catch (error) {
    if (isNotFound(error)) return { object: undefined };
    return {
      failed: kubeFailed(
        ACTION,
        `get ${tierObjectRef(tier, found.uid)}`,
        error,
        'getClusterCustomObject',
      ).detail,
    };
  }
}

/** Placed when the object is the responder's deny for this pod, else why not. */
const judgeTierObject = (tier: TierKind, found: FoundPod, object: unknown): TierPlacement =>
  isTierDenyOf(object, found.uid)
    ? { placed: { tier, name: networkPolicyName(found.uid) } }
    : {
        failed: `${tierObjectRef(tier, found.uid)} exists but is not the responder's for this pod`,
      };

/**
 * Create the tier's deny for the pod; one of that name already there must be ours. With
 * `readFirst` (the pod already carries its quarantine label: an earlier run most likely
 * placed it) it is read first and created only when missing, so a re-run writes nothing.
 */
export async function placeTierDeny(
  kube: KubeClients,
  tier: TierKind,
  found: FoundPod,
  findingId: string,
  allowDnsEgress: boolean,
  readFirst = false,
): Promise<TierPlacement> {
  if (readFirst) {
    const read = await readTierObject(kube, tier, found);
    if ('failed' in read) return read;
    if (read.object !== undefined) return judgeTierObject(tier, found, read.object);
  }
  const body = tier.body(found, findingId, allowDnsEgress);
  const where = { group: tier.group, version: tier.version, plural: tier.plural };
  try {
    await kube.custom.createClusterCustomObject({ ...where, body });
    return { placed: { tier, name: networkPolicyName(found.uid) } };
  } catch (error) {
    if (!isAlreadyExists(error)) {
      const step = `create ${tierObjectRef(tier, found.uid)}`;
      return { failed: kubeFailed(ACTION, step, error, 'createClusterCustomObject').detail };
    }
  }
  const read = await readTierObject(kube, tier, found);
  if ('failed' in read) return read;
  return read.object === undefined
    ? {
        failed: `${tierObjectRef(tier, found.uid)} already existed when created but was gone when read`,
      }
    : judgeTierObject(tier, found, read.object);
}

const STRENGTH: Record<TierCoverage, number> = {
  none: 0,
  'pod-peers-and-all-egress': 1,
  everything: 2,
};

/**
 * The coverage the placed tiers can be relied on for: the weakest of them, since which
 * plugin enforces which is not known from the API (a cluster may serve a kind nothing
 * enforces). None placed: `none`.
 */
export function reliedCoverage(tiers: readonly TierKind[]): TierCoverage {
  if (tiers.length === 0) return 'none';
  return tiers
    .map((tier) => tier.coverage)
    .reduce<TierCoverage>(
      (weakest, next) => (STRENGTH[next] < STRENGTH[weakest] ? next : weakest),
      'everything',
    );
}

/** Place the deny of every tier the cluster serves, side by side. */
export function placeTierDenies(
  kube: KubeClients,
  discovery: TierDiscovery,
  found: FoundPod,
  findingId: string,
  allowDnsEgress: boolean,
  readFirst: boolean,
): Promise<TierPlacement[]> {
  return Promise.all(
    discovery.served.map((tier) =>
      placeTierDeny(kube, tier, found, findingId, allowDnsEgress, readFirst),
    ),
  );
}

export const TIER_NOTE =
  'a deny placed above NetworkPolicies is enforced only by the network plugin that implements its kind; an Admin-tier policy of the same priority (0) may be ordered before it; and an Admin-tier deny covers pods and every egress, not ingress from outside the cluster (load balancers, nodes, ipBlock sources)';

const UNTRUSTED_TIER_NOTE =
  'the deny placed above NetworkPolicies is not counted in the verdict (a served API does not prove a plugin enforces it): NetworkPolicy allows it would override are still reported; set eks.trustDenyTier where the network plugin enforces that kind';

/**
 * The network step with what the tiers added: the objects placed (evidence), the commands
 * that remove them (release, whatever the step's outcome: they are in place), and notes
 * on what could not be placed or discovered.
 */
export function withTierDenies(
  step: StepResult,
  found: FoundPod,
  discovery: TierDiscovery,
  placements: readonly TierPlacement[],
  options: { allowDnsEgress: boolean; trusted: boolean },
): StepResult {
  const placed = placements.flatMap((p) => ('placed' in p ? [p.placed] : []));
  const failed = placements.flatMap((p) => ('failed' in p ? [p.failed] : []));
  const undo = placed.map((p) => deleteTierDeny(qualifiedResource(p.tier), p.name));
  const notes = [
    ...(placed.length > 0 ? [TIER_NOTE] : []),
    ...(placed.length > 0 && !options.trusted ? [UNTRUSTED_TIER_NOTE] : []),
    ...undo.flatMap((u) => u.notes),
    ...placed.flatMap(({ tier }) => tier.caveat?.(options.allowDnsEgress) ?? []),
    ...failed.map((reason) => `no deny above NetworkPolicies from ${reason}`),
    ...(discovery.unreadPolicyKinds.length > 0
      ? [
          `the cluster also serves ${discovery.unreadPolicyKinds.join(', ')}: policies of those kinds are not read, and one that selects the pod may still let traffic through${options.trusted && placed.some(({ tier }) => tier.coverage === 'everything') ? ' (except past the Cilium deny, which wins over them where Cilium enforces it)' : ''}`,
        ]
      : []),
    ...discovery.unknown.map(
      (groupVersion) =>
        `whether the cluster serves ${groupVersion} is unknown (API discovery failed): no deny of that kind was placed`,
    ),
  ];
  if (placed.length === 0 && notes.length === 0) return step;
  const evidence =
    placed.length === 0
      ? step.outcome.evidence
      : {
          ...step.outcome.evidence,
          tierDeny: placed.map(({ tier }) => tierObjectRef(tier, found.uid)).join(', '),
        };
  return {
    outcome: { ...step.outcome, ...(evidence ? { evidence } : {}) },
    release: [...undo.flatMap((u) => u.release), ...step.release],
    notes: [...step.notes, ...notes],
  };
}

/** A dry run's words for the tiers it would use. */
export const rehearsedTiers = (discovery: TierDiscovery, found: FoundPod): string =>
  discovery.served.length === 0
    ? ''
    : `; would also create ${discovery.served.map((tier) => tierObjectRef(tier, found.uid)).join(' and ')} above NetworkPolicies`;
