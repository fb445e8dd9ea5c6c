/**
 * How every function is bundled: used by `npm run build` (and so by the CDK stack) and by
 * the benchmark, so what is measured and tested is what ships.
 */
import type { BuildOptions } from 'esbuild';
import { sdkSchemaKeys } from './sdk-schema-keys.js';

/** Some dependencies (X-Ray SDK) still call require(); give the ESM bundle one. */
export const REQUIRE_SHIM =
  "import { createRequire as __gdrrCreateRequire } from 'node:module'; const require = __gdrrCreateRequire(import.meta.url);";

/** The file a function's bundle folder starts from: the Lambda handler is `index.handler`. */
export const BUNDLE_ENTRY = 'index.mjs';

/**
 * ESM, AWS SDK bundled (a pinned SDK, and faster cold imports than the runtime's copy),
 * minified, with source maps, and only the SDK schemas the function uses. Code that is only
 * imported on demand (the SDK's credential providers other than the environment's, the
 * optional EC2 actions) goes into chunks loaded on first use, not at every cold start: in
 * one file esbuild would have to evaluate it lazily, which costs more than it saves.
 */
export function productionOptions(): BuildOptions {
  return {
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_SHIM },
    legalComments: 'none',
    plugins: [sdkSchemaKeys()],
    splitting: true,
    entryNames: 'index',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
  };
}

/** The options that bundle one function's handler into `outdir` (`index.mjs` and its chunks). */
export function functionBundleOptions(entry: string, outdir: string): BuildOptions {
  return { ...productionOptions(), entryPoints: [entry], outdir };
}
