/**
 * The binary cache the first pass writes and every epoch reads: the rows as float32, so that
 * training never parses text twice and reads its data in fixed-size blocks.
 *
 *   header (64 bytes): "SCE-CACHE-1\n", then int32 d (features per row)
 *   rows: d float32 values (as parsed, before normalisation), then an int32 code:
 *         k ≥ 0 a training row of class k, −1 − k a held-out (test) row of class k,
 *         classes numbered in order of first appearance.
 *
 * Rows are written through one 4 MiB buffer and read a block at a time into a buffer the
 * caller owns, so memory is bounded by those buffers whatever the file size.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { CliError } from './errors.js';

export const MAGIC = 'SCE-CACHE-1\n';
const HEADER = 64;
const WRITE_BUFFER = 4 << 20;

export class CacheFile {
  readonly path: string;
  readonly d: number;
  /** Bytes per row: d float32 values and the int32 code. */
  readonly rowBytes: number;
  rows = 0;
  #fd: number;
  #buffer: ArrayBuffer;
  #bytes: Uint8Array;
  /** Views of the write buffer: the next row's values start at f32[used]. */
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  #used = 0;
  #written = HEADER;

  /** Creates (or truncates: the caller checked it is ours or new) the cache at `path`. */
  constructor(path: string, d: number) {
    this.path = path;
    this.d = d;
    this.rowBytes = (d + 1) * 4;
    try {
      this.#fd = openSync(path, 'w+');
    } catch (error) {
      throw new CliError(`cannot create the cache '${path}': ${(error as Error).message}`);
    }
    const header = Buffer.alloc(HEADER);
    header.write(MAGIC, 0, 'latin1');
    header.writeInt32LE(d, 16);
    this.#write(header, 0);
    const rowsPerBuffer = Math.max(1, Math.floor(WRITE_BUFFER / this.rowBytes));
    this.#buffer = new ArrayBuffer(rowsPerBuffer * this.rowBytes);
    this.#bytes = new Uint8Array(this.#buffer);
    this.f32 = new Float32Array(this.#buffer);
    this.i32 = new Int32Array(this.#buffer);
  }

  /** Offset (in 4-byte words) where the next row's d values go; its code goes at offset + d. */
  slot(): number {
    if ((this.#used + 1) * this.rowBytes > this.#buffer.byteLength) this.flush();
    return this.#used * (this.d + 1);
  }

  /** Counts the row written at slot(). */
  commit(): void {
    this.#used++;
    this.rows++;
  }

  flush(): void {
    if (this.#used === 0) return;
    const bytes = this.#used * this.rowBytes;
    this.#write(this.#bytes.subarray(0, bytes), this.#written);
    this.#written += bytes;
    this.#used = 0;
  }

  #write(bytes: Uint8Array, position: number) {
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(this.#fd, bytes, done, bytes.length - done, position + done);
    } catch (error) {
      throw new CliError(`cannot write the cache '${this.path}': ${(error as Error).message}`);
    }
  }

  /**
   * Reads rows [first, first + count) into `into` (bytes, a multiple of rowBytes long);
   * returns how many rows it read.
   */
  read(first: number, count: number, into: Uint8Array): number {
    const want = Math.min(count, this.rows - first) * this.rowBytes;
    let done = 0;
    while (done < want) {
      const n = readSync(this.#fd, into, done, want - done, HEADER + first * this.rowBytes + done);
      if (n === 0) throw new CliError(`the cache '${this.path}' is shorter than expected (changed while training?)`);
      done += n;
    }
    return want / this.rowBytes;
  }

  get bytes(): number {
    return fstatSync(this.#fd).size;
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** Whether the file at `path` starts like a cache of ours (so that --cache may overwrite it). */
export function isCache(path: string): boolean {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(MAGIC.length);
    readSync(fd, head, 0, head.length, 0);
    return head.toString('latin1') === MAGIC;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
