import { describe, expect, it } from 'vitest';
import { mintEksToken } from '../../shared/eks-token.js';

// AWS's documentation example key pair; nothing real.
const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const now = new Date('2024-01-02T03:04:05Z');

// Golden URLs printed by botocore 1.29.27 (`generate_presigned_url('get_caller_identity')`
// with the x-k8s-aws-id header added before signing, as `aws eks get-token` does), for the
// same key, cluster and time: an independent implementation of the same signature.
const BOTOCORE_URL =
  'https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15' +
  '&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
  '&X-Amz-Credential=AKIDEXAMPLE%2F20240102%2Fus-east-1%2Fsts%2Faws4_request' +
  '&X-Amz-Date=20240102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id' +
  '&X-Amz-Signature=b9c52540c7aed8adbc93935c90eca6cf36a27e75841b841bf1c08dffb059c2b5';
const BOTOCORE_URL_WITH_SESSION =
  'https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15' +
  '&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
  '&X-Amz-Credential=AKIDEXAMPLE%2F20240102%2Fus-east-1%2Fsts%2Faws4_request' +
  '&X-Amz-Date=20240102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id' +
  '&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2Ftoken%2Bvalue%3D%3D' +
  '&X-Amz-Signature=b0055da7e3b062af3e87dc1e609a05dd9e5cd7f1d488da160f69a142b60379da';

function decode(token: string): URL {
  return new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
}

describe('mintEksToken', () => {
  it('is k8s-aws-v1. followed by unpadded base64url', async () => {
    const token = await mintEksToken({
      clusterName: 'prod',
      region: 'eu-west-1',
      credentials,
      now,
    });
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    expect(token).not.toContain('=');
  });

  it('presigns STS GetCallerIdentity in the region, signing x-k8s-aws-id, for 60 seconds', async () => {
    const token = await mintEksToken({
      clusterName: 'prod',
      region: 'eu-west-1',
      credentials,
      now,
    });
    const url = decode(token);
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20240102T030405Z');
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Credential')).toBe(
      'AKIDEXAMPLE/20240102/eu-west-1/sts/aws4_request',
    );
  });

  it('is byte-identical to what botocore (aws eks get-token) produces', async () => {
    const plain = await mintEksToken({
      clusterName: 'my-cluster',
      region: 'us-east-1',
      credentials,
      now,
    });
    expect(decode(plain).href).toBe(BOTOCORE_URL);
    const withSession = await mintEksToken({
      clusterName: 'my-cluster',
      region: 'us-east-1',
      credentials: { ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLE/token+value==' },
      now,
    });
    expect(decode(withSession).href).toBe(BOTOCORE_URL_WITH_SESSION);
  });

  it('is deterministic for a fixed time and changes with the cluster name', async () => {
    const input = { clusterName: 'prod', region: 'us-east-1', credentials, now };
    const first = await mintEksToken(input);
    expect(await mintEksToken(input)).toBe(first);
    expect(await mintEksToken({ ...input, clusterName: 'staging' })).not.toBe(first);
  });

  it('refuses a region or cluster name that could change the host or the signed header', async () => {
    await expect(
      mintEksToken({ clusterName: 'prod', region: 'evil.example/x', credentials, now }),
    ).rejects.toThrow(/invalid AWS region/);
    await expect(
      mintEksToken({ clusterName: 'prod\r\nx: y', region: 'us-east-1', credentials, now }),
    ).rejects.toThrow(/invalid EKS cluster name/);
  });
});
