/**
 * The EKS authentication path and the isolate-pod ClusterRole against a real
 * kube-apiserver: tokens from `mintEksToken` are checked by the token webhook, RBAC comes
 * from the project's own `infra/k8s/rbac.yaml`.
 */
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ClusterRole,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminKubeConfig,
  applyManifest,
  bearerKubeConfig,
  eventually,
  failureMessage,
  mintTestToken,
  readManifest,
  statusOf,
} from './k8s-helpers.js';
import {
  UNBOUND_ACCESS_KEY_ID,
  UNBOUND_ROLE_NAME,
  UNBOUND_SECRET_ACCESS_KEY,
} from '../../testenv/config.js';
import { integrationEnv, skipReason, uniqueName } from './test-env.js';

const RBAC_MANIFEST = fileURLToPath(new URL('../../infra/k8s/rbac.yaml', import.meta.url));
const ISOLATE_POD_USER = 'arn:aws:iam::123456789012:role/gdrr-isolate-pod';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

// Verbs the responder may ever hold; `create` only for its network policies (the
// namespaced one and the deny in a tier above them).
const NARROW_VERBS = ['get', 'list', 'patch', 'create'];
const NETWORK_POLICY_KINDS = [
  'networkpolicies',
  'clusternetworkpolicies',
  'ciliumclusterwidenetworkpolicies',
];

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

function normalise(rules: Rule[]) {
  return rules
    .map((rule) => ({
      apiGroups: [...(rule.apiGroups ?? [])].sort(),
      resources: [...(rule.resources ?? [])].sort(),
      verbs: [...rule.verbs].sort(),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function tokenClients(token?: string) {
  const kc = bearerKubeConfig(token ?? (await mintTestToken()));
  return {
    core: kc.makeApiClient(CoreV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    authorization: kc.makeApiClient(AuthorizationV1Api),
  };
}

describe.skipIf(skipReason())('EKS token authentication (token webhook)', () => {
  let admin: KubeConfig;
  const manifest = () => readManifest(RBAC_MANIFEST);
  const binding = () => manifest().find((o) => o.kind === 'ClusterRoleBinding')!;
  const clusterRole = () => manifest().find((o) => o.kind === 'ClusterRole') as V1ClusterRole;

  beforeAll(() => {
    integrationEnv();
    admin = adminKubeConfig();
  });

  it('authenticates a token for this cluster: what it is not granted is 403, not 401', async () => {
    const { core } = await tokenClients();
    const listSecrets = () => core.listNamespacedSecret({ namespace: 'default' });
    expect(await statusOf(listSecrets())).toBe(403);
    expect(await failureMessage(listSecrets())).toContain(
      `User "${ISOLATE_POD_USER}" cannot list resource "secrets"`,
    );
  });

  it('without a binding for its group, an authenticated principal may do nothing (403)', async () => {
    // The webhook's second test principal has no group. Using it instead of removing the
    // binding keeps the shared binding intact for other test runs in this environment.
    const unbound = await mintTestToken({
      accessKeyId: UNBOUND_ACCESS_KEY_ID,
      secretAccessKey: UNBOUND_SECRET_ACCESS_KEY,
    });
    const { core, authorization } = await tokenClients(unbound);
    const listPods = () => core.listNamespacedPod({ namespace: 'default' });
    expect(await statusOf(listPods())).toBe(403);
    expect(await failureMessage(listPods())).toContain(
      `User "arn:aws:iam::123456789012:role/${UNBOUND_ROLE_NAME}" cannot list resource "pods"`,
    );
    const review = await authorization.createSelfSubjectAccessReview({
      body: {
        spec: { resourceAttributes: { verb: 'patch', resource: 'pods', namespace: 'default' } },
      },
    });
    expect(review.status?.allowed).toBe(false);
  });

  it('rejects a token minted for another cluster with 401', async () => {
    const { core } = await tokenClients(await mintTestToken({ clusterName: 'some-other-cluster' }));
    expect(await statusOf(core.listNamespacedPod({ namespace: 'default' }))).toBe(401);
  });

  it('rejects an expired token (signed 10 minutes ago, valid 60 s) with 401', async () => {
    const now = new Date(Date.now() - 10 * 60_000);
    const { core } = await tokenClients(await mintTestToken({ now }));
    expect(await statusOf(core.listNamespacedPod({ namespace: 'default' }))).toBe(401);
  });

  it('rejects a token signed with a wrong secret key with 401', async () => {
    const secretAccessKey = 'not-the-secret-key-of-the-test-principal';
    const { core } = await tokenClients(await mintTestToken({ secretAccessKey }));
    expect(await statusOf(core.listNamespacedPod({ namespace: 'default' }))).toBe(401);
  });

  it('rejects a token of an unknown access key and a malformed token with 401', async () => {
    const unknownKey = await mintTestToken({ accessKeyId: 'AKIAUNKNOWNKEY000001' });
    for (const token of [unknownKey, 'k8s-aws-v1.bm90LWEtdXJs', 'plain-bearer-token']) {
      const { core } = await tokenClients(token);
      expect(await statusOf(core.listNamespacedPod({ namespace: 'default' }))).toBe(401);
    }
  });

  describe('with infra/k8s/rbac.yaml applied (least privilege)', () => {
    const namespace = uniqueName('gdrr-it');
    const nodeName = uniqueName('gdrr-it-node');
    const podName = 'victim';
    const policyName = 'gdrr-isolate-victim';

    beforeAll(async () => {
      await applyManifest(admin, manifest());
      const core = admin.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await core.createNode({ body: { metadata: { name: nodeName } } });
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: podName, labels: { app: 'victim' } },
          spec: { nodeName, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
        },
      });
      const { core: asResponder } = await tokenClients();
      await eventually(
        async () => (await statusOf(asResponder.listNamespacedPod({ namespace }))) === 200,
      );
    });

    afterAll(async () => {
      const core = admin.makeApiClient(CoreV1Api);
      const cleanups: Promise<unknown>[] = [
        statusOf(core.deleteNamespacedPod({ name: podName, namespace, gracePeriodSeconds: 0 })),
        statusOf(
          admin
            .makeApiClient(NetworkingV1Api)
            .deleteNamespacedNetworkPolicy({ name: policyName, namespace }),
        ),
        statusOf(core.deleteNode({ name: nodeName })),
      ];
      await Promise.all(cleanups);
      // No namespace controller runs here: the namespace would stay Terminating forever.
    });

    it('the manifest grants only narrow rules: no wildcard, delete, watch, secret or subresource', () => {
      const role = clusterRole();
      expect(role.rules?.length).toBeGreaterThan(0);
      for (const rule of role.rules ?? []) {
        const resources = rule.resources ?? [];
        expect([...(rule.apiGroups ?? []), ...resources, ...rule.verbs]).not.toContain('*');
        expect(rule.verbs.filter((verb) => !NARROW_VERBS.includes(verb))).toEqual([]);
        if (rule.verbs.includes('create')) {
          expect(resources.filter((r) => !NETWORK_POLICY_KINDS.includes(r))).toEqual([]);
        }
        expect(resources.filter((r) => r.includes('/') || r === 'secrets')).toEqual([]);
        expect(rule.resourceNames ?? []).toEqual([]);
      }
      expect(binding()).toMatchObject({
        roleRef: { kind: 'ClusterRole', name: role.metadata?.name },
        subjects: [{ kind: 'Group', name: 'gdrr:isolate-pod' }],
      });
    });

    it('the API server grants the token exactly the rules of the manifest, nothing else', async () => {
      const { authorization } = await tokenClients();
      const review = await authorization.createSelfSubjectRulesReview({
        body: { spec: { namespace } },
      });
      // Every authenticated user may ask what it may do (system:basic-user): not ours.
      const granted = (review.status?.resourceRules ?? []).filter(
        (rule) => !rule.apiGroups?.includes('authorization.k8s.io'),
      );
      expect(normalise(granted)).toEqual(normalise(clusterRole().rules ?? []));
    });

    it('may get, list and merge-patch (label) the pod', async () => {
      const { core } = await tokenClients();
      const pod = await core.readNamespacedPod({ name: podName, namespace });
      expect(pod.spec?.nodeName).toBe(nodeName);
      const listed = await core.listNamespacedPod({ namespace });
      expect(listed.items.map((p) => p.metadata?.name)).toEqual([podName]);
      const patched = await core.patchNamespacedPod(
        {
          name: podName,
          namespace,
          body: { metadata: { labels: { 'gdrr.io/quarantined': 'true' } } },
        },
        mergePatch,
      );
      expect(patched.metadata?.labels).toEqual({ app: 'victim', 'gdrr.io/quarantined': 'true' });
      const seenByAdmin = await admin
        .makeApiClient(CoreV1Api)
        .readNamespacedPod({ name: podName, namespace });
      expect(seenByAdmin.metadata?.labels?.['gdrr.io/quarantined']).toBe('true');
    });

    it('may create, get and list NetworkPolicies, but not patch or delete them', async () => {
      const { networking } = await tokenClients();
      const created = await networking.createNamespacedNetworkPolicy({
        namespace,
        body: {
          metadata: { name: policyName },
          spec: {
            podSelector: { matchLabels: { 'gdrr.io/quarantined': 'true' } },
            policyTypes: ['Ingress', 'Egress'],
          },
        },
      });
      expect(created.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
      const read = await networking.readNamespacedNetworkPolicy({ name: policyName, namespace });
      expect(read.spec?.ingress ?? []).toEqual([]);
      const patch = networking.patchNamespacedNetworkPolicy(
        { name: policyName, namespace, body: { spec: { policyTypes: ['Ingress'] } } },
        mergePatch,
      );
      expect(await statusOf(patch)).toBe(403);
      const listed = await networking.listNamespacedNetworkPolicy({ namespace });
      expect(listed.items.map((policy) => policy.metadata?.name)).toContain(policyName);
      expect(
        await statusOf(networking.deleteNamespacedNetworkPolicy({ name: policyName, namespace })),
      ).toBe(403);
    });

    it('may get and cordon the node, but not delete it', async () => {
      const { core } = await tokenClients();
      expect((await core.readNode({ name: nodeName })).metadata?.name).toBe(nodeName);
      const cordoned = await core.patchNode(
        { name: nodeName, body: { spec: { unschedulable: true } } },
        mergePatch,
      );
      expect(cordoned.spec?.unschedulable).toBe(true);
      expect(await statusOf(core.deleteNode({ name: nodeName }))).toBe(403);
    });

    it('is forbidden (403) everything else it might be tempted to do', async () => {
      const { core, apps } = await tokenClients();
      const forbidden: Record<string, Promise<unknown>> = {
        'delete pod': core.deleteNamespacedPod({ name: podName, namespace }),
        'create pod': core.createNamespacedPod({
          namespace,
          body: { metadata: { name: 'other' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
        }),
        'list secrets': core.listNamespacedSecret({ namespace }),
        'get configmap': core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace }),
        'create deployment': apps.createNamespacedDeployment({
          namespace,
          body: {
            metadata: { name: 'd' },
            spec: {
              selector: { matchLabels: { a: 'b' } },
              template: {
                metadata: { labels: { a: 'b' } },
                spec: { containers: [{ name: 'c', image: 'x' }] },
              },
            },
          },
        }),
        'list namespaces': core.listNamespace(),
        'read pod logs': core.readNamespacedPodLog({ name: podName, namespace }),
      };
      const statuses = Object.fromEntries(
        await Promise.all(
          Object.entries(forbidden).map(
            async ([what, call]) => [what, await statusOf(call)] as const,
          ),
        ),
      );
      expect(statuses).toEqual(
        Object.fromEntries(Object.keys(forbidden).map((what) => [what, 403])),
      );
    });
  });
});
