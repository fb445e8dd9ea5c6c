/** The production bundle options, shared with `npm run build` and the CDK stack. */
import type { BuildOptions } from 'esbuild';
import { functionBundleOptions } from '../../scripts/bundle-options.js';
import { REPO_ROOT } from '../out-dir.js';

/**
 * One bundle folder (`index.mjs` and its chunks) with the shipped options, quietly;
 * metafile paths are relative to the repository root.
 */
export function bundleOptions(entry: string, outdir: string): BuildOptions {
  return { ...functionBundleOptions(entry, outdir), logLevel: 'silent', absWorkingDir: REPO_ROOT };
}
