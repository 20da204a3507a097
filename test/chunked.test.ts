/**
 * The chunked path of linearCrossEntropy (row blocks; the n×c logits never exist at once)
 * against the float64 reference, on every option and on blocks that do not divide n.
 * Tolerance as in api.test.ts: 1e-5 of each output's scale (float32 against float64);
 * dW and db sum over blocks in another grouping than the unfused path, which moves them
 * by float32 rounding only.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, reference, type SoftmaxCE, type Reduction } from '../src/index.js';
import { CHUNK_BYTES } from '../src/core.js';
import { randomFloat32, randomLabels, randomProbs, rng } from './helpers.js';

let sce: SoftmaxCE;
beforeAll(async () => {
  sce = await init({ build: 'simd' });
});

function expectClose(name: string, got: ArrayLike<number> | undefined, want: ArrayLike<number> | undefined) {
  expect(got, name).toBeDefined();
  let scale = 0, worst = 0;
  for (let i = 0; i < want!.length; i++) scale = Math.max(scale, Math.abs(want![i]));
  for (let i = 0; i < want!.length; i++) worst = Math.max(worst, Math.abs(got![i] - want![i]));
  expect(worst, name).toBeLessThanOrEqual(1e-5 * scale);
}

describe('chunked linearCrossEntropy', () => {
  const n = 23, d = 19, c = 37;
  for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
    for (const targets of ['index', 'probs'] as const) {
      it(`${reduction}, ${targets}, weights and smoothing, blocks of 1, 3, 4, 7, 22, 23 rows`, () => {
        const r = rng(reduction.length * 17 + targets.length);
        const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d, 0.5), b = randomFloat32(r, c);
        const weight = Float32Array.from({ length: c }, () => 0.2 + r());
        const target = targets === 'probs' ? randomProbs(r, n, c) : randomLabels(r, n, c);
        if (target instanceof Int32Array) target[5] = target[11] = -100;
        const args = { x, w, b, target, n, d, c, reduction, weight, labelSmoothing: 0.05 };
        const want = reference.linearCrossEntropy(args);
        for (const rows of [1, 3, 4, 7, 22, 23]) {
          const got = sce.linearCrossEntropy({ ...args, chunk: { rows } });
          if (typeof want.loss === 'number') {
            expect(Math.abs((got.loss as number) - want.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(want.loss));
          } else {
            expectClose(`loss rows=${rows}`, got.loss as Float32Array, want.loss);
          }
          expectClose(`dx rows=${rows}`, got.dx, want.dx);
          expectClose(`dw rows=${rows}`, got.dw, want.dw);
          expectClose(`db rows=${rows}`, got.db, want.db);
        }
        const noGrad = sce.linearCrossEntropy({ ...args, grad: false, chunk: { rows: 5 } });
        expect(noGrad.dw).toBeUndefined();
        expect(noGrad.loss).toEqual(sce.linearCrossEntropy({ ...args, grad: false, chunk: false }).loss);
      });
    }
  }

  it('forward losses are bitwise those of the unfused path (rows are independent)', () => {
    const r = rng(3);
    const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), target: randomLabels(r, n, c), n, d, c, reduction: 'none' as const };
    const a = sce.linearCrossEntropy({ ...args, chunk: { rows: 6 } }), b = sce.linearCrossEntropy({ ...args, chunk: false });
    expect(Array.from(a.loss as Float32Array)).toEqual(Array.from(b.loss as Float32Array));
    expect(Array.from(a.dx!)).toEqual(Array.from(b.dx!)); // dX rows are computed per block, unchanged
  });

  it("'auto' chunks large logits and keeps memory O(block), not O(n×c)", async () => {
    const big = { n: 512, d: 8, c: 8192 }; // logits 16 MiB > CHUNK_BYTES
    expect(big.n * big.c * 4).toBeGreaterThan(CHUNK_BYTES);
    const r = rng(9);
    const args = {
      x: randomFloat32(r, big.n * big.d), w: randomFloat32(r, big.c * big.d), target: randomLabels(r, big.n, big.c), ...big,
    };
    const chunked = await init({ build: 'simd' }), whole = await init({ build: 'simd' });
    const a = chunked.linearCrossEntropy(args);
    const b = whole.linearCrossEntropy({ ...args, chunk: false });
    expect(Math.abs((a.loss as number) - (b.loss as number))).toBeLessThanOrEqual(1e-5 * (b.loss as number));
    expectClose('dw', a.dw, b.dw);
    const io = (big.n * big.d * 2 + big.c * big.d * 2) * 4; // x, w and their gradients
    expect(chunked.memoryBytes - io).toBeLessThanOrEqual(CHUNK_BYTES + (1 << 20));
    expect(whole.memoryBytes - io).toBeGreaterThanOrEqual(big.n * big.c * 4);
  });

  it('chunk: true and { rows } use blocks, chunk: false does not (memory says which ran)', async () => {
    // Results agree whichever path runs (the tests above), so only memory tells them apart.
    const big = { n: 512, d: 8, c: 8192 }; // logits 16 MiB > CHUNK_BYTES
    const r = rng(10);
    const args = { x: randomFloat32(r, big.n * big.d), w: randomFloat32(r, big.c * big.d), target: randomLabels(r, big.n, big.c), ...big };
    const io = (big.n * big.d * 2 + big.c * big.d * 2) * 4;
    for (const [chunk, blocks] of [[true, true], [{ rows: 16 }, true], [false, false]] as const) {
      const api = await init({ build: 'simd' });
      api.linearCrossEntropy({ ...args, chunk });
      if (blocks) expect(api.memoryBytes - io, JSON.stringify(chunk)).toBeLessThanOrEqual(CHUNK_BYTES + (1 << 20));
      else expect(api.memoryBytes - io, JSON.stringify(chunk)).toBeGreaterThanOrEqual(big.n * big.c * 4);
    }
  });

  it('rejects a bad chunk option by name', () => {
    const args = { x: new Float32Array(4), w: new Float32Array(4), target: new Int32Array([0, 1]), n: 2, d: 2, c: 2 };
    expect(() => sce.linearCrossEntropy({ ...args, chunk: { rows: 0 } })).toThrow(/chunk must be/);
    expect(() => sce.linearCrossEntropy({ ...args, chunk: 'yes' as never })).toThrow(/chunk must be/);
  });
});

describe('inputGrad: false', () => {
  it('skips dx and leaves dw, db and the loss bitwise unchanged, chunked or not', () => {
    const n = 9, d = 5, c = 6, r = rng(77);
    const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), b: randomFloat32(r, c), target: randomLabels(r, n, c), n, d, c };
    for (const chunk of [false, { rows: 4 }] as const) {
      const all = sce.linearCrossEntropy({ ...args, chunk });
      const some = sce.linearCrossEntropy({ ...args, chunk, inputGrad: false });
      expect(some.dx).toBeUndefined();
      expect(some.loss).toBe(all.loss);
      expect(Array.from(some.dw!)).toEqual(Array.from(all.dw!));
      expect(Array.from(some.db!)).toEqual(Array.from(all.db!));
    }
    expect(() => sce.linearCrossEntropy({ ...args, inputGrad: 'no' as never })).toThrow(/inputGrad must be a boolean/);
  });
});
