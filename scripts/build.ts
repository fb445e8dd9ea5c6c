/**
 * Bundle each function (`functions/<name>/handler.ts`) into `dist/<name>/index.mjs`:
 * ESM, AWS SDK bundled (a pinned SDK, and faster cold imports than the runtime's copy),
 * minified, with source maps. Prints each bundle's size.
 */
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const FUNCTIONS_DIR = 'functions';
const OUT_DIR = 'dist';

// Some dependencies (X-Ray SDK) still call require(); give the ESM bundle one.
const REQUIRE_SHIM =
  "import { createRequire as __gdrrCreateRequire } from 'node:module'; const require = __gdrrCreateRequire(import.meta.url);";

/** Function folders that have a handler. */
function functionEntries(root = FUNCTIONS_DIR): { name: string; entry: string }[] {
  return readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory())
    .map((name) => ({ name, entry: join(root, name, 'handler.ts') }))
    .filter(({ entry }) => existsSync(entry))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function main(): Promise<void> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const entries = functionEntries();
  if (entries.length === 0) throw new Error(`no functions/*/handler.ts found`);
  for (const { name, entry } of entries) {
    const outfile = join(OUT_DIR, name, 'index.mjs');
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      minify: true,
      sourcemap: true,
      mainFields: ['module', 'main'],
      banner: { js: REQUIRE_SHIM },
      legalComments: 'none',
      logLevel: 'warning',
    });
    const kb = (statSync(outfile).size / 1024).toFixed(0);
    process.stdout.write(`built ${outfile} (${kb} KB)\n`);
  }
}

await main();
