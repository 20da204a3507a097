/**
 * softmax-ce-wasm: a classifier head's linear layer, softmax and PyTorch-exact
 * cross-entropy with the fused backward, in WebAssembly SIMD.
 *
 *   import { init, reference } from 'softmax-ce-wasm';
 *   const sce = await init();
 *   const { loss, dx, dw, db } = sce.linearCrossEntropy({ x, w, b, target, n, d, c });
 */
import { SoftmaxCE } from './api.js';
import { instantiate, supports, type BuildName } from './wasm.js';

export interface InitOptions {
  /** 'auto' (default) picks 'relaxed' where the engine accepts relaxed SIMD, else 'simd'. */
  build?: 'auto' | BuildName;
}

const BUILDS: readonly BuildName[] = ['relaxed', 'simd'];

/** Compiles (once per process) and instantiates the WebAssembly kernels. */
export async function init(options: InitOptions = {}): Promise<SoftmaxCE> {
  const wanted = options.build ?? 'auto';
  if (wanted !== 'auto' && !BUILDS.includes(wanted)) {
    throw new TypeError(`softmax-ce-wasm: init: build must be 'auto', 'simd' or 'relaxed', got ${JSON.stringify(wanted)}`);
  }
  const supported = BUILDS.filter(supports);
  if (supported.length === 0) {
    throw new Error('softmax-ce-wasm: init: this engine has no WebAssembly SIMD (Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4 have it)');
  }
  const build = wanted === 'auto' ? supported[0] : wanted;
  if (!supported.includes(build)) {
    throw new Error(`softmax-ce-wasm: init: this engine does not accept the '${build}' build ` +
      (build === 'relaxed' ? '(relaxed SIMD: Node ≥ 21, or node --experimental-wasm-relaxed-simd on Node 20; Chrome ≥ 114)' : ''));
  }
  return new SoftmaxCE(await instantiate(build), { build, supported, threads: 1 });
}

export { SoftmaxCE };
export { Tensor } from './tensor.js';
export type { Info } from './core.js';
export type { BuildName } from './wasm.js';
export type * from './types.js';
export { ArgumentError } from './validate.js';
export * as reference from './reference.js';
