/**
 * `eks:cordon-node`: mark the pod's node unschedulable when the host may be compromised,
 * within a per-cluster budget so a burst of findings can never cordon the whole cluster.
 */
import type { V1Node } from '@kubernetes/client-node';
import { outcome } from '../../shared/containment.js';
import { CORDONED_LABEL, FINDING_ANNOTATION } from '../../shared/labels.js';
import { cleanText } from '../../shared/sanitize.js';
import { podRef, type FoundPod } from './find-pod.js';
import { MERGE_PATCH, isNotFound, type KubeClients } from './kube.js';
import {
  NOTHING_TO_UNDO,
  kubeFailed,
  only,
  settled,
  undoneBy,
  type Plan,
  type StepResult,
} from './plan.js';
import { uncordonNode } from './release.js';

const ACTION = 'eks:cordon-node';

/** Label selector for the nodes the responder cordoned. */
export const CORDONED_SELECTOR = `${CORDONED_LABEL}=true`;

/** The merge patch; `metadata.uid` keeps it from landing on a node recreated under that name. */
export function cordonPatch(node: V1Node, findingId: string) {
  return {
    metadata: {
      uid: node.metadata?.uid,
      labels: { [CORDONED_LABEL]: 'true' },
      annotations: { [FINDING_ANNOTATION]: findingId },
    },
    spec: { unschedulable: true },
  };
}

const cordonNote = (node: string) =>
  `node ${node} is cordoned: nothing new is scheduled there, but the pods already on it keep running (drain it to move them)`;

async function readNode(kube: KubeClients, name: string): Promise<V1Node | null | StepResult> {
  try {
    return await kube.core.readNode({ name });
  } catch (error) {
    if (isNotFound(error)) return null;
    return only(kubeFailed(ACTION, `get node ${cleanText(name)}`, error, 'readNode'));
  }
}

async function countCordoned(kube: KubeClients): Promise<number | StepResult> {
  let count = 0;
  let page: string | undefined;
  try {
    do {
      const list = await kube.core.listNode({
        labelSelector: CORDONED_SELECTOR,
        limit: 500,
        _continue: page,
      });
      count += list.items.length;
      page = list.metadata?._continue || undefined;
    } while (page !== undefined);
  } catch (error) {
    return only(kubeFailed(ACTION, `list nodes labelled ${CORDONED_SELECTOR}`, error, 'listNode'));
  }
  return count;
}

/**
 * Plan the cordon: skip when the pod has no node or the budget is spent, nothing to do
 * when the node is already unschedulable, else one merge patch. The node and the count of
 * nodes the responder cordoned are read together (the count is then not needed when the
 * node turns out to be gone or unschedulable, and is not looked at: a failed count changes
 * nothing then); the patch follows both reads at once, so the count is as fresh as before.
 */
export async function planCordon(
  kube: KubeClients,
  found: FoundPod,
  findingId: string,
  budget: number,
): Promise<Plan> {
  const nodeName = found.pod.spec?.nodeName;
  if (!nodeName) {
    return settled(outcome(ACTION, 'skipped', `pod ${podRef(found)} is not scheduled on a node`));
  }
  const node = cleanText(nodeName, 'name');
  const [read, cordoned] = await Promise.all([readNode(kube, nodeName), countCordoned(kube)]);
  if (read === null) return settled(outcome(ACTION, 'skipped', `node ${node} no longer exists`));
  if ('outcome' in read) return settled(read);

  const ours = read.metadata?.labels?.[CORDONED_LABEL] === 'true';
  if (read.spec?.unschedulable === true) {
    return settled(
      undoneBy(
        outcome(
          ACTION,
          'already-contained',
          `node ${node} is already cordoned${ours ? ' by the responder' : ' (not by the responder: release leaves it cordoned)'}`,
          { node },
        ),
        // Uncordoning a node someone else cordoned would undo their decision.
        ours ? uncordonNode(nodeName) : NOTHING_TO_UNDO,
      ),
    );
  }
  if (typeof cordoned !== 'number') return settled(cordoned);
  if (cordoned >= budget) {
    return settled(
      outcome(
        ACTION,
        'skipped',
        `cordon budget of ${budget} nodes per cluster reached (${cordoned} nodes carry ${CORDONED_SELECTOR}): node ${node} left schedulable`,
        { node, cordonedNodes: cordoned, budget },
      ),
    );
  }
  return {
    kind: 'write',
    intent: `cordon node ${node} (${cordoned + 1} of at most ${budget} nodes cordoned by the responder)`,
    run: async (): Promise<StepResult> => {
      try {
        await kube.core.patchNode(
          { name: nodeName, body: cordonPatch(read, findingId) },
          MERGE_PATCH,
        );
      } catch (error) {
        return only(kubeFailed(ACTION, `patch node ${node}`, error, 'patchNode'));
      }
      return undoneBy(
        outcome(ACTION, 'contained', `cordoned node ${node}`, {
          node,
          cordonedNodes: cordoned + 1,
          budget,
        }),
        uncordonNode(nodeName),
        [cordonNote(node)],
      );
    },
  };
}
