/**
 * The randomized concurrency check (test/concurrency.ts) for a few seconds: calls queued
 * without awaiting, interleaved with tensor allocation, writes and frees, buffers refilled
 * between calls, on 2 and 3 threads with and without the calling thread computing, checked
 * bitwise against the synchronous API. `npm run soak:threads` runs it for longer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, mulberry32, type SoftmaxCE } from '../src/index.js';
import { runSequence } from './concurrency.js';

let single: SoftmaxCE;
beforeAll(async () => {
  single = await init({ build: 'simd' });
});
const disposers: (() => void)[] = [];
afterAll(() => disposers.forEach((f) => f()));

describe('concurrency: a random sequence of queued calls and tensor changes', () => {
  for (const [threads, callerComputes] of [[2, true], [2, false], [3, true], [3, false]] as const) {
    it(`matches the synchronous API bitwise (threads: ${threads}, callerComputes: ${callerComputes})`, async () => {
      const p = await init({ build: 'simd', threads, callerComputes });
      disposers.push(() => p.dispose());
      const base = 1000 * threads + (callerComputes ? 1 : 0);
      for (let seed = base; seed < base + 4; seed++) {
        try {
          await runSequence(p, single, mulberry32(seed), 120);
        } catch (e) {
          throw new Error(`seed ${seed} (threads ${threads}, callerComputes ${callerComputes}): ${(e as Error).message}`);
        }
      }
      // The sequence frees what it allocated: the synchronous instance holds no tensors.
      expect(single.internals.arena.residentBytes).toBe(0);
    });
  }
});
