/**
 * isolate-pod against the real kube-apiserver of the test environment, authenticated the
 * way the Lambda is: an EKS token (checked by the token webhook) whose identity is bound
 * only to the shipped ClusterRole (infra/k8s/rbac.yaml). The admin kubeconfig only sets
 * the scene (namespaces, nodes, pods, container statuses, a ReplicaSet) and checks results.
 *
 * The environment has no kubelet, scheduler or controllers: pods are stored with
 * `spec.nodeName`, their container statuses written through the status subresource;
 * NetworkPolicies are stored, not enforced; a relabelled pod is not replaced.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import {
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  KubeConfig,
  type V1NetworkPolicy,
  type V1Pod,
} from '@kubernetes/client-node';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestFor } from '../../shared/containment.js';
import { ContainmentResultSchema, type ContainmentResult } from '../../shared/contracts.js';
import {
  CORDONED_LABEL,
  FINDING_ANNOTATION,
  QUARANTINE_LABEL,
  networkPolicyName,
} from '../../shared/labels.js';
import {
  CONTAINED_AT_ANNOTATION,
  DETACHED_LABELS_ANNOTATION,
} from '../../functions/isolate-pod/annotations.js';
import { containPod, containPodIn } from '../../functions/isolate-pod/contain.js';
import { handler } from '../../functions/isolate-pod/handler.js';
import { containLive } from '../../functions/isolate-pod/live.js';
import { kubeClients, type KubeClients } from '../../functions/isolate-pod/kube.js';
import {
  adminKubeConfig,
  applyManifest,
  bearerKubeConfig,
  eksPodRequest,
  eventually,
  nextFindingId,
  mintTestToken,
  readManifest,
  statusOf,
} from './k8s-helpers.js';
import { integrationEnv, skipReason, uniqueName } from './test-env.js';

const RBAC_MANIFEST = fileURLToPath(new URL('../../infra/k8s/rbac.yaml', import.meta.url));
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
type Request = RequestFor<'eks-pod'>;

/** A fresh EKS-token configuration per call: tokens live 60 seconds. */
const asResponder = async (): Promise<KubeConfig> => bearerKubeConfig(await mintTestToken());

/** The Lambda context of a function deployed in `accountId` and `region`. */
const functionIn = (accountId: string, region: string) => ({
  invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:isolate-pod`,
});

const hex64 = (seed: string) => seed.repeat(64).slice(0, 64);

describe.skipIf(skipReason())(
  'isolate-pod against a real kube-apiserver (EKS token, shipped RBAC)',
  () => {
    const namespace = uniqueName('gdrr-isolate');
    const protectedNamespace = uniqueName('gdrr-isolate-protected');
    /** Pods only the container-id lookups see, so their pages are known. */
    const lookupNamespace = uniqueName('gdrr-isolate-lookup');
    const node = uniqueName('gdrr-isolate-node');
    const spareNode = uniqueName('gdrr-isolate-spare');
    let admin: KubeConfig;
    let core: CoreV1Api;
    let networking: NetworkingV1Api;
    let apps: AppsV1Api;
    let clusterName: string;

    const request = (
      overrides: Record<string, unknown> & { target?: Record<string, unknown> } = {},
    ): Request =>
      eksPodRequest(clusterName, namespace, {
        eks: {
          allowDnsEgress: false,
          maxCordonedNodes: 1000,
          protectedNamespaces: ['kube-system', protectedNamespace],
        },
        ...overrides,
      });

    async function contain(req: Request): Promise<ContainmentResult> {
      const result = await containPodIn(req, asResponder);
      expect(ContainmentResultSchema.safeParse(result).success).toBe(true);
      return result;
    }

    /** A pod on `node`, optionally with a running container id in its status. */
    async function createPod(
      name: string,
      options: {
        ns?: string;
        nodeName?: string;
        containerId?: string;
        labels?: Record<string, string>;
        owner?: V1Pod['metadata'];
      } = {},
    ): Promise<V1Pod> {
      const ns = options.ns ?? namespace;
      const pod = await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: {
            name,
            labels: { app: 'victim', ...options.labels },
            ownerReferences: options.owner?.ownerReferences,
          },
          spec: {
            nodeName: options.nodeName ?? node,
            containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
          },
        },
      });
      if (options.containerId === undefined) return pod;
      return core.patchNamespacedPodStatus(
        {
          name,
          namespace: ns,
          body: {
            status: {
              phase: 'Running',
              containerStatuses: [
                {
                  name: 'app',
                  containerID: `containerd://${options.containerId}`,
                  image: 'registry.invalid/app:1',
                  imageID: '',
                  ready: true,
                  restartCount: 0,
                  state: { running: { startedAt: new Date() } },
                },
              ],
            },
          },
        },
        mergePatch,
      );
    }

    const readPod = (name: string, ns = namespace) =>
      core.readNamespacedPod({ name, namespace: ns });
    const cordonedCount = async () =>
      (await core.listNode({ labelSelector: `${CORDONED_LABEL}=true` })).items.length;
    const statusesOf = (result: ContainmentResult) =>
      result.outcomes.map((o) => [o.action, o.status]);

    beforeAll(async () => {
      const env = integrationEnv();
      clusterName = env.GDRR_EKS_CLUSTER_ID;
      admin = adminKubeConfig();
      core = admin.makeApiClient(CoreV1Api);
      networking = admin.makeApiClient(NetworkingV1Api);
      apps = admin.makeApiClient(AppsV1Api);
      await applyManifest(admin, readManifest(RBAC_MANIFEST));
      for (const name of [namespace, protectedNamespace, lookupNamespace]) {
        await core.createNamespace({ body: { metadata: { name } } });
      }
      for (const name of [node, spareNode]) await core.createNode({ body: { metadata: { name } } });
      // RBAC reaches the authorizer through a watch: wait until the newest rule is in effect.
      await eventually(async () => {
        const replicaSets = (await asResponder()).makeApiClient(AppsV1Api);
        return (
          (await statusOf(replicaSets.readNamespacedReplicaSet({ name: 'none', namespace }))) ===
          404
        );
      });
    });

    afterAll(async () => {
      if (!core) return;
      const pods = await Promise.all(
        [namespace, protectedNamespace, lookupNamespace].map(
          async (ns) => (await core.listNamespacedPod({ namespace: ns })).items,
        ),
      );
      await Promise.all([
        ...pods.flat().map((pod) =>
          statusOf(
            core.deleteNamespacedPod({
              name: pod.metadata!.name!,
              namespace: pod.metadata!.namespace!,
              gracePeriodSeconds: 0,
            }),
          ),
        ),
        ...[namespace, lookupNamespace].map((ns) =>
          statusOf(networking.deleteCollectionNamespacedNetworkPolicy({ namespace: ns })),
        ),
        statusOf(apps.deleteCollectionNamespacedReplicaSet({ namespace })),
        ...[node, spareNode].map((name) => statusOf(core.deleteNode({ name }))),
      ]);
      // No namespace controller runs here: a deleted namespace would stay Terminating forever.
    });

    it('the Lambda path: DescribeCluster endpoint/CA + EKS token; label and NetworkPolicy land as specified; node cordoned when flagged', async () => {
      const env = integrationEnv();
      const pod = await createPod('victim-lambda');
      const uid = pod.metadata!.uid!;
      const eks = mockClient(EKSClient);
      eks.on(DescribeClusterCommand, { name: clusterName }).resolves({
        cluster: {
          name: clusterName,
          status: 'ACTIVE',
          endpoint: env.GDRR_K8S_SERVER,
          certificateAuthority: { data: readFileSync(env.GDRR_K8S_CA_FILE).toString('base64') },
        },
      });
      const budget = (await cordonedCount()) + 1;
      const req = request({
        target: { podName: 'victim-lambda', podUid: uid },
        actions: ['eks:label-pod', 'eks:isolate-pod-network', 'eks:cordon-node'],
        hostCompromise: true,
        eks: {
          allowDnsEgress: true,
          maxCordonedNodes: budget,
          protectedNamespaces: ['kube-system'],
        },
      });
      let result: ContainmentResult;
      try {
        result = await handler(req, functionIn(req.accountId, req.region));
      } finally {
        eks.restore();
      }
      expect(statusesOf(result)).toEqual([
        ['eks:label-pod', 'contained'],
        ['eks:isolate-pod-network', 'contained'],
        ['eks:cordon-node', 'contained'],
      ]);

      const labelled = await readPod('victim-lambda');
      expect(labelled.metadata?.labels).toEqual({ app: 'victim', [QUARANTINE_LABEL]: uid });
      expect(labelled.metadata?.annotations?.[FINDING_ANNOTATION]).toBe(req.findingId);
      expect(
        Date.parse(labelled.metadata?.annotations?.[CONTAINED_AT_ANNOTATION] ?? ''),
      ).toBeGreaterThan(Date.now() - 60_000);

      const policy = await networking.readNamespacedNetworkPolicy({
        name: networkPolicyName(uid),
        namespace,
      });
      expect(policy.metadata?.labels).toEqual({ [QUARANTINE_LABEL]: uid });
      expect(policy.metadata?.annotations).toEqual({ [FINDING_ANNOTATION]: req.findingId });
      expect(policy.spec?.podSelector).toEqual({ matchLabels: { [QUARANTINE_LABEL]: uid } });
      expect(policy.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(policy.spec?.ingress).toBeUndefined();
      expect(JSON.parse(JSON.stringify(policy.spec?.egress))).toEqual([
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ]);

      const cordoned = await core.readNode({ name: node });
      expect(cordoned.spec?.unschedulable).toBe(true);
      expect(cordoned.metadata?.labels?.[CORDONED_LABEL]).toBe('true');
      expect(cordoned.metadata?.annotations?.[FINDING_ANNOTATION]).toBe(req.findingId);
      expect(result.release).toContain(`kubectl uncordon ${node}`);
      expect(result.release).toContain(
        `kubectl -n ${namespace} delete networkpolicy ${networkPolicyName(uid)}`,
      );
      expect(result.notes.join(' ')).toMatch(/network plugin/);
    });

    it("another account's finding for a cluster of the same name: skipped before connecting, the same-name pod untouched", async () => {
      const pod = await createPod('victim-other-account');
      const uid = pod.metadata!.uid!;
      const eks = mockClient(EKSClient);
      const req = request({
        accountId: '210987654321',
        target: { podName: 'victim-other-account', podUid: uid },
      });
      let result: ContainmentResult;
      try {
        result = await handler(req, functionIn('123456789012', req.region));
        expect(eks.calls()).toHaveLength(0);
      } finally {
        eks.restore();
      }
      expect(statusesOf(result)).toEqual([
        ['eks:label-pod', 'skipped'],
        ['eks:isolate-pod-network', 'skipped'],
      ]);
      expect(result.outcomes[0]?.detail).toBe(
        `the finding is in account 210987654321, region ${req.region}; this function runs in account 123456789012, region ${req.region} and acts only there (it assumes no role into another account)`,
      );
      const untouched = await readPod('victim-other-account');
      expect(untouched.metadata?.labels).toEqual({ app: 'victim' });
      expect(untouched.metadata?.annotations).toBeUndefined();
      await expect(
        statusOf(
          networking.readNamespacedNetworkPolicy({ name: networkPolicyName(uid), namespace }),
        ),
      ).resolves.toBe(404);
    });

    it('re-running is safe: the same objects, every action already-contained', async () => {
      const pod = await createPod('victim-rerun');
      const uid = pod.metadata!.uid!;
      const req = request({ target: { podName: 'victim-rerun', podUid: uid } });
      expect(statusesOf(await contain(req))).toEqual([
        ['eks:label-pod', 'contained'],
        ['eks:isolate-pod-network', 'contained'],
      ]);
      const podVersion = (await readPod('victim-rerun')).metadata?.resourceVersion;
      const policyVersion = (
        await networking.readNamespacedNetworkPolicy({ name: networkPolicyName(uid), namespace })
      ).metadata?.resourceVersion;

      const again = await contain({ ...req, findingId: nextFindingId() });
      expect(statusesOf(again)).toEqual([
        ['eks:label-pod', 'already-contained'],
        ['eks:isolate-pod-network', 'already-contained'],
      ]);
      expect((await readPod('victim-rerun')).metadata?.resourceVersion).toBe(podVersion);
      const policies = (await networking.listNamespacedNetworkPolicy({ namespace })).items.filter(
        (p) => p.metadata?.labels?.[QUARANTINE_LABEL] === uid,
      );
      expect(policies.map((p) => [p.metadata?.name, p.metadata?.resourceVersion])).toEqual([
        [networkPolicyName(uid), policyVersion],
      ]);
    });

    it('finds the pod by container id (status.containerStatuses) in the finding namespace', async () => {
      await createPod('bystander', { containerId: hex64('1') });
      const pod = await createPod('victim-by-container', { containerId: hex64('9f') });
      const req = request({ target: { containerIds: [hex64('9f')] } });
      const result = await contain(req);
      expect(statusesOf(result)).toEqual([
        ['eks:label-pod', 'contained'],
        ['eks:isolate-pod-network', 'contained'],
      ]);
      expect(result.outcomes[0]?.evidence).toMatchObject({
        pod: `${namespace}/victim-by-container`,
        foundBy: 'container id',
      });
      expect((await readPod('victim-by-container')).metadata?.labels?.[QUARANTINE_LABEL]).toBe(
        pod.metadata?.uid,
      );
      expect((await readPod('bystander')).metadata?.labels?.[QUARANTINE_LABEL]).toBeUndefined();
    });

    it('leaves a pod in a protected namespace untouched', async () => {
      const pod = await createPod('protected-victim', { ns: protectedNamespace });
      const req = request({
        target: { namespace: protectedNamespace, podName: 'protected-victim' },
        actions: ['eks:label-pod', 'eks:isolate-pod-network', 'eks:cordon-node'],
      });
      const result = await contain(req);
      expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped', 'skipped']);
      expect(result.outcomes[0]?.detail).toContain(`namespace ${protectedNamespace} is protected`);
      const after = await readPod('protected-victim', protectedNamespace);
      expect(after.metadata?.resourceVersion).toBe(pod.metadata?.resourceVersion);
      expect(
        (await networking.listNamespacedNetworkPolicy({ namespace: protectedNamespace })).items,
      ).toEqual([]);
    });

    it('respects the cordon budget: at the limit the node stays schedulable', async () => {
      await createPod('victim-budget', {});
      // The budget counts every node the responder cordoned in the cluster, earlier runs included.
      await core.patchNode({ name: node, body: { spec: { unschedulable: false } } }, mergePatch);
      const spare = await core.readNode({ name: spareNode });
      const budget = await cordonedCount();
      const req = request({
        target: { podName: 'victim-budget' },
        actions: ['eks:cordon-node'],
        hostCompromise: true,
        eks: { allowDnsEgress: false, maxCordonedNodes: budget, protectedNamespaces: [] },
      });
      const result = await contain(req);
      expect(result.outcomes[0]).toMatchObject({ action: 'eks:cordon-node', status: 'skipped' });
      expect(result.outcomes[0]?.detail).toMatch(
        new RegExp(`^cordon budget of ${budget} nodes per cluster reached`),
      );
      expect((await core.readNode({ name: node })).spec?.unschedulable).toBeFalsy();
      expect((await core.readNode({ name: spareNode })).metadata?.resourceVersion).toBe(
        spare.metadata?.resourceVersion,
      );
    });

    it('detaches a pod from its ReplicaSet (get replicasets) by relabelling it', async () => {
      const replicaSet = await apps.createNamespacedReplicaSet({
        namespace,
        body: {
          metadata: { name: 'web-5f7c9' },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'web', 'pod-template-hash': '5f7c9' } },
            template: {
              metadata: { labels: { app: 'web', 'pod-template-hash': '5f7c9' } },
              spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
            },
          },
        },
      });
      await createPod('web-5f7c9-x1', {
        labels: { app: 'web', 'pod-template-hash': '5f7c9' },
        owner: {
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: 'web-5f7c9',
              uid: replicaSet.metadata!.uid!,
              controller: true,
            },
          ],
        },
      });
      const req = request({
        target: { podName: 'web-5f7c9-x1' },
        actions: ['eks:label-pod', 'eks:detach-from-controller'],
      });
      const result = await contain(req);
      expect(statusesOf(result)).toEqual([
        ['eks:label-pod', 'contained'],
        ['eks:detach-from-controller', 'contained'],
      ]);
      const pod = await readPod('web-5f7c9-x1');
      expect(pod.metadata?.labels).toMatchObject({
        app: 'quarantined-web',
        'pod-template-hash': 'quarantined-5f7c9',
      });
      expect(JSON.parse(pod.metadata?.annotations?.[DETACHED_LABELS_ANNOTATION] ?? '{}')).toEqual({
        app: 'web',
        'pod-template-hash': '5f7c9',
      });
      expect(result.release).toContain(
        `label pod web-5f7c9-x1 --overwrite app=web pod-template-hash=5f7c9`,
      );
      const again = await contain(req);
      expect(statusesOf(again)).toEqual([
        ['eks:label-pod', 'already-contained'],
        ['eks:detach-from-controller', 'already-contained'],
      ]);
    });

    it('a policy already there for an unlabelled pod: the create gets 409, the policy is read back, judged and never changed', async () => {
      const mine = await createPod('victim-policy-first');
      const other = await createPod('victim-policy-foreign');
      const named = (uid: string, spec: V1NetworkPolicy['spec']): V1NetworkPolicy => ({
        metadata: { name: networkPolicyName(uid) },
        spec,
      });
      const uidOf = (pod: V1Pod) => pod.metadata!.uid!;
      // This pod's quarantine, e.g. made by an earlier run whose label patch failed.
      const same = await networking.createNamespacedNetworkPolicy({
        namespace,
        body: named(uidOf(mine), {
          podSelector: { matchLabels: { [QUARANTINE_LABEL]: uidOf(mine) } },
          policyTypes: ['Ingress', 'Egress'],
        }),
      });
      // Someone else's policy under the quarantine's name.
      const foreign = await networking.createNamespacedNetworkPolicy({
        namespace,
        body: named(uidOf(other), {
          podSelector: { matchLabels: { app: 'victim' } },
          policyTypes: ['Ingress'],
        }),
      });

      const confirmed = await contain(
        request({ target: { podName: 'victim-policy-first', podUid: uidOf(mine) } }),
      );
      expect(statusesOf(confirmed)).toEqual([
        ['eks:label-pod', 'contained'],
        ['eks:isolate-pod-network', 'already-contained'],
      ]);
      const refused = await contain(
        request({ target: { podName: 'victim-policy-foreign', podUid: uidOf(other) } }),
      );
      expect(refused.outcomes[1]).toMatchObject({ status: 'failed', retryable: false });
      expect(refused.outcomes[1]?.detail).toMatch(/exists but is not this pod's quarantine/);

      for (const policy of [same, foreign]) {
        const now = await networking.readNamespacedNetworkPolicy({
          name: policy.metadata!.name!,
          namespace,
        });
        expect(now.metadata?.resourceVersion).toBe(policy.metadata?.resourceVersion);
      }
    });

    it('the label patch is refused: the policy made alongside stays, and the outcome says the pod is NOT isolated', async () => {
      const pod = await createPod('victim-no-patch');
      const uid = pod.metadata!.uid!;
      // An identity that may do everything isolating needs except patching pods (a Role in
      // this namespace only, for an impersonated user: the shared bindings stay untouched).
      const user = uniqueName('gdrr-test-no-patch');
      const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace,
        body: {
          metadata: { name: user },
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
            {
              apiGroups: ['networking.k8s.io'],
              resources: ['networkpolicies'],
              verbs: ['get', 'create'],
            },
          ],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: user },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        },
      });
      const kc = new KubeConfig();
      kc.loadFromClusterAndUser(admin.getCurrentCluster()!, {
        ...admin.getCurrentUser()!,
        name: user,
        impersonateUser: user,
      });
      await eventually(
        async () =>
          (await statusOf(
            kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: 'victim-no-patch', namespace }),
          )) === 200,
      );

      const result = await containPodIn(
        request({ target: { podName: 'victim-no-patch', podUid: uid } }),
        () => Promise.resolve(kc),
      );
      expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
        ['failed', false],
        ['failed', false],
      ]);
      expect(result.outcomes[0]?.detail).toMatch(/\(missing permission: patch pods\)$/);
      expect(result.outcomes[1]?.detail).toMatch(
        /is NOT isolated: .*\(label step: failed\); NetworkPolicy \S+ is in place and left there/,
      );
      expect(
        (await readPod('victim-no-patch')).metadata?.labels?.[QUARANTINE_LABEL],
      ).toBeUndefined();
      const policy = await networking.readNamespacedNetworkPolicy({
        name: networkPolicyName(uid),
        namespace,
      });
      expect(policy.spec?.podSelector).toEqual({ matchLabels: { [QUARANTINE_LABEL]: uid } });
      expect(result.release).toBe(
        `aws eks update-kubeconfig --region us-east-1 --name ${clusterName}; kubectl -n ${namespace} delete networkpolicy ${networkPolicyName(uid)}`,
      );
    });

    describe('finding a pod by container id in pages (lookup namespace)', () => {
      /** The list calls a containment made, as (field selector, continued?) pairs. */
      let lists: { fieldSelector?: string; limit?: number; continued: boolean }[];

      /** containPod through the responder's clients, recording every pod list it sends. */
      async function containCounting(req: Request): Promise<ContainmentResult> {
        const kube = kubeClients(await asResponder());
        lists = [];
        const podScan: KubeClients['podScan'] = {
          listPodIdentities: (param) => {
            lists.push({
              fieldSelector: param.fieldSelector,
              limit: param.limit,
              continued: param.continue !== undefined,
            });
            return kube.podScan.listPodIdentities(param);
          },
        };
        const result = await containPod(req, { kube: { ...kube, podScan } });
        expect(ContainmentResultSchema.safeParse(result).success).toBe(true);
        return result;
      }

      const lookupRequest = (target: Record<string, unknown>) =>
        request({ target: { namespace: lookupNamespace, ...target } });

      const quarantineLabelOf = async (name: string) =>
        (await readPod(name, lookupNamespace)).metadata?.labels?.[QUARANTINE_LABEL];

      beforeAll(async () => {
        // 105 pods on `node` whose containers are not the finding's: several pages of 100.
        await Promise.all(
          Array.from({ length: 105 }, (_, i) =>
            createPod(`bystander-${String(i).padStart(3, '0')}`, {
              ns: lookupNamespace,
              containerId: hex64((i + 0x100).toString(16)),
            }),
          ),
        );
      });

      it('found across several pages: the whole namespace is read 100 pods at a time', async () => {
        // Listed by name: `zz-` comes after every bystander, on the last page.
        const pod = await createPod('zz-paged-victim', {
          ns: lookupNamespace,
          containerId: hex64('a1'),
        });
        const result = await containCounting(lookupRequest({ containerIds: [hex64('a1')] }));
        expect(statusesOf(result)).toEqual([
          ['eks:label-pod', 'contained'],
          ['eks:isolate-pod-network', 'contained'],
        ]);
        // 106 pods: two pages.
        expect(lists).toEqual([
          { fieldSelector: undefined, limit: 100, continued: false },
          { fieldSelector: undefined, limit: 100, continued: true },
        ]);
        expect(await quarantineLabelOf('zz-paged-victim')).toBe(pod.metadata!.uid);
      });

      it("found on the finding's node (spec.nodeName field selector); the same id on another node is not the finding's pod", async () => {
        const victim = await createPod('node-victim', {
          ns: lookupNamespace,
          nodeName: spareNode,
          containerId: hex64('b2'),
        });
        await createPod('node-decoy', { ns: lookupNamespace, containerId: hex64('b2') });
        const result = await containCounting(
          lookupRequest({ containerIds: [hex64('b2')], nodeName: spareNode }),
        );
        expect(statusesOf(result)).toEqual([
          ['eks:label-pod', 'contained'],
          ['eks:isolate-pod-network', 'contained'],
        ]);
        expect(lists).toEqual([
          { fieldSelector: `spec.nodeName=${spareNode}`, limit: 100, continued: false },
        ]);
        expect(await quarantineLabelOf('node-victim')).toBe(victim.metadata!.uid);
        expect(await quarantineLabelOf('node-decoy')).toBeUndefined();
      });

      it('two pods report the container id: failed, not retryable, naming both; neither touched', async () => {
        await createPod('twin-a', { ns: lookupNamespace, containerId: hex64('c3') });
        await createPod('twin-b', {
          ns: lookupNamespace,
          nodeName: spareNode,
          containerId: hex64('c3'),
        });
        const result = await containCounting(lookupRequest({ containerIds: [hex64('c3')] }));
        expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
          ['failed', false],
          ['failed', false],
        ]);
        expect(result.outcomes[0]?.detail).toBe(
          `pods ${lookupNamespace}/twin-a and ${lookupNamespace}/twin-b both report container c3c3c3c3c3c3: which one the finding is about is not certain, so neither is contained`,
        );
        expect(await quarantineLabelOf('twin-a')).toBeUndefined();
        expect(await quarantineLabelOf('twin-b')).toBeUndefined();
        const policies = await networking.listNamespacedNetworkPolicy({
          namespace: lookupNamespace,
        });
        expect(policies.items.filter((p) => /twin/.test(JSON.stringify(p.metadata))).length).toBe(
          0,
        );
      });

      it('absent on the node and in the namespace: skipped after both scans', async () => {
        const result = await containCounting(
          lookupRequest({ containerIds: [hex64('d4')], nodeName: spareNode }),
        );
        expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped']);
        expect(result.outcomes[0]?.detail).toBe(
          `no pod in namespace ${lookupNamespace} runs container d4d4d4d4d4d4 (the pod is gone or the container was restarted)`,
        );
        // The node's two pods, then the namespace's 110 in two pages.
        expect(lists.map((l) => l.fieldSelector)).toEqual([
          `spec.nodeName=${spareNode}`,
          undefined,
          undefined,
        ]);
      });
    });

    it('a missing pod is skipped with a clear reason', async () => {
      const byName = await contain(request({ target: { podName: 'never-existed' } }));
      expect(byName.outcomes.map((o) => [o.status, o.detail])).toEqual([
        ['skipped', `pod ${namespace}/never-existed no longer exists`],
        ['skipped', `pod ${namespace}/never-existed no longer exists`],
      ]);
      const byContainer = await contain(request({ target: { containerIds: [hex64('0d')] } }));
      expect(byContainer.outcomes[0]?.status).toBe('skipped');
      expect(byContainer.outcomes[0]?.detail).toContain(
        `no pod in namespace ${namespace} runs container 0d0d0d0d0d0d`,
      );
    });

    it('dry run writes nothing (through the token and through a local kubeconfig)', async () => {
      const pod = await createPod('victim-dry', { containerId: hex64('d7') });
      await core.patchNode({ name: node, body: { spec: { unschedulable: false } } }, mergePatch);
      const nodeBefore = await core.readNode({ name: node });
      const req = request({
        target: { podName: 'victim-dry' },
        actions: ['eks:label-pod', 'eks:isolate-pod-network', 'eks:cordon-node'],
        hostCompromise: true,
        dryRun: true,
      });
      const viaToken = await contain(req);
      expect(viaToken.outcomes.map((o) => o.status)).toEqual(['dry-run', 'dry-run', 'dry-run']);
      expect(viaToken.outcomes[0]?.detail).toMatch(/^would label pod/);
      // replay --live: the kubeconfig's current context (here the admin one).
      const viaFile = await containLive(req, { kubeconfig: integrationEnv().KUBECONFIG });
      expect(viaFile.outcomes.map((o) => o.status)).toEqual(['dry-run', 'dry-run', 'dry-run']);

      expect((await readPod('victim-dry')).metadata?.resourceVersion).toBe(
        pod.metadata?.resourceVersion,
      );
      expect(
        await statusOf(
          networking.readNamespacedNetworkPolicy({
            name: networkPolicyName(pod.metadata!.uid!),
            namespace,
          }),
        ),
      ).toBe(404);
      expect((await core.readNode({ name: node })).metadata?.resourceVersion).toBe(
        nodeBefore.metadata?.resourceVersion,
      );
    });

    it('the responder identity cannot delete pods, read secrets, patch deployments or undo its own policies', async () => {
      await createPod('victim-forbidden');
      const kc = await asResponder();
      const tokenCore = kc.makeApiClient(CoreV1Api);
      const tokenApps = kc.makeApiClient(AppsV1Api);
      const tokenNetworking = kc.makeApiClient(NetworkingV1Api);
      const attempts: Record<string, Promise<unknown>> = {
        'delete pod': tokenCore.deleteNamespacedPod({ name: 'victim-forbidden', namespace }),
        'list secrets': tokenCore.listNamespacedSecret({ namespace }),
        'get secret': tokenCore.readNamespacedSecret({ name: 'any', namespace }),
        'patch deployment': tokenApps.patchNamespacedDeployment(
          { name: 'any', namespace, body: { spec: { replicas: 0 } } },
          mergePatch,
        ),
        'patch replicaset': tokenApps.patchNamespacedReplicaSet(
          { name: 'web-5f7c9', namespace, body: { spec: { replicas: 0 } } },
          mergePatch,
        ),
        'delete networkpolicy': tokenNetworking.deleteNamespacedNetworkPolicy({
          name: 'any',
          namespace,
        }),
        'delete node': tokenCore.deleteNode({ name: spareNode }),
        'exec/log': tokenCore.readNamespacedPodLog({ name: 'victim-forbidden', namespace }),
      };
      const statuses = Object.fromEntries(
        await Promise.all(
          Object.entries(attempts).map(
            async ([what, call]) => [what, await statusOf(call)] as const,
          ),
        ),
      );
      expect(statuses).toEqual(
        Object.fromEntries(Object.keys(attempts).map((what) => [what, 403])),
      );
      expect((await readPod('victim-forbidden')).metadata?.deletionTimestamp).toBeUndefined();
    });

    it('reports a real 403 as failed, not retryable, naming the verb and resource', async () => {
      await createPod('victim-403');
      // An identity without grants, made by impersonation (the admin may impersonate): the
      // shared ClusterRoleBinding stays untouched for the other suites.
      const kc = new KubeConfig();
      kc.loadFromClusterAndUser(admin.getCurrentCluster()!, {
        ...admin.getCurrentUser()!,
        name: 'no-rights',
        impersonateUser: 'gdrr-test-no-rights',
      });
      const result = await containPodIn(request({ target: { podName: 'victim-403' } }), () =>
        Promise.resolve(kc),
      );
      expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
        ['failed', false],
        ['failed', false],
      ]);
      expect(result.outcomes[0]?.detail).toMatch(
        /^get pod .*victim-403: Forbidden: .*User "gdrr-test-no-rights" cannot get resource "pods".*\(missing permission: get pods\)$/,
      );
      expect((await readPod('victim-403')).metadata?.labels?.[QUARANTINE_LABEL]).toBeUndefined();
    });
  },
);
