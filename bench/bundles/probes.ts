/**
 * Bundles built to explain cold import: the baseline alone, and the baseline plus one
 * dependency (the exports a function uses from it). A probe's import time minus the
 * baseline's is that dependency's share of a function's cold start.
 */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_ENTRY } from '../../scripts/bundle-options.js';
import { OUT_DIR, REPO_ROOT } from '../out-dir.js';
import { bundleOptions } from './esbuild-options.js';
import { loadedAtStart } from './loaded-at-start.js';

export const BASELINE = 'baseline (Powertools logger + tracer)';

export interface Probe {
  name: string;
  /** Module source appended to the baseline entry. */
  exports: string;
}

export const PROBES: readonly Probe[] = [
  {
    name: '@aws-sdk/client-lambda',
    exports: "export { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';",
  },
  {
    name: '@aws-sdk/client-sns',
    exports: "export { SNSClient, PublishCommand } from '@aws-sdk/client-sns';",
  },
  {
    name: '@aws-sdk/client-dynamodb',
    exports: "export { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';",
  },
  {
    name: '@aws-lambda-powertools/metrics',
    exports: "export { Metrics } from '@aws-lambda-powertools/metrics';",
  },
  {
    // zod's cost is mostly building the schemas, so the probe builds the project's own
    // (zod/mini tree-shakes: exporting a namespace would keep all of it, used or not).
    name: 'zod',
    exports: [
      "export { EnvelopeSchema, WireFindingSchema } from './shared/finding-schema.ts';",
      "export { ContainmentRequestSchema, ContainmentResultSchema } from './shared/contracts.ts';",
      "export { PolicySchema } from './shared/policy.ts';",
    ].join('\n'),
  },
  {
    name: 'he',
    exports: "import he from 'he';\nexport { he };",
  },
  {
    name: '@smithy/signature-v4',
    exports:
      "export { SignatureV4 } from '@smithy/signature-v4';\nexport { Hash } from '@smithy/hash-node';",
  },
  {
    name: '@aws-sdk/client-ec2',
    exports: "export { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';",
  },
  {
    name: '@aws-sdk/client-auto-scaling',
    exports: "export { AutoScalingClient } from '@aws-sdk/client-auto-scaling';",
  },
  {
    name: '@aws-sdk/client-elastic-load-balancing-v2',
    exports:
      "export { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';",
  },
  {
    name: '@aws-sdk/client-ecs',
    exports: "export { ECSClient, DescribeTasksCommand } from '@aws-sdk/client-ecs';",
  },
  {
    name: '@aws-sdk/client-eks',
    exports: "export { EKSClient, DescribeClusterCommand } from '@aws-sdk/client-eks';",
  },
  {
    name: '@kubernetes/client-node',
    exports:
      "export { KubeConfig, CoreV1Api, NetworkingV1Api, AppsV1Api } from '@kubernetes/client-node';",
  },
];

const slug = (name: string) => name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');

/** A probe's bundle folder: the file to import and the files a cold start reads. */
export interface ProbeBundle {
  file: string;
  startFiles: string[];
}

async function buildEntry(name: string, contents: string): Promise<ProbeBundle> {
  const dir = join(OUT_DIR, 'probes', slug(name));
  rmSync(dir, { recursive: true, force: true });
  const { metafile } = await build({
    ...bundleOptions('', dir),
    entryPoints: undefined,
    stdin: { contents, resolveDir: REPO_ROOT, sourcefile: `${slug(name)}.ts`, loader: 'ts' },
    metafile: true,
  });
  const file = join(dir, BUNDLE_ENTRY);
  const startFiles = loadedAtStart(metafile, relative(REPO_ROOT, file)).map((path) =>
    join(REPO_ROOT, path),
  );
  return { file, startFiles };
}

const baselineSource = "export * from './bench/bundles/baseline-entry.ts';\n";

export const allDependenciesOf = (fn: string) => `all probed dependencies of ${fn}`;

/**
 * Build the baseline, every probe, and per function one bundle with all of its probed
 * dependencies (no project code) into bench/out/probes/; returns name → file.
 */
export async function buildProbes(
  packagesByFunction: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<Map<string, ProbeBundle>> {
  const files = new Map<string, ProbeBundle>();
  files.set(BASELINE, await buildEntry('baseline', baselineSource));
  for (const probe of PROBES) {
    files.set(probe.name, await buildEntry(probe.name, `${baselineSource}${probe.exports}\n`));
  }
  for (const [fn, packages] of packagesByFunction) {
    const exports = PROBES.filter((probe) => packages.has(probe.name)).map((p) => p.exports);
    const name = allDependenciesOf(fn);
    files.set(name, await buildEntry(name, [baselineSource, ...exports].join('\n')));
  }
  return files;
}
