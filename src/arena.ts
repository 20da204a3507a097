/**
 * WebAssembly memory, laid out by the TypeScript side (the kernels never allocate):
 *
 *   heap_base ─ resident blocks (tensors; alloc/free, first fit) ─ top ─ per-call scratch ─▶
 *
 * Scratch: each call lays its buffers out from `top`, 16-byte aligned (v128 loads), so
 * memory grows only to the largest call and repeated calls of one shape never grow it.
 * Resident blocks outlive calls; a freed block is reused, and freeing the last one
 * lowers `top`. Views are made after any grow (a grow detaches every earlier view).
 *
 * With threads, a job's scratch is in use while the calling thread is free to allocate:
 * the runner pins it (pin/unpin), and alloc() then places blocks outside it, so a tensor
 * made during a job never lands on (and zero-fills) that job's inputs. Changes that a
 * queued call may still read — a free, a write — go through `sequencer` (set by the
 * threaded instance), which runs them after the calls already made.
 */

const PAGE = 65536;
/** wasm32 addresses 2^32 bytes at most. */
export const MAX_BYTES = 65536 * PAGE;
const ALIGN = 16;

export type Slot = readonly [name: string, bytes: number];

/** Orders changes to memory with the calls in flight (the threaded instance's queue). */
export interface Sequencer {
  /** No call is queued or running: a change may happen now. */
  idle(): boolean;
  /** Runs `change` after every call made so far has finished. */
  after(change: () => void): void;
}

interface Block {
  ptr: number;
  bytes: number;
  free: boolean;
}

const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

export class Arena {
  private top: number;
  private readonly blocks: Block[] = [];
  /** The end of the last layout, and the scratch [begin, end) pinned while a job runs (else null). */
  private lastLayout: [number, number] = [0, 0];
  private pinned: [number, number] | null = null;
  /** Null for the synchronous instance: no call can be in flight while its caller runs. */
  sequencer: Sequencer | null = null;

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.top = aligned(base);
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes held by live resident blocks. */
  get residentBytes(): number {
    return this.blocks.reduce((sum, b) => sum + (b.free ? 0 : b.bytes), 0);
  }

  /**
   * Byte offsets of the named scratch buffers. Throws a RangeError, before anything
   * is allocated or copied, when they cannot fit in the 4 GiB that wasm32 addresses.
   */
  plan(fn: string, slots: readonly Slot[]): { offsets: number[]; end: number } {
    const offsets: number[] = [];
    let end = this.top;
    for (const [, bytes] of slots) {
      offsets.push(end);
      end += aligned(bytes);
    }
    if (end > MAX_BYTES) {
      const list = slots.filter(([, bytes]) => bytes > 0).map(([name, bytes]) => `${name} ${bytes}`).join(', ');
      throw new RangeError(`softmax-ce-wasm: ${fn}: the call needs ${end} bytes of WebAssembly memory ` +
        `(${list}), more than the 4 GiB that wasm32 can address; use smaller n, d or c`);
    }
    return { offsets, end };
  }

  /** Byte offsets of the named scratch buffers, growing memory to fit them (see plan). */
  layout(fn: string, slots: readonly Slot[]): number[] {
    const { offsets, end } = this.plan(fn, slots);
    this.ensure(fn, end);
    this.lastLayout = [this.top, end];
    return offsets;
  }

  /** Keeps the last layout's scratch out of alloc()'s reach until unpin(): a job runs on it. */
  pin(): void {
    this.pinned = this.lastLayout;
  }

  unpin(): void {
    this.pinned = null;
  }

  /** Runs a change that a queued call may read (a free, a write) now, or after those calls (see Sequencer). */
  change(now: () => void, later: () => () => void): void {
    if (!this.sequencer || this.sequencer.idle()) now();
    else this.sequencer.after(later());
  }

  /** A resident block of at least `bytes`, zero-filled; it lives until release(). */
  alloc(fn: string, bytes: number): number {
    const size = aligned(Math.max(bytes, 1));
    // Free blocks lie below top, so only the gap left below a pinned scratch (see below)
    // can overlap it.
    const pin = this.pinned;
    let block = this.blocks.find((b) => b.free && b.bytes >= size && !(pin && b.ptr + b.bytes > pin[0] && b.ptr < pin[1]));
    if (block) {
      if (block.bytes > size) {
        // Split, keeping the rest free for later tensors.
        const rest: Block = { ptr: block.ptr + size, bytes: block.bytes - size, free: true };
        this.blocks.splice(this.blocks.indexOf(block) + 1, 0, rest);
        block.bytes = size;
      }
      block.free = false;
    } else {
      // Past a running job's scratch: the gap below becomes a free block, usable once the job ends.
      const at = pin ? Math.max(this.top, pin[1]) : this.top;
      if (at + size > MAX_BYTES) {
        throw new RangeError(`softmax-ce-wasm: ${fn}: a tensor of ${bytes} bytes does not fit in the 4 GiB that wasm32 can address`);
      }
      // Growing a shared memory while workers run is safe: it never moves, and they see the
      // new size at their next bounds check; nothing they use lies past the old end.
      this.ensure(fn, at + size);
      if (at > this.top) this.blocks.push({ ptr: this.top, bytes: at - this.top, free: true });
      block = { ptr: at, bytes: size, free: false };
      this.blocks.push(block);
      this.top = at + size;
    }
    new Uint8Array(this.memory.buffer, block.ptr, block.bytes).fill(0);
    return block.ptr;
  }

  /** Frees a resident block; merges free neighbours and lowers top past free tail blocks. */
  release(ptr: number): void {
    const index = this.blocks.findIndex((b) => b.ptr === ptr && !b.free);
    if (index < 0) return;
    this.blocks[index].free = true;
    for (let i = this.blocks.length - 1; i > 0; i--) {
      const [left, right] = [this.blocks[i - 1], this.blocks[i]];
      if (left.free && right.free) {
        left.bytes += right.bytes;
        this.blocks.splice(i, 1);
      }
    }
    const last = this.blocks[this.blocks.length - 1];
    if (last?.free) {
      this.top = last.ptr;
      this.blocks.pop();
    }
  }

  private ensure(fn: string, end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    try {
      this.memory.grow(Math.ceil((end - have) / PAGE));
    } catch (cause) {
      throw new RangeError(`softmax-ce-wasm: ${fn}: could not grow WebAssembly memory to ${end} bytes ` +
        `(${(cause as Error).message})`);
    }
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
}
