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
  /**
   * Logit soft-capping (Gemma 2): the loss sees z' = cap·tanh(z/cap) in place of every
   * logit z, and the gradients are those w.r.t. the raw logits, dz = dz'·(1 − tanh²(z/cap)).
   * A finite number > 0; undefined or null (default) leaves the logits as they are.
   * lse, accuracy and the z-loss are taken on z' too.
   */
  softcap?: number | null;
  /**
   * z-loss weight λ, finite and ≥ 0 (0 = off): adds λ·lse_i² per kept row (not an ignored
   * row; every row with probability targets), lse_i = log Σ_c exp(z'_ic), NOT weighted by the
   * class weights (as Liger Kernel's `lse_square_scale`). Reduced like the loss but 'mean'
   * divides by the number of kept rows, not the weight sum (NaN when no row is kept).
   * `loss` includes it; the result's `zLoss` holds it alone whenever this option is given.
   */
  zLoss?: number;
  /** Return `lse`: log Σ_c exp(z'_ic) of every row, ignored rows included (default false). */
  returnLse?: boolean;
  /**
   * Return `accuracy` (default false): the share of kept rows whose prediction — the lowest
   * index among the maxima of the row's z', as torch.argmax — is the label; a row holding a
   * NaN logit counts as wrong. With probability targets the label is the lowest index among
   * the maxima of the target row as given (before smoothing). NaN when no row is kept.
   */
  returnAccuracy?: boolean;
  /**
   * Gradient filter ε, finite and ≥ 0 (0 = off; only with grad true). dZ (the gradient
   * w.r.t. the raw logits) is cut into blocks of rows × 32 classes — linearCrossEntropy's
   * chunk row blocks (one block of all rows for crossEntropy) — and a block in which every
   * |dZ| < ε·g (g = 1/denominator for 'mean', 1 otherwise) is set to 0 and skipped by the
   * backward: dlogits holds 0 there, and dx, dw, db are those of the filtered dZ. The result
   * counts `skippedBlocks` of `blocks`.
   */
  gradFilter?: number;
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
  /** A number, or a Float32Array(n) of per-row losses with reduction 'none'. */
  loss: number | Float32Array;
  /** ∂loss/∂logits, n×c (absent with grad: false). */
  dlogits?: Float32Array;
  /**
   * The z-loss alone (present iff the zLoss option was given): a number, or a Float32Array(n)
   * of per-row terms with reduction 'none' (0 on ignored rows). Already included in `loss`.
   */
  zLoss?: number | Float32Array;
  /** log Σ_c exp(z'_ic) of every row, n (with returnLse). */
  lse?: Float32Array;
  /** Share of kept rows predicted right (with returnAccuracy); NaN when no row is kept. */
  accuracy?: number;
  /** Blocks of dZ the gradient filter set to 0 (with gradFilter > 0). */
  skippedBlocks?: number;
  /** Blocks of dZ in all: row blocks × ⌈c/32⌉ (with gradFilter > 0). */
  blocks?: number;
}

export interface LinearCrossEntropyResult {
  loss: number | Float32Array;
  /** ∂loss/∂x, n×d. */
  dx?: Float32Array;
  /** ∂loss/∂w, c×d. */
  dw?: Float32Array;
  /** ∂loss/∂b, length c; present when a bias was given. */
  db?: Float32Array;
  /**
   * The z-loss alone (present iff the zLoss option was given): a number, or a Float32Array(n)
   * of per-row terms with reduction 'none' (0 on ignored rows). Already included in `loss`.
   */
  zLoss?: number | Float32Array;
  /** log Σ_c exp(z'_ic) of every row, n (with returnLse). */
  lse?: Float32Array;
  /** Share of kept rows predicted right (with returnAccuracy); NaN when no row is kept. */
  accuracy?: number;
  /** Blocks of dZ the gradient filter set to 0 (with gradFilter > 0). */
  skippedBlocks?: number;
  /** Blocks of dZ in all: row blocks × ⌈c/32⌉ (with gradFilter > 0). */
  blocks?: number;
}

/** Results of the float64 reference: the same shapes, in Float64Array. */
export interface ReferenceCrossEntropyResult {
  loss: number | Float64Array;
  dlogits?: Float64Array;
  /**
   * The z-loss alone (present iff the zLoss option was given): a number, or a Float64Array(n)
   * of per-row terms with reduction 'none' (0 on ignored rows). Already included in `loss`.
   */
  zLoss?: number | Float64Array;
  /** log Σ_c exp(z'_ic) of every row, n (with returnLse). */
  lse?: Float64Array;
  /** Share of kept rows predicted right (with returnAccuracy); NaN when no row is kept. */
  accuracy?: number;
  /** Blocks of dZ the gradient filter set to 0 (with gradFilter > 0). */
  skippedBlocks?: number;
  /** Blocks of dZ in all: row blocks × ⌈c/32⌉ (with gradFilter > 0). */
  blocks?: number;
}

export interface ReferenceLinearCrossEntropyResult {
  loss: number | Float64Array;
  dx?: Float64Array;
  dw?: Float64Array;
  db?: Float64Array;
  /**
   * The z-loss alone (present iff the zLoss option was given): a number, or a Float64Array(n)
   * of per-row terms with reduction 'none' (0 on ignored rows). Already included in `loss`.
   */
  zLoss?: number | Float64Array;
  /** log Σ_c exp(z'_ic) of every row, n (with returnLse). */
  lse?: Float64Array;
  /** Share of kept rows predicted right (with returnAccuracy); NaN when no row is kept. */
  accuracy?: number;
  /** Blocks of dZ the gradient filter set to 0 (with gradFilter > 0). */
  skippedBlocks?: number;
  /** Blocks of dZ in all: row blocks × ⌈c/32⌉ (with gradFilter > 0). */
  blocks?: number;
}
