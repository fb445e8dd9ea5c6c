/**
 * NetworkPolicies add up, against the real kube-apiserver: in a namespace where other
 * policies select the pod and allow traffic, isolate-pod (EKS token, shipped RBAC) creates
 * its quarantine policy and still reports the pod NOT isolated, naming the policies; in a
 * control namespace without them it reports the pod contained. The API server stores and
 * serves the policies exactly as a cluster would (defaults, validation, paging); nothing
 * here enforces them, and nothing needs to: the judgement is over what is stored.
 */
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1Pod,
  type V1NetworkPolicySpec,
  type V1OwnerReference,
} from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionOutcome } from '../../shared/contracts.js';
import { QUARANTINE_LABEL, networkPolicyName } from '../../shared/labels.js';
import { containPodIn } from '../../functions/isolate-pod/contain.js';
import { undoPodQuarantine } from '../../functions/isolate-pod/undo.js';
import {
  adminKubeConfig,
  applyManifest,
  bearerKubeConfig,
  eksPodRequest,
  eventually,
  mintTestToken,
  readManifest,
  statusOf,
} from './k8s-helpers.js';
import { integrationEnv, skipReason, uniqueName } from './test-env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RBAC_MANIFEST = new URL('../../infra/k8s/rbac.yaml', import.meta.url).pathname;
const OPT_IN_MANIFEST = new URL('../../infra/k8s/rbac-opt-in.yaml', import.meta.url).pathname;

/**
 * A CRD that serves a kind without a schema of its own (any spec is stored): enough for
 * the API server to serve and discover the kind the way the plugin's own CRD does.
 */
function crd(
  group: string,
  version: string,
  plural: string,
  kind: string,
  scope: 'Cluster' | 'Namespaced',
): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { plural, kind, singular: kind.toLowerCase() },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
          },
        },
      ],
    },
  };
}

/** The allow policies a namespace commonly has, or an attacker adds: one of each shape. */
const ALLOW_SHAPES: [string, V1NetworkPolicySpec, RegExp][] = [
  [
    'all pods, egress to the internet on 443',
    {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ],
    },
    /allows egress to 0\.0\.0\.0\/0 on TCP 443/,
  ],
  [
    "the app's label, ingress on its port",
    {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ _from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    },
    /allows ingress from all pods of the namespace on TCP 8080/,
  ],
  [
    'an expression, ingress from other namespaces',
    {
      podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] },
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ namespaceSelector: {} }] }],
    },
    /allows ingress from all pods in all namespaces on all ports/,
  ],
  [
    'ingress only, from everywhere',
    { podSelector: { matchLabels: { tier: 'front' } }, policyTypes: ['Ingress'], ingress: [{}] },
    /allows ingress from everywhere on all ports/,
  ],
  [
    'egress only, to a pod label across namespaces',
    {
      podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'db' } } }] }],
    },
    /allows egress to pods role=db in all namespaces on all ports/,
  ],
];

describe.skipIf(skipReason())(
  'NetworkPolicies add up: isolate-pod against a real kube-apiserver',
  () => {
    const withAllows = uniqueName('gdrr-bypass');
    const control = uniqueName('gdrr-bypass-control');
    let core: CoreV1Api;
    let networking: NetworkingV1Api;
    let clusterName: string;
    let podCounter = 0;

    const asResponder = async (): Promise<KubeConfig> => bearerKubeConfig(await mintTestToken());

    /** Contain a fresh pod labelled app=web, tier=front; its network outcome. */
    const isolateFreshPod = async (
      namespace: string,
      options: { whenIsolationBypassed?: string; ownerReferences?: V1OwnerReference[] } = {},
    ): Promise<ActionOutcome> => (await isolateFreshPodWithResult(namespace, options)).outcome;

    async function isolateFreshPodWithResult(
      namespace: string,
      options: {
        whenIsolationBypassed?: string;
        ownerReferences?: V1OwnerReference[];
        trustDenyTier?: boolean;
      } = {},
    ): Promise<{ outcome: ActionOutcome; pod: V1Pod }> {
      const podName = `web-${++podCounter}`;
      const pod = await core.createNamespacedPod({
        namespace,
        body: {
          metadata: {
            name: podName,
            labels: { app: 'web', tier: 'front' },
            ownerReferences: options.ownerReferences,
          },
          spec: { containers: [{ name: 'app', image: 'registry.invalid/web:1' }] },
        },
      });
      const request = eksPodRequest(clusterName, namespace, {
        target: { podName, podUid: pod.metadata!.uid! },
        eks: {
          allowDnsEgress: false,
          maxCordonedNodes: 0,
          protectedNamespaces: ['kube-system'],
          whenIsolationBypassed: options.whenIsolationBypassed,
          trustDenyTier: options.trustDenyTier,
        },
      });
      const result = await containPodIn(request, asResponder);
      expect(result.outcomes[0]?.status).toBe('contained');
      // The quarantine policy is stored either way: the judgement is about the others.
      const quarantine = await networking.readNamespacedNetworkPolicy({
        name: networkPolicyName(pod.metadata!.uid!),
        namespace,
      });
      expect(quarantine.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
      return { outcome: result.outcomes[1]!, pod };
    }

    const addPolicy = (namespace: string, name: string, spec: V1NetworkPolicySpec) =>
      networking.createNamespacedNetworkPolicy({ namespace, body: { metadata: { name }, spec } });
    const removePolicy = (namespace: string, name: string) =>
      networking.deleteNamespacedNetworkPolicy({ namespace, name });

    beforeAll(async () => {
      clusterName = integrationEnv().GDRR_EKS_CLUSTER_ID;
      const admin = adminKubeConfig();
      core = admin.makeApiClient(CoreV1Api);
      networking = admin.makeApiClient(NetworkingV1Api);
      await applyManifest(admin, readManifest(RBAC_MANIFEST));
      for (const name of [withAllows, control]) {
        await core.createNamespace({ body: { metadata: { name } } });
      }
      // RBAC reaches the authorizer through a watch: wait until listing policies is allowed.
      await eventually(async () => {
        const responder = (await asResponder()).makeApiClient(NetworkingV1Api);
        return (
          (await statusOf(responder.listNamespacedNetworkPolicy({ namespace: control }))) === 200
        );
      });
    });

    afterAll(async () => {
      if (!core) return;
      await Promise.all(
        [withAllows, control].flatMap((namespace) => [
          statusOf(core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 })),
          statusOf(networking.deleteCollectionNamespacedNetworkPolicy({ namespace })),
        ]),
      );
      // No namespace controller runs here: a deleted namespace would stay Terminating forever.
    });

    it('control: a namespace with only deny policies and policies for other pods reaches contained', async () => {
      await addPolicy(control, 'default-deny', {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
      });
      await addPolicy(control, 'db-ingress', {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [{ _from: [{ podSelector: {} }] }],
      });
      await addPolicy(control, 'not-front', {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] },
        policyTypes: ['Egress'],
        egress: [{}],
      });
      const network = await isolateFreshPod(control);
      expect(network.status).toBe('contained');
      expect(network.detail).toMatch(/^created NetworkPolicy .*: no ingress, no egress/);
    });

    it.each(ALLOW_SHAPES)(
      'an allow policy selecting %s: NOT isolated, the policy named with what it allows',
      async (_shape, spec, allows) => {
        const name = `allow-${++podCounter}`;
        await addPolicy(withAllows, name, spec);
        try {
          const network = await isolateFreshPod(withAllows);
          expect(network.status).toBe('failed');
          expect(network.retryable).toBe(false);
          expect(network.detail).toContain('is NOT isolated: NetworkPolicies add up');
          expect(network.detail).toContain(`${withAllows}/${name} `);
          expect(network.detail).toMatch(allows);
          expect(network.evidence?.bypassedBy).toBe(`${withAllows}/${name}`);
        } finally {
          await removePolicy(withAllows, name);
        }
      },
    );

    it('delete-replaceable-pod with the opt-in RBAC: a bypassed ReplicaSet pod is deleted; a bare pod is not', async () => {
      const admin = adminKubeConfig();
      const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
      const optIn = readManifest(OPT_IN_MANIFEST);
      const mayDelete = async () => {
        const responder = (await asResponder()).makeApiClient(CoreV1Api);
        const status = await statusOf(
          responder.deleteNamespacedPod({ name: 'no-such-pod', namespace: withAllows }),
        );
        return status === 404;
      };
      const name = 'allow-everything-in';
      await addPolicy(withAllows, name, { podSelector: {}, ingress: [{}] });
      await applyManifest(admin, optIn);
      try {
        await eventually(mayDelete);
        const replicaSetPod: V1OwnerReference = {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-7c9f',
          uid: '5b1f0c3e-0000-4000-8000-000000000001',
          controller: true,
        };
        const deleted = await isolateFreshPod(withAllows, {
          whenIsolationBypassed: 'delete-replaceable-pod',
          ownerReferences: [replicaSetPod],
        });
        expect(deleted.status).toBe('contained');
        expect(deleted.detail).toMatch(/^deleted pod \S+\/web-\d+ \(eks\.whenIsolationBypassed/);
        const podName = /pod \S+\/(web-\d+)/.exec(deleted.detail)![1]!;
        expect(
          await statusOf(core.readNamespacedPod({ name: podName, namespace: withAllows })),
        ).toBe(404);

        const bare = await isolateFreshPod(withAllows, {
          whenIsolationBypassed: 'delete-replaceable-pod',
        });
        expect(bare.status).toBe('failed');
        expect(bare.detail).toContain('not deleted');
      } finally {
        await removePolicy(withAllows, name);
        await statusOf(rbac.deleteClusterRoleBinding({ name: optIn[1]!.metadata!.name! }));
        await statusOf(rbac.deleteClusterRole({ name: optIn[0]!.metadata!.name! }));
        // Later tests check the responder cannot delete pods: wait until that holds again.
        await eventually(async () => !(await mayDelete()));
      }
    });

    describe('with a deny tier served (minimal CRDs of the kinds, installed for the test)', () => {
      const crds: V1CustomResourceDefinition[] = [
        crd(
          'networking.k8s.aws',
          'v1alpha1',
          'clusternetworkpolicies',
          'ClusterNetworkPolicy',
          'Cluster',
        ),
        crd(
          'cilium.io',
          'v2',
          'ciliumclusterwidenetworkpolicies',
          'CiliumClusterwideNetworkPolicy',
          'Cluster',
        ),
      ];
      let extensions: ApiextensionsV1Api;
      let custom: CustomObjectsApi;

      beforeAll(async () => {
        const admin = adminKubeConfig();
        extensions = admin.makeApiClient(ApiextensionsV1Api);
        custom = admin.makeApiClient(CustomObjectsApi);
        for (const body of crds) await extensions.createCustomResourceDefinition({ body });
        // Served once the CRD is established and discovery lists it.
        await eventually(async () => {
          const listed = await Promise.all(
            crds.map((c) =>
              custom
                .getAPIResources({ group: c.spec.group, version: c.spec.versions[0]!.name })
                .then((list) => list.resources.length > 0)
                .catch(() => false),
            ),
          );
          return listed.every(Boolean);
        }, 30_000);
      });

      afterAll(async () => {
        await Promise.all(
          crds.map((c) =>
            statusOf(extensions.deleteCustomResourceDefinition({ name: c.metadata!.name! })),
          ),
        );
      });

      it('places a deny in both tiers; trusted, egress and pod allows no longer bypass, ingress from a network still does; release removes them', async () => {
        await addPolicy(withAllows, 'egress-out', {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443 }] }],
        });
        try {
          const { outcome, pod } = await isolateFreshPodWithResult(withAllows, {
            trustDenyTier: true,
          });
          // Cilium covers every peer, the VPC CNI's Admin tier pods and egress: relied on is
          // the weaker, and that one covers this egress allow.
          expect(outcome.status).toBe('contained');
          const uid = pod.metadata!.uid!;
          const name = networkPolicyName(uid);
          expect(outcome.evidence?.tierDeny).toBe(
            `ClusterNetworkPolicy ${name} (networking.k8s.aws/v1alpha1), CiliumClusterwideNetworkPolicy ${name} (cilium.io/v2)`,
          );
          const cnp = (await custom.getClusterCustomObject({
            group: 'networking.k8s.aws',
            version: 'v1alpha1',
            plural: 'clusternetworkpolicies',
            name,
          })) as { spec: Record<string, unknown> };
          expect(cnp.spec).toMatchObject({
            tier: 'Admin',
            priority: 0,
            subject: { pods: { podSelector: { matchLabels: { [QUARANTINE_LABEL]: uid } } } },
          });
          const cilium = (await custom.getClusterCustomObject({
            group: 'cilium.io',
            version: 'v2',
            plural: 'ciliumclusterwidenetworkpolicies',
            name,
          })) as { spec: Record<string, unknown> };
          expect(cilium.spec).toMatchObject({ egressDeny: [{ toEntities: ['all'] }] });

          // An ingress allow from a network: the Admin tier cannot deny it.
          await addPolicy(withAllows, 'from-vpc', {
            podSelector: {},
            ingress: [{ _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
          });
          const { outcome: second } = await isolateFreshPodWithResult(withAllows, {
            trustDenyTier: true,
          });
          expect(second.status).toBe('failed');
          expect(second.detail).toContain(`${withAllows}/from-vpc allows ingress from 10.0.0.0/8`);
          expect(second.detail).not.toContain('egress-out');

          const report = await undoPodQuarantine(
            adminKubeConfig(),
            withAllows,
            pod.metadata!.name!,
          );
          expect(report.problems).toEqual([]);
          expect(report.steps).toEqual(
            expect.arrayContaining([
              `deleted ClusterNetworkPolicy ${name} (networking.k8s.aws/v1alpha1)`,
              `deleted CiliumClusterwideNetworkPolicy ${name} (cilium.io/v2)`,
            ]),
          );
          expect(
            await statusOf(
              custom.getClusterCustomObject({
                group: 'networking.k8s.aws',
                version: 'v1alpha1',
                plural: 'clusternetworkpolicies',
                name,
              }),
            ),
          ).toBe(404);
        } finally {
          await networking.deleteCollectionNamespacedNetworkPolicy({ namespace: withAllows });
        }
      });
    });

    it('replay --live on a finding about a pod another policy lets through: NOT isolated in the record and the alert', async () => {
      const event = JSON.parse(
        readFileSync(join(ROOT, 'events', 'eks-reverse-shell.json'), 'utf8'),
      ) as {
        detail: {
          resource: { kubernetesDetails: { kubernetesWorkloadDetails: Record<string, unknown> } };
        };
      };
      const pod = await core.createNamespacedPod({
        namespace: withAllows,
        body: {
          metadata: { name: 'replayed-web', labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'registry.invalid/web:1' }] },
        },
      });
      Object.assign(event.detail.resource.kubernetesDetails.kubernetesWorkloadDetails, {
        name: 'replayed-web',
        namespace: withAllows,
        uid: pod.metadata!.uid,
      });
      const file = join(mkdtempSync(join(tmpdir(), 'gdrr-live-')), 'finding.json');
      writeFileSync(file, JSON.stringify(event));
      await addPolicy(withAllows, 'web-egress', {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Egress'],
        egress: [
          { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] },
        ],
      });
      try {
        const live = spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            'scripts/replay.ts',
            '--live',
            '--json',
            '--kubeconfig',
            integrationEnv().KUBECONFIG,
            file,
          ],
          { cwd: ROOT, encoding: 'utf8' },
        );
        // A containment that failed exits 1, with its record printed all the same.
        expect(live.status, live.stderr).toBe(1);
        const record = JSON.parse(live.stdout) as {
          outcomes: { action: string; status: string; detail: string }[];
          alert: { subject: string; text: string };
        };
        const network = record.outcomes.find((o) => o.action === 'eks:isolate-pod-network')!;
        expect(network.status).toBe('failed');
        expect(network.detail).toContain(
          `${withAllows}/web-egress allows egress to 0.0.0.0/0 on TCP 443`,
        );
        expect(record.alert.subject).toMatch(/^\[HIGH\] CONTAINMENT FAILED: /);
        expect(record.alert.text).toContain('is NOT isolated: NetworkPolicies add up');
      } finally {
        await removePolicy(withAllows, 'web-egress');
      }
    });

    it('many policies across list pages: each allowing one is found, the description stays bounded', async () => {
      const names = Array.from({ length: 60 }, (_, i) => `bulk-${i}`);
      for (const name of names) {
        await addPolicy(withAllows, name, {
          podSelector: { matchLabels: { app: 'web' } },
          policyTypes: ['Egress'],
          egress: [{ ports: [{ protocol: 'TCP', port: 1000 + names.indexOf(name) }] }],
        });
      }
      try {
        const network = await isolateFreshPod(withAllows);
        expect(network.status).toBe('failed');
        expect(network.detail).toMatch(/; and 52 more policies$/);
        expect(network.detail.length).toBeLessThanOrEqual(2000);
      } finally {
        await networking.deleteCollectionNamespacedNetworkPolicy({ namespace: withAllows });
      }
    });
  },
);
