/**
 * The public API over one WebAssembly instance. Each method checks its arguments,
 * copies the caller's arrays into the arena, runs the kernels, and returns fresh
 * arrays that belong to the caller (copies, never views of WebAssembly memory).
 */
import { Arena, type Slot } from './arena.js';
import type { BuildName, KernelExports } from './wasm.js';
import type {
  CrossEntropyArgs, CrossEntropyResult, LinearArgs, LinearCrossEntropyArgs, LinearCrossEntropyResult,
} from './types.js';
import { ArgumentError, checkFloat32, checkOptionalFloat32, checkSize, planLoss, type LossPlan } from './validate.js';

export interface Info {
  /** The WebAssembly build in use: 'relaxed' (relaxed-SIMD FMA) or 'simd'. */
  build: BuildName;
  /** Builds this engine accepts. */
  supported: BuildName[];
  threads: number;
}

const F32 = 4, F64 = 8, I32 = 4;

/** Loss options that the kernels take as plain numbers. */
function lossScalars(plan: LossPlan) {
  // 'mean' over a zero denominator: PyTorch's gradient is w/0 — 0 when every row is
  // ignored (the kernel zero-fills ignored rows), 0·∞ = NaN on rows kept with weight 0.
  let gradScale = 1;
  if (plan.reduction === 'mean') gradScale = plan.denominator !== 0 ? 1 / plan.denominator : plan.keptRows ? NaN : 0;
  return { gradScale, grad: plan.grad ? 1 : 0 };
}

/** Buffers of the loss kernel after the logits: row losses, targets, weights. */
function lossSlots(options: { target: unknown; weight?: unknown }, n: number, c: number): Slot[] {
  return [
    ['row losses', n * F64],
    ['target', options.target instanceof Float32Array ? n * c * F32 : n * I32],
    ['weight', options.weight ? c * F32 : 0],
  ];
}

/** Reduces the per-row f64 losses as the plan says. */
function reduceLoss(plan: LossPlan, rows: Float64Array): number | Float32Array {
  if (plan.reduction === 'none') return Float32Array.from(rows);
  let total = 0;
  for (let i = 0; i < rows.length; i++) total += rows[i];
  return plan.reduction === 'mean' ? total / plan.denominator : total;
}

export class SoftmaxCE {
  readonly info: Info;
  private readonly k: KernelExports;
  private readonly arena: Arena;

  constructor(kernels: KernelExports, info: Info) {
    this.k = kernels;
    this.info = info;
    this.arena = new Arena(kernels.memory, kernels.heap_base());
  }

  /** Bytes of WebAssembly memory held by this instance (it grows only to the largest call). */
  get memoryBytes(): number {
    return this.arena.byteLength;
  }

  /** Z = X·Wᵀ + b: x n×d, w c×d, b length c → n×c logits. */
  linear(args: LinearArgs): Float32Array {
    const fn = 'linear';
    const { n, d, c } = this.dims(fn, args);
    const slots: Slot[] = [['x', n * d * F32], ['w', c * d * F32], ['b', c * F32], ['logits', n * c * F32]];
    this.arena.plan(fn, slots);
    const x = checkFloat32(fn, 'x', args.x, n * d, 'n×d');
    const w = checkFloat32(fn, 'w', args.w, c * d, 'c×d');
    const b = checkOptionalFloat32(fn, 'b', args.b, c, 'c');
    const [px, pw, pb, pz] = this.arena.layout(fn, slots);
    this.arena.f32(px, n * d).set(x);
    this.arena.f32(pw, c * d).set(w);
    if (b) this.arena.f32(pb, c).set(b);
    this.k.gemm_nt_f32(pz, c, px, d, pw, d, b ? pb : 0, c, d, 0, n);
    return this.arena.f32(pz, n * c).slice();
  }

  /** Row-wise softmax of n×c logits (max-subtracted; finite for any finite logits). */
  softmax(logits: Float32Array, n: number, c: number): Float32Array {
    return this.rowwise('softmax', logits, n, c, false);
  }

  /** Row-wise log-softmax of n×c logits, z − max − log Σ exp(z − max). */
  logSoftmax(logits: Float32Array, n: number, c: number): Float32Array {
    return this.rowwise('logSoftmax', logits, n, c, true);
  }

  /** Cross-entropy of n×c logits against targets, with PyTorch semantics; dlogits when grad. */
  crossEntropy(args: CrossEntropyArgs): CrossEntropyResult {
    const fn = 'crossEntropy';
    if (args === null || typeof args !== 'object') throw new ArgumentError(fn, 'expected an arguments object');
    const n = checkSize(fn, 'n', args.n), c = checkSize(fn, 'c', args.c);
    const slots: Slot[] = [['logits', n * c * F32], ...lossSlots(args, n, c)];
    this.arena.plan(fn, slots);
    const logits = checkFloat32(fn, 'logits', args.logits, n * c, 'n×c');
    const plan = planLoss(fn, args.target, n, c, args);
    const [pz, ...rest] = this.arena.layout(fn, slots);
    this.arena.f32(pz, n * c).set(logits);
    const rows = this.runLoss(plan, pz, rest, n, c);
    const result: CrossEntropyResult = { loss: reduceLoss(plan, rows) };
    if (plan.grad) result.dlogits = this.arena.f32(pz, n * c).slice();
    return result;
  }

  /**
   * The classifier head in one call: Z = X·Wᵀ + b, the cross-entropy of Z, and with grad
   * its gradients dx = dZ·W, dw = dZᵀ·X, db = Σ_rows dZ (db only when b is given).
   */
  linearCrossEntropy(args: LinearCrossEntropyArgs): LinearCrossEntropyResult {
    const fn = 'linearCrossEntropy';
    const { n, d, c } = this.dims(fn, args);
    const grad = args.grad ?? true;
    const slots: Slot[] = [
      ['x', n * d * F32], ['w', c * d * F32], ['b', c * F32], ['logits', n * c * F32],
      ['dx', grad ? n * d * F32 : 0], ['dw', grad ? c * d * F32 : 0], ['db', grad ? c * F32 : 0],
      ...lossSlots(args, n, c),
    ];
    this.arena.plan(fn, slots);
    const x = checkFloat32(fn, 'x', args.x, n * d, 'n×d');
    const w = checkFloat32(fn, 'w', args.w, c * d, 'c×d');
    const b = checkOptionalFloat32(fn, 'b', args.b, c, 'c');
    const plan = planLoss(fn, args.target, n, c, args);
    const [px, pw, pb, pz, pdx, pdw, pdb, ...rest] = this.arena.layout(fn, slots);
    this.arena.f32(px, n * d).set(x);
    this.arena.f32(pw, c * d).set(w);
    if (b) this.arena.f32(pb, c).set(b);
    const k = this.k;
    k.gemm_nt_f32(pz, c, px, d, pw, d, b ? pb : 0, c, d, 0, n);
    const rows = this.runLoss(plan, pz, rest, n, c);
    const result: LinearCrossEntropyResult = { loss: reduceLoss(plan, rows) };
    if (grad) {
      k.gemm_nn_f32(pdx, d, pz, c, pw, d, d, c, 0, n, 0);
      k.gemm_tn_f32(pdw, d, pz, c, px, d, d, n, 0, c, 0);
      result.dx = this.arena.f32(pdx, n * d).slice();
      result.dw = this.arena.f32(pdw, c * d).slice();
      if (b) {
        k.colsum_f32(pdb, pz, c, n, 0, c, 0);
        result.db = this.arena.f32(pdb, c).slice();
      }
    }
    return result;
  }

  private dims(fn: string, args: { n: number; d: number; c: number }) {
    if (args === null || typeof args !== 'object') throw new ArgumentError(fn, 'expected an arguments object');
    return { n: checkSize(fn, 'n', args.n), d: checkSize(fn, 'd', args.d), c: checkSize(fn, 'c', args.c) };
  }

  private rowwise(fn: string, logits: Float32Array, n: number, c: number, log: boolean): Float32Array {
    checkSize(fn, 'n', n);
    checkSize(fn, 'c', c);
    const slots: Slot[] = [['logits', n * c * F32]];
    this.arena.plan(fn, slots);
    checkFloat32(fn, 'logits', logits, n * c, 'n×c');
    const [pz] = this.arena.layout(fn, slots);
    this.arena.f32(pz, n * c).set(logits);
    if (log) this.k.log_softmax_rows_f32(pz, c, pz, c, c, 0, n);
    else this.k.softmax_rows_f32(pz, c, pz, c, c, 0, n);
    return this.arena.f32(pz, n * c).slice();
  }

  /** Runs the fused row kernel in place on the logits at pz; returns the per-row losses. */
  private runLoss(plan: LossPlan, pz: number, [ploss, ptarget, pweight]: number[], n: number, c: number): Float64Array {
    const { gradScale, grad } = lossScalars(plan);
    const weightPtr = plan.weight ? pweight : 0;
    if (plan.weight) this.arena.f32(pweight, c).set(plan.weight);
    if (plan.labels) {
      this.arena.i32(ptarget, n).set(plan.labels);
      this.k.xent_index_rows_f32(pz, pz, c, ptarget, weightPtr, ploss, c, 0, n, plan.ignoreIndex,
        plan.smoothing, plan.weightSum, gradScale, grad);
    } else {
      this.arena.f32(ptarget, n * c).set(plan.probs!);
      this.k.xent_prob_rows_f32(pz, pz, c, ptarget, c, weightPtr, ploss, c, 0, n, plan.smoothing, gradScale, grad);
    }
    return this.arena.f64(ploss, n);
  }
}
