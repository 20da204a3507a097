/**
 * A resident float32 buffer in an instance's WebAssembly memory. Pass it instead of
 * a Float32Array to skip the copy in (x, w, b, logits), or as `out` to receive a
 * result without the copy out: a training loop then copies nothing per step.
 *
 * On the threaded instance a call uses its tensors in place when it runs, so write() and
 * free() are ordered with the calls: they take effect after the calls already made (at
 * once when none is pending), and a write copies its source when it is made.
 */
import type { Arena } from './arena.js';

export class Tensor {
  #arena: Arena | null;
  /** Byte offset in WebAssembly memory (16-byte aligned). */
  readonly ptr: number;
  /** Number of float32 elements. */
  readonly length: number;

  /** @internal Made by `sce.tensor()`. */
  constructor(arena: Arena, ptr: number, length: number) {
    this.#arena = arena;
    this.ptr = ptr;
    this.length = length;
  }

  /** @internal The arena that owns it, or null once freed. */
  get arena(): Arena | null {
    return this.#arena;
  }

  get freed(): boolean {
    return this.#arena === null;
  }

  /**
   * A view of the data (no copy). It stays valid until WebAssembly memory grows —
   * which any later call of the instance may do — so take a fresh view after calls.
   * It shows memory now: on the threaded instance, await the calls that write the
   * tensor (and the writes made after them) before reading it.
   */
  array(): Float32Array {
    return this.live('array').f32(this.ptr, this.length);
  }

  /** A copy of the data that belongs to the caller. */
  read(): Float32Array {
    return this.array().slice();
  }

  /** Copies `source` in at element `offset` (default 0), after the calls already made; returns this. */
  write(source: ArrayLike<number>, offset = 0): this {
    const arena = this.live('write');
    if (!Number.isInteger(offset) || offset < 0 || offset + source.length > this.length) {
      throw new RangeError(`softmax-ce-wasm: Tensor.write: ${source.length} values at offset ${offset} ` +
        `do not fit in a tensor of length ${this.length}`);
    }
    const { ptr, length } = this;
    arena.change(() => arena.f32(ptr, length).set(source, offset), () => {
      // Taken now: the caller may change `source` before the write happens.
      const copy = Float32Array.from(source);
      return () => arena.f32(ptr, length).set(copy, offset);
    });
    return this;
  }

  /**
   * Returns the memory to the instance (after the calls already made, which may use it);
   * the tensor cannot be passed to a call or written afterwards.
   */
  free(): void {
    const arena = this.#arena, ptr = this.ptr;
    this.#arena = null;
    arena?.change(() => arena.release(ptr), () => () => arena.release(ptr));
  }

  private live(fn: string): Arena {
    if (!this.#arena) throw new TypeError(`softmax-ce-wasm: Tensor.${fn}: the tensor was freed`);
    return this.#arena;
  }
}
