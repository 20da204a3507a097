/**
 * Argument checks shared by the WASM API and the float64 reference. Every error
 * names the function, the argument and what was expected; nothing here touches
 * WebAssembly, so a rejected call leaves no state behind.
 */
import type { LossOptions, Reduction, Target } from './types.js';

/** Everything a cross-entropy kernel needs, checked and with defaults filled in. */
export interface LossPlan {
  reduction: Reduction;
  ignoreIndex: number;
  smoothing: number;
  weight: Float32Array | null;
  grad: boolean;
  /** Class indices (length n), or null with probability targets. */
  labels: Int32Array | null;
  /** Probabilities (n×c), or null with class-index targets. */
  probs: Float32Array | null;
  /**
   * What 'mean' divides by: Σ w[y_i] over the rows not ignored (class indices), or n
   * (probabilities), as PyTorch does. 1 for 'sum' and 'none'. May be 0 (all ignored).
   */
  denominator: number;
  /** Rows that count (not ignored): with 'mean', a zero denominator over kept rows is 0/0. */
  keptRows: number;
  /** Σ_c w_c (c without weights): the smoothing term's share of the target mass. */
  weightSum: number;
  /** The cap of z' = cap·tanh(z/cap), or 0: no soft-capping. */
  softcap: number;
  /** z-loss weight λ (0 = off). */
  zLoss: number;
  /** Whether the zLoss option was given (0 included): the result then carries `zLoss`. */
  zLossGiven: boolean;
  /** Return log Σ exp(z') of every row. */
  returnLse: boolean;
  /** Return the share of kept rows predicted right. */
  returnAccuracy: boolean;
  /** Gradient filter ε (0 = off; > 0 only with grad true). */
  gradFilter: number;
}

export class ArgumentError extends TypeError {
  constructor(fn: string, message: string) {
    super(`softmax-ce-wasm: ${fn}: ${message}`);
    this.name = 'ArgumentError';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  return typeof v === 'number' ? String(v) : typeof v;
}

export function checkSize(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0x7fffffff) {
    throw new ArgumentError(fn, `${name} must be a positive integer below 2^31, got ${describe(v)}`);
  }
  return v;
}

export function checkFloat32(fn: string, name: string, v: unknown, length: number, shape: string): Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new ArgumentError(fn, `${name} must be a Float32Array of length ${shape} = ${length}, got ${describe(v)}`);
  }
  if (v.length !== length) {
    throw new ArgumentError(fn, `${name} must have length ${shape} = ${length}, got ${v.length}`);
  }
  return v;
}

export function checkOptionalFloat32(
  fn: string, name: string, v: unknown, length: number, shape: string,
): Float32Array | null {
  return v === undefined || v === null ? null : checkFloat32(fn, name, v, length, shape);
}

const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** An optional finite number ≥ 0 (undefined → 0); `what` says what it is in the error. */
function checkNonNegative(fn: string, name: string, v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v < Infinity)) {
    throw new ArgumentError(fn, `${name} must be a finite number ≥ 0 (${what}; 0 = off), got ${describe(v)}`);
  }
  return v;
}

/** An optional boolean (undefined → false). */
function checkFlag(fn: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ArgumentError(fn, `${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** Checks the target and the loss options of a call with n rows and c classes. */
export function planLoss(fn: string, target: Target, n: number, c: number, options: LossOptions): LossPlan {
  const reduction = options.reduction ?? 'mean';
  if (!REDUCTIONS.includes(reduction)) {
    throw new ArgumentError(fn, `reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (typeof ignoreIndex !== 'number' || !Number.isInteger(ignoreIndex) || Math.abs(ignoreIndex) > 0x7fffffff) {
    throw new ArgumentError(fn, `ignoreIndex must be a 32-bit integer, got ${describe(ignoreIndex)}`);
  }
  const smoothing = options.labelSmoothing ?? 0;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) {
    throw new ArgumentError(fn, `labelSmoothing must be a number in [0, 1], got ${describe(smoothing)}`);
  }
  const grad = options.grad ?? true;
  if (typeof grad !== 'boolean') throw new ArgumentError(fn, `grad must be a boolean, got ${describe(grad)}`);

  const softcap = options.softcap ?? 0;
  if (options.softcap != null && !(typeof softcap === 'number' && softcap > 0 && softcap < Infinity)) {
    throw new ArgumentError(fn, `softcap must be a positive finite number (the cap in cap·tanh(z/cap)), got ${describe(softcap)}`);
  }
  const zLossGiven = options.zLoss !== undefined;
  const zLoss = checkNonNegative(fn, 'zLoss', options.zLoss, 'the z-loss weight λ in λ·lse²');
  const returnLse = checkFlag(fn, 'returnLse', options.returnLse);
  const returnAccuracy = checkFlag(fn, 'returnAccuracy', options.returnAccuracy);
  const gradFilter = checkNonNegative(fn, 'gradFilter', options.gradFilter, 'the filter threshold ε');
  if (gradFilter > 0 && !grad) {
    throw new ArgumentError(fn, 'gradFilter filters the gradient, and grad is false (none is computed)');
  }

  const weight = checkOptionalFloat32(fn, 'weight', options.weight, c, 'c');
  let weightSum = c;
  if (weight) {
    weightSum = 0;
    for (let j = 0; j < c; j++) {
      const wj = weight[j];
      if (!(wj >= 0 && wj < Infinity)) {
        throw new ArgumentError(fn, `weight must be finite and ≥ 0, got weight[${j}] = ${wj}`);
      }
      weightSum += wj;
    }
  }

  const plan: LossPlan = {
    reduction, ignoreIndex, smoothing, weight, grad, labels: null, probs: null, denominator: 1, keptRows: n, weightSum,
    softcap, zLoss, zLossGiven, returnLse, returnAccuracy, gradFilter,
  };

  if (target instanceof Float32Array) {
    if (target.length !== n * c) {
      const hint = target.length === n ? ' (for class indices pass an Int32Array)' : '';
      throw new ArgumentError(fn,
        `target as a Float32Array holds probabilities and must have length n×c = ${n * c}, got ${target.length}${hint}`);
    }
    if (options.ignoreIndex !== undefined && ignoreIndex >= 0) {
      throw new ArgumentError(fn, `ignoreIndex (${ignoreIndex}) cannot be used with probability targets`);
    }
    for (let k = 0; k < target.length; k++) {
      if (!Number.isFinite(target[k])) {
        throw new ArgumentError(fn, `target probabilities must be finite, got target[${k}] = ${target[k]}`);
      }
    }
    plan.probs = target;
    if (reduction === 'mean') plan.denominator = n;
    return plan;
  }

  if (target === null || typeof target !== 'object' || typeof (target as ArrayLike<number>).length !== 'number') {
    throw new ArgumentError(fn,
      `target must be an Int32Array of n = ${n} class indices or a Float32Array of n×c = ${n * c} probabilities, got ${describe(target)}`);
  }
  if (target.length !== n) {
    throw new ArgumentError(fn, `target must hold n = ${n} class indices, got length ${target.length}`);
  }
  const labels = target instanceof Int32Array ? target : new Int32Array(n);
  let denominator = 0, keptRows = 0;
  for (let i = 0; i < n; i++) {
    const y = target[i];
    if (!Number.isInteger(y)) {
      throw new ArgumentError(fn, `target[${i}] must be an integer class index, got ${y}`);
    }
    if (y === ignoreIndex) continue;
    if (y < 0 || y >= c) {
      throw new ArgumentError(fn, `target[${i}] = ${y} is outside [0, c) = [0, ${c}) and is not ignoreIndex (${ignoreIndex})`);
    }
    denominator += weight ? weight[y] : 1;
    keptRows++;
  }
  if (labels !== target) {
    for (let i = 0; i < n; i++) labels[i] = target[i];
  }
  plan.labels = labels;
  plan.keptRows = keptRows;
  if (reduction === 'mean') plan.denominator = denominator;
  return plan;
}
