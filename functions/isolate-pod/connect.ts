/**
 * How isolate-pod reaches a cluster. In Lambda: `eks:DescribeCluster` for the endpoint and
 * CA, and an EKS bearer token minted from the function's own credentials for this
 * invocation, in a KubeConfig built in memory (nothing is written to disk). Locally: a
 * kubeconfig file's current context.
 */
import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { KubeConfig } from '@kubernetes/client-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { mintEksToken } from '../../shared/eks-token.js';

/** The IAM action connecting needs, named when it is denied. */
export const CONNECT_PERMISSION = 'eks:DescribeCluster';

/** The cluster is not in a state the function can reach (no endpoint or CA yet). */
export class ClusterNotReachableError extends Error {
  override readonly name = 'ClusterNotReachableError';
}

/** Where a cluster's API server is and which CA signs its certificate, from DescribeCluster. */
export interface ClusterAccess {
  /** The endpoint's https origin. */
  server: string;
  /** The cluster CA, base64 PEM. */
  caData: string;
}

export interface ClusterRef {
  eks: EKSClient;
  clusterName: string;
  /** The cluster's region: DescribeCluster and the token's STS endpoint both use it. */
  region: string;
}

export interface EksConnection extends ClusterRef {
  /** Defaults to the EKS client's own credentials (the Lambda role). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  now?: Date;
  /** Where endpoint and CA come from: DescribeCluster on every call unless given (a cache). */
  access?: (cluster: ClusterRef) => Promise<ClusterAccess>;
}

/** A KubeConfig for one server, trusting only the given CA (base64 PEM), with a bearer token. */
export function tokenKubeConfig(server: string, caData: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'eks', server, caData, skipTLSVerify: false },
    { name: 'isolate-pod', token },
  );
  return kc;
}

/** DescribeCluster's endpoint, checked to be an https origin (the token must not go elsewhere). */
function serverOf(endpoint: string, clusterName: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ClusterNotReachableError(`cluster ${clusterName} has an endpoint that is not a URL`);
  }
  if (url.protocol !== 'https:') {
    throw new ClusterNotReachableError(`cluster ${clusterName} has a non-https endpoint`);
  }
  return url.origin;
}

/** DescribeCluster: the cluster's endpoint (an https origin) and CA, or why it cannot be reached. */
export async function describeClusterAccess({
  eks,
  clusterName,
}: ClusterRef): Promise<ClusterAccess> {
  const { cluster } = await eks.send(new DescribeClusterCommand({ name: clusterName }));
  const endpoint = cluster?.endpoint;
  const caData = cluster?.certificateAuthority?.data;
  if (!endpoint || !caData) {
    throw new ClusterNotReachableError(
      `cluster ${clusterName} has no ${endpoint ? 'certificate authority' : 'endpoint'} yet (status ${cluster?.status ?? 'unknown'})`,
    );
  }
  return { server: serverOf(endpoint, clusterName), caData };
}

/**
 * DescribeCluster answers kept per region and cluster name for `ttlMs` (warm Lambda
 * invocations then skip that round trip). Only an answer that can be connected to is kept:
 * a failure (denied, throttled, no endpoint yet) is asked again next time. Tokens are never
 * kept: `eksKubeConfig` mints one per call.
 */
export function cachedClusterAccess(options: {
  ttlMs: number;
  now?: () => number;
  describe?: (cluster: ClusterRef) => Promise<ClusterAccess>;
}): (cluster: ClusterRef) => Promise<ClusterAccess> {
  const { ttlMs, now = Date.now, describe = describeClusterAccess } = options;
  const kept = new Map<string, { access: ClusterAccess; until: number }>();
  return async (cluster) => {
    const key = JSON.stringify([cluster.region, cluster.clusterName]);
    const entry = kept.get(key);
    if (entry !== undefined && now() < entry.until) return entry.access;
    kept.delete(key);
    const access = await describe(cluster);
    kept.set(key, { access, until: now() + ttlMs });
    return access;
  };
}

/** Connect to an EKS cluster as the function's IAM identity, with a token minted now. */
export async function eksKubeConfig(connection: EksConnection): Promise<KubeConfig> {
  const { eks, clusterName, region } = connection;
  const { server, caData } = await (connection.access ?? describeClusterAccess)({
    eks,
    clusterName,
    region,
  });
  const source = connection.credentials ?? eks.config.credentials;
  const credentials = typeof source === 'function' ? await source() : source;
  const token = await mintEksToken({ clusterName, region, credentials, now: connection.now });
  return tokenKubeConfig(server, caData, token);
}

/** A kubeconfig file's current context; without a file, the usual places (KUBECONFIG, ~/.kube/config). */
export function fileKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}
