/**
 * How every function is bundled: used by `npm run build`, the benchmark and the CDK stack,
 * so what is measured and tested is what ships.
 */
import type { BuildOptions } from 'esbuild';
import { sdkSchemaKeys } from './sdk-schema-keys.js';

/** Some dependencies (X-Ray SDK) still call require(); give the ESM bundle one. */
export const REQUIRE_SHIM =
  "import { createRequire as __gdrrCreateRequire } from 'node:module'; const require = __gdrrCreateRequire(import.meta.url);";

/**
 * ESM, AWS SDK bundled (a pinned SDK, and faster cold imports than the runtime's copy),
 * minified, with source maps, and only the SDK schemas the function uses.
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
  };
}
