/**
 * The large-vocabulary options of the float64 reference (src/reference.ts; the semantics are
 * issue 15's spec, README "Large-vocabulary options"): softcap, zLoss, returnLse,
 * returnAccuracy, gradFilter.
 *
 * (a) central finite differences of the loss against dlogits, dx, dw, db with softcap and
 *     zLoss on, over shapes 1 and primes, every reduction, weights, smoothing, ignored rows
 *     and probability targets;
 * (b) PyTorch's numbers (test/fixtures/torch-vocab.json, made by make-torch-vocab-fixtures.py);
 * (c) the gradient filter on hand-built cases;
 * (d) the errors of every bad option value.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crossEntropy, linear, linearCrossEntropy } from '../src/reference.js';
import { blockRows, CHUNK_BYTES, GRAD_FILTER_CLASSES } from '../src/options.js';
import { planLoss } from '../src/validate.js';
import type { LossOptions, Reduction, Target } from '../src/types.js';
import { randomDyadic, randomFloat32, randomLabels, randomProbs, rng } from './helpers.js';
import { expectMatch, value, type Num } from './expect-match.js';
import { linearDifferences } from './finite-differences.js';

// ------------------------------------------------------------------ helpers

/** Largest |actual − expected| must not exceed tol; NaN anywhere fails. */
function expectClose(actual: ArrayLike<number> | undefined, expected: ArrayLike<number>, tol: number, what = '') {
  expect(actual, what).toBeDefined();
  expect(actual!.length, what).toBe(expected.length);
  let worst = 0;
  for (let k = 0; k < expected.length; k++) {
    const err = Math.abs(actual![k] - expected[k]);
    if (!(err <= worst)) worst = err; // also catches NaN
  }
  expect(worst, `${what} max |error|`).toBeLessThanOrEqual(tol);
}

const f32 = (...v: number[]) => new Float32Array(v);

/**
 * An independent float64 loss with softcap and z-loss, composed the way the torch fixtures
 * compose it: cap the logits, PyTorch's cross-entropy (log_softmax, nll + smoothing term,
 * reduction), then λ·lse² over the kept rows reduced with the kept-row count for 'mean'.
 * `value` is the reduced loss (the sum of rows with 'none': the quantity whose gradient the
 * API returns); `rows` the per-row losses, z-loss included.
 */
function naiveLoss(zRaw: Float64Array, n: number, c: number, target: Target, o: LossOptions) {
  const reduction = o.reduction ?? 'mean';
  const ignore = o.ignoreIndex ?? -100;
  const eps = o.labelSmoothing ?? 0;
  const cap = o.softcap ?? 0, lambda = o.zLoss ?? 0;
  const wt = (k: number) => (o.weight ? o.weight[k] : 1);
  const rows = new Float64Array(n), zRows = new Float64Array(n);
  let den = 0, kept = 0;
  for (let i = 0; i < n; i++) {
    const zi = Array.from(zRaw.subarray(i * c, (i + 1) * c), (v) => (cap ? cap * Math.tanh(v / cap) : v));
    const m = Math.max(...zi);
    const lse = m + Math.log(zi.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = zi.map((v) => v - lse);
    if (target instanceof Float32Array) {
      for (let k = 0; k < c; k++) rows[i] -= wt(k) * ((1 - eps) * target[i * c + k] + eps / c) * logp[k];
      den += 1;
    } else {
      const y = target[i];
      if (y === ignore) continue;
      let smooth = 0;
      for (let k = 0; k < c; k++) smooth -= wt(k) * logp[k];
      rows[i] = (1 - eps) * wt(y) * -logp[y] + (eps / c) * smooth;
      den += wt(y);
    }
    kept++;
    zRows[i] = lambda * lse * lse;
  }
  const total = rows.reduce((s, v) => s + v, 0), zTotal = zRows.reduce((s, v) => s + v, 0);
  const value = reduction === 'mean' ? total / den + zTotal / kept : total + zTotal;
  return { rows: rows.map((v, i) => v + zRows[i]), zRows, value, zValue: reduction === 'mean' ? zTotal / kept : zTotal };
}

// ------------------------------------------------------------------ (a) finite differences

interface FdCase { name: string; n: number; d: number; c: number; kind: 'index' | 'prob'; options: LossOptions }

// Shapes: 1 and primes (n, d, c).
const FD_SHAPES: [number, number, number][] = [[1, 1, 1], [1, 3, 2], [2, 3, 5], [5, 2, 3], [7, 3, 11]];
const FD_CASES: FdCase[] = [];
for (const [n, d, c] of FD_SHAPES) {
  for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
    for (const kind of ['index', 'prob'] as const) {
      for (const variant of ['plain', 'weighted, ε = 0.1'] as const) {
        const options: LossOptions = variant === 'plain'
          ? { reduction, softcap: 2.5, zLoss: 0.2 }
          : { reduction, softcap: 1.5, zLoss: 0.05, labelSmoothing: 0.1, weight: randomDyadic(rng(c), c, 64, 64).map((v) => 0.25 + Math.abs(v)) };
        FD_CASES.push({ name: `n=${n} d=${d} c=${c} ${reduction} ${kind} ${variant}, softcap ${options.softcap}, zLoss ${options.zLoss}`, n, d, c, kind, options });
      }
    }
  }
}

/** Targets with ignored rows (row 1 and the last of n ≥ 3) for class indices. */
function fdData({ n, d, c, kind }: FdCase) {
  const r = rng(1000 * n + 10 * d + c + (kind === 'index' ? 0 : 1));
  let target: Target;
  if (kind === 'index') {
    const labels = randomLabels(r, n, c);
    if (n >= 3) labels[1] = labels[n - 1] = -100;
    target = labels;
  } else {
    target = randomProbs(r, n, c);
  }
  // Logits in [−4, 4] cross the cap's bend (cap 1.5 and 2.5); dyadic k/64 inputs of the
  // linear head keep a step of 2^-10 exact in float32.
  return { target, logits: randomFloat32(r, n * c, 4), x: randomDyadic(r, n * d), w: randomDyadic(r, c * d), b: randomDyadic(r, c) };
}

describe('(a) gradients with softcap and zLoss match central finite differences', () => {
  /*
   * Logits: the reference takes float32 logits, so we difference the independent float64
   * naiveLoss (after checking it equals the reference's loss and zLoss to 1e-13) with
   * h = 1e-6. Error of (L(z+h) − L(z−h))/2h: truncation h²/6·|L'''| (|L'''| ≲ 10 here, the
   * cap's tanh and λ·lse² being smooth with bounded derivatives on |z| ≤ 4) ≈ 2e-12, plus
   * rounding ≈ u·|L|/h ≈ 1e-16·30/1e-6 = 3e-9. Tolerance 1e-7 sits well above both and far
   * below a wrong term (a missing chain-rule factor or z-loss term moves dlogits by ≳ 1e-3).
   */
  const H_LOGITS = 1e-6, TOL_LOGITS = 1e-7;

  it.each(FD_CASES)('dlogits: $name', (k) => {
    const { n, c, options } = k;
    const { logits, target } = fdData(k);
    const r = crossEntropy({ logits, target, n, c, ...options });
    const z = Float64Array.from(logits);
    const naive = naiveLoss(z, n, c, target, options);

    if (options.reduction === 'none') {
      expectClose(r.loss as Float64Array, naive.rows, 1e-13, 'row losses');
      expectClose(r.zLoss as Float64Array, naive.zRows, 1e-13, 'row z-losses');
    } else {
      expect(Math.abs((r.loss as number) - naive.value)).toBeLessThanOrEqual(1e-13 * (1 + Math.abs(naive.value)));
      expect(Math.abs((r.zLoss as number) - naive.zValue)).toBeLessThanOrEqual(1e-13 * (1 + Math.abs(naive.zValue)));
    }

    const fd = new Float64Array(n * c);
    for (let j = 0; j < n * c; j++) {
      const zp = z.slice(), zm = z.slice();
      zp[j] += H_LOGITS;
      zm[j] -= H_LOGITS;
      fd[j] = (naiveLoss(zp, n, c, target, options).value - naiveLoss(zm, n, c, target, options).value) / (zp[j] - zm[j]);
    }
    expectClose(r.dlogits, fd, TOL_LOGITS, 'dlogits');
    if (k.kind === 'index' && n >= 3) {
      for (const i of [1, n - 1]) expect(Array.from(r.dlogits!.subarray(i * c, (i + 1) * c)).every((v) => v === 0)).toBe(true);
    }
  });

  /*
   * Linear head: one entry of x, w or b moves by h = 2^-10 (exact in float32: inputs are k/64)
   * and we difference the reference's own float64 loss. Truncation h²/6·|L'''|: with |z| ≤ 3
   * (d ≤ 3 terms of at most 1, plus b), the cap's tanh has |t'''| ≤ 2/cap² ≤ 0.9 and
   * λ·lse² adds ≲ λ·(2·|lse|·0.8 + 6) per row, so summed over ≤ 7 rows (w and b move every
   * row) |L'''| ≲ 30 and the error ≲ 2^-20/6·30 ≈ 5e-6; rounding ≈ u·|L|/h ≈ 1e-12.
   * Tolerance 1e-5 (observed below 1e-6; a wrong gradient term is off by ≳ 1e-3).
   */
  const H_LINEAR = 2 ** -10, TOL_LINEAR = 1e-5;

  it.each(FD_CASES)('dx, dw, db: $name', (k) => {
    const { n, d, c, options } = k;
    const { x, w, b, target } = fdData(k);
    const args = { x, w, b, target, n, d, c, ...options };
    const r = linearCrossEntropy(args);
    const fdOf = (name: 'x' | 'w' | 'b') => linearDifferences(args, name, H_LINEAR);
    expectClose(r.dx, fdOf('x'), TOL_LINEAR, 'dx');
    expectClose(r.dw, fdOf('w'), TOL_LINEAR, 'dw');
    expectClose(r.db, fdOf('b'), TOL_LINEAR, 'db');
  });
});

// ------------------------------------------------------------------ (b) PyTorch

interface VocabCase {
  name: string; n: number; c: number; d?: number; targetKind: 'index' | 'probs';
  options: Omit<LossOptions, 'weight'> & { weight?: number[] };
  logits?: Num[]; x?: number[]; w?: number[]; b?: number[]; target: number[];
  expected: {
    loss: Num | Num[]; dlogits?: Num[]; dx?: Num[]; dw?: Num[]; db?: Num[];
    zLoss?: Num | Num[]; lse?: Num[]; accuracy?: Num;
  };
}
const fixtures: { generator: string; crossEntropy: VocabCase[]; linearCrossEntropy: VocabCase[] } =
  JSON.parse(readFileSync(new URL('./fixtures/torch-vocab.json', import.meta.url), 'utf8'));



function fixtureArgs(k: VocabCase) {
  const target = k.targetKind === 'probs' ? Float32Array.from(k.target) : Int32Array.from(k.target);
  const options = { ...k.options, weight: k.options.weight ? Float32Array.from(k.options.weight) : undefined };
  return { ...options, target, n: k.n, c: k.c };
}

// Both sides compute in float64 from the same float32 inputs: only the order of operations
// and the last bit of tanh/exp/log differ (≈ 1e-16 relative each). 1e-12 of each array's
// scale leaves room for sums over ≤ 37 classes and 17 rows, for logits of ±1e4 capped, and
// for λ·lse² of lse ≈ 100; a semantic slip (a weight on the z-loss, the weight sum as its
// 'mean' denominator, a missing chain-rule factor) is ≳ 1e-3 off.
const REF_TOL = 1e-12;

function checkExtras(got: { zLoss?: number | Float64Array; lse?: Float64Array; accuracy?: number }, k: VocabCase) {
  const e = k.expected;
  if (e.zLoss !== undefined) expectMatch(got.zLoss, e.zLoss, REF_TOL, 'zLoss');
  else expect(got.zLoss, 'zLoss').toBeUndefined();
  if (e.lse !== undefined) expectMatch(got.lse, e.lse, REF_TOL, 'lse');
  // accuracy is a ratio of counts: exactly torch's.
  if (e.accuracy !== undefined) expect(got.accuracy, 'accuracy').toBe(value(e.accuracy));
}

describe(`(b) PyTorch: softcap, z-loss, lse, accuracy (${fixtures.generator})`, () => {
  it('the fixtures cover what they claim', () => {
    const all = [...fixtures.crossEntropy, ...fixtures.linearCrossEntropy];
    const has = (f: (k: VocabCase) => boolean) => all.filter(f).length;
    expect(has((k) => !!k.options.softcap)).toBeGreaterThan(50);
    expect(has((k) => k.options.zLoss !== undefined)).toBeGreaterThan(50);
    expect(has((k) => k.options.zLoss === 0)).toBeGreaterThan(10);
    expect(has((k) => k.targetKind === 'probs')).toBeGreaterThan(30);
    expect(has((k) => k.target.includes(-100) || k.target.includes(1) && k.options.ignoreIndex === 1)).toBeGreaterThan(20);
    for (const r of ['mean', 'sum', 'none']) expect(has((k) => (k.options.reduction ?? 'mean') === r)).toBeGreaterThan(20);
  });

  for (const k of fixtures.crossEntropy) {
    it(`crossEntropy: ${k.name}`, () => {
      const got = crossEntropy({ ...fixtureArgs(k), logits: Float32Array.from(k.logits!.map(value)) });
      expectMatch(got.loss, k.expected.loss, REF_TOL, 'loss');
      expectMatch(got.dlogits, k.expected.dlogits!, REF_TOL, 'dlogits');
      checkExtras(got, k);
    });
  }
  for (const k of fixtures.linearCrossEntropy) {
    it(`linearCrossEntropy: ${k.name}`, () => {
      const got = linearCrossEntropy({
        ...fixtureArgs(k), d: k.d!, x: Float32Array.from(k.x!), w: Float32Array.from(k.w!), b: Float32Array.from(k.b!),
      });
      expectMatch(got.loss, k.expected.loss, REF_TOL, 'loss');
      expectMatch(got.dx, k.expected.dx!, REF_TOL, 'dx');
      expectMatch(got.dw, k.expected.dw!, REF_TOL, 'dw');
      expectMatch(got.db, k.expected.db!, REF_TOL, 'db');
      checkExtras(got, k);
    });
  }
});

describe('results are present exactly when asked for', () => {
  const n = 3, c = 4, r = rng(5);
  const logits = randomFloat32(r, n * c, 3), target = Int32Array.from([2, -100, 0]);

  it('none of the new fields without the options; the old results unchanged by softcap/zLoss off', () => {
    const plain = crossEntropy({ logits, target, n, c });
    expect(Object.keys(plain).sort()).toEqual(['dlogits', 'loss']);
    const off = crossEntropy({ logits, target, n, c, softcap: null, zLoss: 0 });
    expect(off.loss).toBe(plain.loss);
    expect(Array.from(off.dlogits!)).toEqual(Array.from(plain.dlogits!));
    expect(off.zLoss).toBe(0);
  });

  it("zLoss 0 is off but still reported; with 'none' per row, ignored rows 0, and added into loss", () => {
    for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
      expect(crossEntropy({ logits, target, n, c, reduction, zLoss: 0 }).zLoss).toEqual(reduction === 'none' ? new Float64Array(n) : 0);
    }
    const none = crossEntropy({ logits, target, n, c, reduction: 'none', zLoss: 0.5 });
    const base = crossEntropy({ logits, target, n, c, reduction: 'none' }).loss as Float64Array;
    const z = none.zLoss as Float64Array, lse = crossEntropy({ logits, target, n, c, returnLse: true }).lse!;
    expect(z).toBeInstanceOf(Float64Array);
    expect(z[1]).toBe(0);
    for (const i of [0, 2]) {
      expect(z[i]).toBe(0.5 * lse[i] * lse[i]);
      expect((none.loss as Float64Array)[i]).toBe(base[i] + z[i]);
    }
  });

  it('lse holds every row, ignored ones included, and is log Σ exp of the capped logits', () => {
    const got = crossEntropy({ logits, target, n, c, returnLse: true, softcap: 2 });
    expect(got.lse!.length).toBe(n);
    for (let i = 0; i < n; i++) {
      const zc = Array.from(logits.subarray(i * c, (i + 1) * c), (v) => 2 * Math.tanh(v / 2));
      expect(got.lse![i]).toBeCloseTo(Math.log(zc.reduce((s, v) => s + Math.exp(v), 0)), 14);
    }
  });

  it('accuracy over kept rows; NaN when no row is kept; grad false still reports everything', () => {
    const z = f32(0, 5, 1, /**/ 9, 0, 0, /**/ 2, 2, 1); // predictions 1, 0, 0 (a tie: the lowest index)
    expect(crossEntropy({ logits: z, target: [1, -100, 0], n: 3, c: 3, returnAccuracy: true }).accuracy).toBe(1);
    expect(crossEntropy({ logits: z, target: [1, 1, 1], n: 3, c: 3, returnAccuracy: true }).accuracy).toBe(1 / 3);
    expect(crossEntropy({ logits: z, target: [-100, -100, -100], n: 3, c: 3, returnAccuracy: true }).accuracy).toBeNaN();
    const noGrad = crossEntropy({ logits: z, target: [1, 0, 1], n: 3, c: 3, returnAccuracy: true, returnLse: true, zLoss: 0.1, grad: false });
    expect(Object.keys(noGrad).sort()).toEqual(['accuracy', 'loss', 'lse', 'zLoss']);
    expect(noGrad.accuracy).toBe(2 / 3);
  });

  it('planLoss carries the options for the API (defaults off) and keptRows for both target kinds', () => {
    const p = planLoss('f', target, n, c, {});
    expect([p.softcap, p.zLoss, p.zLossGiven, p.returnLse, p.returnAccuracy, p.gradFilter]).toEqual([0, 0, false, false, false, 0]);
    const q = planLoss('f', target, n, c, { softcap: 3, zLoss: 0, returnLse: true, returnAccuracy: true, gradFilter: 1e-3 });
    expect([q.softcap, q.zLoss, q.zLossGiven, q.returnLse, q.returnAccuracy, q.gradFilter]).toEqual([3, 0, true, true, true, 1e-3]);
    expect(q.keptRows).toBe(2);
    expect(planLoss('f', randomProbs(r, n, c), n, c, { zLoss: 1 }).keptRows).toBe(n);
  });
});

// ------------------------------------------------------------------ (c) gradFilter

describe('(c) gradFilter in the reference', () => {
  it('blockRows and the constants moved to options.ts keep their values', () => {
    expect(CHUNK_BYTES).toBe(8 << 20);
    expect(GRAD_FILTER_CLASSES).toBe(32);
    expect(blockRows('f', undefined, 100, 1000)).toBe(100);
    expect(blockRows('f', 'auto', 10_000, 1000)).toBe(2096); // ⌊8 MiB / (4·1000·4)⌋·4
    expect(blockRows('f', true, 100, 1000)).toBe(100);
    expect(blockRows('f', false, 10_000, 1000)).toBe(10_000);
    expect(blockRows('f', { rows: 7 }, 5, 3)).toBe(5);
    expect(blockRows('f', { rows: 2 }, 5, 3)).toBe(2);
  });

  // c = 70: class blocks [0, 32), [32, 64), [64, 70). Row 0's label is in block 0; the
  // logits of blocks 1 and 2 are −40, so p there is ≈ e^-40/32 ≈ 1e-19: far below ε = 1e-6.
  const c = 70;
  function peaked(n: number, raise: [number, number][] = []) {
    const z = new Float32Array(n * c);
    for (let i = 0; i < n; i++) for (let k = 32; k < c; k++) z[i * c + k] = -40;
    for (const [i, k] of raise) z[i * c + k] = 0;
    return z;
  }

  it('skips the blocks whose every |dZ| < ε·g, zeroes them, and leaves the rest bit for bit', () => {
    const logits = peaked(2), target = [3, 17];
    for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
      const plain = crossEntropy({ logits, target, n: 2, c, reduction });
      const got = crossEntropy({ logits, target, n: 2, c, reduction, gradFilter: 1e-6 });
      expect([got.skippedBlocks, got.blocks], reduction).toEqual([2, 3]);
      for (let i = 0; i < 2; i++) {
        for (let k = 0; k < c; k++) {
          expect(got.dlogits![i * c + k]).toBe(k < 32 ? plain.dlogits![i * c + k] : 0);
        }
      }
      expect(got.loss).toEqual(plain.loss); // the filter touches only the gradient
    }
  });

  it('one entry at or above ε·g keeps its block; the threshold is strict', () => {
    // Row 1, class 66 raised to 0: its p ≈ 1/33 keeps block 2; block 1 is still skipped.
    const got = crossEntropy({ logits: peaked(2, [[1, 66]]), target: [3, 17], n: 2, c, reduction: 'sum', gradFilter: 1e-6 });
    expect([got.skippedBlocks, got.blocks]).toEqual([1, 3]);
    expect(got.dlogits![0 * c + 66]).not.toBe(0); // row 0 of a kept block keeps its tiny values
    // Strictness, 'sum' (g = 1): ε equal to the block's largest |dZ| keeps it; the next double skips it.
    const logits = f32(0, -3, -4, -5), target = [0], n = 1;
    const big = Math.max(...Array.from(crossEntropy({ logits, target, n, c: 4, reduction: 'sum' }).dlogits!, Math.abs));
    expect(crossEntropy({ logits, target, n, c: 4, reduction: 'sum', gradFilter: big }).skippedBlocks).toBe(0);
    expect(crossEntropy({ logits, target, n, c: 4, reduction: 'sum', gradFilter: big * (1 + 2 ** -52) }).skippedBlocks).toBe(1);
  });

  it("'mean' compares against ε/denominator: the same blocks as 'sum', whatever the weights", () => {
    const n = 4, logits = peaked(n, [[2, 40]]), target = [1, 5, -100, 30], weight = new Float32Array(c).fill(0.5);
    weight[30] = 7;
    const decide = (o: LossOptions) => {
      const r = crossEntropy({ logits, target, n, c, gradFilter: 1e-3, ...o });
      return [r.skippedBlocks, r.blocks];
    };
    // Row 2 (ignored) holds the raised logit: its dZ is 0, so block 1 is still skipped.
    expect(decide({ reduction: 'sum' })).toEqual([2, 3]);
    expect(decide({ reduction: 'mean' })).toEqual([2, 3]);
    expect(decide({ reduction: 'mean', weight })).toEqual([2, 3]);
    expect(decide({ reduction: 'none', weight })).toEqual([2, 3]);
  });

  it('g NaN (kept rows of weight 0) or 0 (every row ignored) skips nothing', () => {
    const logits = peaked(2), weight = new Float32Array(c).fill(1);
    weight[3] = 0;
    const nan = crossEntropy({ logits, target: [3, 3], n: 2, c, weight, gradFilter: 1e-6 });
    expect([nan.skippedBlocks, nan.blocks]).toEqual([0, 3]);
    const none = crossEntropy({ logits, target: [-100, -100], n: 2, c, gradFilter: 1e-6 });
    expect([none.skippedBlocks, none.blocks]).toEqual([0, 3]);
    expect(none.dlogits!.every((v) => v === 0)).toBe(true);
  });

  it('decides on dZ after the softcap chain rule and the z-loss term', () => {
    // Class 40 at 1000 with cap 1: p there is large, but 1 − tanh²(1000) = 0, so its dZ is 0
    // and block 1 is skipped (CCE, which filters before the chain rule, would keep it).
    const logits = new Float32Array(c).fill(-1);
    logits[40] = 1000;
    for (let k = 32; k < 64; k++) if (k !== 40) logits[k] = -1000;
    const got = crossEntropy({ logits, target: [0], n: 1, c, softcap: 1, reduction: 'sum', gradFilter: 1e-9 });
    expect([got.skippedBlocks, got.blocks]).toEqual([1, 3]);
    const unfiltered = crossEntropy({ logits, target: [0], n: 1, c, softcap: 1, reduction: 'sum' });
    expect(Array.from(unfiltered.dlogits!.subarray(32, 64)).every((v) => v === 0)).toBe(true);
    // The z-loss term λ·2·lse·p lifts a block over ε: here λ = 1e6 makes a p ≈ 1e-9 block count.
    const z = f32(0, 0, 0, -20), plainSum = crossEntropy({ logits: z, target: [0], n: 1, c: 4, reduction: 'sum' });
    const p3 = Math.abs(plainSum.dlogits![3]);
    const filter = (zLoss: number) =>
      crossEntropy({ logits: z, target: [0], n: 1, c: 4, reduction: 'sum', zLoss, gradFilter: 1.5 }).skippedBlocks;
    expect(p3).toBeLessThan(1e-9);
    expect(filter(0)).toBe(1); // |dZ| ≤ 1 − p_0 < 1.5 everywhere: skipped
    expect(filter(1e6)).toBe(0); // 2·λ·lse·p_0 ≈ 2e6·1.1·(1/3) ≫ 1.5: kept
  });

  it('linearCrossEntropy: row blocks are the chunk blocks; dW, dX, db are those of the filtered dZ', () => {
    // d = 2, c = 40 (class blocks [0, 32), [32, 40)); classes 32.. have w = (0, 40), b = −50,
    // so z = 40·x₁ − 50: −50 (p ≈ 1e-22) where x₁ = 0, −10 where x₁ = 1 (only row 3).
    const n = 5, d = 2, cc = 40;
    const x = new Float32Array(n * d), w = new Float32Array(cc * d), b = new Float32Array(cc);
    for (let i = 0; i < n; i++) x[i * d] = (i % 3) - 1;
    x[3 * d + 1] = 1;
    for (let k = 0; k < 32; k++) { w[k * d] = (k % 5) - 2; b[k] = (k % 3) * 0.5; }
    for (let k = 32; k < cc; k++) { w[k * d + 1] = 40; b[k] = -50; }
    const target = Int32Array.from([0, 7, 31, 12, 3]);
    const base = { x, w, b, target, n, d, c: cc, reduction: 'sum' as const, gradFilter: 1e-12 };

    // Row blocks [0, 2), [2, 4), [4, 5): class block 1 is kept only in [2, 4) (row 3).
    const got = linearCrossEntropy({ ...base, chunk: { rows: 2 } });
    expect([got.skippedBlocks, got.blocks]).toEqual([2, 6]);
    // One row block (chunk false, 'auto' at this size, or rows ≥ n): row 3 keeps block 1 for all.
    for (const chunk of [false, 'auto', { rows: 5 }] as const) {
      const one = linearCrossEntropy({ ...base, chunk });
      expect([one.skippedBlocks, one.blocks], JSON.stringify(chunk)).toEqual([0, 2]);
    }

    // Expected: the reference's own dZ (z is exact in float32 here: small integers and halves),
    // with blocks (rows 0–1 and 4) × (classes 32–39) zeroed, then dX = dZ·W, dW = dZᵀ·X, db = Σ dZ.
    const z = linear({ x, w, b, n, d, c: cc });
    expect(Array.from(Float32Array.from(z))).toEqual(Array.from(z));
    const dz = crossEntropy({ logits: Float32Array.from(z), target, n, c: cc, reduction: 'sum' }).dlogits!.slice();
    for (const i of [0, 1, 4]) dz.fill(0, i * cc + 32, (i + 1) * cc);
    const dx = new Float64Array(n * d), dw = new Float64Array(cc * d), db = new Float64Array(cc);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < cc; k++) {
        db[k] += dz[i * cc + k];
        for (let j = 0; j < d; j++) {
          dx[i * d + j] += dz[i * cc + k] * w[k * d + j];
          dw[k * d + j] += dz[i * cc + k] * x[i * d + j];
        }
      }
    }
    expectClose(got.dx, dx, 1e-15, 'dx');
    expectClose(got.dw, dw, 1e-15, 'dw');
    expectClose(got.db, db, 1e-15, 'db');
    // And the filter did something: the entries it zeroed were not 0 (e^-50-ish, but not 0).
    const before = crossEntropy({ logits: Float32Array.from(z), target, n, c: cc, reduction: 'sum' }).dlogits!;
    for (const i of [0, 1, 4]) for (let k = 32; k < cc; k++) expect(before[i * cc + k]).not.toBe(0);
    expect(linearCrossEntropy({ ...base, gradFilter: 0, chunk: { rows: 2 } }).skippedBlocks).toBeUndefined();
  });

  it('gradFilter with grad false is an error; gradFilter 0 with grad false is not', () => {
    const args = { logits: f32(1, 2), target: [0], n: 1, c: 2, grad: false };
    expect(() => crossEntropy({ ...args, gradFilter: 1e-6 })).toThrow(
      'reference.crossEntropy: gradFilter filters the gradient, and grad is false (none is computed)');
    expect(() => linearCrossEntropy({ x: f32(1), w: f32(1, 2), target: [0], n: 1, d: 1, c: 2, grad: false, gradFilter: 1 })).toThrow(
      /reference.linearCrossEntropy: gradFilter filters the gradient, and grad is false/);
    expect(crossEntropy({ ...args, gradFilter: 0 })).toEqual({ loss: crossEntropy(args).loss });
  });
});

// ------------------------------------------------------------------ (d) validation

describe('(d) every bad option value is an ArgumentError naming the option', () => {
  const ce = { logits: f32(1, 2, 3, 4), target: [0, 1], n: 2, c: 2 };
  const lce = { x: f32(1, 2), w: f32(1, 2), target: [0, 1], n: 2, d: 1, c: 2 };
  const bad: [string, unknown, RegExp][] = [];
  const softcap = /softcap must be a positive finite number \(the cap in cap·tanh\(z\/cap\)\), got /;
  for (const v of [0, -0, -1, NaN, Infinity, -Infinity, '2', true, [2]]) bad.push(['softcap', v, softcap]);
  for (const name of ['zLoss', 'gradFilter']) {
    const re = new RegExp(`${name} must be a finite number ≥ 0 \\(.*; 0 = off\\), got `);
    for (const v of [-1, -1e-300, NaN, Infinity, '0.1', null, false, {}]) bad.push([name, v, re]);
  }
  for (const name of ['returnLse', 'returnAccuracy']) {
    for (const v of [1, 0, 'true', null, {}]) bad.push([name, v, new RegExp(`${name} must be a boolean, got `)]);
  }
  for (const [name, v, re] of bad) {
    const shown = typeof v === 'number' ? String(v) : JSON.stringify(v);
    it(`${name}: ${shown}`, () => {
      for (const [fn, args] of [['crossEntropy', ce], ['linearCrossEntropy', lce]] as const) {
        const call = () => (fn === 'crossEntropy' ? crossEntropy : linearCrossEntropy)({ ...args, [name]: v } as never);
        expect(call).toThrow(re);
        expect(call).toThrow(new RegExp(`^softmax-ce-wasm: reference.${fn}: `));
        try { call(); } catch (e) { expect((e as Error).name).toBe('ArgumentError'); }
      }
    });
  }

  it('the messages show the value given', () => {
    expect(() => crossEntropy({ ...ce, softcap: -2 })).toThrow(/got -2$/);
    expect(() => crossEntropy({ ...ce, zLoss: NaN })).toThrow(/got NaN$/);
    expect(() => crossEntropy({ ...ce, gradFilter: '1e-3' as never })).toThrow(/got string$/);
    expect(() => crossEntropy({ ...ce, returnLse: 1 as never })).toThrow(/returnLse must be a boolean, got 1$/);
  });

  it('accepted: softcap null or undefined (off), zLoss and gradFilter 0, flags false', () => {
    const plain = crossEntropy(ce);
    for (const o of [{ softcap: null }, { softcap: undefined }, { gradFilter: 0 }, { returnLse: false, returnAccuracy: false }]) {
      expect(crossEntropy({ ...ce, ...o } as never)).toEqual(plain);
    }
  });

  it('misspellings of the new options are unknown options', () => {
    expect(() => crossEntropy({ ...ce, softCap: 30 } as never)).toThrow(/unknown option 'softCap'/);
    expect(() => crossEntropy({ ...ce, lse_square_scale: 1e-4 } as never)).toThrow(/unknown option 'lse_square_scale'/);
    expect(() => linearCrossEntropy({ ...lce, filter_eps: 1e-6 } as never)).toThrow(/unknown option 'filter_eps'/);
  });
});
