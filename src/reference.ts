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
import { blockRows, checkChunk, checkInputGrad, checkKnown, GRAD_FILTER_CLASSES, KNOWN } from './options.js';
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
  // The gradient filter's row block is every row: crossEntropy has no chunked path.
  const { dz, loss, ...extra } = lossAndGrad(Float64Array.from(logits), n, c, plan, n);
  return dz ? { loss, dlogits: dz, ...extra } : { loss, ...extra };
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
  // The gradient filter decides on the API's chunk row blocks (else the grouping of rows
  // changes nothing here: the reference computes all rows at once).
  const rows = blockRows(fn, args.chunk, n, c);
  const { dz, loss, ...extra } = lossAndGrad(forward(x, w, b, n, d, c), n, c, plan, rows);
  if (!dz) return { loss, ...extra };

  // Chain rule through Z = X·Wᵀ + b: dX = dZ·W, dW = dZᵀ·X, db = Σ_rows dZ, with dZ after
  // the gradient filter (its skipped blocks hold 0, so they add nothing).
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
  return Object.assign(result, extra);
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

/** What lossAndGrad returns: the loss, dZ w.r.t. the raw logits, and the optional results. */
interface LossResults {
  loss: number | Float64Array;
  dz?: Float64Array;
  zLoss?: number | Float64Array;
  lse?: Float64Array;
  accuracy?: number;
  skippedBlocks?: number;
  blocks?: number;
}

/** Lowest index among the maxima of v[o .. o+c) (torch.argmax); v must hold no NaN. */
function argmax(v: ArrayLike<number>, o: number, c: number): number {
  let best = 0;
  for (let k = 1; k < c; k++) if (v[o + k] > v[o + best]) best = k;
  return best;
}

/**
 * Loss and ∂loss/∂z for float64 raw logits z (n×c), and the large-vocabulary results.
 *
 * 1. Soft-capping: the loss sees z' = cap·tanh(z/cap) (z' = z without softcap).
 * 2. Every row is written as loss_i = −Σ_c a_ic·logp_ic (logp of z') with a_i the row's
 *    weighted, smoothed target, so both target kinds share one formula and one gradient,
 *    dz'_i = (p_i·S_i − a_i)/δ with S_i = Σ_c a_ic and δ the 'mean' denominator (1 otherwise).
 * 3. z-loss: kept rows add λ·lse_i² (lse_i = log Σ_c exp(z'_ic)), unweighted; 'mean' divides
 *    its sum by the kept-row count nKept (Liger's n_non_ignore), not by δ. Its gradient
 *    w.r.t. z' is zs·2·lse_i·p_ic, zs = λ/nKept for 'mean' (0 when nKept = 0), λ otherwise.
 * 4. Chain rule through the cap: dz = dz'·(1 − tanh²(z/cap)).
 * 5. Gradient filter: dz in blocks of `rowBlock` rows × GRAD_FILTER_CLASSES classes; a block
 *    whose every |dz| < ε·g (g the reduction's gradient scale) is set to 0.
 */
function lossAndGrad(zRaw: Float64Array, n: number, c: number, plan: LossPlan, rowBlock: number): LossResults {
  const { labels, probs, weight, smoothing: eps, ignoreIndex, reduction, denominator, keptRows: nKept } = plan;
  const { softcap: cap, zLoss: lambda } = plan;
  const rows = new Float64Array(n);
  const zRows = new Float64Array(n); // λ·lse² per kept row (0 on ignored rows, or λ = 0)
  const lse = new Float64Array(n);
  const dz = plan.grad ? new Float64Array(n * c) : undefined;
  const a = new Float64Array(c);
  const wt = (k: number) => (weight ? weight[k] : 1);
  // PyTorch: with 'mean' and a zero denominator the loss is 0/0 = NaN, and the
  // gradient of every kept row is w[y]·(1/0) = 0·∞ = NaN (ignored rows stay 0).
  const zeroDenominator = reduction === 'mean' && denominator === 0;
  const delta = reduction === 'mean' ? denominator : 1;
  // The z-loss gradient's scale: 'mean' divides by the kept rows (none kept: no gradient).
  const zs = reduction === 'mean' ? (nKept ? lambda / nKept : 0) : lambda;
  let hits = 0;

  // 1. z' = cap·tanh(z/cap): the logits every later step reads.
  const z = cap ? zRaw.map((v) => cap * Math.tanh(v / cap)) : zRaw;

  for (let i = 0; i < n; i++) {
    const o = i * c;
    const { m, s } = rowMaxAndSum(z, o, c);
    const logS = Math.log(s);
    // lse of every row, ignored ones included. An infinite max (a +∞ logit, or all −∞)
    // makes z − m NaN in s; log Σ exp is then the max itself, as torch.logsumexp.
    lse[i] = m === Infinity || m === -Infinity ? m : m + logS;

    const kept = !labels || labels[i] !== ignoreIndex;
    if (!kept) continue; // loss 0, gradient 0, not counted by accuracy or z-loss

    if (plan.returnAccuracy) {
      // A NaN logit (z' is NaN iff z is) makes the row wrong, whatever torch.argmax says.
      let nan = false;
      for (let k = 0; k < c; k++) if (Number.isNaN(z[o + k])) nan = true;
      const label = labels ? labels[i] : argmax(probs!, o, c);
      if (!nan && argmax(z, o, c) === label) hits++;
    }

    // 2. Cross-entropy.
    if (labels) {
      const y = labels[i];
      for (let k = 0; k < c; k++) a[k] = (eps / c) * wt(k);
      a[y] += (1 - eps) * wt(y);
    } else {
      // Probability targets: q' = (1−ε)·q + ε/C, rows not renormalised.
      for (let k = 0; k < c; k++) a[k] = wt(k) * ((1 - eps) * probs![o + k] + eps / c);
    }
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

    // 3. z-loss (λ = 0 is off: adds nothing, not even 0·∞).
    if (lambda) zRows[i] = lambda * lse[i] * lse[i];

    if (dz) {
      if (zeroDenominator) {
        dz.fill(NaN, o, o + c);
      } else {
        for (let k = 0; k < c; k++) {
          const p = Math.exp(z[o + k] - m) / s;
          let g = (p * S - a[k]) / delta;
          if (zs) g += zs * 2 * lse[i] * p;
          dz[o + k] = g;
        }
      }
    }
  }

  // 4. Chain rule through the cap: d(cap·tanh(z/cap))/dz = 1 − tanh²(z/cap).
  if (dz && cap) {
    for (let k = 0; k < n * c; k++) {
      const t = Math.tanh(zRaw[k] / cap);
      dz[k] *= 1 - t * t;
    }
  }

  // 5. Gradient filter. g as the kernels scale the gradient: 1/δ for 'mean' (NaN when kept
  // rows weigh 0, 0 when no row is kept), 1 otherwise; against NaN or 0 nothing is skipped.
  let skippedBlocks = 0, blocks = 0;
  if (dz && plan.gradFilter > 0) {
    const g = reduction === 'mean' ? (denominator !== 0 ? 1 / denominator : nKept ? NaN : 0) : 1;
    const threshold = plan.gradFilter * g;
    const skipping = g > 0; // false for NaN and 0
    for (let r0 = 0; r0 < n; r0 += rowBlock) {
      const r1 = Math.min(n, r0 + rowBlock);
      for (let k0 = 0; k0 < c; k0 += GRAD_FILTER_CLASSES) {
        const k1 = Math.min(c, k0 + GRAD_FILTER_CLASSES);
        blocks++;
        if (!skipping) continue;
        let small = true; // every |dz| < threshold (a NaN is not)
        for (let i = r0; i < r1 && small; i++) {
          for (let k = k0; k < k1; k++) if (!(Math.abs(dz[i * c + k]) < threshold)) { small = false; break; }
        }
        if (!small) continue;
        skippedBlocks++;
        for (let i = r0; i < r1; i++) dz.fill(0, i * c + k0, i * c + k1);
      }
    }
  }

  // Reductions. 'none': per row, the z-loss added into its row.
  let loss: number | Float64Array;
  let zLoss: number | Float64Array;
  if (reduction === 'none') {
    if (plan.zLossGiven) for (let i = 0; i < n; i++) rows[i] += zRows[i];
    loss = rows;
    zLoss = zRows;
  } else {
    let total = 0, zTotal = 0;
    for (let i = 0; i < n; i++) total += rows[i];
    for (let i = 0; i < n; i++) zTotal += zRows[i];
    if (reduction === 'sum') {
      loss = total;
      zLoss = zTotal;
    } else {
      loss = zeroDenominator ? NaN : total / denominator;
      zLoss = nKept ? zTotal / nKept : NaN;
    }
    if (plan.zLossGiven) loss += zLoss;
  }

  const result: LossResults = { loss };
  if (dz) result.dz = dz;
  if (plan.zLossGiven) result.zLoss = zLoss;
  if (plan.returnLse) result.lse = lse;
  if (plan.returnAccuracy) result.accuracy = nKept ? hits / nKept : NaN;
  if (plan.gradFilter > 0) {
    result.skippedBlocks = skippedBlocks;
    result.blocks = blocks;
  }
  return result;
}
