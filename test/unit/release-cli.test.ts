/** `npm run release`, run as a separate process the way an operator runs it. */
import { describe, expect, it } from 'vitest';
import { runWithReaderClosing } from '../cli.js';

// Each test starts the CLI (tsx): seconds each on a busy machine.
describe('npm run release', { timeout: 30_000 }, () => {
  it('a reader that closed its pipe: no EPIPE trace, the result as usual', async () => {
    const { status, stderr } = await runWithReaderClosing('scripts/release.ts', ['ecs'], 0);
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
