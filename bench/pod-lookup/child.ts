/**
 * One pod lookup in a fresh process, for its peak memory: `findPod` by container id in
 * `GDRR_LOOKUP_NAMESPACE`, after a warm-up lookup in `GDRR_LOOKUP_WARMUP` (so code loading,
 * the TLS session and the client's first-call costs are in the baseline, not the figure).
 * Prints `{ baselineKb, peakKb, kind }`: RSS before the measured lookup, and the process's
 * peak RSS (`maxRSS`, which only grows) after it.
 *
 * argv[2]: the find-pod module to measure (default: the current one), so an older
 * implementation can be measured the same way.
 */
import { pathToFileURL } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { findPod as FindPod } from '../../functions/isolate-pod/find-pod.js';
import { kubeClients } from '../../functions/isolate-pod/kube.js';

const modulePath = process.argv[2];
const { findPod } = (await import(
  modulePath ? pathToFileURL(modulePath).href : '../../functions/isolate-pod/find-pod.js'
)) as { findPod: typeof FindPod };

const env = (key: string): string => {
  const value = process.env[key];
  if (!value) throw new Error(`${key} is not set`);
  return value;
};

const kc = new KubeConfig();
kc.loadFromFile(env('KUBECONFIG'));
const kube = kubeClients(kc);
const target = (namespace: string) => ({
  surface: 'eks-pod' as const,
  clusterName: 'bench',
  namespace,
  containerIds: [env('GDRR_LOOKUP_CONTAINER_ID')],
});

await findPod(kube, target(env('GDRR_LOOKUP_WARMUP')));
// Started with --expose-gc: what the warm-up left behind is not counted against the lookup.
globalThis.gc?.();
const baselineKb = Math.round(process.memoryUsage().rss / 1024);
const lookup = await findPod(kube, target(env('GDRR_LOOKUP_NAMESPACE')));
const peakKb = process.resourceUsage().maxRSS;
process.stdout.write(JSON.stringify({ baselineKb, peakKb, kind: lookup.kind }));
