/** `replay --live`: the same containment as the Lambda, in-process, through a local kubeconfig's current context. */
import { parseContainmentRequest, fitContract } from '../../shared/containment.js';
import type { ContainmentRequest, ContainmentResult } from '../../shared/contracts.js';
import { fileKubeConfig } from './connect.js';
import { containPodIn } from './contain.js';

export async function containLive(
  request: ContainmentRequest,
  options: { kubeconfig?: string },
): Promise<ContainmentResult> {
  const parsed = parseContainmentRequest(request, 'eks-pod');
  return fitContract(
    await containPodIn(parsed, () => Promise.resolve(fileKubeConfig(options.kubeconfig))),
  );
}
