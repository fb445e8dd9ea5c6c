/**
 * Bundle each function (`functions/<name>/handler.ts`) into `dist/<name>/` (`index.mjs`
 * and the chunks it loads on demand) with the production options (`bundle-options.ts`).
 * Prints each bundle's size.
 *
 *   npm run build                                   every function into dist/
 *   npm run build -- --function router --outdir D   one function into D (the CDK stack's bundling)
 */
import { build } from 'esbuild';
import { BUNDLE_ENTRY, functionBundleOptions } from './bundle-options.js';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

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

async function buildOne(entry: string, outdir: string): Promise<void> {
  const { metafile } = await build({
    ...functionBundleOptions(entry, outdir),
    metafile: true,
    logLevel: 'warning',
  });
  const code = Object.entries(metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
  const total = code.reduce((sum, [, output]) => sum + output.bytes, 0);
  const entryBytes = statSync(join(outdir, BUNDLE_ENTRY)).size;
  process.stdout.write(
    `built ${join(outdir, BUNDLE_ENTRY)} (${kb(entryBytes)}; ${code.length} files, ${kb(total)} in all)\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { function: { type: 'string' }, outdir: { type: 'string' } },
    strict: true,
  });
  const entries = functionEntries();
  if (entries.length === 0) throw new Error(`no functions/*/handler.ts found`);
  if (values.function !== undefined) {
    const chosen = entries.find(({ name }) => name === values.function);
    if (!chosen) {
      throw new Error(
        `no function "${values.function}"; known: ${entries.map((e) => e.name).join(', ')}`,
      );
    }
    if (values.outdir === undefined) throw new Error('--function needs --outdir');
    await buildOne(chosen.entry, values.outdir);
    return;
  }
  if (values.outdir !== undefined) throw new Error('--outdir needs --function');
  rmSync(OUT_DIR, { recursive: true, force: true });
  for (const { name, entry } of entries) await buildOne(entry, join(OUT_DIR, name));
}

await main();
