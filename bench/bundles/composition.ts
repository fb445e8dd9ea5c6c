/**
 * What a bundle is made of: rebuilt in memory with the same options and a metafile, bytes
 * per package. The rebuilt text is compared with the measured bundle, which checks that the
 * options here still match scripts/build.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../out-dir.js';
import { bundleOptions } from './esbuild-options.js';
import { inFolder, loadedAtStart } from './loaded-at-start.js';

export interface PackageShare {
  package: string;
  kb: number;
  share: number;
}

export interface Composition {
  /** True when this rebuild is byte-identical to the measured bundle. */
  sameAsBuildScript: boolean;
  topPackages: PackageShare[];
  /** Every package with code a cold start loads. */
  packages: string[];
  /** Packages only in chunks loaded on demand (e.g. optional actions' SDK clients). */
  onDemandPackages: string[];
  /** The measured copy's files a cold start reads (entry and static chunks). */
  startFiles: string[];
}

/** `node_modules/@scope/name/...` → `@scope/name`; project files → `(project) shared` etc. */
export function packageOf(inputPath: string): string {
  const parts = inputPath.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at === -1) return `(project) ${parts[0] ?? inputPath}`;
  const first = parts[at + 1] ?? '?';
  return first.startsWith('@') ? `${first}/${parts[at + 2] ?? '?'}` : first;
}

/**
 * Rebuild (in memory) the bundle `measuredFile` is a copy of, as if into `builtIn`, where
 * it was built: the same options there give the same file and chunk names.
 */
export async function composition(
  name: string,
  measuredFile: string,
  builtIn: string,
): Promise<Composition> {
  const result = await build({
    ...bundleOptions(join(REPO_ROOT, 'functions', name, 'handler.ts'), builtIn),
    write: false,
    metafile: true,
  });
  const entry = join(builtIn, relative(dirname(measuredFile), measuredFile));
  const text = result.outputFiles.find((file) => file.path === entry)?.text ?? '';
  const startOutputs = loadedAtStart(result.metafile, relative(REPO_ROOT, entry));
  const bytesByPackage = new Map<string, number>();
  let total = 0;
  for (const output of startOutputs.map((path) => result.metafile.outputs[path]!)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = packageOf(path);
      bytesByPackage.set(key, (bytesByPackage.get(key) ?? 0) + bytesInOutput);
      total += bytesInOutput;
    }
  }
  const topPackages = [...bytesByPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([pkg, bytes]) => ({
      package: pkg,
      kb: Math.round(bytes / 102.4) / 10,
      share: Math.round((bytes / total) * 1000) / 1000,
    }));
  const onDemand = Object.entries(result.metafile.outputs)
    .filter(([path]) => !startOutputs.includes(path))
    .flatMap(([, output]) => Object.keys(output.inputs).map(packageOf))
    .filter((pkg) => !bytesByPackage.has(pkg));
  return {
    sameAsBuildScript: text === readFileSync(measuredFile, 'utf8'),
    topPackages,
    packages: [...bytesByPackage.keys()].sort(),
    onDemandPackages: [...new Set(onDemand)].sort(),
    startFiles: inFolder(
      startOutputs.map((path) => join(REPO_ROOT, path)),
      builtIn,
      dirname(measuredFile),
    ),
  };
}
