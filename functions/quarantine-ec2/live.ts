/** `replay --live`: the same containment as the Lambda, in-process, with the default credential chain. */
import { parseContainmentRequest, fitContract } from '../../shared/containment.js';
import type { ContainmentRequest, ContainmentResult } from '../../shared/contracts.js';
import { containInstance } from './contain.js';
import { ec2Deps } from './handler.js';

export async function containLive(
  request: ContainmentRequest,
  _options: { kubeconfig?: string },
): Promise<ContainmentResult> {
  const parsed = parseContainmentRequest(request, 'ec2-instance');
  return fitContract(await containInstance(parsed, ec2Deps(parsed.region)));
}
