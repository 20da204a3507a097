/**
 * Reading the cache back, a block of rows at a time, for the epochs and the evaluation.
 *
 * Shuffling without holding the data: a block is BLOCK_BYTES of consecutive rows. Each epoch
 * draws a random permutation of the blocks; it reads them BUFFER_BLOCKS at a time into one
 * buffer, shuffles the training rows of that buffer (Fisher–Yates on their indices) and
 * hands them out in batches (a batch may span two buffers). So every row is seen once per
 * epoch, rows far apart in the file meet in a batch when their blocks share a buffer, and a
 * file of up to BUFFER_BLOCKS blocks (16 MiB of cache) is shuffled in full, like fit().
 * All draws come from one PRNG seeded by --seed: a run is reproducible.
 *
 * Normalisation (x − mean) / std is applied as a block is read (in float64, stored as
 * float32); the cache keeps the values as parsed.
 */
import type { CacheFile } from './cache.js';

export const BLOCK_BYTES = 1 << 20;
export const BUFFER_BLOCKS = 16;

export interface Transform {
  /** Class index of each cache code (first appearance → the model's sorted order). */
  remap: Int32Array;
  /** Standardisation, or null for --no-normalize. */
  mean: Float64Array | null;
  std: Float64Array | null;
}

/** Block buffers over the cache; one per command, reused for every epoch. */
export class Blocks {
  readonly cache: CacheFile;
  readonly d: number;
  readonly blockRows: number;
  readonly blocks: number;
  readonly #t: Transform;
  readonly #bytes: Uint8Array;
  /** Views of the buffer: row r's values at f32[r·(d+1) …], its code at i32[r·(d+1) + d]. */
  readonly f32: Float32Array;
  readonly i32: Int32Array;

  constructor(cache: CacheFile, t: Transform) {
    this.cache = cache;
    this.d = cache.d;
    this.blockRows = Math.max(1, Math.floor(BLOCK_BYTES / cache.rowBytes));
    this.blocks = Math.ceil(cache.rows / this.blockRows);
    this.#t = t;
    const buffer = new ArrayBuffer(Math.min(BUFFER_BLOCKS, Math.max(1, this.blocks)) * this.blockRows * cache.rowBytes);
    this.#bytes = new Uint8Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
  }

  /**
   * Reads block b into buffer slot `slot`, normalises it and maps its codes to class
   * indices (test rows stay negative: −1 − class); returns [first row in the buffer, rows].
   */
  load(b: number, slot: number): [number, number] {
    const first = slot * this.blockRows, rowBytes = this.cache.rowBytes;
    const rows = this.cache.read(b * this.blockRows, this.blockRows, this.#bytes.subarray(first * rowBytes, (first + this.blockRows) * rowBytes));
    const { remap, mean, std } = this.#t, d = this.d, f32 = this.f32, i32 = this.i32, stride = d + 1;
    for (let r = first; r < first + rows; r++) {
      const o = r * stride;
      if (mean && std) {
        for (let j = 0; j < d; j++) {
          // A test or later row far outside the training range could overflow float32 here;
          // clamp so that it scores as a very confident row rather than as NaN.
          const v = (f32[o + j] - mean[j]) / std[j];
          f32[o + j] = v > 1e30 ? 1e30 : v < -1e30 ? -1e30 : v;
        }
      }
      const code = i32[o + d];
      i32[o + d] = code >= 0 ? remap[code] : -1 - remap[-1 - code];
    }
    return [first, rows];
  }

  /**
   * One epoch of shuffled training batches of `batchSize` rows (the last may be smaller):
   * `step(x, y)` gets views that are valid until it returns. Awaits the event loop between
   * buffers so that progress can redraw.
   */
  async epoch(random: () => number, batchSize: number, step: (x: Float32Array, y: Int32Array) => void): Promise<void> {
    const d = this.d, stride = d + 1, f32 = this.f32, i32 = this.i32;
    const order = new Int32Array(this.blocks);
    for (let b = 0; b < this.blocks; b++) order[b] = b;
    shuffle(order, this.blocks, random);
    const slots = this.i32.length / (this.blockRows * stride);
    const idx = new Int32Array(slots * this.blockRows);
    const bx = new Float32Array(batchSize * d), by = new Int32Array(batchSize);
    let fill = 0;
    for (let g = 0; g < this.blocks; g += slots) {
      let n = 0;
      for (let s = 0; s < slots && g + s < this.blocks; s++) {
        const [first, rows] = this.load(order[g + s], s);
        for (let r = first; r < first + rows; r++) if (i32[r * stride + d] >= 0) idx[n++] = r;
      }
      shuffle(idx, n, random);
      for (let i = 0; i < n; i++) {
        const o = idx[i] * stride, to = fill * d;
        for (let j = 0; j < d; j++) bx[to + j] = f32[o + j];
        by[fill] = i32[o + d];
        if (++fill === batchSize) {
          step(bx, by);
          fill = 0;
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (fill > 0) step(bx.subarray(0, fill * d), by.subarray(0, fill));
  }

  /**
   * Every row in file order, in chunks of at most `rows` rows: `each(x, codes, m)` with x
   * m×d contiguous (normalised) and codes as in load(). For the evaluation passes.
   */
  async scan(rows: number, each: (x: Float32Array, codes: Int32Array, m: number) => void): Promise<void> {
    const d = this.d, stride = d + 1, f32 = this.f32, i32 = this.i32;
    const x = new Float32Array(rows * d), codes = new Int32Array(rows);
    let m = 0;
    for (let b = 0; b < this.blocks; b++) {
      const [first, count] = this.load(b, 0);
      for (let r = first; r < first + count; r++) {
        const o = r * stride;
        for (let j = 0; j < d; j++) x[m * d + j] = f32[o + j];
        codes[m] = i32[o + d];
        if (++m === rows) {
          each(x, codes, m);
          m = 0;
        }
      }
      if ((b & 7) === 7) await new Promise((resolve) => setImmediate(resolve));
    }
    if (m > 0) each(x.subarray(0, m * d), codes.subarray(0, m), m);
  }
}

/** Fisher–Yates over a[0, n) with the seeded PRNG. */
function shuffle(a: Int32Array, n: number, random: () => number) {
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
