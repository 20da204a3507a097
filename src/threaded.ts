/**
 * The API over a thread pool: the same methods as SoftmaxCE, each returning a Promise,
 * so a browser's main thread never blocks (there workers compute; in Node and in a Web
 * Worker the calling thread computes a share too, see InitOptions.callerComputes). Calls
 * queue in order (they share one memory layout); every kernel call is split by output
 * rows or columns over the threads, so results are bitwise the same for any thread count.
 *
 * The queue owns memory. A method checks its arguments and copies the caller's arrays
 * when it is called (a later change to them never reaches a call already made); the call
 * lays its scratch out when it reaches the head of the queue, and the arena keeps that
 * scratch pinned until the job has ended and every worker has left it — also after a
 * failure — so that tensor() in the meantime allocates elsewhere, and Tensor.write() and
 * free() wait for the calls made before them (src/arena.ts, Sequencer).
 */
import { runPhases } from './calls.js';
import { Core, type Info, type Stage } from './core.js';
import type { Pool } from './pool.js';
import type { Tensor } from './tensor.js';
import type {
  CrossEntropyArgs, CrossEntropyResult, LinearArgs, LinearCrossEntropyArgs, LinearCrossEntropyResult,
} from './types.js';
import type { KernelExports } from './wasm.js';

export class SoftmaxCEThreaded extends Core {
  private queue: Promise<unknown> = Promise.resolve();
  /** Calls and memory changes queued or running. */
  private pending = 0;
  private disposed = false;

  /** @internal Made by `init({ threads })`; pool is null where workers cannot run (info says why). */
  constructor(kernels: KernelExports, info: Info, private readonly pool: Pool | null) {
    super(kernels, info);
    this.snapshot = true;
    this.arena.sequencer = { idle: () => this.pending === 0, after: (change) => void this.order(async () => change()) };
  }

  /** Z = X·Wᵀ + b (see SoftmaxCE.linear). Arrays are read when called; tensors when the call runs. */
  linear(args: LinearArgs & { out?: Tensor }): Promise<Float32Array> {
    return this.enqueue(() => this.prepareLinear(args));
  }

  softmax(logits: Float32Array | Tensor, n: number, c: number): Promise<Float32Array> {
    return this.enqueue(() => this.prepareRowwise('softmax', logits, n, c, false));
  }

  logSoftmax(logits: Float32Array | Tensor, n: number, c: number): Promise<Float32Array> {
    return this.enqueue(() => this.prepareRowwise('logSoftmax', logits, n, c, true));
  }

  crossEntropy(args: CrossEntropyArgs): Promise<CrossEntropyResult> {
    return this.enqueue(() => this.prepareCrossEntropy(args));
  }

  linearCrossEntropy(args: LinearCrossEntropyArgs): Promise<LinearCrossEntropyResult> {
    return this.enqueue(() => this.prepareLinearCrossEntropy(args));
  }

  /** Ends the workers. Pending and later calls are rejected; a Node process then exits by itself. */
  dispose(): void {
    this.disposed = true;
    this.pool?.dispose();
  }

  /** @internal For tests: the pool, to crash a worker. */
  get workers(): Pool | null {
    return this.pool;
  }

  /** Checks and copies the arguments now (a bad one rejects at once); runs the call in its turn. */
  private enqueue<R>(prepare: () => Stage<R>): Promise<R> {
    let stage: Stage<R>;
    try {
      if (this.disposed) throw new Error('softmax-ce-wasm: this instance was disposed');
      stage = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.order(async () => {
      if (this.disposed) throw new Error('softmax-ce-wasm: this instance was disposed');
      const job = stage();
      if (!this.pool) {
        runPhases(this.k, job.phases);
        return job.finish();
      }
      this.arena.pin();
      try {
        await this.pool.run(job.phases);
        return job.finish();
      } finally {
        // After a failure, workers may still be in the job's kernels: nothing else touches
        // memory (the next call's inputs, a tensor in the gap) until they have left it.
        await this.pool.settled();
        this.arena.unpin();
      }
    });
  }

  /** Runs `task` after everything queued before it, whether that succeeded or not. */
  private order<R>(task: () => Promise<R>): Promise<R> {
    this.pending++;
    const result = this.queue.then(task).finally(() => this.pending--);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
