/** The production bundle options, shared with `npm run build` and the CDK stack. */
import type { BuildOptions } from 'esbuild';
import { productionOptions as shipped } from '../../scripts/bundle-options.js';

export function productionOptions(): BuildOptions {
  return { ...shipped(), logLevel: 'silent' };
}
