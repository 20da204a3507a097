/**
 * The only file that touches `WebAssembly`: decodes the inlined binaries, picks the
 * build the engine accepts, compiles each build once per process (cached), and
 * instantiates it — with its own memory, or for the thread pool over one shared memory
 * that every worker instantiates the same module on.
 */
import * as inline from '../build/wasm-inline.js';

export type BuildName = 'simd' | 'relaxed';
/** A binary: a build, or its variant for the thread pool (imported shared memory, atomics). */
export type BinaryName = BuildName | `${BuildName}Threads`;

/** The kernels' numbers-only ABI (see assembly/index.ts for what each computes). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  // The gemms pack operands into scratch (a pointer and its byte size, per concurrent call)
  // when it is at least gemm_*_scratch(…) bytes; with less they run unpacked, same results.
  gemm_nt_f32(c: number, ldc: number, a: number, lda: number, b: number, ldb: number, bias: number,
    n: number, k: number, rowBegin: number, rowEnd: number, scratch: number, scratchBytes: number): void;
  gemm_nn_f32(c: number, ldc: number, a: number, lda: number, b: number, ldb: number,
    n: number, k: number, rowBegin: number, rowEnd: number, accumulate: number, scratch: number, scratchBytes: number): void;
  gemm_tn_f32(c: number, ldc: number, a: number, lda: number, b: number, ldb: number,
    n: number, k: number, rowBegin: number, rowEnd: number, accumulate: number, scratch: number, scratchBytes: number): void;
  gemm_nt_f32_scratch(n: number, k: number): number;
  gemm_nn_f32_scratch(m: number, k: number): number;
  gemm_tn_f32_scratch(m: number, k: number): number;
  colsum_f32(out: number, a: number, lda: number, k: number, colBegin: number, colEnd: number, accumulate: number): void;
  softmax_rows_f32(out: number, ldo: number, z: number, ldz: number, c: number, rowBegin: number, rowEnd: number): void;
  log_softmax_rows_f32(out: number, ldo: number, z: number, ldz: number, c: number, rowBegin: number, rowEnd: number): void;
  xent_index_rows_f32(dz: number, z: number, ldz: number, labels: number, weight: number, loss: number,
    c: number, rowBegin: number, rowEnd: number, ignoreIndex: number,
    smoothing: number, weightSum: number, gradScale: number, grad: number): void;
  xent_prob_rows_f32(dz: number, z: number, ldz: number, q: number, ldq: number, weight: number, loss: number,
    c: number, rowBegin: number, rowEnd: number, smoothing: number, gradScale: number, grad: number): void;
  /** Test-only (test/exp.test.ts): out[i] = the kernels' SIMD exp of x[i], i < len. */
  exp_f32(out: number, x: number, len: number): void;
  tanh_f32(out: number, x: number, len: number): void;
  // Optimizer updates (assembly/sgd.ts, momentum.ts, adam.ts): in place on param and the state buffers.
  sgd_update_f32(param: number, grad: number, len: number, lr: number, weightDecay: number): void;
  sgd_momentum_update_f32(param: number, grad: number, velocity: number, len: number, lr: number,
    momentum: number, dampening: number, weightDecay: number, nesterov: number, first: number): void;
  adam_update_f32(param: number, grad: number, m: number, v: number, len: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
  adamw_update_f32(param: number, grad: number, m: number, v: number, len: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  // atob exists in browsers and in Node ≥ 16; no Buffer, so no Node built-in reaches browsers.
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const bytesCache = new Map<BinaryName, Uint8Array<ArrayBuffer>>();
const moduleCache = new Map<BinaryName, Promise<WebAssembly.Module>>();

function buildBytes(name: BinaryName): Uint8Array<ArrayBuffer> {
  let bytes = bytesCache.get(name);
  if (!bytes) {
    bytes = decodeBase64(inline[name]);
    bytesCache.set(name, bytes);
  }
  return bytes;
}

/** Whether this engine validates the given build (relaxed SIMD needs Node ≥ 21, Chrome ≥ 114). */
export function supports(name: BinaryName): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(buildBytes(name));
}

export function compile(name: BinaryName): Promise<WebAssembly.Module> {
  let module = moduleCache.get(name);
  if (!module) {
    module = WebAssembly.compile(buildBytes(name)).catch((e: unknown) => {
      // The bytes validated, so a CompileError here is a page's Content-Security-Policy
      // refusing WebAssembly (each engine words it its own way): say which source to allow.
      if (!(e instanceof WebAssembly.CompileError) || !/Content.Security|CSP|unsafe-eval/i.test(e.message)) throw e;
      throw new Error('softmax-ce-wasm: init: the page\'s Content-Security-Policy refuses to compile WebAssembly; ' +
        `allow it with script-src 'wasm-unsafe-eval' (the engine said: ${e.message})`, { cause: e });
    });
    moduleCache.set(name, module);
    module.catch(() => moduleCache.delete(name));
  }
  return module;
}

/** wasm32's limit: 65536 pages of 64 KiB, 4 GiB. */
export const MAX_PAGES = 65536;

/**
 * An instance of a build over its own memory, which it imports as env.memory so that its
 * `maximum` can be set: `maxPages` (init's maxMemory), else wasm32's 4 GiB. A grow past
 * the maximum fails — as an engine near its memory limit may refuse any grow — and the
 * arena turns that into a RangeError.
 */
export async function instantiate(name: BuildName, maxPages = MAX_PAGES): Promise<KernelExports> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: maxPages });
  const instance = await WebAssembly.instantiate(await compile(name), { env: { memory } });
  return { ...(instance.exports as unknown as KernelExports), memory };
}

/** Pages the shared memory starts with (the arena grows it on demand). */
export const SHARED_INITIAL_PAGES = 16;

/**
 * Shared memory for the pool: the threads builds import it as env.memory. Its maximum
 * is `maxPages`, else wasm32's 4 GiB (a shared memory cannot move, so engines reserve
 * address space for it up front; where that fails, 1 GiB).
 */
export function sharedMemory(maxPages?: number): WebAssembly.Memory {
  if (maxPages !== undefined) return new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: maxPages, shared: true });
  try {
    return new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  } catch {
    return new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: 16384, shared: true });
  }
}

/** The main thread's instance of a threads build over the shared memory (it lays memory out; workers compute). */
export async function instantiateShared(name: BuildName, memory: WebAssembly.Memory): Promise<{ module: WebAssembly.Module; kernels: KernelExports }> {
  const module = await compile(`${name}Threads`);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { module, kernels: { ...(instance.exports as unknown as KernelExports), memory } };
}
