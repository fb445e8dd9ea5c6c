/**
 * The bearer token an EKS API server accepts from an IAM principal: a presigned STS
 * GetCallerIdentity URL that also signs the cluster name, the same token `aws eks get-token`
 * prints.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, QueryParameterBag } from '@smithy/types';
import { EKS_CLUSTER_NAME, REGION } from './identifiers.js';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
export const EKS_CLUSTER_ID_HEADER = 'x-k8s-aws-id';
export const EKS_TOKEN_EXPIRY_SECONDS = 60;

/** What `mintEksToken` needs; `now` fixes the signing time (tests, replay). */
export interface MintEksTokenInput {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  now?: Date;
}

/** Mints `k8s-aws-v1.<base64url(presigned STS URL)>` for one cluster, valid for 60 seconds. */
export async function mintEksToken(input: MintEksTokenInput): Promise<string> {
  // Both values end up in a host name or a signed header: refuse anything unexpected.
  if (!REGION.test(input.region)) throw new Error(`invalid AWS region: ${input.region}`);
  if (!EKS_CLUSTER_NAME.test(input.clusterName)) {
    throw new Error(`invalid EKS cluster name: ${input.clusterName}`);
  }
  const hostname = `sts.${input.region}.amazonaws.com`;
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [EKS_CLUSTER_ID_HEADER]: input.clusterName },
    },
    { expiresIn: EKS_TOKEN_EXPIRY_SECONDS, signingDate: input.now ?? new Date() },
  );
  const url = `https://${hostname}/?${formatQuery(presigned.query)}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

// The order botocore writes, so the token is byte-identical to `aws eks get-token`.
const QUERY_ORDER = [
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
];

function formatQuery(query: QueryParameterBag = {}): string {
  const rank = (name: string) => {
    const index = QUERY_ORDER.indexOf(name);
    return index === -1 ? QUERY_ORDER.length : index;
  };
  const names = Object.keys(query).sort((a, b) => rank(a) - rank(b));
  const pairs: string[] = [];
  for (const name of names) {
    const value = query[name];
    for (const single of Array.isArray(value) ? value : [value ?? '']) {
      pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(single)}`);
    }
  }
  return pairs.join('&');
}
