/**
 * Kernel calls as data. A method of the API turns its arguments into phases: each
 * phase is a list of kernel calls over ranges of output rows (or columns) that may be
 * split into chunks for threads (every output element is computed in one chunk, in an
 * order that does not depend on the split, so results are bitwise the same for any thread
 * count and any assignment of chunks to threads). Chunk i of a phase runs the i-th part
 * of each of its calls, in order; a phase ends before the next one starts.
 */
import { spec, type KernelArgs, type KernelExports, type KernelName } from './kernels.js';

export type { KernelName };

export interface Call {
  kernel: KernelName;
  args: number[];
  /** Index in args of the range start (the end follows it), or -1 for a call that is not split. */
  split: number;
  /**
   * Index in args of a scratch pointer (its byte size follows it), or -1. Thread t uses
   * the t-th region of that size: the caller reserves size × threads bytes.
   */
  scratch: number;
  /**
   * Split the output's columns instead of its rows (for a gemm with few rows and many
   * columns, where a row split would make every thread read and pack all of B): args[n]
   * is the column count, and each [index, bytes] moves a pointer by `bytes` per column.
   */
  cols?: { n: number; moves: [index: number, bytes: number][] };
}

export type Phase = Call[];

/** What a method hands to a runner: the phases, and how to read the result after them. */
export interface Job<R> {
  phases: Phase[];
  finish(): R;
}

/**
 * A call of `kernel` with its arguments by name (src/kernels.ts lists them). Where the
 * kernel has an output range, the call may be split over threads: by rows (its range), or
 * with `split: 'columns'` by the output's columns (the table says which pointers move).
 */
export function call<K extends KernelName>(kernel: K, named: KernelArgs<K>, split: 'range' | 'columns' = 'range'): Call {
  const s = spec(kernel), values = named as Record<string, number>;
  const args = s.params.map((p) => {
    const v = values[p];
    if (typeof v !== 'number') throw new Error(`softmax-ce-wasm: ${kernel} called without its argument ${p} (a bug)`);
    return v;
  });
  const at = (name: string | undefined) => (name === undefined ? -1 : s.params.indexOf(name));
  const c: Call = { kernel, args, split: at(s.range), scratch: at(s.scratch) };
  if (split === 'columns') {
    if (!s.columns) throw new Error(`softmax-ce-wasm: ${kernel} cannot split its columns (a bug)`);
    const moves = Object.entries(s.columns.moves).map(([p, per]): [number, number] =>
      [at(p), 4 * (typeof per === 'number' ? per : values[per])]);
    c.cols = { n: at(s.columns.count), moves };
  }
  return c;
}

/**
 * Part `part` of `parts` of the range [begin, end): contiguous, in order, sizes that
 * differ by at most `align` and start on multiples of `align` (a kernel's row tile).
 */
export function splitRange(begin: number, end: number, part: number, parts: number, align = 1): [number, number] {
  const units = Math.ceil((end - begin) / align);
  const lo = Math.floor((units * part) / parts), hi = Math.floor((units * (part + 1)) / parts);
  return [Math.min(end, begin + lo * align), Math.min(end, begin + hi * align)];
}

/** The call restricted to part `part` of `parts` of its range (itself, in part 0, when not split); the scratch pointer is left to the thread. */
export function partOf(c: Call, part: number, parts: number): number[] | null {
  if (c.split < 0) return part === 0 ? c.args : null;
  const args = c.args.slice();
  if (c.cols) {
    // Column parts of 16 (four v128 columns: whole register tiles and pack groups).
    const [b, e] = splitRange(0, c.args[c.cols.n], part, parts, 16);
    if (b >= e) return null;
    args[c.cols.n] = e - b;
    for (const [index, bytes] of c.cols.moves) if (args[index] !== 0) args[index] += b * bytes;
  } else {
    const [b, e] = splitRange(c.args[c.split], c.args[c.split + 1], part, parts, 4);
    if (b >= e) return null;
    args[c.split] = b;
    args[c.split + 1] = e;
  }
  return args;
}

/** Runs the phases on this thread, in order. */
export function runPhases(kernels: KernelExports, phases: Phase[]): void {
  for (const phase of phases) {
    for (const c of phase) (kernels[c.kernel] as (...a: number[]) => void)(...c.args);
  }
}
