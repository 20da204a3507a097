/**
 * The synchronous API over one WebAssembly instance: each method checks its arguments,
 * places them in WebAssembly memory, runs the kernels on this thread, and returns fresh
 * arrays that belong to the caller — copies, never views, except where a method says so.
 */
import { runPhases } from './calls.js';
import { Core, type Stage } from './core.js';
import { SoftmaxClassifier, type ClassifierOptions } from './classifier.js';
import type { Tensor } from './tensor.js';
import type {
  CrossEntropyArgs, CrossEntropyResult, LinearArgs, LinearCrossEntropyArgs, LinearCrossEntropyResult,
} from './types.js';

export type { Info } from './core.js';

export class SoftmaxCE extends Core {
  /**
   * Z = X·Wᵀ + b: x n×d, w c×d, b length c → n×c logits (a copy). With `out` (a tensor
   * of n×c), the logits are written there and the returned array is a view of it.
   */
  linear(args: LinearArgs & { out?: Tensor }): Float32Array {
    return this.run(this.prepareLinear(args));
  }

  /** Row-wise softmax of n×c logits (max-subtracted; finite for any finite logits). */
  softmax(logits: Float32Array | Tensor, n: number, c: number): Float32Array {
    return this.run(this.prepareRowwise('softmax', logits, n, c, false));
  }

  /** Row-wise log-softmax of n×c logits, z − max − log Σ exp(z − max). */
  logSoftmax(logits: Float32Array | Tensor, n: number, c: number): Float32Array {
    return this.run(this.prepareRowwise('logSoftmax', logits, n, c, true));
  }

  /**
   * Cross-entropy of n×c logits against targets, with PyTorch semantics, and ∂loss/∂logits
   * when grad. With `out.dlogits` (a tensor of n×c, which may be the logits tensor itself)
   * the gradient is written there and left out of the result.
   */
  crossEntropy(args: CrossEntropyArgs): CrossEntropyResult {
    return this.run(this.prepareCrossEntropy(args));
  }

  /**
   * The classifier head in one call: Z = X·Wᵀ + b, the cross-entropy of Z, and with grad
   * its gradients dx = dZ·W, dw = dZᵀ·X, db = Σ_rows dZ (db only when b is given).
   * Gradients asked for in `out` (tensors) are written there and left out of the result.
   * Large N×C goes through in row blocks (see `chunk`), never holding all the logits.
   */
  linearCrossEntropy(args: LinearCrossEntropyArgs): LinearCrossEntropyResult {
    return this.run(this.prepareLinearCrossEntropy(args));
  }

  /**
   * A softmax-regression classifier (W classes×inputs, b) trained in this instance's
   * memory: fit / predict / predictProba / evaluate / toJSON / dispose (src/classifier.ts).
   */
  classifier(options: ClassifierOptions): SoftmaxClassifier {
    return new SoftmaxClassifier(this, options);
  }

  private run<R>(stage: Stage<R>): R {
    const job = stage();
    runPhases(this.k, job.phases);
    return job.finish();
  }
}
