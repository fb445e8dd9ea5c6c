/**
 * What a bundle is made of: rebuilt in memory with the same options and a metafile, bytes
 * per package. The rebuilt text is compared with the measured bundle, which checks that the
 * options here still match scripts/build.ts.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../out-dir.js';
import { productionOptions } from './esbuild-options.js';

export interface PackageShare {
  package: string;
  kb: number;
  share: number;
}

export interface Composition {
  /** True when this rebuild is byte-identical to the measured bundle. */
  sameAsBuildScript: boolean;
  topPackages: PackageShare[];
  /** Every package with code in the bundle. */
  packages: string[];
}

/** `node_modules/@scope/name/...` → `@scope/name`; project files → `(project) shared` etc. */
export function packageOf(inputPath: string): string {
  const parts = inputPath.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at === -1) return `(project) ${parts[0] ?? inputPath}`;
  const first = parts[at + 1] ?? '?';
  return first.startsWith('@') ? `${first}/${parts[at + 2] ?? '?'}` : first;
}

export async function composition(name: string, measuredFile: string): Promise<Composition> {
  const outfile = join(REPO_ROOT, 'bench', 'out', 'composition', name, basename(measuredFile));
  const result = await build({
    ...productionOptions(),
    entryPoints: [join(REPO_ROOT, 'functions', name, 'handler.ts')],
    outfile,
    write: false,
    metafile: true,
  });
  const text = result.outputFiles.find((file) => file.path.endsWith('.mjs'))?.text ?? '';
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const bytesByPackage = new Map<string, number>();
  let total = 0;
  for (const [path, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const key = packageOf(path);
    bytesByPackage.set(key, (bytesByPackage.get(key) ?? 0) + bytesInOutput);
    total += bytesInOutput;
  }
  const topPackages = [...bytesByPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([pkg, bytes]) => ({
      package: pkg,
      kb: Math.round(bytes / 102.4) / 10,
      share: Math.round((bytes / total) * 1000) / 1000,
    }));
  return {
    sameAsBuildScript: text === readFileSync(measuredFile, 'utf8'),
    topPackages,
    packages: [...bytesByPackage.keys()].sort(),
  };
}
