/** `replay --live`: the same containment as the Lambda, in-process, through a local kubeconfig's current context. */
import type { KubeConfig } from '@kubernetes/client-node';
import { fitContract, homeOfArn, parseContainmentRequest } from '../../shared/containment.js';
import type { ContainmentRequest, ContainmentResult } from '../../shared/contracts.js';
import { fileKubeConfig } from './connect.js';
import { containPodIn } from './contain.js';

/**
 * The kubeconfig's connection and the name of its current cluster. A file that cannot be
 * read fails the connection, so it is reported like any connection that cannot be made.
 */
function readKubeConfig(file: string | undefined): {
  connect: () => Promise<KubeConfig>;
  clusterName?: string;
} {
  try {
    const kc = fileKubeConfig(file);
    return { connect: () => Promise.resolve(kc), clusterName: kc.getCurrentCluster()?.name };
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    return { connect: () => Promise.reject(reason) };
  }
}

export async function containLive(
  request: ContainmentRequest,
  options: { kubeconfig?: string },
): Promise<ContainmentResult> {
  const parsed = parseContainmentRequest(request, 'eks-pod');
  const { connect, clusterName } = readKubeConfig(options.kubeconfig);
  // `aws eks update-kubeconfig` names the cluster by its ARN: then its account and region are
  // known and checked as in Lambda. Another kubeconfig (a local cluster) is not checked.
  return fitContract(await containPodIn(parsed, connect, { home: homeOfArn(clusterName) }));
}
