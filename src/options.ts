/**
 * The names each public call takes, and the check that rejects any other. A misspelt
 * option (PyTorch's `label_smoothing`, `reduce: 'sum'`, `out: { dW }`) would otherwise
 * be ignored and give a different result than the caller meant, with no word. Shared by
 * the WASM API and the float64 reference, so both reject the same calls.
 */
import type { LinearCrossEntropyArgs } from './types.js';
import { ArgumentError } from './validate.js';

const LOSS = [
  'reduction', 'ignoreIndex', 'labelSmoothing', 'weight', 'grad',
  'softcap', 'zLoss', 'returnLse', 'returnAccuracy', 'gradFilter',
];
const LINEAR = ['x', 'w', 'b', 'n', 'd', 'c'];

export const KNOWN = {
  linear: [...LINEAR, 'out'],
  crossEntropy: ['logits', 'target', 'n', 'c', 'out', ...LOSS],
  linearCrossEntropy: [...LINEAR, 'target', 'out', 'chunk', 'inputGrad', ...LOSS],
  'crossEntropy out': ['dlogits'],
  'linearCrossEntropy out': ['dx', 'dw', 'db'],
  classifier: ['inputs', 'classes', 'seed', 'init'],
  init: ['build', 'threads', 'callerComputes', 'maxMemory'],
} as const;

/**
 * Throws an ArgumentError naming the first own key of `value` that is not in `known`
 * (`what` says where: 'option', 'out key'). Keys whose value is undefined count too: a
 * misspelt key is a mistake whatever it holds.
 */
export function checkKnown(fn: string, value: unknown, known: readonly string[], what = 'option'): void {
  if (value === null || typeof value !== 'object') return;
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new ArgumentError(fn, `unknown ${what} '${key}' (known: ${known.join(', ')})`);
    }
  }
}

/** Checks `chunk` (see LinearCrossEntropyArgs.chunk): 'auto', a boolean, or { rows } and nothing else. */
export function checkChunk(fn: string, chunk: unknown): void {
  if (chunk === undefined || chunk === 'auto' || chunk === true || chunk === false) return;
  if (chunk !== null && typeof chunk === 'object' && Number.isInteger((chunk as { rows?: unknown }).rows) &&
    (chunk as { rows: number }).rows >= 1) {
    checkKnown(fn, chunk, ['rows'], 'chunk key');
    return;
  }
  throw new ArgumentError(fn, `chunk must be 'auto', true, false or { rows: a positive integer }, got ${JSON.stringify(chunk)}`);
}

/** inputGrad of linearCrossEntropy: a boolean, default true. */
export function checkInputGrad(fn: string, inputGrad: unknown): boolean {
  const v = inputGrad ?? true;
  if (typeof v !== 'boolean') throw new ArgumentError(fn, `inputGrad must be a boolean, got ${typeof v}`);
  return v;
}

/**
 * An `out` tensor that the call would not write is an error, not a silent no-op: with
 * grad false there is no gradient at all, and with inputGrad false no dx. `unwritten`
 * maps each out key to why it would stay untouched, or null where it is written.
 */
export function checkOutWritten(fn: string, out: unknown, unwritten: Record<string, string | null>): void {
  if (out === null || typeof out !== 'object') return;
  for (const [key, value] of Object.entries(out)) {
    const why = unwritten[key];
    if (value !== undefined && why) throw new ArgumentError(fn, `out.${key} would never be written: ${why}`);
  }
}

/**
 * linearCrossEntropy holds the logits of at most this many bytes at once: above it the
 * batch goes through in row blocks (the chunked path), so memory beyond the inputs and
 * gradients stays O(block) however large N×C is.
 */
export const CHUNK_BYTES = 8 << 20;

/** The gradient filter's class blocks: this many consecutive classes (the last may be fewer); the kernels' constant. */
export { FILTER_CLASSES as GRAD_FILTER_CLASSES } from './kernels.js';

const F32 = 4;

/**
 * Rows per block of linearCrossEntropy's chunked path: explicit, or the most whose logits
 * fit CHUNK_BYTES (a multiple of 4). The gradient filter's row blocks are these blocks.
 */
export function blockRows(fn: string, chunk: LinearCrossEntropyArgs['chunk'], n: number, c: number): number {
  if (chunk === undefined || chunk === 'auto') {
    return n * c * F32 <= CHUNK_BYTES ? n : Math.max(1, Math.floor(CHUNK_BYTES / (c * F32 * 4)) * 4);
  }
  if (chunk === false) return n;
  if (chunk === true) return Math.min(n, Math.max(1, Math.floor(CHUNK_BYTES / (c * F32 * 4)) * 4));
  checkChunk(fn, chunk);
  return Math.min(n, (chunk as { rows: number }).rows);
}
