/** The router's in-memory store, with a switch to make it fail like an unreachable table. */
import { MemoryResponseStore } from '../../functions/router/memory-store.js';
import type { Claim } from '../../functions/router/store.js';

export class MemoryStore extends MemoryResponseStore {
  failWith?: Error;

  override claim(key: string, now: number, leaseMs: number, count: number): Promise<Claim> {
    if (this.failWith) return Promise.reject(this.failWith);
    return super.claim(key, now, leaseMs, count);
  }
}
