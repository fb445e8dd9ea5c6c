/**
 * NetworkPolicies add up: which policies, besides the quarantine policy, still let traffic
 * reach or leave a quarantined pod, and what they allow. Kubernetes semantics checked here:
 * policyTypes defaults, empty selectors, rules without peers, matchExpressions.
 */
import type { V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  allowances,
  allowingPolicy,
  bypassingPolicies,
  describeBypasses,
  governedDirections,
  type TierCoverage,
} from '../../functions/isolate-pod/policy-bypass.js';
import { TIER_KINDS, reliedCoverage } from '../../functions/isolate-pod/policy-tier.js';

const QUARANTINE = 'gdrr-quarantine-abc';
const isQuarantine = (p: V1NetworkPolicy) => p.metadata?.name === QUARANTINE;
const POD = { app: 'web', tier: 'front', 'guardduty-responder/quarantine': 'abc' };

const policy = (name: string, spec: Partial<V1NetworkPolicySpec>): V1NetworkPolicy => ({
  metadata: { name, namespace: 'shop' },
  spec: { podSelector: {}, ...spec },
});

/** The names of the policies that still let traffic through for labels `labels`. */
function bypassNames(
  policies: V1NetworkPolicy[],
  labels: Record<string, string> = POD,
  coverage: TierCoverage = 'none',
): string[] {
  const allowing = policies.flatMap((p) => allowingPolicy(p, isQuarantine) ?? []);
  return bypassingPolicies(allowing, [labels], coverage).map((b) => b.policy);
}

const EGRESS_443: Partial<V1NetworkPolicySpec> = {
  policyTypes: ['Egress'],
  egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] }],
};
const INGRESS_FROM_NAMESPACE: Partial<V1NetworkPolicySpec> = {
  policyTypes: ['Ingress'],
  ingress: [{ _from: [{ podSelector: {} }], ports: [{ port: 8080 }] }],
};

describe('which policies select the quarantined pod', () => {
  it.each([
    ['all pods (empty selector)', {}],
    ['a label the pod has', { matchLabels: { app: 'web' } }],
    ['the quarantine label itself', { matchLabels: { 'guardduty-responder/quarantine': 'abc' } }],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }],
    ['DoesNotExist', { matchExpressions: [{ key: 'debug', operator: 'DoesNotExist' }] }],
  ])('selected by %s: the allow bypasses the quarantine', (_shape, podSelector) => {
    expect(bypassNames([policy('allow', { ...EGRESS_443, podSelector })])).toEqual(['shop/allow']);
  });

  it.each([
    ['another label value', { matchLabels: { app: 'db' } }],
    ['a label the pod lacks', { matchLabels: { team: 'x' } }],
    [
      'In without the value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] },
    ],
    [
      'NotIn with the value',
      { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] },
    ],
    [
      'DoesNotExist of a label it has',
      { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
    ],
    [
      'labels and an expression, one failing',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'x', operator: 'Exists' }] },
    ],
  ])('not selected by %s: no bypass', (_shape, podSelector) => {
    expect(bypassNames([policy('other', { ...EGRESS_443, podSelector })])).toEqual([]);
  });

  it('a policy that selects the pod only once detach relabelled it still counts', () => {
    const allowing = [
      allowingPolicy(
        policy('after', {
          ...EGRESS_443,
          podSelector: { matchLabels: { app: 'quarantined-web' } },
        }),
        isQuarantine,
      )!,
    ];
    expect(bypassingPolicies(allowing, [POD], 'none')).toEqual([]);
    expect(
      bypassingPolicies(allowing, [POD, { ...POD, app: 'quarantined-web' }], 'none'),
    ).toHaveLength(1);
  });

  it('the quarantine policy itself never counts', () => {
    expect(bypassNames([policy(QUARANTINE, EGRESS_443)])).toEqual([]);
  });
});

describe('what a selecting policy allows', () => {
  it('policyTypes defaults: Ingress always, Egress only with egress rules', () => {
    expect(governedDirections(policy('a', {}))).toEqual(['ingress']);
    expect(governedDirections(policy('a', { egress: [{}] }))).toEqual(['ingress', 'egress']);
    expect(governedDirections(policy('a', { policyTypes: ['Egress'] }))).toEqual(['egress']);
  });

  it('deny-all policies (no rules) allow nothing', () => {
    expect(
      allowances(policy('deny', { policyTypes: ['Ingress', 'Egress'] }), 'none').allows,
    ).toEqual([]);
    expect(allowances(policy('deny', {}), 'none').allows).toEqual([]);
  });

  it('egress only, ingress only, and a rule without peers or ports (everything)', () => {
    expect(allowances(policy('e', EGRESS_443), 'none').allows).toEqual([
      'egress to 0.0.0.0/0 on TCP 443',
    ]);
    expect(allowances(policy('i', INGRESS_FROM_NAMESPACE), 'none').allows).toEqual([
      'ingress from all pods of the namespace on TCP 8080',
    ]);
    expect(
      allowances(policy('all', { policyTypes: ['Ingress'], ingress: [{}] }), 'none').allows,
    ).toEqual(['ingress from everywhere on all ports']);
  });

  it('egress rules are ignored when the policy governs ingress only (they have no effect)', () => {
    expect(
      allowances(policy('x', { policyTypes: ['Ingress'], egress: EGRESS_443.egress }), 'none'),
    ).toEqual({ allows: [], allowingRules: 0 });
  });

  it('a cluster-scoped Admin deny covers pods, namespaces and all egress, not sources outside the cluster', () => {
    const coverage: TierCoverage = 'pod-peers-and-all-egress';
    expect(allowances(policy('e', EGRESS_443), coverage).allows).toEqual([]);
    expect(allowances(policy('i', INGRESS_FROM_NAMESPACE), coverage).allows).toEqual([]);
    expect(
      allowances(
        policy('lb', {
          policyTypes: ['Ingress'],
          ingress: [{ _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }, {}],
        }),
        coverage,
      ).allows,
    ).toEqual([
      'ingress from 10.0.0.0/8 on all ports',
      'ingress from sources outside the cluster on all ports',
    ]);
    expect(allowances(policy('e', EGRESS_443), 'everything').allows).toEqual([]);
  });
});

describe('what an attacker may put into a policy', () => {
  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'])(
    'a selector on the label key %s, which the pod lacks, is judged by its own labels only',
    (key) => {
      const lacks = policy('lacks', {
        podSelector: { matchExpressions: [{ key, operator: 'DoesNotExist' }] },
        policyTypes: ['Egress'],
        egress: [{}],
      });
      const has = policy('has', {
        podSelector: { matchExpressions: [{ key, operator: 'Exists' }] },
        policyTypes: ['Egress'],
        egress: [{}],
      });
      expect(bypassNames([lacks, has])).toEqual(['shop/lacks']);
    },
  );

  it('a policy named like the quarantine policy but changed is judged like any other', () => {
    const named = policy(QUARANTINE, {
      ...EGRESS_443,
      podSelector: { matchLabels: { app: 'web' } },
    });
    const allowing = allowingPolicy(named, () => false);
    expect(bypassingPolicies([allowing!], [POD], 'none').map((b) => b.policy)).toEqual([
      `shop/${QUARANTINE}`,
    ]);
  });

  it('thousands of rules and peers: all counted, a few described, quickly', () => {
    const blocks = Array.from({ length: 5_000 }, (_, i) => ({
      ipBlock: { cidr: `10.${Math.floor(i / 256)}.${i % 256}.0/24` },
    }));
    const huge = policy('huge', {
      policyTypes: ['Ingress'],
      ingress: Array.from({ length: 2_000 }, () => ({ _from: blocks })),
    });
    const { allows, allowingRules } = allowances(huge, 'none');
    expect(allowingRules).toBe(2_000);
    expect(allows).toHaveLength(3);
    expect(allows[0]).toMatch(
      /^ingress from 10\.0\.0\.0\/24; 10\.0\.1\.0\/24; .* \(\+4996 more\) on all ports$/,
    );
  });
});

describe('the description is bounded and safe to show', () => {
  it('names a few policies and rules, and counts the rest', () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      policy(`p${i}`, {
        policyTypes: ['Egress'],
        egress: Array.from({ length: 10 }, (_, port) => ({ ports: [{ port: 1000 + port }] })),
      }),
    );
    const allowing = many.flatMap((p) => allowingPolicy(p, isQuarantine) ?? []);
    const bypasses = bypassingPolicies(allowing, [POD], 'none');
    expect(bypasses).toHaveLength(30);
    const text = describeBypasses(bypasses.slice(0, 8), bypasses.length);
    expect(text).toContain('shop/p0 allows egress to everywhere on TCP 1000');
    expect(text).toContain('(+7 rules)');
    expect(text).toMatch(/; and 22 more policies$/);
    expect(text.length).toBeLessThan(2000);
  });

  it('control characters in names and selectors are made visible, never passed through', () => {
    const hostile = policy('evil\n[contained] all good', {
      ...EGRESS_443,
      podSelector: { matchLabels: { app: 'web' } },
    });
    const [bypass] = bypassingPolicies([allowingPolicy(hostile, isQuarantine)!], [POD], 'none');
    expect(describeBypasses([bypass!])).not.toContain('\n');
  });
});

describe('the coverage relied on when denies were placed in several tiers', () => {
  it('is the weakest placed (which plugin enforces which is unknown), none when none placed', () => {
    const [eks, upstream, cilium] = TIER_KINDS;
    expect(reliedCoverage([])).toBe('none');
    expect(reliedCoverage([cilium!])).toBe('everything');
    expect(reliedCoverage([cilium!, eks!])).toBe('pod-peers-and-all-egress');
    expect(reliedCoverage([upstream!])).toBe('pod-peers-and-all-egress');
  });
});
