/**
 * Storms through `replay --stream` (the router's own pipeline, state in memory) against the
 * default policy: the budget counts distinct workloads changed, per scope and per surface.
 */
import { describe, expect, it } from 'vitest';
import { replayStream, streamSummary, type Delivery } from '../../functions/router/stream.js';
import { defaultPolicy } from '../../shared/policy.js';
import { loadEvent, policyWith } from '../helpers.js';

/** High-severity runtime finding types the default policy contains. */
const CONTAINED_TYPES = [
  'Execution:Runtime/ReverseShell',
  'Impact:Runtime/CryptoMinerExecuted',
  'Execution:Runtime/MaliciousFileExecuted',
  'PrivilegeEscalation:Runtime/RuncContainerEscape',
  'PrivilegeEscalation:Runtime/DockerSocketAccessed',
  'PrivilegeEscalation:Runtime/ContainerMountsHostDirectory',
  'Backdoor:Runtime/C&CActivity.B!DNS',
  'DefenseEvasion:Runtime/ProcessInjection.Ptrace',
  'PrivilegeEscalation:Runtime/ElevationToRoot',
  'Execution:Runtime/NewBinaryExecuted',
];

let nextId = 0;

/** A high-severity finding about pod `pod` of cluster `cluster` (fresh finding id). */
function podFinding(pod: string, cluster = 'prod-eks', type = CONTAINED_TYPES[0]!): Delivery {
  const event = loadEvent('eks-reverse-shell.json');
  nextId += 1;
  const detail = event.detail;
  detail.id = nextId.toString(16).padStart(32, 'a');
  detail.type = type;
  detail.severity = 8;
  detail.resource.eksClusterDetails.name = cluster;
  detail.resource.eksClusterDetails.arn = `arn:aws:eks:us-east-1:123456789012:cluster/${cluster}`;
  const workload = detail.resource.kubernetesDetails.kubernetesWorkloadDetails;
  workload.name = pod;
  workload.uid = `00000000-0000-4000-8000-${(pod.length * 7919 + [...pod].reduce((a, c) => a * 31 + c.charCodeAt(0), 7)).toString(16).slice(-12).padStart(12, '0')}`;
  return { file: `${cluster}-${pod}-${nextId}.json`, event };
}

const START = Date.parse('2026-12-02T10:00:00Z');
const run = (deliveries: Delivery[], policy = defaultPolicy()) =>
  replayStream(deliveries, policy, { start: START });

describe('replay --stream: the budget counts workloads changed, not findings', () => {
  it('10 findings of different types about one pod, then one about another pod: both contained', async () => {
    const records = await run([
      ...CONTAINED_TYPES.map((type) => podFinding('web-1', 'prod-eks', type)),
      podFinding('web-2'),
    ]);
    expect(records.map((r) => r.status)).toEqual([
      'DRY RUN',
      ...Array<string>(9).fill('ALREADY CONTAINED'),
      'DRY RUN',
    ]);
    expect(records.map((r) => r.budget?.outcome)).toEqual([
      'taken',
      ...Array<string>(9).fill('held'),
      'taken',
    ]);
    expect(records.filter((r) => r.budgetAlert !== null)).toHaveLength(0);
    // Each finding still has its own alert.
    expect(records.every((r) => r.alert !== null)).toBe(true);
  });

  it('10 distinct pods in one cluster, then one in another: the cluster stops at its half, the other is contained', async () => {
    const records = await run([
      ...Array.from({ length: 10 }, (_, i) => podFinding(`api-${i}`, 'cluster-a')),
      podFinding('api-0', 'cluster-b'),
    ]);
    expect(records.map((r) => r.status)).toEqual([
      ...Array<string>(5).fill('DRY RUN'),
      ...Array<string>(5).fill('NOT CONTAINED'),
      'DRY RUN',
    ]);
    expect(records.map((r) => r.budget?.outcome)).toEqual([
      ...Array<string>(5).fill('taken'),
      ...Array<string>(5).fill('scope-exhausted'),
      'taken',
    ]);
    // One loud alert, at the first refusal, naming the cluster that used its share.
    const loud = records.filter((r) => r.budgetAlert !== null);
    expect(loud.map((r) => r.delivery)).toEqual([6]);
    expect(loud[0]!.budgetAlert!.subject).toContain('RESPONDER BUDGET EXHAUSTED');
    expect(loud[0]!.budgetAlert!.subject).toContain('cluster-a');
    expect(loud[0]!.budgetAlert!.text).toContain(
      'Other clusters and accounts keep their own share',
    );
    expect(records[6]!.reason).toMatch(/budget used up for EKS cluster cluster-a .*5 of the 10/);
  });

  it('the surface ceiling still holds across scopes, with its own alert', async () => {
    const records = await run(
      ['a', 'b', 'c'].flatMap((c) =>
        Array.from({ length: 5 }, (_, i) => podFinding(`p-${i}`, `cluster-${c}`)),
      ),
    );
    const outcomes = records.map((r) => r.budget?.outcome);
    expect(outcomes.slice(0, 10)).toEqual(Array<string>(10).fill('taken'));
    expect(outcomes.slice(10)).toEqual(Array<string>(5).fill('surface-exhausted'));
    const loud = records.filter((r) => r.budgetAlert !== null);
    expect(loud).toHaveLength(1);
    expect(loud[0]!.budgetAlert!.subject).toMatch(/EXHAUSTED: eks-pod notify-only/);
    expect(loud[0]!.budgetAlert!.text).toContain('Every cluster and account of this surface');
  });

  it('re-deliveries are duplicates and consume nothing', async () => {
    const first = podFinding('db-0');
    const records = await run([first, first, first, podFinding('db-1')]);
    expect(records.map((r) => r.status)).toEqual(['DRY RUN', 'DUPLICATE', 'DUPLICATE', 'DRY RUN']);
    expect(records.map((r) => r.budget?.outcome)).toEqual(['taken', undefined, undefined, 'taken']);
  });

  it('a share that rounds below one still allows one containment per scope', async () => {
    const policy = policyWith((p) => {
      p.budget.maxContainments['eks-pod'] = 3;
      p.budget.maxSharePerScope = 0.2;
    });
    const records = await run([podFinding('x', 'c1'), podFinding('y', 'c1')], policy);
    expect(records.map((r) => r.budget?.outcome)).toEqual(['taken', 'scope-exhausted']);
  });

  it('a policy in dry-run mode never consults the budget', async () => {
    const policy = policyWith((p) => (p.dryRun = true));
    const records = await run(
      Array.from({ length: 12 }, (_, i) => podFinding(`d-${i}`)),
      policy,
    );
    expect(records.every((r) => r.status === 'DRY RUN' && r.budget === undefined)).toBe(true);
  });

  it('a 1,000-finding storm over 100 pods in 4 clusters: every delivery answered, limits hold', async () => {
    const deliveries = Array.from({ length: 1000 }, (_, i) =>
      podFinding(`pod-${i % 100}`, `cluster-${i % 4}`, CONTAINED_TYPES[i % CONTAINED_TYPES.length]),
    );
    const records = await run(deliveries);
    expect(records).toHaveLength(1000);
    expect(records.every((r) => r.error === undefined && r.alert !== null)).toBe(true);
    const taken = records.filter((r) => r.budget?.outcome === 'taken');
    expect(taken).toHaveLength(10);
    const perCluster = new Map<string, number>();
    for (const r of taken)
      perCluster.set(r.budget!.scope, (perCluster.get(r.budget!.scope) ?? 0) + 1);
    expect(Math.max(...perCluster.values())).toBeLessThanOrEqual(5);
    // Loud alerts: at most one per cluster and one for the surface.
    const loud = records.filter((r) => r.budgetAlert !== null);
    expect(loud.length).toBeGreaterThanOrEqual(1);
    expect(loud.length).toBeLessThanOrEqual(5);
    expect(streamSummary(records)).toMatch(/^1000 deliveries: /);
  }, 60_000);
});
