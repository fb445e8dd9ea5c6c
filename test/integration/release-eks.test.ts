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
    const root = join(import.meta.dirname, '..', '..');
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/release.ts',
        'eks',
        `${namespace}/${pod}`,
        '--kubeconfig',
        integrationEnv().KUBECONFIG,
      ],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`released ${namespace}/${pod}`);
    const refused = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/release.ts', 'eks', 'Bad_Name/x'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(refused.status).toBe(2);
  });
});
