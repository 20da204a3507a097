/**
 * A resident float32 buffer in an instance's WebAssembly memory. Pass it instead of
 * a Float32Array to skip the copy in (x, w, b, logits), or as `out` to receive a
 * result without the copy out: a training loop then copies nothing per step.
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
   */
  array(): Float32Array {
    return this.live('array').f32(this.ptr, this.length);
  }

  /** A copy of the data that belongs to the caller. */
  read(): Float32Array {
    return this.array().slice();
  }

  /** Copies `source` in at element `offset` (default 0); returns this. */
  write(source: ArrayLike<number>, offset = 0): this {
    if (!Number.isInteger(offset) || offset < 0 || offset + source.length > this.length) {
      throw new RangeError(`softmax-ce-wasm: Tensor.write: ${source.length} values at offset ${offset} ` +
        `do not fit in a tensor of length ${this.length}`);
    }
    this.live('write').f32(this.ptr, this.length).set(source, offset);
    return this;
  }

  /** Returns the memory to the instance; the tensor cannot be used afterwards. */
  free(): void {
    this.#arena?.release(this.ptr);
    this.#arena = null;
  }

  private live(fn: string): Arena {
    if (!this.#arena) throw new TypeError(`softmax-ce-wasm: Tensor.${fn}: the tensor was freed`);
    return this.#arena;
  }
}
