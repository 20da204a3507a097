/**
 * Tests of the float64 reference (src/reference.ts), the oracle of the WASM
 * kernels: a textbook case, finite-difference checks of every gradient over a
 * grid of options, PyTorch semantics on hand-computed tiny cases, numerical
 * stability against closed forms, and argument errors.
 */
import { describe, it, expect } from 'vitest';
import * as reference from '../src/reference.js';
import { crossEntropy, linear, linearCrossEntropy, logSoftmax, softmax } from '../src/reference.js';
import type { LossOptions, Reduction, Target } from '../src/types.js';
import { randomDyadic, randomFloat32, randomLabels, randomProbs, rng } from './helpers.js';
import { linearDifferences, scalar } from './finite-differences.js';

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

const allZero = (a: ArrayLike<number> | undefined) => a !== undefined && Array.from(a).every((v) => v === 0);
const f32 = (...v: number[]) => new Float32Array(v);
const logSumExp = (z: number[]) => Math.log(z.reduce((s, v) => s + Math.exp(v), 0)); // naive: fine for |z| ≲ 700

/**
 * An independent float64 cross-entropy of float64 logits, written the way
 * PyTorch composes it (log_softmax, then nll + smoothing term, then the
 * reduction) rather than through the reference's a_ic form. Returns per-row
 * losses and the reduced value; with 'none' the value is the SUM of the rows,
 * the quantity whose gradient the API returns.
 */
function naiveLoss(z: Float64Array, n: number, c: number, target: Target, o: LossOptions) {
  const reduction = o.reduction ?? 'mean';
  const ignore = o.ignoreIndex ?? -100;
  const eps = o.labelSmoothing ?? 0;
  const wt = (k: number) => (o.weight ? o.weight[k] : 1);
  const rows = new Float64Array(n);
  let den = 0;
  for (let i = 0; i < n; i++) {
    const zi = Array.from(z.subarray(i * c, (i + 1) * c));
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
  }
  const total = rows.reduce((s, v) => s + v, 0);
  return { rows, value: reduction === 'mean' ? total / den : total };
}

// ------------------------------------------------------------------ exports & textbook

describe('reference module', () => {
  it('exports exactly the five reference functions', () => {
    expect(Object.keys(reference).sort()).toEqual(['crossEntropy', 'linear', 'linearCrossEntropy', 'logSoftmax', 'softmax']);
  });

  it('textbook case: z = [3, 1, −1], label 0', () => {
    const logits = f32(3, 1, -1);
    const p = [0.86681333, 0.11731043, 0.01587624];
    expectClose(softmax(logits, 1, 3), p, 1e-7, 'softmax');
    expectClose(logSoftmax(logits, 1, 3), p.map(Math.log), 1e-7, 'logSoftmax');
    const r = crossEntropy({ logits, target: [0], n: 1, c: 3 });
    expect(r.loss).toBeCloseTo(0.14293163, 7);
    expectClose(r.dlogits, [p[0] - 1, p[1], p[2]], 1e-7, 'dlogits');
  });

  it('softmax rows sum to 1 and logSoftmax = log softmax', () => {
    const r = rng(1);
    const logits = randomFloat32(r, 7 * 9, 20);
    const p = softmax(logits, 7, 9);
    const lp = logSoftmax(logits, 7, 9);
    for (let i = 0; i < 7; i++) expect(p.subarray(i * 9, i * 9 + 9).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
    expectClose(lp, Array.from(p, Math.log), 1e-13, 'logSoftmax');
  });

  it('linear computes X·Wᵀ + b in float64, with and without bias', () => {
    const r = rng(2);
    const [n, d, c] = [3, 5, 4];
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
    const expected = (withBias: boolean) => {
      const z: number[] = [];
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < c; k++) {
          let s = withBias ? b[k] : 0;
          for (let j = 0; j < d; j++) s += x[i * d + j] * w[k * d + j];
          z.push(s);
        }
      }
      return z;
    };
    expectClose(linear({ x, w, b, n, d, c }), expected(true), 1e-15, 'with b');
    expectClose(linear({ x, w, n, d, c }), expected(false), 1e-15, 'without b');
    expectClose(linear({ x, w, b: null, n, d, c }), expected(false), 1e-15, 'b: null');
  });
});

// ------------------------------------------------------------------ finite differences

const N = 6, D = 4, C = 5;
const IGNORED_ROWS = [1, 4];
// Includes a zero weight; float32-exact so the naive loss sees the same weights.
const WEIGHT = f32(0.5, 2, 0, 1.25, 0.75);

function fdData(kind: 'index' | 'prob') {
  const r = rng(kind === 'index' ? 11 : 12);
  let target: Target;
  if (kind === 'index') {
    const labels = randomLabels(r, N, C);
    labels[0] = 1; // keep the weighted 'mean' denominator well away from 0
    for (const i of IGNORED_ROWS) labels[i] = -100;
    target = labels;
  } else {
    const q = randomProbs(r, N, C);
    for (let k = 0; k < C; k++) q[2 * C + k] *= 0.5; // a row summing to 0.5: rows are not renormalised
    target = q;
  }
  return {
    target,
    logits: randomFloat32(r, N * C, 3),
    // k/64 in [−1, 1]: ± 2^-10 stays exact in float32, so FD steps are exactly h.
    x: randomDyadic(r, N * D), w: randomDyadic(r, C * D), b: randomDyadic(r, C),
  };
}

interface FdCase { name: string; kind: 'index' | 'prob'; options: LossOptions }
const FD_CASES: FdCase[] = [];
for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
  for (const weighted of [false, true]) {
    for (const eps of [0, 0.1]) {
      for (const kind of ['index', 'prob'] as const) {
        FD_CASES.push({
          name: `${reduction}, ${weighted ? 'weighted' : 'unweighted'}, ε = ${eps}, ${kind} targets`,
          kind,
          options: { reduction, labelSmoothing: eps, ...(weighted ? { weight: WEIGHT } : {}) },
        });
      }
    }
  }
}

describe('gradients match central finite differences', () => {
  /*
   * Logits: the reference takes float32 logits, so we difference the
   * independent float64 naiveLoss (after checking it equals the reference loss)
   * with h = 1e-6. Error of (L(z+h) − L(z−h))/2h: truncation h²/6·|L'''| ≈ 2e-13
   * (|L'''| ≲ 10 here), plus rounding ≈ u·|L|/h ≈ 1e-16·20/1e-6 = 2e-9.
   * Tolerance 1e-7 sits well above both (observed: ≤ 3e-9) and far below any
   * real formula error.
   */
  const H_LOGITS = 1e-6, TOL_LOGITS = 1e-7;

  it.each(FD_CASES)('dlogits: $name', ({ kind, options }) => {
    const { logits, target } = fdData(kind);
    const r = crossEntropy({ logits, target, n: N, c: C, ...options });
    const z = Float64Array.from(logits);
    const naive = naiveLoss(z, N, C, target, options);

    // The independent loss agrees with the reference (both float64, same inputs).
    if (options.reduction === 'none') expectClose(r.loss as Float64Array, naive.rows, 1e-13, 'row losses');
    else expect(Math.abs((r.loss as number) - naive.value)).toBeLessThanOrEqual(1e-13 * (1 + Math.abs(naive.value)));

    const fd = new Float64Array(N * C);
    for (let k = 0; k < N * C; k++) {
      const zp = z.slice(), zm = z.slice();
      zp[k] += H_LOGITS;
      zm[k] -= H_LOGITS;
      fd[k] = (naiveLoss(zp, N, C, target, options).value - naiveLoss(zm, N, C, target, options).value) / (zp[k] - zm[k]);
    }
    expectClose(r.dlogits, fd, TOL_LOGITS, 'dlogits');
    if (kind === 'index') {
      for (const i of IGNORED_ROWS) expect(allZero(r.dlogits!.subarray(i * C, (i + 1) * C)), `row ${i}`).toBe(true);
    }
  });

  /*
   * Linear head: inputs are k/64 with |k| ≤ 64 and we step one entry of x, w or b
   * by h = 2^-10, which stays exact in float32, and difference the reference's
   * own float64 loss. Truncation h²/6·|L'''|: along one input the row logits
   * move by h·v with v a column of w (|v_k| ≤ 1), a row of x, or a unit vector,
   * and |d³ lse| ≤ 0.1·(max v − min v)³ ≤ 0.8 per unit of row target mass S_i;
   * summed over rows (w, b move every row) with S_i ≤ 2 that is |L'''| ≲ 10, so
   * the error is ≲ 2^-20/6·10 ≈ 1.6e-6; rounding ≈ u·|L|/h ≈ 1e-12. Tolerance 2e-6
   * (observed: ≤ 1e-7; a wrong gradient term is off by ≳ 1e-3).
   */
  const H_LINEAR = 2 ** -10, TOL_LINEAR = 2e-6;

  it.each(FD_CASES)('dx, dw, db: $name', ({ kind, options }) => {
    const { x, w, b, target } = fdData(kind);
    const args = { x, w, b, target, n: N, d: D, c: C, ...options };
    const r = linearCrossEntropy(args);
    const fdOf = (name: 'x' | 'w' | 'b') => linearDifferences(args, name, H_LINEAR);
    expectClose(r.dx, fdOf('x'), TOL_LINEAR, 'dx');
    expectClose(r.dw, fdOf('w'), TOL_LINEAR, 'dw');
    expectClose(r.db, fdOf('b'), TOL_LINEAR, 'db');
    if (kind === 'index') {
      for (const i of IGNORED_ROWS) expect(allZero(r.dx!.subarray(i * D, (i + 1) * D)), `dx row ${i}`).toBe(true);
    }
  });
});

// ------------------------------------------------------------------ PyTorch semantics

describe('PyTorch cross_entropy semantics', () => {
  // Hand formulas built from −logp and its derivative ∂(−logp_k)/∂z_c = p_c − [c = k].
  const probs = (z: number[]) => z.map((v) => Math.exp(v - logSumExp(z)));
  const nlp = (z: number[], k: number) => logSumExp(z) - z[k];
  const dnlp = (z: number[], k: number) => probs(z).map((p, c) => p - (c === k ? 1 : 0));

  it("weighted 'mean' divides by Σ w[y_i] over kept rows, not by N", () => {
    const logits = f32(1, 0, 0, 2, 5, -5), target = [0, 1, -100], weight = f32(1, 3);
    const l0 = nlp([1, 0], 0), l1 = nlp([0, 2], 1);
    const mean = crossEntropy({ logits, target, n: 3, c: 2, weight });
    expect(mean.loss).toBeCloseTo((1 * l0 + 3 * l1) / 4, 14);
    const g0 = dnlp([1, 0], 0).map((g) => (1 * g) / 4), g1 = dnlp([0, 2], 1).map((g) => (3 * g) / 4);
    expectClose(mean.dlogits, [...g0, ...g1, 0, 0], 1e-15, 'dlogits');
    expect(crossEntropy({ logits, target, n: 3, c: 2, weight, reduction: 'sum' }).loss).toBeCloseTo(l0 + 3 * l1, 14);
    // Unweighted: divides by the 2 kept rows, not by N = 3.
    expect(crossEntropy({ logits, target, n: 3, c: 2 }).loss).toBeCloseTo((l0 + l1) / 2, 14);
  });

  it('label smoothing with class weights (index targets)', () => {
    const z = [[1, 0, -1], [0.5, 0.5, 2]], target = [1, 2], wv = [1, 2, 0.5], eps = 0.3, c = 3;
    const weight = f32(...wv);
    const row = (i: number) =>
      (1 - eps) * wv[target[i]] * nlp(z[i], target[i]) + (eps / c) * wv.reduce((s, w, k) => s + w * nlp(z[i], k), 0);
    const grad = (i: number) => {
      const nll = dnlp(z[i], target[i]);
      return nll.map((g, col) =>
        (1 - eps) * wv[target[i]] * g + (eps / c) * wv.reduce((s, w, k) => s + w * dnlp(z[i], k)[col], 0));
    };
    const den = wv[1] + wv[2]; // Σ w[y_i], not Σ of the smoothed target masses
    const r = crossEntropy({ logits: f32(...z[0], ...z[1]), target, n: 2, c, weight, labelSmoothing: eps });
    expect(r.loss).toBeCloseTo((row(0) + row(1)) / den, 14);
    expectClose(r.dlogits, [...grad(0), ...grad(1)].map((g) => g / den), 1e-15, 'dlogits');
  });

  it("probability targets: 'mean' divides by N even with weights; smoothing; rows not renormalised", () => {
    const z = [[0, 1], [2, -1]], q = [[0.25, 0.75], [0.5, 0.25]], wv = [2, 0.5];
    const weight = f32(...wv), logits = f32(...z[0], ...z[1]), target = f32(...q[0], ...q[1]);
    const total = (eps: number) => {
      let s = 0;
      for (let i = 0; i < 2; i++) for (let k = 0; k < 2; k++) s += wv[k] * ((1 - eps) * q[i][k] + eps / 2) * nlp(z[i], k);
      return s;
    };
    expect(crossEntropy({ logits, target, n: 2, c: 2, weight }).loss).toBeCloseTo(total(0) / 2, 14);
    expect(crossEntropy({ logits, target, n: 2, c: 2, weight, labelSmoothing: 0.2 }).loss).toBeCloseTo(total(0.2) / 2, 14);
    expect(crossEntropy({ logits, target, n: 2, c: 2, weight, reduction: 'sum' }).loss).toBeCloseTo(total(0), 14);
  });

  it("'none' returns per-row losses (0 for ignored rows) and the gradient of their sum", () => {
    const r = rng(3);
    const logits = randomFloat32(r, 4 * 3, 2), target = Int32Array.from([2, -100, 0, 1]), weight = f32(1, 0.5, 2);
    const none = crossEntropy({ logits, target, n: 4, c: 3, weight, reduction: 'none' });
    const sum = crossEntropy({ logits, target, n: 4, c: 3, weight, reduction: 'sum' });
    expect(none.loss).toBeInstanceOf(Float64Array);
    const rows = none.loss as Float64Array;
    expect(rows.length).toBe(4);
    expect(rows[1]).toBe(0);
    const z = Array.from(logits);
    for (const i of [0, 2, 3]) expect(rows[i]).toBeCloseTo(weight[target[i]] * nlp(z.slice(i * 3, i * 3 + 3), target[i]), 14);
    expect(scalar(rows)).toBeCloseTo(sum.loss as number, 14);
    expect(Array.from(none.dlogits!)).toEqual(Array.from(sum.dlogits!));
  });

  it("all rows ignored: 'mean' gives NaN and exactly zero gradients; 'sum' and 'none' give 0", () => {
    const r = rng(4);
    const [n, d, c] = [3, 2, 4];
    const logits = randomFloat32(r, n * c), x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
    const target = Int32Array.from([-100, -100, -100]);
    for (const options of [{}, { labelSmoothing: 0.1 }, { weight: f32(1, 2, 3, 4), labelSmoothing: 0.2 }] as LossOptions[]) {
      const ce = crossEntropy({ logits, target, n, c, ...options });
      expect(ce.loss).toBeNaN();
      expect(allZero(ce.dlogits)).toBe(true);
      const lce = linearCrossEntropy({ x, w, b, target, n, d, c, ...options });
      expect(lce.loss).toBeNaN();
      expect(allZero(lce.dx) && allZero(lce.dw) && allZero(lce.db)).toBe(true);

      const sum = crossEntropy({ logits, target, n, c, ...options, reduction: 'sum' });
      expect(sum.loss).toBe(0);
      expect(allZero(sum.dlogits)).toBe(true);
      const none = crossEntropy({ logits, target, n, c, ...options, reduction: 'none' });
      expect(allZero(none.loss as Float64Array) && allZero(none.dlogits)).toBe(true);
    }
  });

  it("'mean' whose kept rows all have weight 0: NaN loss, NaN gradient on kept rows (PyTorch: 0·∞), 0 on ignored", () => {
    const logits = f32(1, 2, 3, 4, 5, 6), target = [0, -100], weight = f32(0, 1, 1);
    const r = crossEntropy({ logits, target, n: 2, c: 3, weight });
    expect(r.loss).toBeNaN();
    expect(Array.from(r.dlogits!.subarray(0, 3)).every(Number.isNaN)).toBe(true);
    expect(allZero(r.dlogits!.subarray(3))).toBe(true);
    expect(crossEntropy({ logits, target, n: 2, c: 3, weight, reduction: 'sum' }).loss).toBe(0);
  });

  it('ignoreIndex inside [0, C) ignores the rows with that label', () => {
    const logits = f32(1, 0, 0, 2, 5, -5), target = [0, 1, 1];
    const r = crossEntropy({ logits, target, n: 3, c: 2, ignoreIndex: 1 });
    expect(r.loss).toBeCloseTo(nlp([1, 0], 0), 14); // one kept row: denominator 1
    expect(allZero(r.dlogits!.subarray(2))).toBe(true);
    // −100 is then an ordinary (out-of-range) label.
    expect(() => crossEntropy({ logits, target: [0, -100, 1], n: 3, c: 2, ignoreIndex: 1 })).toThrow(/target\[1\]/);
  });

  it('grad: false omits gradients; db only with a bias; linearCrossEntropy = crossEntropy ∘ linear', () => {
    const r = rng(5);
    const [n, d, c] = [4, 3, 5];
    // k/64 inputs: Z = X·Wᵀ + b is exact in float32, so both paths see identical logits.
    const x = randomDyadic(r, n * d), w = randomDyadic(r, c * d), b = randomDyadic(r, c);
    const target = randomLabels(r, n, c), options: LossOptions = { labelSmoothing: 0.1, weight: f32(1, 2, 0.5, 1, 3) };

    expect(Object.keys(crossEntropy({ logits: new Float32Array(n * c), target, n, c, grad: false }))).toEqual(['loss']);
    expect(Object.keys(linearCrossEntropy({ x, w, b, target, n, d, c, grad: false }))).toEqual(['loss']);
    expect(Object.keys(linearCrossEntropy({ x, w, target, n, d, c })).sort()).toEqual(['dw', 'dx', 'loss']);

    const z = linear({ x, w, b, n, d, c });
    expect(Array.from(Float32Array.from(z))).toEqual(Array.from(z));
    const ce = crossEntropy({ logits: Float32Array.from(z), target, n, c, ...options });
    const lce = linearCrossEntropy({ x, w, b, target, n, d, c, ...options });
    expect(lce.loss).toBe(ce.loss);
    const g = ce.dlogits!;
    const dx = new Float64Array(n * d), dw = new Float64Array(c * d), db = new Float64Array(c);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < c; k++) {
        db[k] += g[i * c + k];
        for (let j = 0; j < d; j++) {
          dx[i * d + j] += g[i * c + k] * w[k * d + j];
          dw[k * d + j] += g[i * c + k] * x[i * d + j];
        }
      }
    }
    expectClose(lce.dx, dx, 1e-15, 'dx');
    expectClose(lce.dw, dw, 1e-15, 'dw');
    expectClose(lce.db, db, 1e-15, 'db');
  });

  it('number[] and Int32Array targets give identical results', () => {
    const r = rng(6);
    const logits = randomFloat32(r, 5 * 4, 3), labels = randomLabels(r, 5, 4);
    const a = crossEntropy({ logits, target: labels, n: 5, c: 4 });
    const b = crossEntropy({ logits, target: Array.from(labels), n: 5, c: 4 });
    expect(a.loss).toBe(b.loss);
    expect(Array.from(a.dlogits!)).toEqual(Array.from(b.dlogits!));
  });

  it('NaN and Infinity in logits or inputs propagate as NaN', () => {
    const logits = f32(0, NaN, 1, 2, 3, 4, 0, Infinity, 1);
    const r = crossEntropy({ logits, target: [0, 1, 2], n: 3, c: 3, reduction: 'none' });
    const rows = r.loss as Float64Array;
    expect(rows[0]).toBeNaN();
    expect(Number.isFinite(rows[1])).toBe(true);
    expect(rows[2]).toBeNaN();
    expect(Array.from(r.dlogits!.subarray(0, 3)).every(Number.isNaN)).toBe(true);
    expect(Array.from(r.dlogits!.subarray(3, 6)).every(Number.isFinite)).toBe(true);
    expect(crossEntropy({ logits, target: [0, 1, 2], n: 3, c: 3 }).loss).toBeNaN();
    const lce = linearCrossEntropy({ x: f32(1, NaN), w: f32(1, 1, 2, 2), target: [0], n: 1, d: 2, c: 2 });
    expect(lce.loss).toBeNaN();
    expect(Array.from(lce.dw!).every(Number.isNaN)).toBe(true);
  });
});

// ------------------------------------------------------------------ stability

describe('numerical stability', () => {
  it('logits in [90, 100] match log Σ exp z − z_y', () => {
    const r = rng(7);
    const [n, c] = [8, 6];
    const logits = randomFloat32(r, n * c, 5).map((v) => v + 95), target = randomLabels(r, n, c);
    const rows = crossEntropy({ logits, target, n, c, reduction: 'none' }).loss as Float64Array;
    const p = softmax(logits, n, c);
    for (let i = 0; i < n; i++) {
      const z = Array.from(logits.subarray(i * c, (i + 1) * c));
      const lse = logSumExp(z); // e^100 is far from float64 overflow
      expect(Math.abs(rows[i] - (lse - z[target[i]]))).toBeLessThanOrEqual(1e-12);
      expectClose(p.subarray(i * c, (i + 1) * c), z.map((v) => Math.exp(v - lse)), 1e-14, `p row ${i}`);
    }
  });

  it('logits ±1e4: exact losses and one-hot gradients', () => {
    const logits = f32(1e4, -1e4, 0);
    const cases: [number, number, number[]][] = [[0, 0, [0, 0, 0]], [1, 2e4, [1, -1, 0]], [2, 1e4, [1, 0, -1]]];
    for (const [y, loss, grad] of cases) {
      const r = crossEntropy({ logits, target: [y], n: 1, c: 3 });
      expect(r.loss).toBe(loss);
      expect(Array.from(r.dlogits!)).toEqual(grad);
    }
    // Smoothing, label 0: (ε/C)·Σ_c (m − z_c) = (0.1/3)·3e4.
    const s = crossEntropy({ logits, target: [0], n: 1, c: 3, labelSmoothing: 0.1 });
    expect(s.loss as number).toBeCloseTo(1000, 9);
    expect(Array.from(s.dlogits!).every(Number.isFinite)).toBe(true);
  });

  it('all-equal logits give log C and p = 1/C', () => {
    for (const c of [2, 4, 10, 1000]) {
      const logits = new Float32Array(c).fill(7);
      const r = crossEntropy({ logits, target: [c - 1], n: 1, c });
      expect(r.loss).toBeCloseTo(Math.log(c), 14);
      const g = Array.from({ length: c }, (_, k) => 1 / c - (k === c - 1 ? 1 : 0));
      expectClose(r.dlogits, g, 1e-15, `c = ${c}`);
      // With smoothing S = (1−ε) + C·(ε/C) is 1 only up to C roundings.
      const smooth = crossEntropy({ logits, target: [0], n: 1, c, labelSmoothing: 0.3 }).loss as number;
      expect(Math.abs(smooth - Math.log(c))).toBeLessThanOrEqual(c * 2 ** -52 * Math.log(c));
    }
  });

  it('one huge logit (1e30, others 0)', () => {
    const M = Math.fround(1e30);
    const logits = f32(M, 0, 0);
    const right = crossEntropy({ logits, target: [0], n: 1, c: 3 });
    expect(right.loss).toBe(0);
    expect(allZero(right.dlogits!.map(Math.abs))).toBe(true);
    const wrong = crossEntropy({ logits, target: [1], n: 1, c: 3 });
    expect(wrong.loss).toBe(M);
    expect(Array.from(wrong.dlogits!)).toEqual([1, -1, 0]);
    const smooth = crossEntropy({ logits, target: [0], n: 1, c: 3, labelSmoothing: 0.1 });
    expect((smooth.loss as number) / ((0.1 / 3) * 2 * M)).toBeCloseTo(1, 14);
    const low = crossEntropy({ logits: f32(-M, 0, 0), target: [0], n: 1, c: 3 });
    expect(low.loss).toBe(M + Math.log(2));
    expect(Array.from(low.dlogits!)).toEqual([-1, 0.5, 0.5]);
  });
});

// ------------------------------------------------------------------ argument errors

describe('bad arguments throw errors naming the argument', () => {
  const ce = { logits: new Float32Array(6), target: new Int32Array([0, 1]), n: 2, c: 3 };
  const lce = { x: new Float32Array(8), w: new Float32Array(12), b: new Float32Array(3), target: new Int32Array([0, 1]), n: 2, d: 4, c: 3 };
  const probs = new Float32Array(6).fill(1 / 3);
  // Deliberately ill-typed arguments, as a JavaScript caller could pass.
  const bad = (o: Record<string, unknown>) => o as any;

  const cases: [string, () => unknown, RegExp][] = [
    ['logits length', () => crossEntropy({ ...ce, logits: new Float32Array(5) }), /logits must have length n×c = 6, got 5/],
    ['logits type', () => crossEntropy(bad({ ...ce, logits: new Float64Array(6) })), /logits must be a Float32Array/],
    ['x length', () => linearCrossEntropy({ ...lce, x: new Float32Array(7) }), /\bx must have length n×d = 8/],
    ['w length', () => linearCrossEntropy({ ...lce, w: new Float32Array(8) }), /\bw must have length c×d = 12/],
    ['b length', () => linearCrossEntropy({ ...lce, b: new Float32Array(4) }), /\bb must have length c = 3/],
    ['b type', () => linearCrossEntropy(bad({ ...lce, b: [0, 0, 0] })), /\bb must be a Float32Array/],
    ['linear x length', () => linear({ ...lce, x: new Float32Array(9) }), /reference\.linear: x must have length/],
    ['target length', () => crossEntropy({ ...ce, target: new Int32Array(3) }), /target must hold n = 2/],
    ['target type', () => crossEntropy(bad({ ...ce, target: 5 })), /target must be/],
    ['label ≥ c', () => crossEntropy({ ...ce, target: [0, 3] }), /target\[1\] = 3 is outside/],
    ['label < 0', () => linearCrossEntropy({ ...lce, target: [-1, 0] }), /target\[0\] = -1/],
    ['non-integer label', () => crossEntropy({ ...ce, target: [0, 1.5] }), /target\[1\] must be an integer/],
    ['NaN label', () => crossEntropy({ ...ce, target: [NaN, 0] }), /target\[0\] must be an integer/],
    ['prob target length', () => crossEntropy({ ...ce, target: new Float32Array(5) }), /target as a Float32Array .* n×c = 6/],
    ['prob target NaN', () => crossEntropy({ ...ce, target: f32(0, 0, 0, 0, NaN, 0) }), /target\[4\]/],
    ['ignoreIndex with probs', () => crossEntropy({ ...ce, target: probs, ignoreIndex: 0 }), /ignoreIndex/],
    ['ignoreIndex non-integer', () => crossEntropy({ ...ce, ignoreIndex: 0.5 }), /ignoreIndex/],
    ['weight length', () => crossEntropy({ ...ce, weight: f32(1, 1) }), /weight must have length c = 3/],
    ['weight negative', () => crossEntropy({ ...ce, weight: f32(1, -1, 1) }), /weight\[1\] = -1/],
    ['weight NaN', () => linearCrossEntropy({ ...lce, weight: f32(NaN, 1, 1) }), /weight\[0\] = NaN/],
    ['weight Infinity', () => crossEntropy({ ...ce, weight: f32(1, 1, Infinity) }), /weight\[2\]/],
    ['weight type', () => crossEntropy(bad({ ...ce, weight: [1, 1, 1] })), /weight must be a Float32Array/],
    ['labelSmoothing −0.1', () => crossEntropy({ ...ce, labelSmoothing: -0.1 }), /labelSmoothing/],
    ['labelSmoothing 1.1', () => linearCrossEntropy({ ...lce, labelSmoothing: 1.1 }), /labelSmoothing/],
    ['labelSmoothing NaN', () => crossEntropy({ ...ce, labelSmoothing: NaN }), /labelSmoothing/],
    ['reduction', () => crossEntropy(bad({ ...ce, reduction: 'avg' })), /reduction must be/],
    ['grad', () => crossEntropy(bad({ ...ce, grad: 1 })), /grad must be a boolean/],
    ['softmax logits', () => softmax(new Float32Array(5), 2, 3), /reference\.softmax: logits/],
    ['logSoftmax c', () => logSoftmax(new Float32Array(6), 2, 0), /reference\.logSoftmax: c must be a positive integer/],
  ];
  for (const v of [0, 1.5, -1, NaN]) {
    cases.push([`crossEntropy n = ${v}`, () => crossEntropy({ ...ce, n: v }), /\bn must be a positive integer/]);
    cases.push([`crossEntropy c = ${v}`, () => crossEntropy({ ...ce, c: v }), /\bc must be a positive integer/]);
    cases.push([`linearCrossEntropy d = ${v}`, () => linearCrossEntropy({ ...lce, d: v }), /\bd must be a positive integer/]);
    cases.push([`linear n = ${v}`, () => linear({ ...lce, n: v }), /\bn must be a positive integer/]);
    cases.push([`softmax n = ${v}`, () => softmax(new Float32Array(6), v, 3), /\bn must be a positive integer/]);
  }

  it.each(cases)('%s', (_name, call, message) => {
    expect(call).toThrow(TypeError);
    expect(call).toThrow(message);
    expect(call).toThrow(/^softmax-ce-wasm: reference\.\w+: /);
  });

  it('valid base arguments do not throw', () => {
    expect(() => crossEntropy(ce)).not.toThrow();
    expect(() => crossEntropy({ ...ce, target: probs })).not.toThrow();
    expect(() => linearCrossEntropy(lce)).not.toThrow();
  });
});
