/** Public types of softmax-ce-wasm. Shapes are row-major; sizes are n (rows), d (features), c (classes). */
import type { Tensor } from './tensor.js';

/**
 * A float32 input: a Float32Array (copied into WebAssembly memory for the call) or a
 * resident Tensor from `sce.tensor()` (used in place). The reference takes arrays only.
 */
export type Float32Input = Float32Array | Tensor;

export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Targets: an Int32Array (or any array of integers) of n class indices, or a
 * Float32Array of n×c class probabilities (one row per sample).
 */
export type Target = Int32Array | Float32Array | ArrayLike<number>;

/** Options of the cross-entropy, with PyTorch `cross_entropy` semantics. */
export interface LossOptions {
  /** 'mean' (default), 'sum', or 'none' (per-row losses; gradients are those of their sum). */
  reduction?: Reduction;
  /** Rows whose class index equals this are ignored (default −100). Class-index targets only. */
  ignoreIndex?: number;
  /** ε in [0, 1]: the target becomes (1−ε)·y + ε/C (default 0). */
  labelSmoothing?: number;
  /** Class weights, length c, finite and ≥ 0. */
  weight?: Float32Array | null;
  /** Compute gradients (default true). */
  grad?: boolean;
  // TEMP (lead): documented by helper 15r.
  softcap?: number | null; zLoss?: number; returnLse?: boolean; returnAccuracy?: boolean; gradFilter?: number;
}

export interface LinearArgs {
  /** Inputs, n×d. */
  x: Float32Input;
  /** Weights, c×d (one row per class, as torch.nn.Linear). */
  w: Float32Input;
  /** Optional bias, length c. */
  b?: Float32Input | null;
  n: number;
  d: number;
  c: number;
}

export interface CrossEntropyArgs extends LossOptions {
  /** A tensor (n×c; may be the logits tensor) that receives dlogits in place of a returned array. */
  out?: { dlogits?: Tensor };
  /** Logits, n×c. */
  logits: Float32Input;
  target: Target;
  n: number;
  c: number;
}

export interface LinearCrossEntropyArgs extends LinearArgs, LossOptions {
  target: Target;
  /** Tensors that receive gradients in place of returned arrays (each left out of the result). */
  out?: { dx?: Tensor; dw?: Tensor; db?: Tensor };
  /**
   * Row blocks, so that the n×c logits never exist at once: 'auto' (default) uses blocks
   * when the logits would pass 8 MiB; true forces blocks of the default size; { rows }
   * sets the block; false holds all logits at once. Results match to float32 rounding.
   */
  chunk?: 'auto' | boolean | { rows: number };
  /**
   * Compute dx (default true). false skips it — a third of the backward's work — for a
   * head whose input needs no gradient (e.g. fixed embeddings); dx is then left out.
   */
  inputGrad?: boolean;
}

export interface CrossEntropyResult {
  zLoss?: number | Float32Array; lse?: Float32Array; accuracy?: number; skippedBlocks?: number; blocks?: number;
  /** A number, or a Float32Array(n) of per-row losses with reduction 'none'. */
  loss: number | Float32Array;
  /** ∂loss/∂logits, n×c (absent with grad: false). */
  dlogits?: Float32Array;
}

export interface LinearCrossEntropyResult {
  zLoss?: number | Float32Array; lse?: Float32Array; accuracy?: number; skippedBlocks?: number; blocks?: number;
  loss: number | Float32Array;
  /** ∂loss/∂x, n×d. */
  dx?: Float32Array;
  /** ∂loss/∂w, c×d. */
  dw?: Float32Array;
  /** ∂loss/∂b, length c; present when a bias was given. */
  db?: Float32Array;
}

/** Results of the float64 reference: the same shapes, in Float64Array. */
export interface ReferenceCrossEntropyResult {
  loss: number | Float64Array;
  dlogits?: Float64Array;
}

export interface ReferenceLinearCrossEntropyResult {
  loss: number | Float64Array;
  dx?: Float64Array;
  dw?: Float64Array;
  db?: Float64Array;
}
