/**
 * isolate-pod Lambda: the composition root. The router's ContainmentRequest in, one
 * outcome per action out. Connects to the finding's cluster with DescribeCluster (its
 * answer kept a few minutes per cluster, for warm invocations) and an EKS token minted for
 * this invocation.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { EKSClient } from '@aws-sdk/client-eks';
import type { Context } from 'aws-lambda';
import { fitContract, homeOfArn, parseContainmentRequest } from '../../shared/containment.js';
import type { ContainmentResult } from '../../shared/contracts.js';
import { CONNECT_PERMISSION, cachedClusterAccess, eksKubeConfig } from './connect.js';
import { containPodIn } from './contain.js';

const SERVICE = 'guardduty-runtime-responder-isolate-pod';
const logger = new Logger({ serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });

/** SDK retries (throttling, 5xx) before DescribeCluster is reported as failed and retryable. */
const MAX_ATTEMPTS = 4;

/**
 * How long a DescribeCluster answer (endpoint, CA) is reused. An EKS cluster's endpoint and
 * CA do not change during its life; a cluster deleted and re-created under the same name
 * takes longer than this to become reachable, so a kept answer is never one for a cluster
 * that is gone.
 */
const CLUSTER_ACCESS_TTL_MS = 5 * 60_000;

const eksClients = new Map<string, EKSClient>();
const clusterAccess = cachedClusterAccess({ ttlMs: CLUSTER_ACCESS_TTL_MS });

/** One EKS client per region (the finding's cluster may be in another region than the function). */
function eksClient(region: string): EKSClient {
  let client = eksClients.get(region);
  if (client === undefined) {
    client = tracer.captureAWSv3Client(new EKSClient({ region, maxAttempts: MAX_ATTEMPTS }));
    eksClients.set(region, client);
  }
  return client;
}

/**
 * Contain: the router's ContainmentRequest in, one outcome per action out. The function's
 * own ARN says which account and region it may act in.
 */
export async function handler(
  event: unknown,
  context: Pick<Context, 'invokedFunctionArn'> | undefined,
): Promise<ContainmentResult> {
  const request = parseContainmentRequest(event, 'eks-pod');
  const { clusterName, namespace } = request.target;
  logger.appendKeys({ findingId: request.findingId, clusterName, namespace });
  try {
    const result = await containPodIn(
      request,
      // A fresh token per invocation: it is valid for 60 seconds only.
      () =>
        eksKubeConfig({
          eks: eksClient(request.region),
          clusterName,
          region: request.region,
          access: clusterAccess,
        }),
      {
        permission: CONNECT_PERMISSION,
        // Without a context (never in Lambda) where it runs is unknown: it acts on nothing.
        home: homeOfArn(context?.invokedFunctionArn) ?? 'unknown',
      },
    );
    logger.info('containment finished', {
      outcomes: result.outcomes.map(({ action, status, detail }) => ({ action, status, detail })),
    });
    return fitContract(result);
  } finally {
    logger.resetKeys();
  }
}
