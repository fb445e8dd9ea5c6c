/**
 * Least privilege for isolate-pod: the shipped ClusterRole (infra/k8s/rbac.yaml) grants
 * exactly the union of what the eks:* actions declare (shared/actions.ts) for every policy,
 * the opt-in ClusterRole (infra/k8s/rbac-opt-in.yaml) exactly the rules only some policy
 * settings use, and together they are exactly what the function's code can call
 * (KUBE_CALLS).
 */
import { readFileSync } from 'node:fs';
import {
  loadAllYaml,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { actionsOf } from '../../shared/actions.js';
import { CONNECT_PERMISSION } from '../../functions/isolate-pod/connect.js';
import { KUBE_CALLS, rulesOf, type KubeCall } from '../../functions/isolate-pod/kube.js';

/** The ClusterRole and its binding in one of the shipped manifests. */
function manifest(file: string) {
  const objects = loadAllYaml(
    readFileSync(new URL(`../../infra/k8s/${file}`, import.meta.url), 'utf8'),
  ) as (V1ClusterRole | V1ClusterRoleBinding)[];
  return {
    role: objects.find((o): o is V1ClusterRole => o.kind === 'ClusterRole'),
    binding: objects.find((o): o is V1ClusterRoleBinding => o.kind === 'ClusterRoleBinding'),
  };
}
const { role, binding } = manifest('rbac.yaml');
const optIn = manifest('rbac-opt-in.yaml');

/** `group/resource/verb` for every combination a rule grants. */
const granted = (rules: V1ClusterRole['rules'] = []) =>
  new Set(
    rules.flatMap((rule) =>
      (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).flatMap((resource) =>
          rule.verbs.map((verb) => `${group}/${resource}/${verb}`),
        ),
      ),
    ),
  );
/** `group/resource/verb` the eks:* actions declare, for every policy or only opted in. */
const declaredRules = (optedIn: boolean) =>
  new Set(
    actionsOf('eks-pod').flatMap((action) =>
      action.rbac
        .filter((rule) => (rule.optIn !== undefined) === optedIn)
        .flatMap((rule) => rule.verbs.map((verb) => `${rule.apiGroup}/${rule.resource}/${verb}`)),
    ),
  );
const declared = declaredRules(false);
const declaredOptIn = declaredRules(true);

describe('isolate-pod RBAC', () => {
  it('the manifest grants exactly the union of the eks:* actions declared rules', () => {
    expect([...granted(role?.rules)].sort()).toEqual([...declared].sort());
    expect([...declared].sort()).toEqual([
      '/nodes/get',
      '/nodes/list',
      '/nodes/patch',
      '/pods/get',
      '/pods/list',
      '/pods/patch',
      'apps/replicasets/get',
      'cilium.io/ciliumclusterwidenetworkpolicies/create',
      'cilium.io/ciliumclusterwidenetworkpolicies/get',
      'networking.k8s.aws/clusternetworkpolicies/create',
      'networking.k8s.aws/clusternetworkpolicies/get',
      'networking.k8s.io/networkpolicies/create',
      'networking.k8s.io/networkpolicies/get',
      'networking.k8s.io/networkpolicies/list',
      'policy.networking.k8s.io/clusternetworkpolicies/create',
      'policy.networking.k8s.io/clusternetworkpolicies/get',
    ]);
  });

  it('with no wildcards, resource names or non-resource URLs', () => {
    for (const rule of role?.rules ?? []) {
      expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]).not.toContain(
        '*',
      );
      expect(rule.resourceNames).toBeUndefined();
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  });

  it('the declared rules are exactly what the code can call', () => {
    // API discovery needs no rule: the default system:discovery role grants it to everyone.
    const callable = new Set((Object.keys(KUBE_CALLS) as KubeCall[]).flatMap(rulesOf));
    expect([...callable].sort()).toEqual([...declared, ...declaredOptIn].sort());
  });

  it('the opt-in manifest grants exactly the opted-in rules (pods delete), bound to the same group', () => {
    expect([...granted(optIn.role?.rules)].sort()).toEqual([...declaredOptIn].sort());
    expect([...declaredOptIn]).toEqual(['/pods/delete']);
    expect(optIn.binding?.roleRef.name).toBe(optIn.role?.metadata?.name);
    expect(optIn.binding?.subjects).toEqual(binding?.subjects);
    // The default manifest never deletes.
    expect([...granted(role?.rules)].some((rule) => rule.endsWith('/delete'))).toBe(false);
  });

  it('is bound to the group the EKS access entry maps the role to', () => {
    expect(binding).toMatchObject({
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: role?.metadata?.name,
      },
      subjects: [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'gdrr:isolate-pod' },
      ],
    });
  });

  it('IAM: every eks:* action needs eks:DescribeCluster only (the token is a presigned URL)', () => {
    expect([...new Set(actionsOf('eks-pod').flatMap((action) => action.iamActions))]).toEqual([
      CONNECT_PERMISSION,
    ]);
  });
});
