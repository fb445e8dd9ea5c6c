/**
 * isolate-pod's connect step: DescribeCluster's endpoint and CA, and an EKS token minted
 * from the function's own credentials, in a KubeConfig built in memory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeClusterCommand, EKSClient, type Cluster } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mintEksToken } from '../../shared/eks-token.js';
import { ContainmentResultSchema } from '../../shared/contracts.js';
import {
  cachedClusterAccess,
  eksKubeConfig,
  fileKubeConfig,
} from '../../functions/isolate-pod/connect.js';
import { handler } from '../../functions/isolate-pod/handler.js';
import { containLive } from '../../functions/isolate-pod/live.js';

const ENDPOINT = 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com';
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBdummyCAforTests\n-----END CERTIFICATE-----\n';
const CA_DATA = Buffer.from(CA_PEM).toString('base64');
const CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const NOW = new Date('2026-11-21T10:00:00Z');

const eksMock = mockClient(EKSClient);
beforeEach(() => {
  eksMock.reset();
});

const eks = () => new EKSClient({ region: 'eu-west-1', credentials: CREDENTIALS });

describe('eksKubeConfig', () => {
  it("uses DescribeCluster's endpoint and CA and a k8s-aws-v1 token from the client's credentials", async () => {
    eksMock.on(DescribeClusterCommand, { name: 'prod-eks' }).resolves({
      cluster: { endpoint: ENDPOINT, certificateAuthority: { data: CA_DATA }, status: 'ACTIVE' },
    });
    const kc = await eksKubeConfig({
      eks: eks(),
      clusterName: 'prod-eks',
      region: 'eu-west-1',
      now: NOW,
    });

    expect(eksMock.commandCalls(DescribeClusterCommand).map((c) => c.args[0].input)).toEqual([
      { name: 'prod-eks' },
    ]);
    expect(kc.getCurrentCluster()).toMatchObject({
      server: new URL(ENDPOINT).origin,
      caData: CA_DATA,
      skipTLSVerify: false,
    });
    const token = kc.getCurrentUser()?.token ?? '';
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    // The same token `mintEksToken` (byte-identical to `aws eks get-token`) gives for this cluster.
    expect(token).toBe(
      await mintEksToken({
        clusterName: 'prod-eks',
        region: 'eu-west-1',
        credentials: CREDENTIALS,
        now: NOW,
      }),
    );
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIAIOSFODNN7EXAMPLE\/20261121\/eu-west-1\/sts\//,
    );

    // What client-node will send: the bearer token, and only the cluster CA trusted.
    const options: RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    expect(options.headers).toMatchObject({ Authorization: `Bearer ${token}` });
    expect(String(options.ca)).toBe(CA_PEM);
  });

  it('prefers explicitly given credentials (a provider) over the client default', async () => {
    eksMock
      .on(DescribeClusterCommand)
      .resolves({ cluster: { endpoint: ENDPOINT, certificateAuthority: { data: CA_DATA } } });
    const other = { accessKeyId: 'AKIAOTHERKEY00000001', secretAccessKey: 'x'.repeat(40) };
    const kc = await eksKubeConfig({
      eks: eks(),
      clusterName: 'prod-eks',
      region: 'eu-west-1',
      credentials: () => Promise.resolve(other),
      now: NOW,
    });
    const url = Buffer.from((kc.getCurrentUser()?.token ?? '').slice(11), 'base64url').toString();
    expect(url).toContain('AKIAOTHERKEY00000001');
  });

  it.each<[Cluster, RegExp]>([
    [{ status: 'CREATING' }, /has no endpoint yet \(status CREATING\)/],
    [{ endpoint: ENDPOINT, status: 'ACTIVE' }, /has no certificate authority yet/],
    [
      { endpoint: 'http://cluster.example', certificateAuthority: { data: CA_DATA } },
      /non-https endpoint/,
    ],
  ])('refuses a cluster it cannot trust or reach: %j', async (cluster, message) => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster });
    await expect(
      eksKubeConfig({ eks: eks(), clusterName: 'prod-eks', region: 'eu-west-1' }),
    ).rejects.toThrow(message);
  });

  it('a kept DescribeCluster answer: per region and cluster, for the TTL only, failures never kept; tokens always fresh', async () => {
    eksMock
      .on(DescribeClusterCommand)
      .resolves({ cluster: { endpoint: ENDPOINT, certificateAuthority: { data: CA_DATA } } });
    let clock = 1_000_000;
    const access = cachedClusterAccess({ ttlMs: 60_000, now: () => clock });
    const connect = (clusterName: string, region = 'eu-west-1', now = NOW) =>
      eksKubeConfig({ eks: eks(), clusterName, region, now, access });
    const describes = () =>
      eksMock.commandCalls(DescribeClusterCommand).map((c) => c.args[0].input.name);

    const first = await connect('prod-eks');
    const second = await connect('prod-eks', 'eu-west-1', new Date(NOW.getTime() + 1000));
    expect(describes()).toEqual(['prod-eks']);
    expect(second.getCurrentCluster()).toMatchObject({
      server: new URL(ENDPOINT).origin,
      caData: CA_DATA,
    });
    // A token minted for this call, not kept with the answer.
    expect(second.getCurrentUser()?.token).not.toBe(first.getCurrentUser()?.token);

    await connect('other-eks');
    await connect('prod-eks', 'us-east-1');
    expect(describes()).toEqual(['prod-eks', 'other-eks', 'prod-eks']);

    clock += 60_000;
    await connect('prod-eks');
    expect(describes()).toEqual(['prod-eks', 'other-eks', 'prod-eks', 'prod-eks']);

    eksMock.reset();
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { status: 'CREATING' } });
    await expect(connect('new-eks')).rejects.toThrow(/has no endpoint yet/);
    eksMock
      .on(DescribeClusterCommand)
      .resolves({ cluster: { endpoint: ENDPOINT, certificateAuthority: { data: CA_DATA } } });
    await connect('new-eks');
    expect(describes()).toEqual(['new-eks', 'new-eks']);
  });

  it('a local kubeconfig file: its current context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isolate-pod-'));
    const file = join(dir, 'config');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: a, cluster: {server: "https://a.example"}}, {name: b, cluster: {server: "https://b.example"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: ca, context: {cluster: a, user: u}}, {name: cb, context: {cluster: b, user: u}}]',
        'current-context: cb',
      ].join('\n'),
    );
    try {
      expect(fileKubeConfig(file).getCurrentCluster()?.server).toBe('https://b.example');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('handler (Lambda composition root)', () => {
  const LAMBDA_CONTEXT = {
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:isolate-pod',
  };
  const event = {
    version: 1,
    findingId: 'c'.repeat(32),
    findingType: 'Execution:Runtime/ReverseShell',
    severity: 8,
    accountId: '123456789012',
    region: 'us-east-1',
    target: {
      surface: 'eks-pod',
      clusterName: 'prod-eks',
      namespace: 'payments',
      podName: 'web-1',
      containerIds: [],
    },
    actions: ['eks:label-pod', 'eks:isolate-pod-network'],
    hostCompromise: false,
    dryRun: false,
    exemptionKey: 'guardduty-responder/exempt',
    eks: { allowDnsEgress: false, maxCordonedNodes: 3, protectedNamespaces: ['kube-system'] },
  };
  beforeEach(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', CREDENTIALS.secretAccessKey);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('DescribeCluster denied: every action failed, not retryable, naming eks:DescribeCluster', async () => {
    eksMock.on(DescribeClusterCommand).rejects(
      Object.assign(
        new Error(
          'User: arn:aws:sts::123456789012:assumed-role/r/f is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:123456789012:cluster/prod-eks',
        ),
        {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 403 },
        },
      ),
    );
    const result = await handler(event, LAMBDA_CONTEXT);
    expect(
      ContainmentResultSchema.parse(result).outcomes.map((o) => [o.status, o.retryable]),
    ).toEqual([
      ['failed', false],
      ['failed', false],
    ]);
    expect(result.outcomes[0]?.detail).toMatch(
      /^connect to cluster prod-eks: AccessDeniedException: .*\(missing permission: eks:DescribeCluster\)$/,
    );
  });

  it('a protected namespace: skipped without calling AWS', async () => {
    const result = await handler(
      { ...event, target: { ...event.target, namespace: 'kube-system' } },
      LAMBDA_CONTEXT,
    );
    expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped']);
    expect(eksMock.calls()).toHaveLength(0);
  });

  it.each([
    ['another account', { accountId: '210987654321' }, /account 210987654321, region us-east-1/],
    ['another region', { region: 'eu-west-1' }, /account 123456789012, region eu-west-1/],
  ])(
    'a finding from %s: every action skipped, naming both places, without calling AWS',
    async (_, elsewhere, finding) => {
      const result = await handler({ ...event, ...elsewhere }, LAMBDA_CONTEXT);
      expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped']);
      for (const { detail } of result.outcomes) {
        expect(detail).toMatch(finding);
        expect(detail).toMatch(
          /this function runs in account 123456789012, region us-east-1 and acts only there/,
        );
      }
      expect(eksMock.calls()).toHaveLength(0);
    },
  );

  it('an invocation ARN it cannot read: refuses rather than guess where it runs', async () => {
    const result = await handler(event, { invokedFunctionArn: 'not-an-arn' });
    expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped']);
    expect(result.outcomes[0]?.detail).toMatch(/cannot tell which account and region it runs in/);
    expect(eksMock.calls()).toHaveLength(0);
  });

  it('replay --live through a kubeconfig naming its cluster by EKS ARN: the same refusal for another account', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isolate-pod-'));
    const file = join(dir, 'config');
    // Port 1: were the refusal missing, the pod read would fail with ECONNREFUSED instead.
    const arn = 'arn:aws:eks:us-east-1:210987654321:cluster/prod-eks';
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: "${arn}", cluster: {server: "https://127.0.0.1:1"}}]`,
        'users: [{name: u, user: {token: t}}]',
        `contexts: [{name: c, context: {cluster: "${arn}", user: u}}]`,
        'current-context: c',
      ].join('\n'),
    );
    try {
      const result = await containLive({ ...event } as never, { kubeconfig: file });
      expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped']);
      expect(result.outcomes[0]?.detail).toMatch(/runs in account 210987654321, region us-east-1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warm invocations for the same cluster describe it once (the token is minted each time)', async () => {
    // Nothing listens on port 1: the Kubernetes calls fail at once, after connecting.
    eksMock.on(DescribeClusterCommand).resolves({
      cluster: { endpoint: 'https://127.0.0.1:1', certificateAuthority: { data: CA_DATA } },
    });
    const warm = { ...event, target: { ...event.target, clusterName: 'warm-eks' } };
    for (let i = 0; i < 2; i += 1) {
      const result = await handler(warm, LAMBDA_CONTEXT);
      expect(result.outcomes.map((o) => [o.status, o.retryable])).toEqual([
        ['failed', true],
        ['failed', true],
      ]);
      expect(result.outcomes[0]?.detail).toMatch(/^get pod payments\/web-1: .*ECONNREFUSED/);
    }
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(1);
  });

  it('refuses a request for another surface', async () => {
    await expect(
      handler(
        { ...event, target: { surface: 'ec2-instance', instanceId: 'i-0123456789abcdef0' } },
        LAMBDA_CONTEXT,
      ),
    ).rejects.toThrow(/this function contains eks-pod targets/);
  });
});
