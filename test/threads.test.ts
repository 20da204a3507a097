/**
 * The thread pool: every public function gives bitwise the same results for 1, 2, 3 and
 * 4 threads as the single-thread API (each output element is computed by one thread in
 * an order that does not depend on the split), with the calling thread computing a share
 * (Node's default) and without; a run of more phases than one job holds; a kernel that
 * fails and a worker that dies fail only the pending call (a dead worker is replaced);
 * dispose() ends the workers; and a Node process exits by itself.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type SoftmaxCE, type SoftmaxCEThreaded } from '../src/index.js';
import { call } from '../src/calls.js';
import { randomFloat32, randomLabels, randomProbs, rng } from './helpers.js';

let single: SoftmaxCE;
const MODES = [true, false] as const;
/** Pools by `${threads} ${callerComputes}`. */
const pools = new Map<string, { threads: number; callerComputes: boolean; p: SoftmaxCEThreaded }>();
beforeAll(async () => {
  single = await init({ build: 'simd' });
  for (const callerComputes of MODES) {
    for (const threads of [1, 2, 3, 4]) {
      pools.set(`${threads} ${callerComputes}`, { threads, callerComputes, p: await init({ build: 'simd', threads, callerComputes }) });
    }
  }
});
afterAll(() => {
  for (const { p } of pools.values()) p.dispose();
});

const bits = (a: ArrayLike<number> | number | undefined) =>
  a === undefined ? undefined : typeof a === 'number' ? [a] : Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : v));

// Shapes that split unevenly over 2, 3 and 4 threads and over the 4-row split unit.
const SHAPES: [number, number, number][] = [[1, 3, 2], [5, 7, 3], [13, 17, 29], [37, 50, 101], [67, 33, 9]];

describe('threads', () => {
  it('reports its thread count and workers (threads − 1 when the calling thread computes)', () => {
    for (const { threads, callerComputes, p } of pools.values()) {
      expect([p.info.threads, p.info.workers, p.info.threadsNote]).toEqual([threads, callerComputes ? threads - 1 : threads, undefined]);
      expect(p.workers!.size).toBe(p.info.workers);
    }
    expect(single.info.workers).toBe(0);
  });

  it('computes a share on the calling thread by default in Node', async () => {
    const p = await init({ threads: 2 });
    expect(p.info.workers).toBe(1);
    p.dispose();
    await expect(init({ threads: 2, callerComputes: 'yes' as never })).rejects.toThrow(/callerComputes must be a boolean, got "yes"/);
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
      for (const [label, { p }] of pools) {
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

  // Issue 11: on wide data dZ has entries in the flushed range; the flush is per element, so
  // the pool must still match the synchronous API bit for bit.
  it('bitwise identical for 1–4 threads on wide data (x, W, b in [−2, 2], flushed dZ)', async () => {
    const n = 37, d = 300, c = 101, r = rng(1111);
    const x = randomFloat32(r, n * d, 2), w = randomFloat32(r, c * d, 2), b = randomFloat32(r, c, 2);
    const labels = randomLabels(r, n, c), logits = randomFloat32(r, n * c, 200);
    const z = single.linear({ x, w, b, n, d, c });
    const dz = single.crossEntropy({ logits: z, target: labels, n, c }).dlogits!;
    expect(dz.some((v) => v === 0), 'some dz entries are flushed').toBe(true);
    const want = {
      softmax: single.softmax(logits, n, c),
      lce: single.linearCrossEntropy({ x, w, b, target: labels, n, d, c }),
      chunked: single.linearCrossEntropy({ x, w, b, target: labels, n, d, c, chunk: { rows: 8 } }),
    };
    for (const [label, { p }] of pools) {
      expect(bits(await p.softmax(logits, n, c)), label).toEqual(bits(want.softmax));
      expect(bits((await p.crossEntropy({ logits: z, target: labels, n, c })).dlogits), label).toEqual(bits(dz));
      for (const key of ['lce', 'chunked'] as const) {
        const got = await p.linearCrossEntropy({ x, w, b, target: labels, n, d, c, ...(key === 'chunked' ? { chunk: { rows: 8 } } : {}) });
        expect(bits(got.loss), `${label} ${key} loss`).toEqual(bits(want[key].loss));
        for (const g of ['dx', 'dw', 'db'] as const) expect(bits(got[g]), `${label} ${key} ${g}`).toEqual(bits(want[key][g]));
      }
    }
  });

  it('rejects bad input with the same errors, as a rejected Promise, and goes on', async () => {
    const p = pools.get('2 true')!.p;
    await expect(p.crossEntropy({ logits: new Float32Array(3), target: new Int32Array([5]), n: 1, c: 3 })).rejects.toThrow(/target\[0\] = 5/);
    const out = await p.softmax(new Float32Array([3, 1, -1]), 1, 3);
    expect(out[0]).toBeCloseTo(0.86681333, 7);
    await expect(init({ threads: 0 })).rejects.toThrow(/threads must be 'auto' or an integer/);
  });

  for (const callerComputes of MODES) {
    it(`a worker that dies fails its pending call; the pool replaces it (callerComputes: ${callerComputes})`, async () => {
      const p = await init({ build: 'simd', threads: 3, callerComputes });
      const [n, d, c] = [16, 8, 8], r = rng(2);
      const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), target: randomLabels(r, n, c), n, d, c };
      for (const worker of [0, p.workers!.size - 1]) {
        p.workers!.crash(worker);
        await expect(p.linearCrossEntropy(args)).rejects.toThrow(/worker died.*replaced/);
        const again = await p.linearCrossEntropy(args);
        expect(bits(again.dw)).toEqual(bits(single.linearCrossEntropy(args).dw));
      }
      p.dispose();
      await expect(p.linear(args)).rejects.toThrow(/disposed/);
    });

    it(`a kernel that traps fails its call with the engine's message, and the next call is right (callerComputes: ${callerComputes})`, async () => {
      const p = await init({ build: 'simd', threads: 2, callerComputes });
      // Not reachable through the API (it checks sizes): a softmax over rows far past the memory's end.
      const bad = call('softmax_rows_f32', { out: 0, ldo: 1 << 20, z: 0, ldz: 1 << 20, c: 1 << 20, rowBegin: 0, rowEnd: 2000 });
      await expect(p.workers!.run([[bad]])).rejects.toThrow(/a kernel failed: .*out of bounds/);
      const logits = randomFloat32(rng(3), 9 * 5, 4);
      expect(bits(await p.softmax(logits, 9, 5))).toEqual(bits(single.softmax(logits, 9, 5)));
      p.dispose();
    });
  }

  it('repeated calls do not grow WebAssembly memory (either mode)', async () => {
    const [n, d, c] = [37, 50, 101], r = rng(6);
    const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), target: randomLabels(r, n, c), n, d, c };
    for (const callerComputes of MODES) {
      const p = pools.get(`2 ${callerComputes}`)!.p;
      await p.linearCrossEntropy(args);
      const before = p.memoryBytes;
      for (let i = 0; i < 1000; i++) await p.linearCrossEntropy(args);
      expect(p.memoryBytes, `callerComputes: ${callerComputes}`).toBe(before);
    }
  });

  it('a run of more phases than one job holds goes as several jobs, with the same results', async () => {
    // chunk: { rows: 1 } makes 3 phases per row: 600 phases, more than one job area holds (5 jobs with 3 threads).
    const [n, d, c] = [200, 12, 40], r = rng(4);
    const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), b: randomFloat32(r, c), target: randomLabels(r, n, c), n, d, c, chunk: { rows: 1 } };
    const want = single.linearCrossEntropy(args);
    for (const callerComputes of MODES) {
      const got = await pools.get(`3 ${callerComputes}`)!.p.linearCrossEntropy(args);
      for (const g of ['loss', 'dx', 'dw', 'db'] as const) expect(bits(got[g]), `${callerComputes} ${g}`).toEqual(bits(want[g]));
    }
  });

  it("threads: 'auto' uses one thread per core", async () => {
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
