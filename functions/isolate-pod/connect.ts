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

export interface EksConnection {
  eks: EKSClient;
  clusterName: string;
  /** The cluster's region: DescribeCluster and the token's STS endpoint both use it. */
  region: string;
  /** Defaults to the EKS client's own credentials (the Lambda role). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  now?: Date;
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

/** Connect to an EKS cluster as the function's IAM identity. */
export async function eksKubeConfig(connection: EksConnection): Promise<KubeConfig> {
  const { eks, clusterName, region } = connection;
  const { cluster } = await eks.send(new DescribeClusterCommand({ name: clusterName }));
  const endpoint = cluster?.endpoint;
  const caData = cluster?.certificateAuthority?.data;
  if (!endpoint || !caData) {
    throw new ClusterNotReachableError(
      `cluster ${clusterName} has no ${endpoint ? 'certificate authority' : 'endpoint'} yet (status ${cluster?.status ?? 'unknown'})`,
    );
  }
  const source = connection.credentials ?? eks.config.credentials;
  const credentials = typeof source === 'function' ? await source() : source;
  const token = await mintEksToken({ clusterName, region, credentials, now: connection.now });
  return tokenKubeConfig(serverOf(endpoint, clusterName), caData, token);
}

/** A kubeconfig file's current context; without a file, the usual places (KUBECONFIG, ~/.kube/config). */
export function fileKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}
