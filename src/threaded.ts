/**
 * The API over a thread pool: the same methods as SoftmaxCE, each returning a Promise,
 * so a browser's main thread never blocks (there workers compute; in Node and in a Web
 * Worker the calling thread computes a share too, see InitOptions.callerComputes). Calls
 * queue in order (they share one memory layout); every kernel call is split by output
 * rows or columns over the threads, so results are bitwise the same for any thread count.
 */
import { runPhases, type Job } from './calls.js';
import { Core, type Info } from './core.js';
import type { Pool } from './pool.js';
import type { Tensor } from './tensor.js';
import type {
  CrossEntropyArgs, CrossEntropyResult, LinearArgs, LinearCrossEntropyArgs, LinearCrossEntropyResult,
} from './types.js';
import type { KernelExports } from './wasm.js';

export class SoftmaxCEThreaded extends Core {
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  /** @internal Made by `init({ threads })`; pool is null where workers cannot run (info says why). */
  constructor(kernels: KernelExports, info: Info, private readonly pool: Pool | null) {
    super(kernels, info);
  }

  /** Z = X·Wᵀ + b (see SoftmaxCE.linear). */
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

  private enqueue<R>(prepare: () => Job<R>): Promise<R> {
    const result = this.queue.then(async () => {
      if (this.disposed) throw new Error('softmax-ce-wasm: this instance was disposed');
      const job = prepare();
      if (this.pool) await this.pool.run(job.phases);
      else runPhases(this.k, job.phases);
      return job.finish();
    });
    this.queue = result.catch(() => undefined);
    return result;
  }
}
