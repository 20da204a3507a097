/**
 * The worker pool: every public function gives bitwise the same results for 1, 2, 3 and
 * 4 threads as the single-thread API (each output element is computed by one worker in
 * an order that does not depend on the split), a dead worker fails only its pending call
 * and is replaced, dispose() ends the workers, and a Node process exits by itself.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type SoftmaxCE, type SoftmaxCEThreaded } from '../src/index.js';
import { randomFloat32, randomLabels, randomProbs, rng } from './helpers.js';

let single: SoftmaxCE;
const pools = new Map<number, SoftmaxCEThreaded>();
beforeAll(async () => {
  single = await init({ build: 'simd' });
  for (const t of [1, 2, 3, 4]) pools.set(t, await init({ build: 'simd', threads: t }));
});
afterAll(() => {
  for (const p of pools.values()) p.dispose();
});

const bits = (a: ArrayLike<number> | number | undefined) =>
  a === undefined ? undefined : typeof a === 'number' ? [a] : Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : v));

// Shapes that split unevenly over 2, 3 and 4 workers and over the 4-row split unit.
const SHAPES: [number, number, number][] = [[1, 3, 2], [5, 7, 3], [13, 17, 29], [37, 50, 101], [67, 33, 9]];

describe('threads', () => {
  it('reports its thread count', () => {
    for (const [t, p] of pools) {
      expect(p.info.threads).toBe(t);
      expect(p.info.threadsNote).toBeUndefined();
    }
  });

  for (const [n, d, c] of SHAPES) {
    it(`bitwise identical for 1–4 threads: n=${n} d=${d} c=${c}`, async () => {
      const r = rng(n * 1000 + d * 10 + c);
      const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
      const labels = randomLabels(r, n, c), probs = randomProbs(r, n, c), logits = randomFloat32(r, n * c, 5);
      const weight = Float32Array.from({ length: c }, () => 0.5 + r());
      const want = {
        linear: single.linear({ x, w, b, n, d, c }),
        softmax: single.softmax(logits, n, c),
        logSoftmax: single.logSoftmax(logits, n, c),
        ce: single.crossEntropy({ logits, target: labels, n, c, weight, labelSmoothing: 0.1 }),
        ceProbs: single.crossEntropy({ logits, target: probs, n, c, reduction: 'none' }),
        lce: single.linearCrossEntropy({ x, w, b, target: labels, n, d, c, weight }),
        chunked: single.linearCrossEntropy({ x, w, b, target: probs, n, d, c, chunk: { rows: 6 } }),
      };
      for (const [t, p] of pools) {
        const label = `${t} threads`;
        expect(bits(await p.linear({ x, w, b, n, d, c })), label).toEqual(bits(want.linear));
        expect(bits(await p.softmax(logits, n, c)), label).toEqual(bits(want.softmax));
        expect(bits(await p.logSoftmax(logits, n, c)), label).toEqual(bits(want.logSoftmax));
        const ce = await p.crossEntropy({ logits, target: labels, n, c, weight, labelSmoothing: 0.1 });
        expect(bits(ce.loss), label).toEqual(bits(want.ce.loss));
        expect(bits(ce.dlogits), label).toEqual(bits(want.ce.dlogits));
        const ceProbs = await p.crossEntropy({ logits, target: probs, n, c, reduction: 'none' });
        expect(bits(ceProbs.loss), label).toEqual(bits(want.ceProbs.loss));
        for (const [key, args] of [
          ['lce', { x, w, b, target: labels, n, d, c, weight }],
          ['chunked', { x, w, b, target: probs, n, d, c, chunk: { rows: 6 } }],
        ] as const) {
          const got = await p.linearCrossEntropy(args);
          const ref = want[key];
          expect(bits(got.loss), `${label} ${key} loss`).toEqual(bits(ref.loss));
          for (const g of ['dx', 'dw', 'db'] as const) expect(bits(got[g]), `${label} ${key} ${g}`).toEqual(bits(ref[g]));
        }
      }
    });
  }

  it('rejects bad input with the same errors, as a rejected Promise, and goes on', async () => {
    const p = pools.get(2)!;
    await expect(p.crossEntropy({ logits: new Float32Array(3), target: new Int32Array([5]), n: 1, c: 3 })).rejects.toThrow(/target\[0\] = 5/);
    const out = await p.softmax(new Float32Array([3, 1, -1]), 1, 3);
    expect(out[0]).toBeCloseTo(0.86681333, 7);
    await expect(init({ threads: 0 })).rejects.toThrow(/threads must be 'auto' or an integer/);
  });

  it('a worker that dies fails its pending call; the pool replaces it', async () => {
    const p = await init({ build: 'simd', threads: 2 });
    const [n, d, c] = [16, 8, 8], r = rng(2);
    const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), target: randomLabels(r, n, c), n, d, c };
    p.workers!.crash(1);
    await expect(p.linearCrossEntropy(args)).rejects.toThrow(/worker died.*replaced/);
    const again = await p.linearCrossEntropy(args);
    expect(bits(again.dw)).toEqual(bits(single.linearCrossEntropy(args).dw));
    p.dispose();
    await expect(p.linear(args)).rejects.toThrow(/disposed/);
  });

  it("threads: 'auto' uses one worker per core", async () => {
    const p = await init({ threads: 'auto' });
    expect(p.info.threads).toBeGreaterThanOrEqual(1);
    p.dispose();
  });

  it('a Node process that used the pool exits by itself, without dispose()', () => {
    const entry = fileURLToPath(new URL('../build/index.js', import.meta.url));
    const script = `
      const { init } = await import(${JSON.stringify(entry)});
      const p = await init({ threads: 2 });
      const r = await p.softmax(new Float32Array([3, 1, -1]), 1, 3);
      console.log(r[0].toFixed(4));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.error).toBeUndefined();
    expect(run.stdout.trim()).toBe('0.8668');
    expect(run.status).toBe(0);
  });
});
