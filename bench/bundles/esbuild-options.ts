/**
 * The production bundle options of scripts/build.ts, repeated here because that script runs
 * its build when imported. `sameAsBuildScript` in the report checks that they still agree.
 */
import type { BuildOptions } from 'esbuild';

const REQUIRE_SHIM =
  "import { createRequire as __gdrrCreateRequire } from 'node:module'; const require = __gdrrCreateRequire(import.meta.url);";

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
    logLevel: 'silent',
  };
}
