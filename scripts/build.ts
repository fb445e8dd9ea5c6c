/**
 * Bundle each function (`functions/<name>/handler.ts`) into `dist/<name>/index.mjs`:
 * ESM, AWS SDK bundled (a pinned SDK, and faster cold imports than the runtime's copy),
 * minified, with source maps. Prints each bundle's size.
 */
import { build } from 'esbuild';
import { productionOptions } from './bundle-options.js';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const FUNCTIONS_DIR = 'functions';
const OUT_DIR = 'dist';

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
    await build({ ...productionOptions(), entryPoints: [entry], outfile, logLevel: 'warning' });
    const kb = (statSync(outfile).size / 1024).toFixed(0);
    process.stdout.write(`built ${outfile} (${kb} KB)\n`);
  }
}

await main();
