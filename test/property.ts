/**
 * Property tests (fast-check) of the public calls, shared by test/property.test.ts (a few
 * thousand runs in `npm test`) and `npm run fuzz` (as many as asked, with a seed to replay):
 *
 *   - a call: a random function, shape (1, primes, sizes off the SIMD tiles), values,
 *     options (reduction, ignoreIndex, smoothing, weights with zeros, probability targets,
 *     grad, inputGrad, chunk, and the large-vocabulary options softcap, zLoss, returnLse,
 *     returnAccuracy, gradFilter) and placement (arrays, resident tensors, out tensors, the
 *     gradient in place of the logits tensor);
 *   - the synchronous API agrees with the float64 reference within a bound derived from the
 *     float32 rounding of the call (see `bounds`), NaN where the reference has NaN; gradFilter
 *     blocks and accuracy rows that the rounding could decide either way are allowed to (and
 *     counted), every other decision must match;
 *   - a pool (1–3 threads, the calling thread computing or not) gives bitwise the sync results;
 *   - an invalid call (one mutation of a valid one) throws on the sync API, the pool and the
 *     reference alike, and leaves the tensors it was given as they were.
 */
import fc from 'fast-check';
import { reference, Tensor, type SoftmaxCE, type SoftmaxCEThreaded } from '../src/index.js';
import { blockRows, GRAD_FILTER_CLASSES } from '../src/options.js';
import type { Reduction } from '../src/types.js';
import { randomFloat32, randomLabels, randomProbs, rng } from './helpers.js';

export type Fn = 'linear' | 'softmax' | 'logSoftmax' | 'crossEntropy' | 'linearCrossEntropy';
type Api = SoftmaxCE | SoftmaxCEThreaded;

/** One call, as data: arrays are made from `seed`, tensors per instance (see materialize). */
export interface CallSpec {
  fn: Fn;
  n: number; d: number; c: number;
  seed: number;
  scale: number;
  hot: boolean;
  reduction: Reduction;
  targets: 'index' | 'probs';
  ignoreIndex: number | undefined;
  ignoreEvery: number;
  smoothing: number;
  weighted: 'none' | 'positive' | 'zeros';
  grad: boolean;
  inputGrad: boolean | undefined;
  chunk: 'auto' | boolean | { rows: number } | undefined;
  bias: boolean;
  /** The large-vocabulary options (README "Large-vocabulary options"); gradFilter only applies with grad. */
  softcap: number | null | undefined;
  zLoss: number | undefined;
  returnLse: boolean | undefined;
  returnAccuracy: boolean | undefined;
  gradFilter: number | undefined;
  /** Which of x, w, b, logits are resident tensors. */
  resident: { x: boolean; w: boolean; b: boolean; logits: boolean };
  /** Which gradients go to out tensors ('self': dlogits into the logits tensor). */
  out: { dx: boolean; dw: boolean; db: boolean; dlogits: 'no' | 'tensor' | 'self'; linear: boolean };
}

/** n, d and c: 1, small primes, sizes at and beside multiples of 4, 8 and 16, and anything up to 40/70. */
const size = (max: number) => fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 13, 15, 16, 17, 31, 32, 33), fc.integer({ min: 1, max }));

/**
 * Numbers spread evenly over the decades of [lo, hi] (fc.double leans on its bounds, which here
 * would make most draws the largest ε or the smallest cap).
 */
const logUniform = (lo: number, hi: number) => fc.integer({ min: 0, max: 1e9 }).map((k) => lo * (hi / lo) ** (k / 1e9));

export const callSpec: fc.Arbitrary<CallSpec> = fc.record({
  fn: fc.constantFrom<Fn>('linear', 'softmax', 'logSoftmax', 'crossEntropy', 'linearCrossEntropy', 'linearCrossEntropy'),
  n: size(40), d: size(40), c: size(70),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  scale: fc.constantFrom(0.1, 1, 4, 30),
  hot: fc.boolean(),
  reduction: fc.constantFrom<Reduction>('mean', 'sum', 'none'),
  targets: fc.constantFrom<'index' | 'probs'>('index', 'index', 'probs'),
  ignoreIndex: fc.constantFrom(undefined, -100, -1, 2, 5000),
  ignoreEvery: fc.constantFrom(0, 2, 3, 1),
  smoothing: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  weighted: fc.constantFrom<'none' | 'positive' | 'zeros'>('none', 'positive', 'zeros'),
  grad: fc.boolean(),
  inputGrad: fc.constantFrom(undefined, true, false),
  chunk: fc.oneof(fc.constantFrom<CallSpec['chunk']>(undefined, 'auto', true, false), fc.integer({ min: 1, max: 9 }).map((rows) => ({ rows }))),
  bias: fc.boolean(),
  // Off most of the time; else a cap that saturates the logits here (|z|/cap past ~9: hot
  // logits near 95, or ±4·scale with scale 30) or not at all (1000), fixed or any in between.
  softcap: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom(0.5, 2, 5, 30, 1000), logUniform(0.05, 300)) },
  ),
  // Absent (off), 0 (off, but the result is there), small or large λ (not all float32 numbers).
  zLoss: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1e-4, 0.01, 1, 10) },
    { weight: 1, arbitrary: fc.double({ min: 0, max: 3, noNaN: true }) },
  ),
  returnLse: fc.constantFrom(undefined, false, true, true),
  returnAccuracy: fc.constantFrom(undefined, false, true, true),
  // Off (absent or 0), or ε in [1e-9, 0.3]: |dZ|/g (≈ p·S − a) of far-off classes is below the
  // larger ε, so blocks of such classes are skipped; near the label (≈ w_y) they are not.
  gradFilter: fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(undefined, 0) },
    { weight: 3, arbitrary: fc.oneof(fc.constantFrom(1e-8, 1e-4, 1e-2, 0.1), logUniform(1e-9, 0.3)) },
  ),
  resident: fc.record({ x: fc.boolean(), w: fc.boolean(), b: fc.boolean(), logits: fc.boolean() }),
  out: fc.record({
    dx: fc.boolean(), dw: fc.boolean(), db: fc.boolean(), dlogits: fc.constantFrom<'no' | 'tensor' | 'self'>('no', 'tensor', 'self'), linear: fc.boolean(),
  }),
});

/** The arrays of a spec (the same for every instance and the reference). */
export function data(s: CallSpec) {
  const r = rng(s.seed), { n, d, c } = s;
  const x = randomFloat32(r, n * d, s.scale), w = randomFloat32(r, c * d, 1), b = randomFloat32(r, c, s.scale);
  // Logits in [90, 100] ("hot": a naive exp overflows) or in ±scale·4.
  const logits = s.hot ? Float32Array.from(randomFloat32(r, n * c, 5), (v) => 95 + v) : randomFloat32(r, n * c, 4 * s.scale);
  let target: Int32Array | Float32Array;
  if (s.targets === 'probs') {
    target = randomProbs(r, n, c);
  } else {
    const labels = randomLabels(r, n, c);
    if (s.ignoreEvery) for (let i = 0; i < n; i += s.ignoreEvery) labels[i] = s.ignoreIndex ?? -100;
    target = labels;
  }
  let weight: Float32Array | undefined;
  if (s.weighted !== 'none') {
    weight = Float32Array.from({ length: c }, () => 0.1 + 2 * r());
    if (s.weighted === 'zeros') for (let k = 0; k < c; k += 2) weight[k] = 0;
  }
  return { x, w, b, logits, target, weight };
}

/** Options of a valid call (ignoreIndex ≥ 0 is left out with probability targets: an error there). */
function lossOptions(s: CallSpec, weight: Float32Array | undefined) {
  const o: Record<string, unknown> = { reduction: s.reduction, labelSmoothing: s.smoothing, grad: s.grad };
  if (s.ignoreIndex !== undefined && !(s.targets === 'probs' && s.ignoreIndex >= 0)) o.ignoreIndex = s.ignoreIndex;
  if (weight) o.weight = weight;
  if (s.softcap !== undefined) o.softcap = s.softcap;
  if (s.zLoss !== undefined) o.zLoss = s.zLoss;
  if (s.returnLse !== undefined) o.returnLse = s.returnLse;
  if (s.returnAccuracy !== undefined) o.returnAccuracy = s.returnAccuracy;
  // gradFilter > 0 with grad false is an invalid call (MUTATIONS); 0 is off and valid.
  if (s.gradFilter !== undefined && (s.grad || s.gradFilter === 0)) o.gradFilter = s.gradFilter;
  return o;
}

/** A call on one instance: its arguments (tensors of that instance), the out tensors, and how to free them. */
export interface Made {
  args: Record<string, unknown>;
  positional?: [Float32Array | Tensor, number, number];
  outs: Record<string, Tensor>;
  tensors: Tensor[];
}

export function materialize(s: CallSpec, api: Api | null, extra: Record<string, unknown> = {}): Made {
  const { x, w, b, logits, target, weight } = data(s);
  const tensors: Tensor[] = [];
  const put = (resident: boolean, a: Float32Array) => {
    if (!resident || !api) return a;
    const t = api.tensor(a);
    tensors.push(t);
    return t;
  };
  const empty = (length: number) => {
    const t = api!.tensor(length);
    tensors.push(t);
    return t;
  };
  const { n, d, c } = s;
  const outs: Record<string, Tensor> = {};
  if (s.fn === 'softmax' || s.fn === 'logSoftmax') {
    return { args: {}, positional: [put(s.resident.logits, logits), n, c], outs, tensors };
  }
  if (s.fn === 'linear') {
    const args: Record<string, unknown> = { x: put(s.resident.x, x), w: put(s.resident.w, w), n, d, c };
    if (s.bias) args.b = put(s.resident.b, b);
    if (api && s.out.linear) args.out = outs.logits = empty(n * c);
    return { args: { ...args, ...extra }, outs, tensors };
  }
  if (s.fn === 'crossEntropy') {
    const z = put(s.resident.logits, logits);
    const args: Record<string, unknown> = { logits: z, target, n, c, ...lossOptions(s, weight) };
    // Out tensors only where the call writes them: an out it would never write is an error.
    if (api && s.grad && s.out.dlogits !== 'no') {
      outs.dlogits = s.out.dlogits === 'self' && z instanceof Tensor ? z : empty(n * c);
      args.out = { dlogits: outs.dlogits };
    }
    return { args: { ...args, ...extra }, outs, tensors };
  }
  const args: Record<string, unknown> = { x: put(s.resident.x, x), w: put(s.resident.w, w), target, n, d, c, ...lossOptions(s, weight) };
  if (s.bias) args.b = put(s.resident.b, b);
  if (s.inputGrad !== undefined) args.inputGrad = s.inputGrad;
  if (s.chunk !== undefined) args.chunk = s.chunk;
  if (api && s.grad) {
    const out: Record<string, Tensor> = {};
    if (s.out.dx && s.inputGrad !== false) out.dx = outs.dx = empty(n * d);
    if (s.out.dw) out.dw = outs.dw = empty(c * d);
    if (s.out.db && s.bias) out.db = outs.db = empty(c);
    if (Object.keys(out).length) args.out = out;
  }
  return { args: { ...args, ...extra }, outs, tensors };
}

/** Calls the function on an instance (or the reference, api null) and returns every result as plain arrays. */
export async function run(s: CallSpec, api: Api | null, made: Made): Promise<Record<string, number[]>> {
  const target = api ?? reference;
  const f = (target as unknown as Record<string, (...a: unknown[]) => unknown>)[s.fn].bind(target);
  const raw = await (made.positional ? f(...made.positional) : f(made.args));
  const result: Record<string, number[]> = {};
  if (raw instanceof Float32Array || raw instanceof Float64Array) {
    result[s.fn === 'linear' ? 'logits' : s.fn] = Array.from(raw);
  } else {
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      result[key] = typeof value === 'number' ? [value] : Array.from(value as ArrayLike<number>);
    }
  }
  // Gradients sent to out tensors are read back under their own names.
  for (const [key, t] of Object.entries(made.outs)) {
    const gradientWritten = key === 'logits' || (s.grad && !(key === 'dx' && s.inputGrad === false));
    if (gradientWritten) result[key] = Array.from(t.read());
  }
  return result;
}

export function free(made: Made) {
  for (const t of made.tensors) if (!t.freed) t.free();
}

// ---------------------------------------------------------------- the tolerance

const U = 2 ** -24;
/** Below float32's normal range: a flushed or rounded subnormal may differ by this much. */
const TINY = 2 ** -120;
/**
 * The row kernels write a dz of magnitude below 2^-100 as ±0 (assembly/simd.ts, DZ_FLUSH: smaller
 * ones make subnormal products in the backward gemms, which x86 computes ~100× slower), so
 * each dz may differ from the reference by this much more; it propagates into dx, dw, db.
 */
const DZ_FLUSH = 2 ** -100;

/**
 * Per-element bounds |ours − reference| for every output of a valid call, from the float32
 * rounding of each step (u = 2^-24):
 *  - a logit z_ik = Σ_j x_ij·w_kj + b_k rounded in float32 is off by at most (d + 2)·u·Z_ik,
 *    Z_ik = Σ_j |x_ij·w_kj| + |b_k| (Higham's γ_d; typically only √d·u·Z, but the bound must
 *    hold for every run of the fuzz); logits given directly are exact;
 *  - softcap: z' = cap·tanh(z/cap) (assembly/softcap.ts) moves a logit error by the factor
 *    1 − t² ≤ 1 and adds 5u·|z'|: the quotient z/cap (u·|z/cap|, which tanh shrinks to
 *    ≤ u·|t|: |tanh'(v)·v| ≤ |tanh v|), tanhf4 (≤ 1 ULP, assembly/tanh.ts; 1 ULP ≤ 2u·|t|), the
 *    product cap·t (u·|z'|), and the cap rounded to float32 (|∂z'/∂cap| ≤ |t|: u·|z'|); plus
 *    cap·2^-148 for a subnormal t. e_ik is this capped-logit error (the logit error without a cap);
 *  - δ_i = max_k e_ik + u·(range of the row's z'): e bounds every logit's error, and z − m is
 *    rounded once more (u·|z − m|);
 *  - softmax turns δ_i into a relative error of p_ik of 2δ_i (z_k and log s each move by
 *    δ_i), plus the float32 rounding of exp (≤ 1.5 ulp), of s and of the quotient: 2δ_i + 16u;
 *  - lse_i = m + log s (f64 from float32 m and the f64 sum; lse is 1-Lipschitz in the max norm
 *    of the logits, exp adds ≤ 3u to log s): δ_i + 4u, and u·|lse_i| for the Float32Array;
 *  - loss_i = Σ_k a_ik·(lse_i − z'_ik) (a: the weighted, smoothed target) is off by
 *    Σ_k |a_ik|·(2δ_i + 8u·(|lse_i − z'_ik| + 1));
 *  - z-loss λ·lse_i² (λ rounded to float32, the rest in f64) by λ·(2|lse_i| + E_i)·E_i +
 *    u·λ·lse_i², E_i = δ_i + 4u the f64 lse's error;
 *  - dz'_ik = s_i·(p_ik·S_i − a_ik) + zs·2·lse_i·p_ik by s_i·(S_i·p_ik·(2δ_i + 16u) + 4u·|a_ik|)
 *    + 2·zs·p_ik·(|lse_i|·(2δ_i + 18u) + E_i) + u·|dz'_ik| (zs = λ/kept or λ, rounded to
 *    float32 and folded with the exp scale into one float32 factor: 2u more on that term);
 *  - softcap's backward dz = dz'·F, F = (1 − t)(1 + t) from t = z'/cap in float32: t is off by
 *    Δt = e/cap·(1 + 2u) + 3u·|t|, so F by ΔF = Δt·(2|t| + Δt) plus F's three roundings (3u·F,
 *    the ~3·2^-24 absolute of assembly/softcap.ts); dz by err(dz')·(F + ΔF) + |dz'|·ΔF + u·|dz|;
 *  - plus 2^-100 where the kernel flushes a tiny dz to 0 (DZ_FLUSH);
 *  - gradFilter: see filterBlocks below — blocks both sides must skip are 0 exactly, blocks both
 *    must keep are compared as above, and a borderline block (within the error of the threshold)
 *    may be skipped by one side only: its entries are allowed their whole magnitude (|dz| + err),
 *    which propagates into dx, dw, db, and skippedBlocks may differ by the borderline count;
 *  - accuracy: a kept row's prediction can differ only where another capped logit is within the
 *    two logits' errors of the row's maximum (e_top + e_j; exact ties of exact logits are the
 *    same ties in float32, lowest index on both sides): accuracy may differ by those rows / kept;
 *  - dx, dw, db are sums of m terms dz·w, dz·x, dz: the propagated errors plus (m + 2)·u of
 *    the sum of absolute terms (any grouping: the chunked path sums dw and db by blocks).
 * Each bound is taken at least TINY (subnormal flushes). NaN and ±∞ must match exactly.
 */
export function bounds(s: CallSpec): Record<string, Float64Array> {
  const { n, d, c } = s;
  const { x, w, b, logits, target, weight } = data(s);
  const fromLinear = s.fn === 'linear' || s.fn === 'linearCrossEntropy';
  const isLoss = s.fn === 'crossEntropy' || s.fn === 'linearCrossEntropy';
  const raw = new Float64Array(n * c), zerr = new Float64Array(n * c), delta = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      let acc = 0, mag = 0;
      if (fromLinear) {
        acc = s.bias ? b[k] : 0;
        mag = s.bias ? Math.abs(b[k]) : 0;
        for (let j = 0; j < d; j++) {
          acc += x[i * d + j] * w[k * d + j];
          mag += Math.abs(x[i * d + j] * w[k * d + j]);
        }
      } else {
        acc = logits[i * c + k];
      }
      raw[i * c + k] = acc;
      zerr[i * c + k] = (d + 2) * U * mag;
    }
  }
  const out: Record<string, Float64Array> = {};
  if (s.fn === 'linear') {
    out.logits = Float64Array.from(zerr, (v, k) => v + U * Math.abs(raw[k]) + TINY);
    return out;
  }
  // The logits the loss sees (capped or not) and their errors e.
  const cap = isLoss && s.softcap ? s.softcap : 0;
  const z = cap ? raw.map((v) => cap * Math.tanh(v / cap)) : raw;
  const e = cap ? Float64Array.from(zerr, (v, k) => v + 5 * U * Math.abs(z[k]) + cap * 2 ** -148) : zerr;
  for (let i = 0; i < n; i++) {
    let max = -Infinity, min = Infinity, err = 0;
    for (let k = 0; k < c; k++) {
      max = Math.max(max, z[i * c + k]);
      min = Math.min(min, z[i * c + k]);
      err = Math.max(err, e[i * c + k]);
    }
    delta[i] = err + U * (max - min);
  }
  // p and lse in float64 from the exact-math logits.
  const p = new Float64Array(n * c), lse = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, z[i * c + k]);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(z[i * c + k] - m);
    lse[i] = m + Math.log(sum);
    for (let k = 0; k < c; k++) p[i * c + k] = Math.exp(z[i * c + k] - lse[i]);
  }
  if (s.fn === 'softmax') {
    out.softmax = Float64Array.from(p, (v, k) => v * (2 * delta[Math.floor(k / c)] + 16 * U) + TINY);
    return out;
  }
  if (s.fn === 'logSoftmax') {
    out.logSoftmax = Float64Array.from(p, (_, k) => {
      const i = Math.floor(k / c), ls = z[k] - lse[i];
      return 2 * delta[i] + 8 * U * (Math.abs(ls) + Math.abs(lse[i] - Math.max(...z.subarray(i * c, i * c + c))) + 1) + TINY;
    });
    return out;
  }
  // The loss: the target mass a_ik of each row, as the semantics in README say.
  const eps = s.smoothing, wt = (k: number) => (weight ? weight[k] : 1);
  const ignore = s.ignoreIndex ?? -100;
  const a = new Float64Array(n * c), kept = new Uint8Array(n);
  let denominator = 0, nKept = 0;
  for (let i = 0; i < n; i++) {
    if (target instanceof Int32Array) {
      const y = target[i];
      if (y === ignore) continue;
      for (let k = 0; k < c; k++) a[i * c + k] = (eps / c) * wt(k);
      a[i * c + y] += (1 - eps) * wt(y);
      denominator += wt(y);
    } else {
      for (let k = 0; k < c; k++) a[i * c + k] = wt(k) * ((1 - eps) * target[i * c + k] + eps / c);
      denominator += 1;
    }
    kept[i] = 1;
    nKept++;
  }
  const scale = s.reduction === 'mean' ? 1 / denominator : 1;
  const lambda = s.zLoss ?? 0;
  const zs = s.reduction === 'mean' ? (nKept ? lambda / nKept : 0) : lambda;
  const lseErr = Float64Array.from(delta, (v) => v + 4 * U);
  const rowLoss = new Float64Array(n), rowErr = new Float64Array(n), zRow = new Float64Array(n), zRowErr = new Float64Array(n);
  const dz = new Float64Array(n * c), dzErr = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    if (!kept[i]) continue;
    let S = 0;
    for (let k = 0; k < c; k++) {
      const ak = a[i * c + k];
      S += ak;
      rowLoss[i] += ak * (lse[i] - z[i * c + k]);
      rowErr[i] += Math.abs(ak) * (2 * delta[i] + 8 * U * (Math.abs(lse[i] - z[i * c + k]) + 1));
    }
    zRow[i] = lambda * lse[i] * lse[i];
    zRowErr[i] = lambda * (2 * Math.abs(lse[i]) + lseErr[i]) * lseErr[i] + U * zRow[i];
    for (let k = 0; k < c; k++) {
      const q = i * c + k;
      dz[q] = scale * (p[q] * S - a[q]) + zs * 2 * lse[i] * p[q];
      dzErr[q] = Math.abs(scale) * (S * p[q] * (2 * delta[i] + 16 * U) + 4 * U * Math.abs(a[q]))
        + 2 * zs * p[q] * (Math.abs(lse[i]) * (2 * delta[i] + 18 * U) + lseErr[i]) + U * Math.abs(dz[q]) + DZ_FLUSH;
    }
  }
  // Softcap's chain rule (kept rows; ignored rows are 0 on both sides).
  if (cap) {
    for (let q = 0; q < n * c; q++) {
      if (!kept[Math.floor(q / c)]) continue;
      const t = Math.tanh(raw[q] / cap), F = (1 - t) * (1 + t), at = Math.abs(t);
      const dt = (e[q] / cap) * (1 + 2 * U) + 3 * U * at;
      let dF = dt * (2 * at + dt);
      dF += 3 * U * (F + dF);
      const g = dz[q] * F;
      dzErr[q] = dzErr[q] * (F + dF) + Math.abs(dz[q]) * dF + U * Math.abs(g) + DZ_FLUSH;
      dz[q] = g;
    }
  }
  const zLossGiven = s.zLoss !== undefined;
  if (s.reduction === 'none') {
    out.loss = Float64Array.from(rowErr, (v, i) => v + U * Math.abs(rowLoss[i]) + zRowErr[i] + U * zRow[i] + TINY);
    if (zLossGiven) out.zLoss = Float64Array.from(zRowErr, (v, i) => v + U * zRow[i] + TINY);
  } else {
    let total = 0, err = 0, zTotal = 0, zErr = 0;
    for (let i = 0; i < n; i++) { total += rowLoss[i]; err += rowErr[i]; zTotal += zRow[i]; zErr += zRowErr[i]; }
    const zBound = (zErr + n * U * zTotal) / (s.reduction === 'mean' ? nKept : 1) + TINY;
    out.loss = Float64Array.of(Math.abs(scale) * (err + n * U * Math.abs(total)) + TINY + (zLossGiven ? zBound : 0));
    if (zLossGiven) out.zLoss = Float64Array.of(zBound);
  }
  if (s.returnLse) out.lse = Float64Array.from(lseErr, (v, i) => v + U * Math.abs(lse[i]) + TINY);
  if (s.returnAccuracy) {
    // Kept rows whose prediction the logit errors could change (see above).
    let uncertain = 0;
    for (let i = 0; i < n; i++) {
      if (!kept[i]) continue;
      let top = 0;
      for (let k = 1; k < c; k++) if (z[i * c + k] > z[i * c + top]) top = k;
      for (let k = 0; k < c; k++) {
        if (k !== top && z[i * c + top] - z[i * c + k] < e[i * c + top] + e[i * c + k]) { uncertain++; break; }
      }
    }
    out.accuracy = Float64Array.of(uncertain ? uncertain / nKept + 1e-15 : 0);
  }
  if (!s.grad) return out;
  if (s.gradFilter) {
    const g = s.reduction === 'mean' ? (denominator !== 0 ? 1 / denominator : nKept ? NaN : 0) : 1;
    const rows = s.fn === 'crossEntropy' ? n : blockRows('bounds', s.chunk, n, c);
    const { borderline } = filterBlocks(dz, dzErr, n, c, rows, s.gradFilter * g);
    out.skippedBlocks = Float64Array.of(borderline);
    out.blocks = Float64Array.of(0);
  }
  if (s.fn === 'crossEntropy') {
    out.dlogits = Float64Array.from(dzErr, (v) => v + TINY);
    return out;
  }
  const dx = new Float64Array(n * d), dw = new Float64Array(c * d), db = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const q = i * c + k, g = Math.abs(dz[q]), err = dzErr[q];
      db[k] += err + (n + 2) * U * g;
      for (let j = 0; j < d; j++) {
        dx[i * d + j] += err * Math.abs(w[k * d + j]) + (c + 2) * U * g * Math.abs(w[k * d + j]);
        dw[k * d + j] += err * Math.abs(x[i * d + j]) + (n + 2) * U * g * Math.abs(x[i * d + j]);
      }
    }
  }
  if (s.inputGrad !== false) out.dx = dx.map((v) => v + TINY);
  out.dw = dw.map((v) => v + TINY);
  if (s.bias) out.db = db.map((v) => v + TINY);
  return out;
}

/**
 * gradFilter's decisions, applied to the exact dz and its bound dzErr (in place): blocks of
 * `rows` rows × GRAD_FILTER_CLASSES classes, skipped where every |dz| < threshold. The kernel
 * decides on its float32 dz (|dz| ± dzErr) against the threshold rounded to float32 (±u
 * relative); the reference on its float64 dz (|dz| ± 1e-6·dzErr: its own rounding, ~1e-16 of
 * the terms, far inside u) against the exact threshold. A block that both must skip (every
 * entry below on either side's worst case) is 0 on both sides: dz and its bound become 0. One
 * that both must keep (an entry at or above on either side's best case, or a NaN) is compared
 * as unfiltered. Any other block is borderline: either side may skip it, so its entries may
 * differ by their whole magnitude, |dz| + dzErr. A NaN or zero threshold skips nothing.
 */
export function filterBlocks(dz: Float64Array, dzErr: Float64Array, n: number, c: number, rows: number, threshold: number) {
  let skipped = 0, borderline = 0, blocks = 0;
  const lo = threshold * (1 - 2 * U), hi = threshold * (1 + 2 * U);
  for (let r0 = 0; r0 < n; r0 += rows) {
    const r1 = Math.min(n, r0 + rows);
    for (let k0 = 0; k0 < c; k0 += GRAD_FILTER_CLASSES) {
      const k1 = Math.min(c, k0 + GRAD_FILTER_CLASSES);
      blocks++;
      if (!(threshold > 0)) continue;
      let skipBoth = true, keepBoth = false, keepKernel = false, keepReference = false;
      for (let i = r0; i < r1; i++) {
        for (let k = k0; k < k1; k++) {
          const v = Math.abs(dz[i * c + k]), err = dzErr[i * c + k], refErr = 1e-6 * err;
          if (!(v + err < lo && v + refErr < threshold)) skipBoth = false;
          if (!(v - err < hi)) keepKernel = true;
          if (!(v - refErr < threshold)) keepReference = true;
        }
      }
      keepBoth = keepKernel && keepReference;
      if (keepBoth) continue;
      if (skipBoth) skipped++;
      else borderline++;
      for (let i = r0; i < r1; i++) {
        for (let k = k0; k < k1; k++) {
          const q = i * c + k;
          if (skipBoth) { dz[q] = 0; dzErr[q] = 0; } else dzErr[q] += Math.abs(dz[q]);
        }
      }
    }
  }
  return { skipped, borderline, blocks };
}

/** The first element where ours and the reference differ by more than the bound, or null. */
export function compare(got: Record<string, number[]>, want: Record<string, number[]>, bound: Record<string, Float64Array>): string | null {
  const keys = Object.keys(want).sort();
  if (keys.join() !== Object.keys(got).sort().join()) return `results ${Object.keys(got).sort()} but the reference has ${keys}`;
  for (const key of keys) {
    const g = got[key], r = want[key], e = bound[key];
    if (g.length !== r.length) return `${key}: length ${g.length}, reference ${r.length}`;
    for (let k = 0; k < r.length; k++) {
      if (Number.isNaN(r[k]) || !Number.isFinite(r[k])) {
        if (!Object.is(g[k], r[k]) && !(Number.isNaN(g[k]) && Number.isNaN(r[k]))) return `${key}[${k}] = ${g[k]}, reference ${r[k]}`;
      } else if (!(Math.abs(g[k] - r[k]) <= e[k])) {
        return `${key}[${k}] = ${g[k]}, reference ${r[k]}: |error| ${Math.abs(g[k] - r[k])} > bound ${e[k]}`;
      }
    }
  }
  return null;
}

/** Bitwise equality of two result sets (NaN equal to NaN, −0 not equal to 0). */
export function sameBits(a: Record<string, number[]>, b: Record<string, number[]>): string | null {
  const keys = Object.keys(a).sort();
  if (keys.join() !== Object.keys(b).sort().join()) return `results ${keys} vs ${Object.keys(b).sort()}`;
  for (const key of keys) {
    if (a[key].length !== b[key].length) return `${key}: lengths differ`;
    for (let k = 0; k < a[key].length; k++) if (!Object.is(a[key][k], b[key][k])) return `${key}[${k}]: ${a[key][k]} vs ${b[key][k]}`;
  }
  return null;
}

// ---------------------------------------------------------------- invalid calls

/**
 * One mutation that makes a valid call invalid, applied to its arguments. `api` says where
 * it applies: 'both' (the API and the reference must reject it) or 'api' (out tensors,
 * which the reference does not take).
 */
export interface Mutation {
  name: string;
  fns: Fn[];
  where: 'both' | 'api';
  /** What the error says, where the test checks it. */
  expect?: RegExp;
  apply(args: Record<string, unknown>, s: CallSpec): void;
}

const LOSS_FNS: Fn[] = ['crossEntropy', 'linearCrossEntropy'];
const ARG_FNS: Fn[] = ['linear', 'crossEntropy', 'linearCrossEntropy'];
export const MUTATIONS: Mutation[] = [
  { name: 'unknown option label_smoothing', fns: ARG_FNS, where: 'both', apply: (a) => { a.label_smoothing = 0.5; } },
  { name: 'unknown option reduce', fns: ARG_FNS, where: 'both', apply: (a) => { a.reduce = 'sum'; } },
  { name: 'unknown option inputGrads', fns: ARG_FNS, where: 'both', apply: (a) => { a.inputGrads = false; } },
  { name: 'reduction "avg"', fns: LOSS_FNS, where: 'both', apply: (a) => { a.reduction = 'avg'; } },
  { name: 'labelSmoothing 1.5', fns: LOSS_FNS, where: 'both', apply: (a) => { a.labelSmoothing = 1.5; } },
  { name: 'labelSmoothing NaN', fns: LOSS_FNS, where: 'both', apply: (a) => { a.labelSmoothing = NaN; } },
  { name: 'ignoreIndex 0.5', fns: LOSS_FNS, where: 'both', apply: (a) => { a.ignoreIndex = 0.5; } },
  { name: 'grad "yes"', fns: LOSS_FNS, where: 'both', apply: (a) => { a.grad = 'yes'; } },
  { name: 'weight too short', fns: LOSS_FNS, where: 'both', apply: (a, s) => { a.weight = new Float32Array(s.c + 1); } },
  { name: 'weight negative', fns: LOSS_FNS, where: 'both', apply: (a, s) => { a.weight = new Float32Array(s.c).fill(-1); } },
  { name: 'weight NaN', fns: LOSS_FNS, where: 'both', apply: (a, s) => { a.weight = new Float32Array(s.c).fill(NaN); } },
  {
    name: 'target out of range', fns: LOSS_FNS, where: 'both',
    apply: (a, s) => { const t = new Int32Array(s.n); t[s.n - 1] = s.c; if (s.c === (a.ignoreIndex ?? -100)) t[s.n - 1] = s.c + 1; a.target = t; },
  },
  { name: 'target of length n + 1', fns: LOSS_FNS, where: 'both', apply: (a, s) => { a.target = new Int32Array(s.n + 1); } },
  { name: 'target a non-integer', fns: LOSS_FNS, where: 'both', apply: (a, s) => { a.target = Array.from({ length: s.n }, () => 0.5); } },
  { name: 'probabilities with ignoreIndex 0', fns: LOSS_FNS, where: 'both', apply: (a, s) => { a.target = new Float32Array(s.n * s.c); a.ignoreIndex = 0; } },
  { name: 'probabilities with Infinity', fns: LOSS_FNS, where: 'both', apply: (a, s) => { a.target = new Float32Array(s.n * s.c).fill(Infinity); delete a.ignoreIndex; } },
  { name: 'n 0', fns: ARG_FNS, where: 'both', apply: (a) => { a.n = 0; } },
  { name: 'c 1.5', fns: ARG_FNS, where: 'both', apply: (a) => { a.c = 1.5; } },
  { name: 'x one short', fns: ['linear', 'linearCrossEntropy'], where: 'both', apply: (a, s) => { a.x = new Float32Array(s.n * s.d - 1); } },
  { name: 'w a Float64Array', fns: ['linear', 'linearCrossEntropy'], where: 'both', apply: (a, s) => { a.w = new Float64Array(s.c * s.d); } },
  { name: 'b too long', fns: ['linear', 'linearCrossEntropy'], where: 'both', apply: (a, s) => { a.b = new Float32Array(s.c + 1); } },
  { name: 'logits too long', fns: ['crossEntropy'], where: 'both', apply: (a, s) => { a.logits = new Float32Array(s.n * s.c + 1); } },
  { name: 'inputGrad 1', fns: ['linearCrossEntropy'], where: 'both', apply: (a) => { a.inputGrad = 1; } },
  { name: 'chunk { rows: 0 }', fns: ['linearCrossEntropy'], where: 'both', apply: (a) => { a.chunk = { rows: 0 }; } },
  { name: 'chunk "yes"', fns: ['linearCrossEntropy'], where: 'both', apply: (a) => { a.chunk = 'yes'; } },
  { name: 'out { dW }', fns: ['linearCrossEntropy'], where: 'api', apply: (a) => { a.out = { ...(a.out as object), dW: a.x }; } },
  { name: 'out { dz }', fns: ['crossEntropy'], where: 'api', apply: (a) => { a.out = { ...(a.out as object), dz: a.logits }; } },
  { name: 'out.dw with grad false', fns: ['linearCrossEntropy'], where: 'api', apply: (a) => { a.grad = false; a.out = { dw: a.w }; } },
  { name: 'out.dlogits with grad false', fns: ['crossEntropy'], where: 'api', apply: (a) => { a.grad = false; a.out = { dlogits: a.logits }; } },
  { name: 'out.dw an array', fns: ['linearCrossEntropy'], where: 'api', apply: (a, s) => { a.grad = true; a.out = { dw: new Float32Array(s.c * s.d) }; } },
  // The large-vocabulary options: each bad value of each, gradFilter without a gradient, misspellings.
  ...badValues('softcap', [0, -0, -1, NaN, Infinity, -Infinity, '2', true, [2]], /softcap must be a positive finite number/),
  ...badValues('zLoss', [-1, -1e-30, NaN, Infinity, null, '0.1', false], /zLoss must be a finite number ≥ 0/),
  ...badValues('gradFilter', [-1, NaN, Infinity, null, 'auto', true], /gradFilter must be a finite number ≥ 0/),
  ...badValues('returnLse', [1, 0, 'true', null], /returnLse must be a boolean/),
  ...badValues('returnAccuracy', [1, 'yes', null, {}], /returnAccuracy must be a boolean/),
  ...[1e-9, 0.5].map((eps): Mutation => ({
    name: `gradFilter ${eps} with grad false`, fns: LOSS_FNS, where: 'both', expect: /gradFilter filters the gradient, and grad is false/,
    apply: (a) => { a.gradFilter = eps; a.grad = false; delete a.out; },
  })),
  ...['softCap', 'lse_square_scale', 'filter_eps', 'return_lse', 'zloss'].map((name): Mutation => ({
    name: `unknown option ${name}`, fns: LOSS_FNS, where: 'both', expect: /unknown option/, apply: (a) => { a[name] = 0.1; },
  })),
];

/** One mutation per bad value of a loss option (each alone, the rest of the call valid). */
function badValues(option: string, values: unknown[], expect: RegExp): Mutation[] {
  return values.map((v) => ({
    name: `${option} ${typeof v === 'string' ? JSON.stringify(v) : Object.is(v, -0) ? '-0' : Array.isArray(v) ? '[2]' : String(v)}`,
    fns: LOSS_FNS, where: 'both', expect, apply: (a) => { a[option] = v; },
  }));
}
