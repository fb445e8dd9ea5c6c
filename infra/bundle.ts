/**
 * A function's code asset is the bundle `scripts/build.ts` makes, with the same production
 * options (`scripts/bundle-options.ts`), so what the benchmark measures is what deploys.
 * NodejsFunction cannot make it: it drives esbuild's command line, which takes no plugins,
 * and the production options carry one (`scripts/sdk-schema-keys.ts`).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

export interface FunctionCodeOptions {
  /** Repository root: the build script runs there. */
  root: string;
  /** Folder under functions/ holding handler.ts. */
  name: string;
  /** Files copied beside the bundle: source path → name in the bundle folder. */
  extraFiles?: Readonly<Record<string, string>>;
}

/** The handler setting for every bundle: `index.mjs`, export `handler`. */
export const BUNDLE_HANDLER = 'index.handler';

/**
 * Where bundles are built before they are copied into CDK's staging folder. Chunk names
 * hash the source map, whose paths are relative to the output folder: building at a fixed
 * depth under the repository keeps a bundle's bytes, and so the asset hash, the same
 * whatever folder CDK stages into (another `-o`, a Stage's nested assembly).
 */
const BUILD_CACHE = join('node_modules', '.cache', 'gdrr-bundles');

/**
 * Build one function into `outputDir` and copy its extra files there (no shell: any file
 * name is only a name). Throws with the build's own output when it fails.
 */
export function bundleFunction(
  { root, name, extraFiles = {} }: FunctionCodeOptions,
  outputDir: string,
): void {
  mkdirSync(join(root, BUILD_CACHE), { recursive: true });
  const work = mkdtempSync(join(root, BUILD_CACHE, 'build-'));
  try {
    const built = join(work, name);
    try {
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(root, 'scripts', 'build.ts'),
          '--function',
          name,
          '--outdir',
          built,
        ],
        { cwd: root, stdio: 'pipe', encoding: 'utf8' },
      );
    } catch (error) {
      const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
      throw new Error(`bundling ${name} failed: ${`${stderr}${stdout}`.trim() || String(error)}`, {
        cause: error,
      });
    }
    cpSync(built, outputDir, { recursive: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const [from, to] of Object.entries(extraFiles)) copyFileSync(from, join(outputDir, to));
}

export function functionCode(options: FunctionCodeOptions): lambda.Code {
  return lambda.Code.fromAsset(options.root, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling either succeeds or throws, so Docker is never tried.
      image: DockerImage.fromRegistry('local-bundling-only'),
      // CDK reuses a staged asset for the same source folder and bundling options, and the
      // local bundler is not part of that key: naming the function here keeps the four
      // bundles (all built from the repository root), and routers with different policy
      // files, apart.
      environment: {
        GDRR_FUNCTION: options.name,
        GDRR_EXTRA_FILES: JSON.stringify(options.extraFiles ?? {}),
      },
      local: {
        tryBundle(outputDir) {
          bundleFunction(options, outputDir);
          return true;
        },
      },
    },
  });
}
