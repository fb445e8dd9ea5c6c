/**
 * Least privilege for isolate-pod: the shipped ClusterRole (infra/k8s/rbac.yaml) grants
 * exactly the union of what the eks:* actions declare (shared/actions.ts), which is exactly
 * what the function's code can call (KUBE_CALLS).
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
import { KUBE_CALLS } from '../../functions/isolate-pod/kube.js';

const MANIFEST = new URL('../../infra/k8s/rbac.yaml', import.meta.url);
const objects = loadAllYaml(readFileSync(MANIFEST, 'utf8')) as (
  V1ClusterRole | V1ClusterRoleBinding
)[];
const role = objects.find((o): o is V1ClusterRole => o.kind === 'ClusterRole');
const binding = objects.find((o): o is V1ClusterRoleBinding => o.kind === 'ClusterRoleBinding');

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
const declared = new Set(
  actionsOf('eks-pod').flatMap((action) =>
    action.rbac.flatMap((rule) =>
      rule.verbs.map((verb) => `${rule.apiGroup}/${rule.resource}/${verb}`),
    ),
  ),
);

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
      'networking.k8s.io/networkpolicies/create',
      'networking.k8s.io/networkpolicies/get',
      'networking.k8s.io/networkpolicies/list',
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
    const callable = new Set(
      Object.values(KUBE_CALLS).map(
        ({ apiGroup, resource, verb }) => `${apiGroup}/${resource}/${verb}`,
      ),
    );
    expect([...callable].sort()).toEqual([...declared].sort());
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
