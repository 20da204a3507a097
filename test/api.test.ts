/**
 * The WebAssembly API against the float64 reference.
 *
 * Tolerance: float32 kernels against float64 math. A length-k float32 dot product is off
 * by about √k·2^-24 of Σ|a·b| in practice (k·2^-24 at worst); with k ≤ 1000 that is below
 * 2e-6 of the output's scale, so 1e-5 of the scale (the largest |value| of that output)
 * leaves a 5× margin without hiding a wrong index or a missing term (those are O(scale)).
 * Losses are row sums of terms that are each exact to a few float32 ULP, accumulated in
 * f64: 1e-5 relative.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, reference, type SoftmaxCE } from '../src/index.js';
import { CASES, SHAPES, makeCase, randomFloat32, randomLabels, rng } from './helpers.js';

const BUILD = (process.env.SCE_BUILD as 'simd' | 'relaxed' | undefined) ?? 'simd';
const TOL = 1e-5;

let sce: SoftmaxCE;
beforeAll(async () => {
  sce = await init({ build: BUILD });
});

function scaleOf(ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return m;
}

/** Every element within TOL·scale of the reference (scale = largest |reference value|). */
function expectClose(name: string, got: ArrayLike<number> | undefined, ref: ArrayLike<number> | undefined, tol = TOL) {
  expect(got, name).toBeDefined();
  expect(ref, name).toBeDefined();
  expect(got!.length, `${name} length`).toBe(ref!.length);
  const bound = tol * Math.max(scaleOf(ref!), 1e-30);
  let worst = 0, at = -1;
  for (let i = 0; i < ref!.length; i++) {
    const err = Math.abs(got![i] - ref![i]);
    if (!(err <= worst)) { worst = err; at = i; }
  }
  expect(worst, `${name}: worst |error| at [${at}] got ${got![at]} want ${ref![at]}`).toBeLessThanOrEqual(bound);
}

function expectLossClose(got: number | Float32Array, ref: number | Float64Array) {
  if (typeof ref === 'number') {
    expect(typeof got).toBe('number');
    if (Number.isNaN(ref)) expect(got).toBeNaN();
    else expect(Math.abs((got as number) - ref)).toBeLessThanOrEqual(TOL * Math.max(Math.abs(ref), 1e-6));
  } else {
    expect(got).toBeInstanceOf(Float32Array);
    expectClose('loss', got as Float32Array, ref);
  }
}


describe(`textbook case (${BUILD})`, () => {
  it('z = [3, 1, −1], label 0', () => {
    const logits = new Float32Array([3, 1, -1]);
    const p = sce.softmax(logits, 1, 3);
    const want = [0.86681333, 0.11731043, 0.01587624];
    want.forEach((v, j) => expect(p[j]).toBeCloseTo(v, 7));
    const { loss, dlogits } = sce.crossEntropy({ logits, target: new Int32Array([0]), n: 1, c: 3 });
    expect(loss as number).toBeCloseTo(0.14293163, 7);
    want.forEach((v, j) => expect(dlogits![j]).toBeCloseTo(v - (j === 0 ? 1 : 0), 7));
  });
});

describe(`linear, softmax, logSoftmax against the reference (${BUILD})`, () => {
  for (const [n, d, c] of SHAPES) {
    it(`n=${n} d=${d} c=${c}`, () => {
      const r = rng(n * 7919 + d * 31 + c);
      const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
      expectClose('linear', sce.linear({ x, w, b, n, d, c }), reference.linear({ x, w, b, n, d, c }));
      expectClose('linear without b', sce.linear({ x, w, n, d, c }), reference.linear({ x, w, n, d, c }));
      const z = randomFloat32(r, n * c, 8);
      expectClose('softmax', sce.softmax(z, n, c), reference.softmax(z, n, c));
      expectClose('logSoftmax', sce.logSoftmax(z, n, c), reference.logSoftmax(z, n, c));
    });
  }
});


describe(`crossEntropy and linearCrossEntropy on every option (${BUILD})`, () => {
  const shapes = SHAPES.filter(([n, , c]) => n * c <= 4000);
  for (const k of CASES) {
    const label = `${k.reduction} ${k.weighted ? 'weighted' : 'unweighted'} ε=${k.smoothing} ${k.targets}${k.grad ? '' : ' no-grad'}`;
    it(label, () => {
      for (const [n, d, c] of shapes) {
        const r = rng(n * 131 + c * 7 + d);
        const options = makeCase(r, n, c, k);
        const logits = randomFloat32(r, n * c, 6);
        const got = sce.crossEntropy({ logits, n, c, ...options });
        const want = reference.crossEntropy({ logits, n, c, ...options });
        expectLossClose(got.loss, want.loss);
        if (k.grad) expectClose(`dlogits ${n}×${c}`, got.dlogits, want.dlogits);
        else expect(got.dlogits).toBeUndefined();

        const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d, 0.5), b = randomFloat32(r, c);
        const lg = sce.linearCrossEntropy({ x, w, b, n, d, c, ...options });
        const lw = reference.linearCrossEntropy({ x, w, b, n, d, c, ...options });
        expectLossClose(lg.loss, lw.loss);
        if (k.grad) {
          expectClose(`dx ${n}×${d}×${c}`, lg.dx, lw.dx);
          expectClose(`dw ${n}×${d}×${c}`, lg.dw, lw.dw);
          expectClose(`db ${n}×${d}×${c}`, lg.db, lw.db);
        } else {
          expect(lg.dx ?? lg.dw ?? lg.db).toBeUndefined();
        }
        const nb = sce.linearCrossEntropy({ x, w, n, d, c, ...options });
        expect(nb.db).toBeUndefined();
      }
    });
  }
});

describe(`extreme logits (${BUILD})`, () => {
  const c = 37, n = 4;
  const rows: [string, (r: () => number, j: number) => number][] = [
    ['in [90, 100]', (r) => 90 + 10 * r()],
    ['around +1e4', (r) => 1e4 + 8 * r()],
    ['around −1e4', (r) => -1e4 - 8 * r()],
    ['all equal', () => 3.5],
    ['one huge', (_r, j) => (j === 5 ? 1e30 : 0)],
    ['±1e30', (_r, j) => (j % 2 ? 1e30 : -1e30)],
  ];
  for (const [name, gen] of rows) {
    it(name, () => {
      const r = rng(99);
      const logits = Float32Array.from({ length: n * c }, (_, k) => gen(r, k % c));
      const target = new Int32Array([0, 5, 17, 36]);
      for (const options of [{}, { labelSmoothing: 0.2 }, { reduction: 'none' as const }]) {
        const got = sce.crossEntropy({ logits, target, n, c, ...options });
        const want = reference.crossEntropy({ logits, target, n, c, ...options });
        if (typeof got.loss === 'number') expect(Number.isFinite(got.loss)).toBe(true);
        expectLossClose(got.loss, want.loss);
        expectClose('dlogits', got.dlogits, want.dlogits);
      }
      expectClose('softmax', sce.softmax(logits, n, c), reference.softmax(logits, n, c));
      expectClose('logSoftmax', sce.logSoftmax(logits, n, c), reference.logSoftmax(logits, n, c));
    });
  }

  it('all equal logits give loss log c', () => {
    const logits = new Float32Array(n * c).fill(-7);
    const { loss } = sce.crossEntropy({ logits, target: new Int32Array([1, 2, 3, 4]), n, c });
    expect(loss as number).toBeCloseTo(Math.log(c), 6);
  });
});

describe(`PyTorch edge semantics (${BUILD})`, () => {
  it("'mean' with every row ignored: loss NaN, gradients 0", () => {
    const n = 3, d = 4, c = 5, r = rng(5);
    const target = new Int32Array([-100, -100, -100]);
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
    const out = sce.linearCrossEntropy({ x, w, b, target, n, d, c });
    expect(out.loss).toBeNaN();
    for (const g of [out.dx!, out.dw!, out.db!]) expect(g.every((v) => v === 0)).toBe(true);
    expect(sce.linearCrossEntropy({ x, w, b, target, n, d, c, reduction: 'sum' }).loss).toBe(0);
  });

  it('NaN and Infinity in the logits propagate to their row (as PyTorch)', () => {
    const n = 3, c = 4;
    const logits = new Float32Array([1, 2, NaN, 0, 1, 2, 3, 4, Infinity, 0, 0, 0]);
    const out = sce.crossEntropy({ logits, target: new Int32Array([0, 1, 2]), n, c, reduction: 'none' });
    const loss = out.loss as Float32Array;
    expect(loss[0]).toBeNaN();
    expect(Number.isFinite(loss[1])).toBe(true);
    expect(loss[2]).toBeNaN();
    expect(out.dlogits!.slice(4, 8).every(Number.isFinite)).toBe(true);
    expect(out.dlogits!.slice(0, 4).every(Number.isNaN)).toBe(true);
    expect(sce.crossEntropy({ logits, target: new Int32Array([0, 1, 2]), n, c }).loss).toBeNaN();
  });

  it('a −∞ logit of another class keeps the loss finite (class indices, no smoothing), as PyTorch', () => {
    const logits = new Float32Array([2, -Infinity, 0.5, -Infinity, 1, 3]);
    const args = { logits, target: new Int32Array([0, 2]), n: 2, c: 3 };
    const got = sce.crossEntropy(args), want = reference.crossEntropy(args);
    expect(Number.isFinite(got.loss as number)).toBe(true);
    expectLossClose(got.loss, want.loss);
    expectClose('dlogits', got.dlogits, want.dlogits);
  });

  it("'mean' whose kept rows all have weight 0: loss NaN, NaN gradients on kept rows (0/0, as PyTorch)", () => {
    const logits = randomFloat32(rng(4), 9, 2), weight = new Float32Array([0, 1, 1]);
    const args = { logits, target: new Int32Array([0, -100, 0]), n: 3, c: 3, weight };
    const got = sce.crossEntropy(args), want = reference.crossEntropy(args);
    expect(got.loss).toBeNaN();
    expect(want.loss).toBeNaN();
    expect(Array.from(got.dlogits!, Number.isNaN)).toEqual(Array.from(want.dlogits!, Number.isNaN));
    expect(Array.from(got.dlogits!.slice(3, 6))).toEqual([0, 0, 0]);
  });

  it('NaN in x gives NaN (propagates through the matmul)', () => {
    const x = new Float32Array([NaN, 1]), w = new Float32Array([1, 1, 2, 2]);
    const out = sce.linearCrossEntropy({ x, w, target: new Int32Array([0]), n: 1, d: 2, c: 2 });
    expect(out.loss).toBeNaN();
  });

  it('accepts class indices as a plain array of integers', () => {
    const logits = randomFloat32(rng(3), 6, 2);
    const a = sce.crossEntropy({ logits, target: [0, 2], n: 2, c: 3 });
    const b = sce.crossEntropy({ logits, target: new Int32Array([0, 2]), n: 2, c: 3 });
    expect(a.loss).toBe(b.loss);
  });
});

describe(`bad input (${BUILD})`, () => {
  const n = 2, d = 3, c = 4, r = rng(11);
  const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
  const logits = randomFloat32(r, n * c), target = new Int32Array([1, 3]);
  const good = { x, w, b, target, n, d, c };
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['x too short', { x: x.subarray(1) }, /x must have length n×d = 6, got 5/],
    ['x not Float32Array', { x: Array.from(x) }, /x must be a Float32Array/],
    ['w wrong length', { w: new Float32Array(5) }, /w must have length c×d = 12/],
    ['b wrong length', { b: new Float32Array(3) }, /b must have length c = 4/],
    ['n zero', { n: 0 }, /n must be a positive integer/],
    ['d fractional', { d: 1.5 }, /d must be a positive integer/],
    ['c negative', { c: -1 }, /c must be a positive integer/],
    ['n NaN', { n: NaN }, /n must be a positive integer/],
    ['label out of range', { target: new Int32Array([1, 4]) }, /target\[1\] = 4 is outside \[0, c\)/],
    ['negative label', { target: new Int32Array([-1, 0]) }, /target\[0\] = -1 is outside/],
    ['non-integer label', { target: [0, 1.5] }, /target\[1\] must be an integer/],
    ['target wrong length', { target: new Int32Array(3) }, /target must hold n = 2 class indices/],
    ['Float32Array labels', { target: new Float32Array([1, 3]) }, /target as a Float32Array holds probabilities.*Int32Array/],
    ['prob target wrong length', { target: new Float32Array(7) }, /n×c = 8, got 7/],
    ['NaN probability', { target: new Float32Array(8).fill(NaN) }, /target probabilities must be finite/],
    ['ignoreIndex with probabilities', { target: new Float32Array(8), ignoreIndex: 0 }, /ignoreIndex \(0\) cannot be used with probability targets/],
    ['weight wrong length', { weight: new Float32Array(3) }, /weight must have length c = 4/],
    ['weight negative', { weight: new Float32Array([1, -1, 1, 1]) }, /weight must be finite and ≥ 0, got weight\[1\] = -1/],
    ['weight NaN', { weight: new Float32Array([1, 1, NaN, 1]) }, /weight\[2\] = NaN/],
    ['weight Infinity', { weight: new Float32Array([Infinity, 1, 1, 1]) }, /weight\[0\] = Infinity/],
    ['labelSmoothing < 0', { labelSmoothing: -0.1 }, /labelSmoothing must be a number in \[0, 1\]/],
    ['labelSmoothing > 1', { labelSmoothing: 1.1 }, /labelSmoothing must be a number in \[0, 1\]/],
    ['unknown reduction', { reduction: 'avg' }, /reduction must be 'mean', 'sum' or 'none', got "avg"/],
    ['ignoreIndex not integer', { ignoreIndex: 0.5 }, /ignoreIndex must be a 32-bit integer/],
    ['grad not boolean', { grad: 'yes' }, /grad must be a boolean/],
  ];
  for (const [name, change, message] of bad) {
    it(`linearCrossEntropy: ${name}`, () => {
      expect(() => sce.linearCrossEntropy({ ...good, ...change } as never)).toThrow(message);
      // The next valid call is correct: no state was poisoned by the rejected one.
      const ok = sce.linearCrossEntropy(good);
      const ref = reference.linearCrossEntropy(good);
      expectLossClose(ok.loss, ref.loss);
      expectClose('dw', ok.dw, ref.dw);
    });
  }

  it('crossEntropy, softmax, logSoftmax and linear name their arguments', () => {
    expect(() => sce.crossEntropy({ logits: logits.subarray(1), target, n, c })).toThrow(/logits must have length n×c = 8/);
    expect(() => sce.crossEntropy({ logits, target: new Int32Array([0, 9]), n, c })).toThrow(/target\[1\] = 9/);
    expect(() => sce.softmax(logits, 3, c)).toThrow(/softmax: logits must have length n×c = 12/);
    expect(() => sce.logSoftmax(logits, n, 0)).toThrow(/logSoftmax: c must be a positive integer/);
    expect(() => sce.linear({ x, w: w.subarray(2), n, d, c })).toThrow(/linear: w must have length c×d = 12/);
    expect(() => sce.crossEntropy(null as never)).toThrow(/crossEntropy: expected an arguments object/);
  });

  it('sizes past the 4 GiB address space are rejected before allocating', () => {
    const before = sce.memoryBytes;
    const huge = { ...good, n: 65536, d: 65536 };
    expect(() => sce.linearCrossEntropy(huge)).toThrow(/4 GiB/);
    const { target: _, ...hugeLinear } = huge;
    expect(() => sce.linear(hugeLinear)).toThrow(RangeError);
    expect(() => sce.crossEntropy({ logits, target, n: 1 << 16, c: 1 << 14 })).toThrow(/more than the 4 GiB/);
    expect(() => sce.softmax(logits, 1 << 30, 2)).toThrow(/4 GiB/);
    expect(sce.memoryBytes).toBe(before);
  });
});

describe(`memory (${BUILD})`, () => {
  it('10,000 repeated calls of one shape do not grow WebAssembly memory', () => {
    const n = 8, d = 16, c = 10, r = rng(8);
    const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), b: randomFloat32(r, c), target: randomLabels(r, n, c), n, d, c };
    const first = sce.linearCrossEntropy(args);
    const bytes = sce.memoryBytes;
    let last = first;
    for (let i = 0; i < 10_000; i++) last = sce.linearCrossEntropy(args);
    expect(sce.memoryBytes).toBe(bytes);
    expect(last.loss).toBe(first.loss);
    expect(Array.from(last.dw!)).toEqual(Array.from(first.dw!));
  });

  it('returned arrays are copies that later calls do not overwrite', () => {
    const logits = randomFloat32(rng(1), 6), copy = sce.softmax(logits, 2, 3);
    const kept = Float32Array.from(copy);
    sce.softmax(randomFloat32(rng(2), 6), 2, 3);
    expect(Array.from(copy)).toEqual(Array.from(kept));
    // Not a view of WebAssembly memory (the old check compared the buffer with a number).
    expect(copy.buffer).not.toBe(sce.internals.kernels.memory.buffer);
    expect(copy.buffer.byteLength).toBe(copy.byteLength);
  });
});

// Issue 11: dZ feeds the backward gemms, where a subnormal operand or product costs an x86
// microcode assist per multiply (WebAssembly has no flush-to-zero mode). The row kernels
// write dz entries below 2^-100 (DZ_FLUSH, assembly/simd.ts) and softmax outputs below 2^-126
// (the smallest normal) as zero. Each case first checks that the reference really has values
// in the flushed range, so the test cannot pass by the data being friendly.
describe(`wide and peaked data: no subnormals, results as the reference (${BUILD})`, () => {
  const MIN_NORMAL = 2 ** -126, DZ_FLUSH = 2 ** -100;
  /** Entries below `limit` in magnitude are exactly ±0; entries of the reference clearly above it are not. */
  function expectFlushed(name: string, got: Float32Array, want: ArrayLike<number>, limit: number) {
    let tinyInReference = 0;
    for (let i = 0; i < got.length; i++) {
      const g = Math.abs(got[i]), w = Math.abs(want[i]);
      if (w !== 0 && w < limit) tinyInReference++;
      if (g !== 0) expect(g, `${name}[${i}] = ${got[i]} is below ${limit}`).toBeGreaterThanOrEqual(limit);
      // float32 error of a value near the limit is a few ULP: 1e-5 relative clears it
      if (w > limit * (1 + 1e-5)) expect(g, `${name}[${i}]: reference ${want[i]} flushed`).toBeGreaterThan(0);
    }
    return tinyInReference;
  }
  const n = 12, c = 301;
  const logitSets: [string, (r: () => number, i: number, j: number) => number][] = [
    ['wide: uniform in [−150, 150]', (r) => 300 * r() - 150],
    ['peaked: the row\'s first class 100 above the rest, spread 60', (r, i, j) => (j === i ? 100 : 0) + 60 * r()],
    ['far: uniform in [−400, 0]', (r) => -400 * r()],
  ];
  for (const [name, gen] of logitSets) {
    it(name, () => {
      const r = rng(11);
      const logits = Float32Array.from({ length: n * c }, (_, k) => gen(r, Math.floor(k / c), k % c));
      const labels = Int32Array.from({ length: n }, (_, i) => i);
      const oneHot = new Float32Array(n * c);
      for (let i = 0; i < n; i++) oneHot[i * c + i] = 1;
      let tiny = 0;
      for (const options of [{}, { reduction: 'sum' as const }, { weight: Float32Array.from({ length: c }, () => 0.5 + r()) }]) {
        for (const target of [labels, oneHot]) {
          const got = sce.crossEntropy({ logits, target, n, c, ...options });
          const want = reference.crossEntropy({ logits, target, n, c, ...options });
          expectLossClose(got.loss, want.loss);
          expectClose('dlogits', got.dlogits, want.dlogits);
          tiny += expectFlushed('dlogits', got.dlogits!, want.dlogits!, DZ_FLUSH);
        }
      }
      const softmax = sce.softmax(logits, n, c), wantSoftmax = reference.softmax(logits, n, c);
      expectClose('softmax', softmax, wantSoftmax);
      const tinySoftmax = expectFlushed('softmax', softmax, wantSoftmax, MIN_NORMAL);
      expect(tiny, 'reference dz entries in (0, 2^-100)').toBeGreaterThan(0);
      expect(tinySoftmax, 'reference softmax entries in (0, 2^-126)').toBeGreaterThan(0);
      // log-softmax needs no flush (assembly/softmax.ts): it has no subnormal to begin with
      const logSoftmax = sce.logSoftmax(logits, n, c);
      expect(logSoftmax.every((v) => v === 0 || Math.abs(v) >= MIN_NORMAL)).toBe(true);
    });
  }

  it('linearCrossEntropy on x, W, b uniform in [−2, 2]: dZ flushed, dx, dw, db as the reference', () => {
    const n = 16, d = 512, c = 200, r = rng(12);
    const x = randomFloat32(r, n * d, 2), w = randomFloat32(r, c * d, 2), b = randomFloat32(r, c, 2);
    const target = randomLabels(r, n, c);
    const z = sce.linear({ x, w, b, n, d, c });
    const dz = sce.crossEntropy({ logits: z, target, n, c }).dlogits!;
    const tiny = expectFlushed('dz', dz, reference.crossEntropy({ logits: z, target, n, c }).dlogits!, DZ_FLUSH);
    expect(tiny, 'reference dz entries in (0, 2^-100)').toBeGreaterThan(0);
    const got = sce.linearCrossEntropy({ x, w, b, target, n, d, c });
    const want = reference.linearCrossEntropy({ x, w, b, target, n, d, c });
    expectLossClose(got.loss, want.loss);
    for (const g of ['dx', 'dw', 'db'] as const) expectClose(g, got[g], want[g]);
  });

  it('the flush keeps the sign and leaves normal values, ±inf and NaN alone', () => {
    // one row of c = 3: e^-80 and e^-200 below the max; 'sum' so gradScale = 1
    const logits = new Float32Array([0, -80, -200, 0, 1, NaN]);
    const out = sce.crossEntropy({ logits, target: new Int32Array([1, 0]), n: 2, c: 3, reduction: 'sum' });
    const dz = out.dlogits!;
    expect(dz[1]).toBeCloseTo(-1, 6);                     // label with p ≈ 0: −(1 − p)
    expect(dz[0]).toBeCloseTo(1, 6);
    expect(Object.is(dz[2], 0)).toBe(true);               // e^-200 ≈ 1.4e-87 would underflow to 0 anyway
    expect(Number.isNaN(dz[3]) && Number.isNaN(dz[4]) && Number.isNaN(dz[5])).toBe(true);
    // entries below 2^-100 keep their sign: with class weights [1e-30, 1], 'sum' and label 0,
    // dz = 1e-30·[−(1 − p_0), p_1] with p_1 ≈ e^-20 ≈ 2e-9, i.e. about ∓2e-39
    const weighted = sce.crossEntropy({ logits: new Float32Array([0, -20]), target: new Int32Array([0]), n: 1, c: 2,
      reduction: 'sum', weight: new Float32Array([1e-30, 1]) });
    expect(Object.is(weighted.dlogits![0], -0)).toBe(true);
    expect(Object.is(weighted.dlogits![1], 0)).toBe(true);
    // e^-60 ≈ 8.8e-27 is above 2^-100: kept
    const kept = sce.crossEntropy({ logits: new Float32Array([60, 0]), target: new Int32Array([0]), n: 1, c: 2, reduction: 'sum' });
    expect(kept.dlogits![1]).toBeCloseTo(Math.exp(-60) / (1 + Math.exp(-60)), 30);
    expect(kept.dlogits![1] / Math.exp(-60)).toBeCloseTo(1, 5);
  });
});
