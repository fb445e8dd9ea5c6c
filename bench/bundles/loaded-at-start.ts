/**
 * What a cold start reads: a bundle's entry and the chunks it imports statically, not the
 * chunks it imports on demand. Sizes are of those files only; the whole folder is given too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { round } from '../stats.js';

/**
 * Output paths (as the metafile names them) loaded when `entry` (also a metafile path) is
 * imported. Chunks imported on demand are entry points in the metafile too, so the entry
 * is named rather than looked up.
 */
export function loadedAtStart(metafile: Metafile, entry: string): string[] {
  const { outputs } = metafile;
  if (outputs[entry] === undefined) throw new Error(`${entry} is not an output of this build`);
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const used of outputs[path]?.imports ?? []) {
      if (used.kind === 'import-statement' && !used.external) pending.push(used.path);
    }
  }
  return [...seen].sort();
}

/** The same files in another copy of the bundle folder. */
export function inFolder(paths: readonly string[], builtIn: string, copyIn: string): string[] {
  return paths.map((path) => join(copyIn, relative(builtIn, path)));
}

export interface BundleSizes {
  /** Code read at a cold start (entry + static chunks), KB and gzipped KB. */
  kb: number;
  gzipKb: number;
  files: number;
  /** Every code file of the folder, including chunks loaded on demand. */
  totalKb: number;
}

function codeFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.mjs'))
    .map((name) => join(folder, name));
}

export function bundleSizes(startFiles: readonly string[], folder: string): BundleSizes {
  const start = startFiles.map((file) => readFileSync(file));
  const all = codeFiles(folder).map((file) => readFileSync(file).length);
  return {
    kb: round(start.reduce((sum, bytes) => sum + bytes.length, 0) / 1024, 1),
    gzipKb: round(start.reduce((sum, bytes) => sum + gzipSync(bytes).length, 0) / 1024, 1),
    files: start.length,
    totalKb: round(all.reduce((sum, bytes) => sum + bytes, 0) / 1024, 1),
  };
}
