/**
 * The threaded instance never computes on the wrong data (issue 16): the queue owns every
 * change to WebAssembly memory (tensor(), write(), free(), growth), inputs are taken when
 * a method is called, a retry right after a worker's death is safe, a barrier that cannot
 * finish fails its call after a bounded time, scratch sizes stay exact past 2^31, and a
 * threaded instance given to SoftmaxClassifier says why it cannot train.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, SoftmaxClassifier, type SoftmaxCE, type SoftmaxCEThreaded } from '../src/index.js';
import { randomFloat32, randomLabels, randomProbs, rng } from './helpers.js';

let single: SoftmaxCE;
const MODES = [true, false] as const;
const pools: SoftmaxCEThreaded[] = [];
async function pool(threads: number, callerComputes: boolean): Promise<SoftmaxCEThreaded> {
  const p = await init({ build: 'simd', threads, callerComputes });
  pools.push(p);
  return p;
}
beforeAll(async () => {
  single = await init({ build: 'simd' });
});
afterAll(() => pools.forEach((p) => p.dispose()));

const bits = (a: ArrayLike<number> | number | undefined) =>
  a === undefined ? undefined : typeof a === 'number' ? [a] : Array.from(new Uint32Array(Float32Array.from(a).buffer));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the queue owns memory', () => {
  // Only where the calling thread is free while workers compute (a page's default): when it
  // computes, it is busy until the job ends and no tensor() can come in between.
  it('tensor() while a call runs lands outside its scratch, even when memory grows (callerComputes: false)', async () => {
    const p = await pool(2, false);
    // About 1.6 GFLOP: tens of ms on the workers, long past the tick below.
    const [n, d, c] = [2048, 512, 256], r = rng(1);
    const args = { x: randomFloat32(r, n * d, 3), w: randomFloat32(r, c * d, 3), target: randomLabels(r, n, c), n, d, c };
    const want = single.linearCrossEntropy(args);
    for (const length of [n * d, 16 << 20]) {
      let ended = false;
      const pending = p.linearCrossEntropy(args).finally(() => { ended = true; });
      // The call has been laid out and runs on the workers now.
      await tick();
      expect(ended, 'the call still runs when the tensor is made').toBe(false);
      const bytes = p.memoryBytes;
      const t = p.tensor(length);   // zero-filled: over the call's copy of x, before the fix
      if (length > n * d) expect(p.memoryBytes, 'memory grew while the workers ran').toBeGreaterThan(bytes);
      const got = await pending;
      expect(bits(got.loss)).toEqual(bits(want.loss));
      expect(bits(got.dw)).toEqual(bits(want.dw));
      t.write([7], length - 1);
      expect(t.read()[length - 1]).toBe(7);
      t.free();
    }
  });

  for (const callerComputes of MODES) {
    it(`write() and free() take effect after the calls made before them (callerComputes: ${callerComputes})`, async () => {
      const p = await pool(2, callerComputes);
      const [n, c] = [33, 20], r = rng(2);
      const a = randomFloat32(r, n * c, 4), b = randomFloat32(r, n * c, 4);
      const t = p.tensor(a);
      const p1 = p.softmax(t, n, c);
      t.write(b);          // after p1
      b.fill(0);           // the write took its copy when made
      const p2 = p.logSoftmax(t, n, c);
      t.free();            // after p2: its memory is not reused under it
      const other = p.tensor(new Float32Array(n * c).fill(1));
      await expect(p.softmax(t, n, c)).rejects.toThrow(/logits is a tensor that was freed/);
      expect(bits(await p1)).toEqual(bits(single.softmax(a, n, c)));
      expect(bits(await p2)).toEqual(bits(single.logSoftmax(randomFloat32(rng(2), 2 * n * c, 4).subarray(n * c), n, c)));
      expect(Array.from(other.read()).every((v) => v === 1)).toBe(true);
      other.free();
    });
  }

  it('resident tensors on the pool: in place in, out tensors receive the results, bitwise the synchronous API (Node)', async () => {
    const [n, d, c] = [37, 50, 101], r = rng(3);
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c), target = randomProbs(r, n, c);
    const sx = single.tensor(x), sw = single.tensor(w), sb = single.tensor(b);
    const [sdx, sdw, sdb] = [single.tensor(n * d), single.tensor(c * d), single.tensor(c)];
    const want = single.linearCrossEntropy({ x: sx, w: sw, b: sb, target, n, d, c, out: { dx: sdx, dw: sdw, db: sdb } });
    for (const callerComputes of MODES) {
      const p = await pool(3, callerComputes);
      const tx = p.tensor(x), tw = p.tensor(w), tb = p.tensor(b);
      const [tdx, tdw, tdb] = [p.tensor(n * d), p.tensor(c * d), p.tensor(c)];
      const got = await p.linearCrossEntropy({ x: tx, w: tw, b: tb, target, n, d, c, out: { dx: tdx, dw: tdw, db: tdb } });
      expect(bits(got.loss)).toEqual(bits(want.loss));
      expect([got.dx, got.dw, got.db]).toEqual([undefined, undefined, undefined]);
      for (const [t, s] of [[tdx, sdx], [tdw, sdw], [tdb, sdb]] as const) expect(bits(t.read())).toEqual(bits(s.read()));
      const z = p.tensor(n * c);
      expect(bits(await p.linear({ x: tx, w: tw, b: tb, n, d, c, out: z }))).toEqual(bits(single.linear({ x, w, b, n, d, c })));
      for (const t of [tx, tw, tb, tdx, tdw, tdb, z]) t.free();
    }
    for (const t of [sx, sw, sb, sdx, sdw, sdb]) t.free();
  });
});

describe('inputs are taken at call time', () => {
  for (const callerComputes of MODES) {
    it(`later changes to the caller's arrays never reach a call already made (callerComputes: ${callerComputes})`, async () => {
      const p = await pool(2, callerComputes);
      const [n, d, c] = [13, 17, 29], r = rng(4);
      const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c), logits = randomFloat32(r, n * c, 5);
      const labels = randomLabels(r, n, c), probs = randomProbs(r, n, c), weight = Float32Array.from({ length: c }, () => 0.5 + r());
      const want = {
        softmax: single.softmax(logits, n, c), linear: single.linear({ x, w, b, n, d, c }),
        ce: single.crossEntropy({ logits, target: labels, n, c, weight }),
        ceProbs: single.crossEntropy({ logits, target: probs, n, c }),
        lce: single.linearCrossEntropy({ x, w, b, target: labels, n, d, c, weight }),
      };
      const calls = {
        softmax: p.softmax(logits, n, c), linear: p.linear({ x, w, b, n, d, c }),
        ce: p.crossEntropy({ logits, target: labels, n, c, weight }),
        ceProbs: p.crossEntropy({ logits, target: probs, n, c }),
        lce: p.linearCrossEntropy({ x, w, b, target: labels, n, d, c, weight }),
      };
      // What a training loop that reuses its buffers does before awaiting.
      for (const a of [x, w, b, logits, probs, weight]) a.fill(0.25);
      labels.fill(0);
      expect(bits(await calls.softmax)).toEqual(bits(want.softmax));
      expect(bits(await calls.linear)).toEqual(bits(want.linear));
      for (const key of ['ce', 'ceProbs'] as const) {
        const got = await calls[key];
        expect(bits(got.loss), key).toEqual(bits(want[key].loss));
        expect(bits(got.dlogits), key).toEqual(bits(want[key].dlogits));
      }
      const lce = await calls.lce;
      for (const g of ['loss', 'dx', 'dw', 'db'] as const) expect(bits(lce[g]), g).toEqual(bits(want.lce[g]));
    });
  }

  it('a bad argument rejects when the call is made, before the calls queued ahead of it run', async () => {
    const p = await pool(2, false);
    const order: string[] = [];
    const first = p.softmax(new Float32Array(4096 * 64), 4096, 64).then(() => order.push('first'));
    const bad = p.softmax(new Float32Array(3), 2, 2).catch((e: Error) => order.push(`bad: ${e.message}`));
    await Promise.all([first, bad]);
    expect(order[0]).toMatch(/^bad: .*logits must have length n×c = 4, got 3/);
  });
});

describe('a retry after a failure is safe', () => {
  for (const callerComputes of MODES) {
    it(`right after a worker dies, a call of another shape is exact (callerComputes: ${callerComputes})`, async () => {
      const p = await pool(3, callerComputes);
      const r = rng(5);
      // A long first phase, so that the survivors are still in their kernels when the death
      // fails the call; the retry's x covers the aborted call's logits, which they write.
      const [n, d, c] = [2048, 1024, 1024];
      const big = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), target: randomLabels(r, n, c), n, d, c };
      const [n2, d2, c2] = [4096, 1024, 8];
      const args = { x: randomFloat32(r, n2 * d2, 10), w: randomFloat32(r, c2 * d2, 10), n: n2, d: d2, c: c2 };
      const want = single.linear(args);
      for (let run = 0; run < 2; run++) {
        p.workers!.crash(run);
        await expect(p.linearCrossEntropy(big)).rejects.toThrow(/worker died.*can be retried/);
        expect(bits(await p.linear(args)), `run ${run}`).toEqual(bits(want));
      }
    });

    it(`a worker that stops without throwing fails the call after a bounded time; the pool recovers (callerComputes: ${callerComputes})`, async () => {
      const p = await pool(3, callerComputes);
      p.workers!.stallMs = 300;
      const [n, d, c] = [64, 40, 24], r = rng(6);
      const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), target: randomLabels(r, n, c), n, d, c };
      const other = { x: randomFloat32(r, 9 * 5), w: randomFloat32(r, 3 * 5), n: 9, d: 5, c: 3 };
      p.workers!.hang(p.workers!.size - 1);
      const started = performance.now();
      await expect(p.linearCrossEntropy(args)).rejects.toThrow(/did not reach a barrier within 300 ms.*a worker stopped/);
      expect(performance.now() - started).toBeLessThan(5000);
      // The stopped worker is replaced; the next calls (queued at once) are exact.
      const again = p.linearCrossEntropy(args), small = p.linear(other);
      expect(bits((await again).dw)).toEqual(bits(single.linearCrossEntropy(args).dw));
      expect(bits(await small)).toEqual(bits(single.linear(other)));
      expect(p.workers!.size).toBe(p.info.workers);
    });
  }
});

describe('sizes', () => {
  it('gemm_nt_f32_scratch is exact past 2^31 bytes, and 0 where the kernel never packs (c < 16)', () => {
    const k = single.internals.kernels;
    // k = 2^27: one row pair (2^25 vectors × 32 bytes) and one group of 4 rows of B (× 64).
    expect(k.gemm_nt_f32_scratch(16, 2 ** 27)).toBe(2 ** 25 * 32 + 2 ** 25 * 64);
    expect(k.gemm_nt_f32_scratch(16, 2 ** 30)).toBe(2 ** 28 * 96);
    expect(k.gemm_nt_f32_scratch(1, 2 ** 27)).toBe(0);
    expect(k.gemm_nt_f32_scratch(15, 784)).toBe(0);
    expect(k.gemm_nt_f32_scratch(16, 784)).toBeGreaterThan(0);
  });

  it('a 10-class linear reserves no gemm scratch, on any thread count', async () => {
    const [n, d, c] = [1, 1 << 20, 10];
    const args = { x: new Float32Array(n * d).fill(1), w: new Float32Array(c * d).fill(0.5), n, d, c };
    const p = await pool(4, false);
    expect(Array.from(await p.linear(args))).toEqual(new Array(c).fill(d / 2));
    // x and w (44 MiB) and the logits: before, 4 threads reserved ≈ 24·d bytes each as well (96 MiB).
    expect(p.memoryBytes).toBeLessThan((n * d + c * d) * 4 + (2 << 20));
  });
});

describe('the classifier and a threaded instance', () => {
  it('SoftmaxClassifier rejects a threaded instance with a clear error (no NaN losses)', async () => {
    const p = await pool(2, true);
    expect(() => new SoftmaxClassifier(p as never, { inputs: 4, classes: 3 })).toThrow(/threaded instance.*cannot train a classifier; use a synchronous one, init\(\)/);
    const json = single.classifier({ inputs: 4, classes: 3, seed: 1 }).toJSON();
    expect(() => SoftmaxClassifier.fromJSON(p as never, json)).toThrow(/threaded instance/);
  });
});

describe('workers that never start', () => {
  it('a pool whose worker never reports ready fails ready() after a bounded time, naming why', async () => {
    const { Pool } = await import('../src/pool.js');
    let terminated = 0;
    // A port that takes the init message and never answers: what nested workers in
    // Firefox 153 headless sometimes do. Before the start timeout, ready() never settled.
    const silent = () => ({ post: () => undefined, terminate: async () => { terminated++; }, keepAlive: () => undefined });
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const p = new Pool(2, silent, {} as WebAssembly.Module, memory, null, 200);
    const t0 = performance.now();
    await expect(p.ready()).rejects.toThrow(/a worker did not start within 200 ms/);
    expect(performance.now() - t0).toBeLessThan(5000);
    p.dispose();
    expect(terminated).toBe(2);
  });
});
