/**
 * Every export of the WebAssembly module, described once. A kernel's entry names its
 * parameters in the order of the AssemblyScript signature and says how a call of it is
 * split over threads: which parameter is the start of its output range (the end follows
 * it), which is its scratch pointer (the byte size follows it), and, for the gemms that may
 * split their output's columns instead, which parameter counts the columns and how far each
 * pointer moves per column. From this table come the exports' type (KernelExports), the
 * named-argument call (calls.ts `call`), the pool's kernel index (pool.ts) and the layout
 * of the row kernels' parameter block (LOSS_PARAMS below).
 *
 * Adding a kernel: its file in assembly/, its export in assembly/index.ts, its entry here.
 * Adding a loss option: a field of LOSS_PARAMS and of assembly/loss_params.ts.
 */

/** How a kernel's call is described (see the header). */
interface KernelSpec {
  /** Parameter names, in the order of the export's signature. */
  readonly params: readonly string[];
  /** The export returns a number (a size); otherwise nothing. */
  readonly returns?: 'number';
  /** The parameter that starts the output range [begin, end) (end is the next parameter). */
  readonly range?: string;
  /** The parameter holding a scratch pointer (its byte size is the next parameter); thread t uses the t-th region. */
  readonly scratch?: string;
  /**
   * Splitting the output's columns: `count` is the parameter holding the column count, and
   * each pointer in `moves` advances per column by that many floats — a number, or the name
   * of the parameter holding it (gemm_nt's B rows move by k floats per column).
   */
  readonly columns?: { readonly count: string; readonly moves: Readonly<Record<string, number | string>> };
}

const GEMM_AXPY = ['c', 'ldc', 'a', 'lda', 'b', 'ldb', 'n', 'k', 'rowBegin', 'rowEnd', 'accumulate', 'mask', 'scratch', 'scratchBytes'] as const;
const OPTIMIZER = ['param', 'grad'] as const;

export const KERNELS = {
  // Z = X·Wᵀ + b (assembly/gemm_nt.ts).
  gemm_nt_f32: {
    params: ['c', 'ldc', 'a', 'lda', 'b', 'ldb', 'bias', 'n', 'k', 'rowBegin', 'rowEnd', 'scratch', 'scratchBytes'],
    range: 'rowBegin', scratch: 'scratch', columns: { count: 'n', moves: { c: 1, b: 'k', bias: 1 } },
  },
  // dX = dZ·W and dW = dZᵀ·X (assembly/gemm_axpy.ts): `mask` (0: none) marks the class blocks
  // that gradFilter keeps — gemm_nn skips the others along k, gemm_tn skips them as output rows.
  gemm_nn_f32: { params: GEMM_AXPY, range: 'rowBegin', scratch: 'scratch', columns: { count: 'n', moves: { c: 1, b: 1 } } },
  gemm_tn_f32: { params: GEMM_AXPY, range: 'rowBegin', scratch: 'scratch', columns: { count: 'n', moves: { c: 1, b: 1 } } },
  gemm_nt_f32_scratch: { params: ['n', 'k'], returns: 'number' },
  gemm_nn_f32_scratch: { params: ['m', 'k'], returns: 'number' },
  gemm_tn_f32_scratch: { params: ['m', 'k'], returns: 'number' },
  // db = Σ_rows dZ (assembly/colsum.ts), over a range of columns.
  colsum_f32: { params: ['out', 'a', 'lda', 'k', 'colBegin', 'colEnd', 'accumulate'], range: 'colBegin' },
  softmax_rows_f32: { params: ['out', 'ldo', 'z', 'ldz', 'c', 'rowBegin', 'rowEnd'], range: 'rowBegin' },
  log_softmax_rows_f32: { params: ['out', 'ldo', 'z', 'ldz', 'c', 'rowBegin', 'rowEnd'], range: 'rowBegin' },
  // The fused loss rows (assembly/xent_index.ts, xent_prob.ts): options in the parameter
  // block at `params` (LOSS_PARAMS); per row a record of ROW_RECORD f64 at `rows`.
  xent_index_rows_f32: { params: ['params', 'dz', 'z', 'labels', 'rows', 'rowBegin', 'rowEnd'], range: 'rowBegin' },
  xent_prob_rows_f32: { params: ['params', 'dz', 'z', 'q', 'rows', 'rowBegin', 'rowEnd'], range: 'rowBegin' },
  // gradFilter (assembly/grad_filter.ts): over class blocks [blockBegin, blockEnd) of the m×c
  // dZ, zeroes each block whose every |dZ| < threshold and marks the kept ones in mask.
  grad_filter_f32: { params: ['mask', 'dz', 'ldz', 'm', 'c', 'threshold', 'blockBegin', 'blockEnd'], range: 'blockBegin' },
  /** Test-only (test/exp.test.ts, test/tanh.test.ts, test/loss-params.test.ts). */
  exp_f32: { params: ['out', 'x', 'len'] },
  tanh_f32: { params: ['out', 'x', 'len'] },
  loss_params_offsets: { params: ['out'], returns: 'number' },
  // Optimizer updates (assembly/sgd.ts, momentum.ts, adam.ts), in place on param and the state buffers.
  sgd_update_f32: { params: [...OPTIMIZER, 'len', 'lr', 'weightDecay'] },
  sgd_momentum_update_f32: {
    params: [...OPTIMIZER, 'velocity', 'len', 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'first'],
  },
  adam_update_f32: { params: [...OPTIMIZER, 'm', 'v', 'len', 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step'] },
  adamw_update_f32: { params: [...OPTIMIZER, 'm', 'v', 'len', 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step'] },
} as const satisfies Record<string, KernelSpec>;

type Specs = typeof KERNELS;
export type KernelName = keyof Specs;
/** The parameter names of a kernel. */
export type ParamName<K extends KernelName> = Specs[K]['params'][number];
/** A kernel's arguments by name: every parameter, a number each. */
export type KernelArgs<K extends KernelName> = { [P in ParamName<K>]: number };

type Numbers<P extends readonly string[]> = { -readonly [I in keyof P]: number };
type Signature<S> = S extends { readonly params: infer P extends readonly string[] }
  ? (...args: Numbers<P>) => S extends { readonly returns: 'number' } ? number : void
  : never;

/** The module's exports: every kernel of the table, its memory, and where the arena may start. */
export type KernelExports = { [K in KernelName]: Signature<Specs[K]> } & {
  memory: WebAssembly.Memory;
  /** First byte the arena may use (after static data), 16-byte aligned. */
  heap_base(): number;
};

export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/** The spec of a kernel, widened for code that handles any kernel. */
export function spec(kernel: KernelName): KernelSpec {
  return KERNELS[kernel];
}

/**
 * The row kernels' parameter block: the loss options, written to memory once per call and
 * read by assembly/loss_params.ts's `LossParams` (an unmanaged class with these fields in
 * this order, 4 bytes each; test/loss-params.test.ts checks the offsets against the
 * module's). A new option is a field here and there, not a new signature.
 */
export const LOSS_PARAMS = {
  /** Classes (columns of z). */
  c: 'i32',
  /** Row strides of z and dz, and of the probability targets (floats). */
  ldz: 'i32',
  ldq: 'i32',
  /** Class weights (c floats), or 0 for none. */
  weight: 'i32',
  ignoreIndex: 'i32',
  smoothing: 'f32',
  /** Σ of the class weights (c without weights). */
  weightSum: 'f32',
  /** The reduction's gradient scale (1/denominator for 'mean', else 1). */
  gradScale: 'f32',
  /** Write dz (1) or only the loss (0). */
  grad: 'i32',
  /** The cap of z' = cap·tanh(z/cap), or 0 for none. */
  softcap: 'f32',
  /** λ of the z-loss λ·lse² (0: none), and its gradient scale (λ/nKept for 'mean', λ otherwise). */
  zLoss: 'f32',
  zScale: 'f32',
  /** Compute the per-row hit (the prediction is the label). */
  accuracy: 'i32',
  /** Compute lse for ignored rows too (returnLse). */
  allLse: 'i32',
} as const;

export type LossParams = { [F in keyof typeof LOSS_PARAMS]: number };
export const LOSS_PARAM_NAMES = Object.keys(LOSS_PARAMS) as (keyof typeof LOSS_PARAMS)[];
/** Bytes of the parameter block. */
export const LOSS_PARAMS_BYTES = LOSS_PARAM_NAMES.length * 4;

/**
 * Per-row record the row kernels write (f64 each): the cross-entropy loss of the row, its
 * log-sum-exp, its z-loss λ·lse² (0 on ignored rows) and its hit (1 right, 0 wrong, −1 ignored).
 */
export const ROW_RECORD = { loss: 0, lse: 1, zLoss: 2, hit: 3 } as const;
export const ROW_RECORD_F64 = 4;

/** Classes per gradFilter block (assembly/tiles.ts FILTER_CLASSES). */
export const FILTER_CLASSES = 32;
