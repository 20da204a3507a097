/**
 * What every API method does before and after the kernels run: check the arguments,
 * lay out WebAssembly memory, place the inputs (a copy for a Float32Array, nothing for a
 * Tensor), describe the kernel calls as phases (src/calls.ts), and read the results.
 * The synchronous API (api.ts) runs the phases inline; the thread pool splits them.
 *
 * Each prepare* method works in two steps: when the method is called, it checks the
 * arguments (and, on the threaded instance, copies the caller's arrays: the call may run
 * later, and the caller may change them meanwhile); the Stage it returns lays memory out
 * and places the inputs when the call runs (on the threaded instance, at the head of the
 * queue, when no other call uses memory).
 */
import { Arena, type Slot } from './arena.js';
import { call, type Job, type Phase } from './calls.js';
import { FILTER_CLASSES, LOSS_PARAMS, LOSS_PARAM_NAMES, LOSS_PARAMS_BYTES, ROW_RECORD, ROW_RECORD_F64, type LossParams } from './kernels.js';
import { Tensor } from './tensor.js';
import type { BuildName, KernelExports } from './wasm.js';
import type {
  CrossEntropyArgs, CrossEntropyResult, LinearArgs, LinearCrossEntropyArgs, LinearCrossEntropyResult, LossOptions,
} from './types.js';
import { blockRows, checkInputGrad, checkKnown, checkOutWritten, KNOWN } from './options.js';
import { ArgumentError, checkFloat32, checkSize, planLoss, type LossPlan } from './validate.js';

export interface Info {
  /** The WebAssembly build in use: 'relaxed' (relaxed-SIMD FMA) or 'simd'. */
  build: BuildName;
  /** Builds this engine accepts. */
  supported: BuildName[];
  /** Threads that run kernels (1 without a pool). */
  threads: number;
  /** Workers started: `threads` − 1 when the calling thread computes a share (see InitOptions.callerComputes), else `threads`; 0 without a pool. */
  workers: number;
  /** Why fewer threads run than were asked for, if so. */
  threadsNote?: string;
}

const F32 = 4, F64 = 8, I32 = 4;

/** The second step of a call: lay memory out, place the inputs, return the job. */
export type Stage<R> = () => Job<R>;

/** Where the chunked path starts (src/options.ts); re-exported for tests and benches. */
export { CHUNK_BYTES } from './options.js';

/** A float32 operand: a caller's array (copied in) or a resident tensor (used in place). */
type Operand = { array: Float32Array; tensor: null } | { array: null; tensor: Tensor } | { array: null; tensor: null };
const ABSENT: Operand = { array: null, tensor: null };

const bytesIn = (value: unknown, length: number) => (value instanceof Tensor || value == null ? 0 : length * F32);

/** The reduction's gradient scale: 1/denominator for 'mean', else 1. */
function gradScaleOf(plan: LossPlan): number {
  // 'mean' over a zero denominator: PyTorch's gradient is w/0 — 0 when every row is
  // ignored (the kernel zero-fills ignored rows), 0·∞ = NaN on rows kept with weight 0.
  if (plan.reduction !== 'mean') return 1;
  return plan.denominator !== 0 ? 1 / plan.denominator : plan.keptRows ? NaN : 0;
}

/** The row kernels' parameter block for this plan (src/kernels.ts LOSS_PARAMS). */
function lossParams(plan: LossPlan, c: number, pweight: number): LossParams {
  // The z-loss is reduced over kept rows, unweighted (Liger's n_non_ignore): λ/nKept for 'mean'.
  const zScale = plan.reduction !== 'mean' ? plan.zLoss : plan.keptRows ? plan.zLoss / plan.keptRows : 0;
  return {
    c, ldz: c, ldq: c, weight: plan.weight ? pweight : 0, ignoreIndex: plan.ignoreIndex, smoothing: plan.smoothing,
    weightSum: plan.weightSum, gradScale: gradScaleOf(plan), grad: plan.grad ? 1 : 0, softcap: plan.softcap,
    zLoss: plan.zLoss, zScale, accuracy: plan.returnAccuracy ? 1 : 0, allLse: plan.returnLse ? 1 : 0,
  };
}

/** Buffers of the loss kernel: row records, the parameter block, targets, weights, the gradFilter masks. */
function lossSlots(options: { target: unknown; weight?: unknown }, n: number, c: number, filterBytes: number): Slot[] {
  return [
    ['row records', n * ROW_RECORD_F64 * F64],
    ['loss params', LOSS_PARAMS_BYTES],
    ['target', options.target instanceof Float32Array ? n * c * F32 : n * I32],
    ['weight', options.weight ? c * F32 : 0],
    ['filter masks', filterBytes],
  ];
}

/** Class blocks of gradFilter in a row block of c classes. */
const filterBlocks = (c: number) => Math.ceil(c / FILTER_CLASSES);

/**
 * How a gemm over m rows and n columns — gemm_nt (Z = X·Wᵀ + b), gemm_nn (dX = dZ·W) or
 * gemm_tn (dW = dZᵀ·X) — splits over threads: by columns when m < n. Threads then share out
 * the wide operand (read, and packed, once in all) instead of each reading all of it, and a
 * few rows (dW of a 10-class head) are not cut into uneven 4-row parts. Each output element's
 * operations do not depend on the columns a call is given (assembly/gemm_nt.ts,
 * gemm_axpy.ts), so results stay bitwise the same; src/kernels.ts says which pointers move.
 */
const splitOf = (m: number, n: number) => (m < n ? 'columns' : 'range');

export class Core {
  readonly info: Info;
  protected readonly k: KernelExports;
  protected readonly arena: Arena;
  /** Whether calls copy the caller's arrays when made (the threaded instance: they run later). */
  protected snapshot = false;

  constructor(kernels: KernelExports, info: Info) {
    this.k = kernels;
    this.info = info;
    this.arena = new Arena(kernels.memory, kernels.heap_base());
  }

  /** Bytes of WebAssembly memory held by this instance (it grows only to the largest call). */
  get memoryBytes(): number {
    return this.arena.byteLength;
  }

  /** @internal The kernels and the memory layout, for modules built on this instance (classifier). */
  get internals(): { kernels: KernelExports; arena: Arena } {
    return { kernels: this.k, arena: this.arena };
  }

  /**
   * A resident float32 tensor in this instance's memory: zero-filled with `length`
   * elements, or a copy of `data`. Free it with `tensor.free()` when done.
   */
  tensor(data: number | ArrayLike<number>): Tensor {
    const length = typeof data === 'number' ? data : data?.length;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 1) {
      throw new ArgumentError('tensor', `expected a positive integer length or an array of numbers, got ${String(data)}`);
    }
    const t = new Tensor(this.arena, this.arena.alloc('tensor', length * F32), length);
    // At once, not through Tensor.write (which waits for pending calls): no call can use a new block.
    if (typeof data !== 'number') this.arena.f32(t.ptr, length).set(data);
    return t;
  }

  protected prepareLinear(args: LinearArgs & { out?: Tensor }): Stage<Float32Array> {
    const fn = 'linear';
    const { n, d, c } = this.dims(fn, args);
    checkKnown(fn, args, KNOWN.linear);
    const slots: Slot[] = [
      ['x', bytesIn(args.x, n * d)], ['w', bytesIn(args.w, c * d)], ['b', bytesIn(args.b, c)],
      ['logits', args.out ? 0 : n * c * F32],
      ['gemm scratch', this.info.threads * this.k.gemm_nt_f32_scratch(c, d)],
    ];
    this.arena.plan(fn, slots);
    const x = this.operand(fn, 'x', args.x, n * d, 'n×d');
    const w = this.operand(fn, 'w', args.w, c * d, 'c×d');
    const b = this.operand(fn, 'b', args.b, c, 'c', true);
    const out = this.output(fn, 'out', args.out, n * c, 'n×c', [x, w, b]);
    return () => {
      const [sx, sw, sb, sz, ss] = this.arena.layout(fn, slots);
      const pz = out ? out.ptr : sz, scratch = this.k.gemm_nt_f32_scratch(c, d);
      const phases = [[call('gemm_nt_f32', {
        c: pz, ldc: c, a: this.place(x, sx), lda: d, b: this.place(w, sw), ldb: d, bias: this.place(b, sb),
        n: c, k: d, rowBegin: 0, rowEnd: n, scratch: ss, scratchBytes: scratch,
      }, splitOf(n, c))]];
      // A view of out made here, not out.array(): on the threaded instance the caller may have
      // freed out since the call (its memory is released only after the call).
      return { phases, finish: () => (out ? this.arena.f32(out.ptr, n * c) : this.arena.f32(pz, n * c).slice()) };
    };
  }

  protected prepareRowwise(fn: string, logits: Float32Array | Tensor, n: number, c: number, log: boolean): Stage<Float32Array> {
    checkSize(fn, 'n', n);
    checkSize(fn, 'c', c);
    const slots: Slot[] = [['logits', n * c * F32]];
    this.arena.plan(fn, slots);
    const z = this.operand(fn, 'logits', logits, n * c, 'n×c');
    return () => {
      const [sz] = this.arena.layout(fn, slots);
      const pz = z.tensor ? z.tensor.ptr : this.place(z, sz);
      const kernel = log ? 'log_softmax_rows_f32' : 'softmax_rows_f32';
      const rows = call(kernel, { out: sz, ldo: c, z: pz, ldz: c, c, rowBegin: 0, rowEnd: n });
      return { phases: [[rows]], finish: () => this.arena.f32(sz, n * c).slice() };
    };
  }

  protected prepareCrossEntropy(args: CrossEntropyArgs): Stage<CrossEntropyResult> {
    const fn = 'crossEntropy';
    if (args === null || typeof args !== 'object') throw new ArgumentError(fn, 'expected an arguments object');
    checkKnown(fn, args, KNOWN.crossEntropy);
    this.outKeys(fn, args.out, KNOWN['crossEntropy out']);
    const n = checkSize(fn, 'n', args.n), c = checkSize(fn, 'c', args.c);
    const grad = args.grad ?? true;
    checkOutWritten(fn, args.out, { dlogits: grad ? null : 'grad is false (no gradient is computed)' });
    const toOut = grad && args.out?.dlogits !== undefined;
    // Logits given as an array are copied to scratch and the gradient overwrites them there;
    // a logits tensor is only read, so the gradient needs its own scratch unless sent to out
    // (and so do capped logits, which the row kernel writes before it reads them).
    // (Sizes come before the option checks, so an oversized call is a RangeError whatever else.)
    const scratchZ = !(args.logits instanceof Tensor) || (grad && !toOut) || (!!args.softcap && !toOut);
    const slots: Slot[] = [['logits', scratchZ ? n * c * F32 : 0], ...lossSlots(args, n, c, args.gradFilter ? filterBlocks(c) : 0)];
    this.arena.plan(fn, slots);
    const z = this.operand(fn, 'logits', args.logits, n * c, 'n×c');
    const plan = this.lossPlan(fn, args.target, n, c, args);
    // No inputs to check against: dlogits may be the logits tensor itself (written in place).
    const out = toOut ? this.output(fn, 'out.dlogits', args.out!.dlogits, n * c, 'n×c', [], true) : null;
    return () => {
      const [sz, prows, pparams, ptarget, pweight, pmask] = this.arena.layout(fn, slots);
      const pz = z.tensor ? z.tensor.ptr : this.place(z, sz);
      const pdz = out ? out.ptr : z.tensor ? sz : pz;
      this.placeLossInputs(plan, pparams, ptarget, pweight, n, c);
      const phases: Phase[] = [[this.lossCall(plan, pparams, pdz, pz, ptarget, prows, n, c)]];
      // gradFilter: the n rows are one row block.
      if (plan.gradFilter) phases.push([this.filterCall(plan, pmask, pdz, n, c)]);
      return {
        phases,
        finish: () => {
          const result: CrossEntropyResult = this.rowResults(plan, prows, n);
          if (grad && !out) result.dlogits = this.arena.f32(pdz, n * c).slice();
          if (plan.gradFilter) Object.assign(result, this.filterCounts(pmask, filterBlocks(c)));
          return result;
        },
      };
    };
  }

  protected prepareLinearCrossEntropy(args: LinearCrossEntropyArgs): Stage<LinearCrossEntropyResult> {
    const fn = 'linearCrossEntropy';
    const { n, d, c } = this.dims(fn, args);
    checkKnown(fn, args, KNOWN.linearCrossEntropy);
    this.outKeys(fn, args.out, KNOWN['linearCrossEntropy out']);
    const grad = args.grad ?? true;
    const inputGrad = checkInputGrad(fn, args.inputGrad);
    const wantDx = grad && inputGrad;
    const noGrad = grad ? null : 'grad is false (no gradient is computed)';
    checkOutWritten(fn, args.out, { dx: noGrad ?? (inputGrad ? null : 'inputGrad is false (dx is not computed)'), dw: noGrad, db: noGrad ?? (args.b == null ? 'no b is given (db is the bias gradient)' : null) });
    const rows = blockRows(fn, args.chunk, n, c);
    const filterBytes = args.gradFilter ? Math.ceil(n / rows) * filterBlocks(c) : 0;
    const o = (grad && args.out) || {};
    const slots: Slot[] = [
      ['x', bytesIn(args.x, n * d)], ['w', bytesIn(args.w, c * d)], ['b', bytesIn(args.b, c)],
      ['logits', rows * c * F32],
      ['dx', wantDx && !o.dx ? n * d * F32 : 0], ['dw', grad && !o.dw ? c * d * F32 : 0],
      ['db', grad && args.b != null && !o.db ? c * F32 : 0],
      ...lossSlots(args, n, c, filterBytes),
    ];
    // One scratch region per thread for the gemms' packed operands (they run one at a time).
    const k = this.k, rowsMax = Math.min(rows, n);
    const scratch = Math.max(k.gemm_nt_f32_scratch(c, d),
      grad ? Math.max(k.gemm_nn_f32_scratch(rowsMax, c), k.gemm_tn_f32_scratch(c, rowsMax)) : 0);
    slots.push(['gemm scratch', this.info.threads * scratch]);
    this.arena.plan(fn, slots);
    const x = this.operand(fn, 'x', args.x, n * d, 'n×d');
    const w = this.operand(fn, 'w', args.w, c * d, 'c×d');
    const b = this.operand(fn, 'b', args.b, c, 'c', true);
    const plan = this.lossPlan(fn, args.target, n, c, args);
    const inputs = [x, w, b];
    const outDx = wantDx ? this.output(fn, 'out.dx', o.dx, n * d, 'n×d', inputs) : null;
    const outDw = this.output(fn, 'out.dw', o.dw, c * d, 'c×d', inputs);
    const outDb = b.array || b.tensor ? this.output(fn, 'out.db', o.db, c, 'c', inputs) : null;
    this.distinct(fn, [['out.dx', outDx], ['out.dw', outDw], ['out.db', outDb]]);
    return () => this.stageLinearCrossEntropy(fn, { n, d, c, grad, wantDx, rows, slots, scratch, x, w, b, plan, outDx, outDw, outDb });
  }

  private stageLinearCrossEntropy(fn: string, s: {
    n: number; d: number; c: number; grad: boolean; wantDx: boolean; rows: number; slots: Slot[]; scratch: number;
    x: Operand; w: Operand; b: Operand; plan: LossPlan; outDx: Tensor | null; outDw: Tensor | null; outDb: Tensor | null;
  }): Job<LinearCrossEntropyResult> {
    const { n, d, c, grad, wantDx, rows, slots, scratch, x, w, b, plan, outDx, outDw, outDb } = s;
    const [sx, sw, sb, pz, sdx, sdw, sdb, prows, pparams, ptarget, pweight, pmask, ss] = this.arena.layout(fn, slots);
    const px = this.place(x, sx), pw = this.place(w, sw), pb = this.place(b, sb);
    const pdx = outDx ? outDx.ptr : sdx, pdw = outDw ? outDw.ptr : sdw, pdb = outDb ? outDb.ptr : sdb;
    this.placeLossInputs(plan, pparams, ptarget, pweight, n, c);

    // Row blocks of `rows` (one block unless the logits would pass CHUNK_BYTES): the
    // logits of a block exist only in scratch; dW and db accumulate over blocks.
    const phases: Phase[] = [];
    const blocksPerRowBlock = filterBlocks(c);
    for (let r0 = 0, block = 0; r0 < n; r0 += rows, block++) {
      const m = Math.min(rows, n - r0);
      const xr = px + r0 * d * F32;
      const logits = call('gemm_nt_f32', {
        c: pz, ldc: c, a: xr, lda: d, b: pw, ldb: d, bias: pb, n: c, k: d, rowBegin: 0, rowEnd: m, scratch: ss, scratchBytes: scratch,
      }, splitOf(m, c));
      const target = ptarget + r0 * (plan.labels ? I32 : c * F32);
      const rowLoss = this.lossCall(plan, pparams, pz, pz, target, prows + r0 * ROW_RECORD_F64 * F64, m, c);
      // A row split lets each thread go on to the loss of the rows whose logits it made; a
      // column split must finish every row's logits first (one more phase).
      if (logits.cols) phases.push([logits], [rowLoss]);
      else phases.push([logits, rowLoss]);
      if (!grad) continue;
      // gradFilter: this row block's class blocks, decided (and zeroed) before the products read dZ.
      const mask = plan.gradFilter ? pmask + block * blocksPerRowBlock : 0;
      if (mask) phases.push([this.filterCall(plan, mask, pz, m, c)]);
      const accumulate = r0 > 0 ? 1 : 0;
      const backward: Phase = [call('gemm_tn_f32', {
        c: pdw, ldc: d, a: pz, lda: c, b: xr, ldb: d, n: d, k: m, rowBegin: 0, rowEnd: c, accumulate, mask, scratch: ss, scratchBytes: scratch,
      }, splitOf(c, d))];
      if (wantDx) {
        backward.unshift(call('gemm_nn_f32', {
          c: pdx + r0 * d * F32, ldc: d, a: pz, lda: c, b: pw, ldb: d, n: d, k: c, rowBegin: 0, rowEnd: m, accumulate: 0, mask,
          scratch: ss, scratchBytes: scratch,
        }, splitOf(m, d)));
      }
      if (pb) backward.push(call('colsum_f32', { out: pdb, a: pz, lda: c, k: m, colBegin: 0, colEnd: c, accumulate }));
      phases.push(backward);
    }
    return {
      phases,
      finish: () => {
        const result: LinearCrossEntropyResult = this.rowResults(plan, prows, n);
        if (grad) {
          if (wantDx && !outDx) result.dx = this.arena.f32(pdx, n * d).slice();
          if (!outDw) result.dw = this.arena.f32(pdw, c * d).slice();
          if (pb && !outDb) result.db = this.arena.f32(pdb, c).slice();
        }
        if (plan.gradFilter) Object.assign(result, this.filterCounts(pmask, Math.ceil(n / rows) * blocksPerRowBlock));
        return result;
      },
    };
  }

  private dims(fn: string, args: { n: number; d: number; c: number }) {
    if (args === null || typeof args !== 'object') throw new ArgumentError(fn, 'expected an arguments object');
    return { n: checkSize(fn, 'n', args.n), d: checkSize(fn, 'd', args.d), c: checkSize(fn, 'c', args.c) };
  }

  /** Checks a float32 input: a Float32Array of the right length (a copy, see snapshot), or a live tensor of this instance. */
  private operand(fn: string, name: string, value: unknown, length: number, shape: string, optional = false): Operand {
    if (optional && value == null) return ABSENT;
    if (value instanceof Tensor) return { array: null, tensor: this.ownTensor(fn, name, value, length, shape) };
    const array = checkFloat32(fn, name, value, length, shape);
    return { array: this.snapshot ? array.slice() : array, tensor: null };
  }

  /** planLoss, with the caller's target and weight copied when the call runs later (see snapshot). */
  private lossPlan(fn: string, target: CrossEntropyArgs['target'], n: number, c: number, options: LossOptions): LossPlan {
    const plan = planLoss(fn, target, n, c, options);
    if (!this.snapshot) return plan;
    // labels is a fresh array unless the target was an Int32Array; copying it anyway is n words.
    return { ...plan, weight: plan.weight?.slice() ?? null, labels: plan.labels?.slice() ?? null, probs: plan.probs?.slice() ?? null };
  }

  /** Checks an `out` tensor; it must not be one of the inputs (the kernels would read what they write). */
  private output(fn: string, name: string, value: unknown, length: number, shape: string,
    inputs: Operand[], required = false): Tensor | null {
    if (value === undefined && !required) return null;
    if (!(value instanceof Tensor)) {
      throw new ArgumentError(fn, `${name} must be a Tensor of length ${shape} = ${length} (from sce.tensor()), got ${typeof value}`);
    }
    const t = this.ownTensor(fn, name, value, length, shape);
    this.noAlias(fn, name, t, inputs);
    return t;
  }

  /** `out` is absent or an object of known keys: `out: { dW }` must not leave the tensor untouched. */
  private outKeys(fn: string, out: unknown, known: readonly string[]): void {
    if (out === undefined) return;
    if (out === null || typeof out !== 'object') throw new ArgumentError(fn, `out must be an object of tensors, got ${out === null ? 'null' : typeof out}`);
    checkKnown(fn, out, known, 'out key');
  }

  private noAlias(fn: string, name: string, t: Tensor, inputs: Operand[]): void {
    if (inputs.some((op) => op.tensor === t)) throw new ArgumentError(fn, `${name} must not be an input tensor of the same call`);
  }

  private distinct(fn: string, outs: [string, Tensor | null][]): void {
    for (let i = 0; i < outs.length; i++)
      for (let j = i + 1; j < outs.length; j++)
        if (outs[i][1] && outs[i][1] === outs[j][1]) throw new ArgumentError(fn, `${outs[i][0]} and ${outs[j][0]} must be different tensors`);
  }

  private ownTensor(fn: string, name: string, t: Tensor, length: number, shape: string): Tensor {
    if (t.freed) throw new ArgumentError(fn, `${name} is a tensor that was freed`);
    if (t.arena !== this.arena) throw new ArgumentError(fn, `${name} is a tensor of another instance`);
    if (t.length !== length) throw new ArgumentError(fn, `${name} must have length ${shape} = ${length}, got a tensor of ${t.length}`);
    return t;
  }

  /** The operand's address: its tensor, or the scratch slot it is copied into (0 when absent). */
  private place(op: Operand, slot: number): number {
    if (op.tensor) return op.tensor.ptr;
    if (!op.array) return 0;
    this.arena.f32(slot, op.array.length).set(op.array);
    return slot;
  }

  /** The loss's inputs in memory: the parameter block, targets and class weights. */
  private placeLossInputs(plan: LossPlan, pparams: number, ptarget: number, pweight: number, n: number, c: number): void {
    const params = lossParams(plan, c, pweight), fields = LOSS_PARAM_NAMES.length;
    const i32 = this.arena.i32(pparams, fields), f32 = this.arena.f32(pparams, fields);
    for (let i = 0; i < fields; i++) {
      const name = LOSS_PARAM_NAMES[i];
      if (LOSS_PARAMS[name] === 'f32') f32[i] = params[name];
      else i32[i] = params[name];
    }
    if (plan.weight) this.arena.f32(pweight, c).set(plan.weight);
    if (plan.labels) this.arena.i32(ptarget, n).set(plan.labels);
    else this.arena.f32(ptarget, n * c).set(plan.probs!);
  }

  /** The fused row kernel over the m rows of the logits at pz (gradient to pdz, which may alias); records from prows. */
  private lossCall(plan: LossPlan, pparams: number, pdz: number, pz: number, ptarget: number, prows: number, m: number, c: number) {
    return plan.labels
      ? call('xent_index_rows_f32', { params: pparams, dz: pdz, z: pz, labels: ptarget, rows: prows, rowBegin: 0, rowEnd: m })
      : call('xent_prob_rows_f32', { params: pparams, dz: pdz, z: pz, q: ptarget, rows: prows, rowBegin: 0, rowEnd: m });
  }

  /** gradFilter over the m×c dZ at pdz: blocks of classes below ε·(the gradient scale) are zeroed and marked 0 in the mask. */
  private filterCall(plan: LossPlan, pmask: number, pdz: number, m: number, c: number) {
    // A NaN or 0 scale gives a threshold that no entry is below: nothing is skipped.
    const threshold = plan.gradFilter * gradScaleOf(plan);
    return call('grad_filter_f32', { mask: pmask, dz: pdz, ldz: c, m, c, threshold, blockBegin: 0, blockEnd: filterBlocks(c) });
  }

  /** How many of the `blocks` filter blocks (mask bytes from pmask) were skipped. */
  private filterCounts(pmask: number, blocks: number): { skippedBlocks: number; blocks: number } {
    const mask = new Uint8Array(this.arena.f32(0, 0).buffer, pmask, blocks);
    let skipped = 0;
    for (let i = 0; i < blocks; i++) skipped += mask[i] === 0 ? 1 : 0;
    return { skippedBlocks: skipped, blocks };
  }

  /**
   * The results the row records give (in row order, so the same for any split): the loss
   * reduced as the plan says, and zLoss, lse and accuracy where asked for.
   */
  private rowResults(plan: LossPlan, prows: number, n: number): { loss: number | Float32Array; zLoss?: number | Float32Array; lse?: Float32Array; accuracy?: number } {
    const rec = this.arena.f64(prows, n * ROW_RECORD_F64);
    const at = (i: number, field: number) => rec[i * ROW_RECORD_F64 + field];
    const result: { loss: number | Float32Array; zLoss?: number | Float32Array; lse?: Float32Array; accuracy?: number } = { loss: 0 };
    // The kernels write a row's z-loss only for λ ≠ 0 as the parameter block holds it, in
    // float32 (a λ below 2^-149 rounds to 0 there: no z-loss, reported as 0).
    const zRows = Math.fround(plan.zLoss) !== 0;
    if (plan.reduction === 'none') {
      const loss = new Float32Array(n);
      for (let i = 0; i < n; i++) loss[i] = zRows ? at(i, ROW_RECORD.loss) + at(i, ROW_RECORD.zLoss) : at(i, ROW_RECORD.loss);
      result.loss = loss;
      if (plan.zLossGiven) {
        const z = new Float32Array(n);
        for (let i = 0; zRows && i < n; i++) z[i] = at(i, ROW_RECORD.zLoss);
        result.zLoss = z;
      }
    } else {
      let total = 0, zTotal = 0;
      for (let i = 0; i < n; i++) total += at(i, ROW_RECORD.loss);
      for (let i = 0; zRows && i < n; i++) zTotal += at(i, ROW_RECORD.zLoss);
      // A zero denominator is 0/0 in PyTorch's nll term even when label smoothing makes the
      // row losses (so `total`) positive: NaN, never total/0 = +Infinity.
      let loss = plan.reduction !== 'mean' ? total : plan.denominator === 0 ? NaN : total / plan.denominator;
      if (plan.zLossGiven) {
        // The z-loss's mean is over kept rows, unweighted (as Liger's): 0/0 = NaN when none is kept.
        const zLoss = plan.reduction !== 'mean' ? zTotal : plan.keptRows === 0 ? NaN : zTotal / plan.keptRows;
        loss += zLoss;
        result.zLoss = zLoss;
      }
      result.loss = loss;
    }
    if (plan.returnLse) {
      const lse = new Float32Array(n);
      for (let i = 0; i < n; i++) lse[i] = at(i, ROW_RECORD.lse);
      result.lse = lse;
    }
    if (plan.returnAccuracy) {
      let hits = 0;
      for (let i = 0; i < n; i++) hits += at(i, ROW_RECORD.hit) === 1 ? 1 : 0;
      result.accuracy = plan.keptRows === 0 ? NaN : hits / plan.keptRows;
    }
    return result;
  }
}
