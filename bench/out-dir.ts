/** Where the suite writes: bench/out/ (git-ignored), resolved from this file, not the cwd. */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OUT_DIR = fileURLToPath(new URL('./out/', import.meta.url));
