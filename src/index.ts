/**
 * softmax-ce-wasm: a classifier head's linear layer, softmax and PyTorch-exact
 * cross-entropy with the fused backward, in WebAssembly SIMD.
 *
 *   import { init, reference } from 'softmax-ce-wasm';
 *   const sce = await init();
 *   const { loss, dx, dw, db } = sce.linearCrossEntropy({ x, w, b, target, n, d, c });
 */
import { SoftmaxCE } from './api.js';
import type { Info } from './core.js';
import { mayBlock, Pool, workerPlatform } from './pool.js';
import { SoftmaxCEThreaded } from './threaded.js';
import { checkKnown, KNOWN } from './options.js';
import { instantiate, instantiateShared, MAX_PAGES, SHARED_INITIAL_PAGES, sharedMemory, supports, type BuildName } from './wasm.js';

export interface InitOptions {
  /** 'auto' (default) picks 'relaxed' where the engine accepts relaxed SIMD, else 'simd'. */
  build?: 'auto' | BuildName;
  /**
   * Run kernels on this many threads ('auto': one per core) over shared WebAssembly
   * memory: workers, and the calling thread where it computes (see callerComputes). The
   * instance's methods then return Promises. Where workers or SharedArrayBuffer are
   * missing it runs on one thread and `info.threadsNote` says why.
   */
  threads?: number | 'auto';
  /**
   * With `threads`: whether the calling thread computes a share of each call. Default:
   * yes where it may block — Node, or inside a Web Worker — so `threads: n` starts n − 1
   * workers and a call holds the calling thread for its share (its Promise is settled when
   * the call ends); never on a browser page, whose main thread must not block (there, n
   * workers compute and the page only awaits them). `false` keeps the calling thread
   * free everywhere, at the cost of a wake-up per call.
   */
  callerComputes?: boolean;
  /**
   * The most bytes of WebAssembly memory the instance may hold (the memory's `maximum`):
   * a multiple of 65536 in [1 MiB, 4 GiB]; default 4 GiB. A call that would need more
   * fails with a RangeError and leaves everything as it was. For pages that share their
   * memory budget, and to test how calls fail when memory cannot grow.
   */
  maxMemory?: number;
}

const PAGE = 65536;

/** maxMemory in pages, checked (undefined: the default maximum). */
function maxPages(maxMemory: unknown): number | undefined {
  if (maxMemory === undefined) return undefined;
  if (typeof maxMemory !== 'number' || !Number.isInteger(maxMemory) || maxMemory % PAGE !== 0 ||
    maxMemory < SHARED_INITIAL_PAGES * PAGE || maxMemory > MAX_PAGES * PAGE) {
    throw new TypeError(`softmax-ce-wasm: init: maxMemory must be a whole number of 64 KiB pages in bytes, ` +
      `from ${SHARED_INITIAL_PAGES * PAGE} (1 MiB) to ${MAX_PAGES * PAGE} (4 GiB), got ${JSON.stringify(maxMemory)}`);
  }
  return maxMemory / PAGE;
}

const BUILDS: readonly BuildName[] = ['relaxed', 'simd'];

function pickBuild(wanted: InitOptions['build']): { build: BuildName; supported: BuildName[] } {
  wanted ??= 'auto';
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
  return { build, supported };
}

function coreCount(): number {
  const g = globalThis as { navigator?: { hardwareConcurrency?: number }; process?: { getBuiltinModule?: (id: string) => unknown } };
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  return Math.max(1, os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1);
}

/** Compiles (once per process) and instantiates the WebAssembly kernels; with `threads`, starts a pool of workers. */
export async function init(options?: InitOptions & { threads?: undefined }): Promise<SoftmaxCE>;
export async function init(options: InitOptions & { threads: number | 'auto' }): Promise<SoftmaxCEThreaded>;
/** With options whose `threads` is not known statically (a variable of type InitOptions): either instance. */
export async function init(options?: InitOptions): Promise<SoftmaxCE | SoftmaxCEThreaded>;
export async function init(options: InitOptions = {}): Promise<SoftmaxCE | SoftmaxCEThreaded> {
  if (options === null || typeof options !== 'object') throw new TypeError(`softmax-ce-wasm: init: options must be an object, got ${options === null ? 'null' : typeof options}`);
  // `thread: 4` would otherwise give one thread without a word.
  checkKnown('init', options, KNOWN.init);
  const { build, supported } = pickBuild(options.build);
  const pages = maxPages(options.maxMemory);
  if (options.threads === undefined) return new SoftmaxCE(await instantiate(build, pages), { build, supported, threads: 1, workers: 0 });

  const { threads, callerComputes } = options;
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new TypeError(`softmax-ce-wasm: init: threads must be 'auto' or an integer in [1, 256], got ${JSON.stringify(threads)}`);
  }
  if (callerComputes !== undefined && typeof callerComputes !== 'boolean') {
    throw new TypeError(`softmax-ce-wasm: init: callerComputes must be a boolean, got ${JSON.stringify(callerComputes)}`);
  }
  const single = async (note: string) => new SoftmaxCEThreaded(await instantiate(build, pages),
    { build, supported, threads: 1, workers: 0, threadsNote: `running on one thread: ${note}` }, null);
  const size = threads === 'auto' ? coreCount() : threads;
  const platform = workerPlatform();
  let note = 'reason' in platform ? platform.reason : undefined;
  if (!note && !supports(`${build}Threads`)) note = 'this engine does not accept WebAssembly threads (shared memory, atomics)';
  if (note) return single(note);
  const blocking = mayBlock();
  if (callerComputes && !blocking) {
    throw new TypeError('softmax-ce-wasm: init: callerComputes: true needs a thread that may block (Node, a Web Worker); a browser page\'s main thread may not');
  }
  const memory = sharedMemory(pages);
  const { module, kernels } = await instantiateShared(build, memory);
  const pool = new Pool(size, (platform as { spawn: ConstructorParameters<typeof Pool>[1] }).spawn, module, memory,
    (callerComputes ?? blocking) ? kernels : null);
  try {
    await pool.ready();
  } catch (e) {
    pool.dispose();
    return single((e as Error).message);
  }
  return new SoftmaxCEThreaded(kernels, { build, supported, threads: size, workers: pool.size }, pool);
}

export { SoftmaxCE, SoftmaxCEThreaded };
export { Tensor } from './tensor.js';
export type { Info };
export type { BuildName } from './wasm.js';
export type * from './types.js';
export { ArgumentError } from './validate.js';
export * as reference from './reference.js';
export { SoftmaxClassifier, mulberry32 } from './classifier.js';
export type {
  BatchInfo, ClassifierJSON, ClassifierOptions, EpochInfo, FitHistory, FitOptions, Labels, OptimizerName,
} from './classifier.js';
