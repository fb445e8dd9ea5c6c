/**
 * Peak memory of finding a pod by container id (issue 13, class 4): 100 pods of about 1 MB
 * each (a large annotation and large env values: annotations alone may not exceed 256 KB)
 * in one namespace, against an empty namespace. Each lookup runs in a fresh `node` process
 * (`child.ts`), whose peak RSS above its own baseline is the figure; the pod the finding
 * names is the last one listed, so every page is read.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { REPO_ROOT } from '../out-dir.js';
import { benchEnv, uniqueName, type BenchEnv } from '../critical-path/testenv.js';
import { check, type Measurement } from '../report.js';
import { summarize } from '../stats.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

const PODS = 100;
const KB = 1024;
const MB = 1024 * KB;
/** A pod of about 1 MB: 200 KB of annotation (the limit is 256 KB) and 4 × 200 KB of env. */
const ANNOTATION_BYTES = 200 * KB;
const ENV_VALUES = 4;
const ENV_BYTES = 200 * KB;
const RUNS = 3;
const TARGET_MB = 64;
const TARGET = `pod lookup by container id, ${PODS} pods of ~1 MB vs an empty namespace: peak RSS difference < ${TARGET_MB} MB`;

const containerId = (i: number) => i.toString(16).padStart(64, '0');
/** The finding's container: the last pod's, so the lookup reads every page. */
const WANTED = containerId(PODS);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function createBigPod(core: CoreV1Api, namespace: string, node: string, i: number) {
  const name = `pod-${String(i).padStart(3, '0')}`;
  const filler = (bytes: number) => 'x'.repeat(bytes);
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, annotations: { 'bench.gdrr/filler': filler(ANNOTATION_BYTES) } },
      spec: {
        nodeName: node,
        containers: [
          {
            name: 'app',
            image: 'registry.invalid/app:1',
            env: Array.from({ length: ENV_VALUES }, (_, k) => ({
              name: `FILLER_${k}`,
              value: filler(ENV_BYTES),
            })),
          },
        ],
      },
    },
  });
  await core.patchNamespacedPodStatus(
    {
      name,
      namespace,
      body: {
        status: {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'app',
              containerID: `containerd://${containerId(i)}`,
              image: 'registry.invalid/app:1',
              imageID: '',
              ready: true,
              restartCount: 0,
            },
          ],
        },
      },
    },
    mergePatch,
  );
}

interface ChildFigures {
  baselineKb: number;
  peakKb: number;
  kind: string;
}

/** One lookup in a fresh process: its peak RSS above the RSS it had just before the lookup. */
async function lookupOnce(
  env: BenchEnv,
  namespace: string,
  warmup: string,
  module?: string,
): Promise<ChildFigures> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', CHILD, ...(module ? [module] : [])],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KUBECONFIG: env.KUBECONFIG,
        GDRR_LOOKUP_NAMESPACE: namespace,
        GDRR_LOOKUP_WARMUP: warmup,
        GDRR_LOOKUP_CONTAINER_ID: WANTED,
      },
      maxBuffer: MB,
    },
  );
  return JSON.parse(stdout) as ChildFigures;
}

const aboveBaselineMb = (f: ChildFigures) => Math.max(0, f.peakKb - f.baselineKb) / KB;

async function withNamespaces<T>(
  core: CoreV1Api,
  body: (full: string, empty: string) => Promise<T>,
): Promise<T> {
  const full = uniqueName('gdrr-bench-lookup');
  const empty = uniqueName('gdrr-bench-lookup-empty');
  const node = uniqueName('gdrr-bench-lookup-node');
  for (const name of [full, empty]) await core.createNamespace({ body: { metadata: { name } } });
  await core.createNode({ body: { metadata: { name: node } } });
  try {
    // A few at a time: each is a 1 MB write to etcd.
    for (let i = 1; i <= PODS; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, PODS - i + 1) }, (_, k) =>
          createBigPod(core, full, node, i + k),
        ),
      );
    }
    return await body(full, empty);
  } finally {
    // No namespace controller runs in the test environment: the pods are deleted one by one.
    await core.deleteCollectionNamespacedPod({ namespace: full, gracePeriodSeconds: 0 });
    await core.deleteNode({ name: node });
  }
}

export const podLookupMeasurement: Measurement = {
  id: 'pod-lookup',
  title: `Pod lookup by container id: peak RSS, ${PODS} pods of ~1 MB vs an empty namespace`,
  targets: [TARGET],
  async run() {
    const env = await benchEnv();
    const admin = new KubeConfig();
    admin.loadFromFile(env.KUBECONFIG);
    const core = admin.makeApiClient(CoreV1Api);
    const samples = await withNamespaces(core, async (full, empty) => {
      const taken: { full: ChildFigures[]; empty: ChildFigures[] } = { full: [], empty: [] };
      // Interleaved, so a busy moment on the machine does not land on one case only.
      for (let i = 0; i < RUNS; i += 1) {
        taken.full.push(await lookupOnce(env, full, empty));
        taken.empty.push(await lookupOnce(env, empty, empty));
      }
      return taken;
    });
    const kinds = [...new Set(samples.full.map((s) => s.kind))];
    if (kinds.join() !== 'found')
      throw new Error(`the lookup in the full namespace ended ${kinds.join(', ')}`);
    const full = summarize(samples.full.map(aboveBaselineMb));
    const empty = summarize(samples.empty.map(aboveBaselineMb));
    const difference = full.median - empty.median;
    const mb = (value: number) => `${value.toFixed(1)} MB`;
    return {
      data: {
        pods: PODS,
        podBytes: ANNOTATION_BYTES + ENV_VALUES * ENV_BYTES,
        runs: RUNS,
        full,
        empty,
        differenceMb: difference,
        samples,
      },
      targets: [
        check(
          TARGET,
          `${mb(difference)} (${mb(full.median)} vs ${mb(empty.median)})`,
          difference < TARGET_MB,
        ),
      ],
      summary: [
        `- peak RSS above baseline, median of ${RUNS} fresh processes: ${PODS} pods of ~1 MB ${mb(full.median)}, empty namespace ${mb(empty.median)}, difference ${mb(difference)}`,
      ],
    };
  },
};
