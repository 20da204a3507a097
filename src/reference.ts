/**
 * Pure-TypeScript float64 reference of every kernel, with PyTorch
 * `torch.nn.functional.cross_entropy` semantics. It is deliberately plain
 * (no SIMD tricks, no fusion) so that it can serve as the oracle the WASM
 * kernels are tested against. Inputs are Float32Array; all arithmetic and all
 * outputs are float64.
 */
import type {
  CrossEntropyArgs, LinearArgs, LinearCrossEntropyArgs,
  ReferenceCrossEntropyResult, ReferenceLinearCrossEntropyResult,
} from './types.js';
import { checkChunk, checkInputGrad, checkKnown, KNOWN } from './options.js';
import { ArgumentError, checkFloat32, checkOptionalFloat32, checkSize, planLoss, type LossPlan } from './validate.js';

/**
 * The options of the API call, less `out`: the reference has no resident tensors, so an
 * `out` given to it is an unknown option rather than one it would quietly not fill.
 */
const known = (list: readonly string[]) => list.filter((k) => k !== 'out');

/** Z = X·Wᵀ + b: X n×d, W c×d (one row per class, as torch.nn.Linear), b length c; Z n×c. */
export function linear(args: LinearArgs): Float64Array {
  const fn = 'reference.linear';
  const { n, d, c, x, w, b } = checkLinear(fn, args);
  checkKnown(fn, args, known(KNOWN.linear));
  return forward(x, w, b, n, d, c);
}

/** Row-wise softmax of n×c logits. */
export function softmax(logits: Float32Array, n: number, c: number): Float64Array {
  const z = checkLogits('reference.softmax', logits, n, c);
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const { m, s } = rowMaxAndSum(z, o, c);
    for (let k = 0; k < c; k++) out[o + k] = Math.exp(z[o + k] - m) / s;
  }
  return out;
}

/** Row-wise log-softmax of n×c logits: z − m − log Σ exp(z − m), m the row max. */
export function logSoftmax(logits: Float32Array, n: number, c: number): Float64Array {
  const z = checkLogits('reference.logSoftmax', logits, n, c);
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const { m, s } = rowMaxAndSum(z, o, c);
    const logS = Math.log(s);
    // (z − m) − log s rather than z − (m + log s): exact when z is the max.
    for (let k = 0; k < c; k++) out[o + k] = (z[o + k] - m) - logS;
  }
  return out;
}

/** Cross-entropy of n×c logits against class indices or probabilities, and ∂loss/∂logits. */
export function crossEntropy(args: CrossEntropyArgs): ReferenceCrossEntropyResult {
  const fn = 'reference.crossEntropy';
  if (args === null || typeof args !== 'object') throw new ArgumentError(fn, 'expected an arguments object');
  checkKnown(fn, args, known(KNOWN.crossEntropy));
  const n = checkSize(fn, 'n', args.n);
  const c = checkSize(fn, 'c', args.c);
  const logits = checkFloat32(fn, 'logits', args.logits, n * c, 'n×c');
  const plan = planLoss(fn, args.target, n, c, args);
  const { loss, dz } = lossAndGrad(Float64Array.from(logits), n, c, plan);
  return dz ? { loss, dlogits: dz } : { loss };
}

/** Cross-entropy of the linear head Z = X·Wᵀ + b, with ∂loss/∂x, ∂loss/∂w and ∂loss/∂b. */
export function linearCrossEntropy(args: LinearCrossEntropyArgs): ReferenceLinearCrossEntropyResult {
  const fn = 'reference.linearCrossEntropy';
  const { n, d, c, x, w, b } = checkLinear(fn, args);
  checkKnown(fn, args, known(KNOWN.linearCrossEntropy));
  // chunk changes only how the API groups its sums, so the reference checks it and computes
  // the same; inputGrad: false leaves dx out, as in the API.
  checkChunk(fn, args.chunk);
  const inputGrad = checkInputGrad(fn, args.inputGrad);
  const plan = planLoss(fn, args.target, n, c, args);
  const { loss, dz } = lossAndGrad(forward(x, w, b, n, d, c), n, c, plan);
  if (!dz) return { loss };

  // Chain rule through Z = X·Wᵀ + b: dX = dZ·W, dW = dZᵀ·X, db = Σ_rows dZ.
  const dx = new Float64Array(inputGrad ? n * d : 0);
  const dw = new Float64Array(c * d);
  const db = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const g = dz[i * c + k];
      db[k] += g;
      for (let j = 0; j < d; j++) {
        if (inputGrad) dx[i * d + j] += g * w[k * d + j];
        dw[k * d + j] += g * x[i * d + j];
      }
    }
  }
  const result: ReferenceLinearCrossEntropyResult = { loss };
  if (inputGrad) result.dx = dx;
  result.dw = dw;
  if (b) result.db = db;
  return result;
}

// ---------------------------------------------------------------- internals

function checkLinear(fn: string, args: LinearArgs) {
  if (args === null || typeof args !== 'object') throw new ArgumentError(fn, 'expected an arguments object');
  const n = checkSize(fn, 'n', args.n);
  const d = checkSize(fn, 'd', args.d);
  const c = checkSize(fn, 'c', args.c);
  const x = checkFloat32(fn, 'x', args.x, n * d, 'n×d');
  const w = checkFloat32(fn, 'w', args.w, c * d, 'c×d');
  const b = checkOptionalFloat32(fn, 'b', args.b, c, 'c');
  return { n, d, c, x, w, b };
}

function checkLogits(fn: string, logits: Float32Array, n: number, c: number): Float32Array {
  checkSize(fn, 'n', n);
  checkSize(fn, 'c', c);
  return checkFloat32(fn, 'logits', logits, n * c, 'n×c');
}

function forward(x: Float32Array, w: Float32Array, b: Float32Array | null, n: number, d: number, c: number): Float64Array {
  const z = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      let acc = b ? b[k] : 0;
      for (let j = 0; j < d; j++) acc += x[i * d + j] * w[k * d + j];
      z[i * c + k] = acc;
    }
  }
  return z;
}

/** Row max m and s = Σ exp(z − m); Math.max so that a NaN logit poisons the row, as in PyTorch. */
function rowMaxAndSum(z: ArrayLike<number>, o: number, c: number): { m: number; s: number } {
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, z[o + k]);
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(z[o + k] - m);
  return { m, s };
}

/**
 * Loss and ∂loss/∂z for float64 logits z (n×c). Every row is written as
 * loss_i = −Σ_c a_ic·logp_ic with a_i the row's weighted, smoothed target, so
 * both target kinds share one formula and one gradient, dz_i = (p_i·S_i − a_i)/δ
 * with S_i = Σ_c a_ic and δ the 'mean' denominator (1 otherwise).
 */
function lossAndGrad(z: Float64Array, n: number, c: number, plan: LossPlan): { loss: number | Float64Array; dz?: Float64Array } {
  const { labels, probs, weight, smoothing: eps, ignoreIndex, reduction, denominator } = plan;
  const rows = new Float64Array(n);
  const dz = plan.grad ? new Float64Array(n * c) : undefined;
  const a = new Float64Array(c);
  const wt = (k: number) => (weight ? weight[k] : 1);
  // PyTorch: with 'mean' and a zero denominator the loss is 0/0 = NaN, and the
  // gradient of every kept row is w[y]·(1/0) = 0·∞ = NaN (ignored rows stay 0).
  const zeroDenominator = reduction === 'mean' && denominator === 0;
  const delta = reduction === 'mean' ? denominator : 1;

  for (let i = 0; i < n; i++) {
    const o = i * c;
    if (labels) {
      const y = labels[i];
      if (y === ignoreIndex) continue; // loss 0, gradient 0
      for (let k = 0; k < c; k++) a[k] = (eps / c) * wt(k);
      a[y] += (1 - eps) * wt(y);
    } else {
      // Probability targets: q' = (1−ε)·q + ε/C, rows not renormalised.
      for (let k = 0; k < c; k++) a[k] = wt(k) * ((1 - eps) * probs![o + k] + eps / c);
    }

    const { m, s } = rowMaxAndSum(z, o, c);
    const logS = Math.log(s);
    // −logp_c = (m − z_c) + log s: never m + log s − z_y, which cancels catastrophically.
    let S = 0;
    let loss = 0;
    for (let k = 0; k < c; k++) {
      S += a[k];
      // Class indices without smoothing: PyTorch reads only logp[y], so a −∞ logit of
      // another class (target mass exactly 0) must not turn the loss into 0·∞ = NaN.
      if (labels && eps === 0 && k !== labels[i]) continue;
      loss += a[k] * (m - z[o + k]);
    }
    rows[i] = loss + S * logS;

    if (dz) {
      if (zeroDenominator) {
        dz.fill(NaN, o, o + c);
      } else {
        for (let k = 0; k < c; k++) dz[o + k] = ((Math.exp(z[o + k] - m) / s) * S - a[k]) / delta;
      }
    }
  }

  let loss: number | Float64Array;
  if (reduction === 'none') {
    loss = rows;
  } else {
    let total = 0;
    for (let i = 0; i < n; i++) total += rows[i];
    loss = reduction === 'sum' ? total : zeroDenominator ? NaN : total / denominator;
  }
  return dz ? { loss, dz } : { loss };
}
