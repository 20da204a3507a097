/**
 * Scratch space in WebAssembly memory. Each call lays its buffers out from the same
 * base, 16-byte aligned (v128 loads), so memory grows only to the largest call and
 * repeated calls of one shape never grow it. Views are made per call, after any grow
 * (a grow detaches every earlier view of the buffer).
 */

const PAGE = 65536;
/** wasm32 addresses 2^32 bytes at most. */
export const MAX_BYTES = 65536 * PAGE;

export type Slot = readonly [name: string, bytes: number];

export class Arena {
  constructor(private readonly memory: WebAssembly.Memory, private readonly base: number) {}

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * Byte offsets of the named buffers. Throws a RangeError, before anything is
   * allocated or copied, when they cannot fit in the 4 GiB that wasm32 addresses.
   */
  plan(fn: string, slots: readonly Slot[]): { offsets: number[]; end: number } {
    const offsets: number[] = [];
    let end = this.base;
    for (const [, bytes] of slots) {
      offsets.push(end);
      end += Math.ceil(bytes / 16) * 16;
    }
    if (end > MAX_BYTES) {
      const list = slots.filter(([, bytes]) => bytes > 0).map(([name, bytes]) => `${name} ${bytes}`).join(', ');
      throw new RangeError(`softmax-ce-wasm: ${fn}: the call needs ${end} bytes of WebAssembly memory ` +
        `(${list}), more than the 4 GiB that wasm32 can address; use smaller n, d or c`);
    }
    return { offsets, end };
  }

  /** Byte offsets of the named buffers, growing memory to fit them (see plan). */
  layout(fn: string, slots: readonly Slot[]): number[] {
    const { offsets, end } = this.plan(fn, slots);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (cause) {
        throw new RangeError(`softmax-ce-wasm: ${fn}: could not grow WebAssembly memory to ${end} bytes ` +
          `(${(cause as Error).message})`);
      }
    }
    return offsets;
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

