/**
 * The Web Worker half of the caller-computes tests in test/browser.test.ts: a dedicated
 * module worker that threads.html?coi&worker starts (see runInWorker in
 * test/browser/threads.ts), where — unlike on the page — the calling thread may block in
 * Atomics.wait, so `init({ threads: n })` computes one share on this thread and starts
 * n − 1 Web Workers of its own (nested workers over the same shared memory).
 *
 * The page posts the URL its import map gives 'softmax-ce-wasm' (import maps do not apply
 * inside workers, so the bundle is imported by that URL: the same module the page runs).
 * For each pool asked — threads 2 and 3 by default, 2 with callerComputes true and false
 * explicitly — it records info and compares every public function with the single-thread
 * `init()` made in this worker BITWISE, on shapes that split unevenly over the threads;
 * then it posts { report } (or { error }) back to the page.
 */
import type * as Package from '../../src/index.js';
import type { CrossEntropyArgs, LinearCrossEntropyArgs, SoftmaxCE } from '../../src/index.js';
import { randomFloat32, randomLabels, randomProbs, rng } from '../helpers.js';
import { comparePool, type Every, type Same, type Value } from './threads.js';

/** What the page posts to start the run. */
export interface WorkerRequest {
  /** Absolute URL of the bundle (the page's `import.meta.resolve('softmax-ce-wasm')`). */
  bundle: string;
}

export interface WorkerPoolReport {
  asked: { threads: number; callerComputes?: boolean };
  threads: number;
  /** info.workers: Web Workers the pool started (n − 1 when this thread computes a share). */
  workers: number;
  threadsNote: string | null;
  /** Every method returned a Promise. */
  promises: boolean;
  same: Same[];
}

export interface WorkerReport {
  /** The global scope's constructor: 'DedicatedWorkerGlobalScope' when this ran in a worker. */
  scope: string;
  crossOriginIsolated: boolean;
  hasSharedArrayBuffer: boolean;
  /** What Atomics.wait (0 ms) returned here: 'timed-out' where the thread may block; the error where it may not. */
  atomicsWait: string;
  /** The bundle imported. */
  bundle: string;
  /** Build and thread count of the single-thread reference, `init()`. */
  single: { build: string; threads: number; workers: number };
  pools: WorkerPoolReport[];
  ms: number;
}

export type WorkerReply = { report: WorkerReport } | { error: string };

type Lib = Pick<typeof Package, 'init'>;

// Rows, columns and classes that split unevenly over 2 and 3 threads and over the 4-row
// split unit; the second has fewer classes than threads × 4 (dW split by columns).
const SHAPES: [number, number, number][] = [[37, 50, 101], [67, 33, 9]];

// Default callerComputes (true in a worker) for 2 and 3 threads; then 2 with it explicit
// both ways: true must be accepted here (it is refused on a page), false keeps this thread free.
const ASKED: WorkerPoolReport['asked'][] = [{ threads: 2 }, { threads: 3 }, { threads: 2, callerComputes: true }, { threads: 2, callerComputes: false }];

/** Every public function on one shape, through `call` (the single-thread API, or the pool awaited). */
const everyFunction: Every = async (call, n, d, c) => {
  const r = rng(n * 1000 + d * 10 + c);
  const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
  const logits = randomFloat32(r, n * c, 5), probs = randomProbs(r, n, c);
  const labels = randomLabels(r, n, c), ignored = labels.slice();
  for (let i = 0; i < n; i += 3) ignored[i] = -100;
  const weight = Float32Array.from({ length: c }, () => 0.5 + r());
  const at = `${n}×${d}×${c}`;
  const out: [string, Value][] = [];
  out.push([`linear ${at}`, await call((s) => s.linear({ x, w, b, n, d, c }))]);
  out.push([`softmax ${at}`, await call((s) => s.softmax(logits, n, c))]);
  out.push([`logSoftmax ${at}`, await call((s) => s.logSoftmax(logits, n, c))]);
  const ce: [string, CrossEntropyArgs][] = [
    ['labels, weight, ε=0.1, ignored rows', { logits, target: ignored, n, c, weight, labelSmoothing: 0.1 }],
    ['probabilities', { logits, target: probs, n, c }],
  ];
  for (const [label, args] of ce) {
    const got = await call((s) => s.crossEntropy(args));
    out.push([`crossEntropy ${label} ${at} loss`, got.loss], [`crossEntropy ${label} ${at} dlogits`, got.dlogits]);
  }
  const lce: [string, LinearCrossEntropyArgs][] = [
    ['labels', { x, w, b, target: labels, n, d, c }],
    ['labels, weight, ignored rows, chunk { rows: 6 }', { x, w, b, target: ignored, n, d, c, weight, chunk: { rows: 6 } }],
    ['probabilities, ε=0.1, sum, chunk { rows: 6 }', { x, w, b, target: probs, n, d, c, labelSmoothing: 0.1, reduction: 'sum', chunk: { rows: 6 } }],
  ];
  for (const [label, args] of lce) {
    const got = await call((s) => s.linearCrossEntropy(args));
    for (const key of ['loss', 'dx', 'dw', 'db'] as const) out.push([`linearCrossEntropy ${label} ${at} ${key}`, got[key]]);
  }
  return out;
};

async function poolReport(init: Lib['init'], single: SoftmaxCE, asked: WorkerPoolReport['asked']): Promise<WorkerPoolReport> {
  const p = await init(asked);
  try {
    const { promises, same: results } = await comparePool(p, single, SHAPES, everyFunction);
    return { asked, threads: p.info.threads, workers: p.info.workers, threadsNote: p.info.threadsNote ?? null, promises, same: results };
  } finally {
    p.dispose();
  }
}

export async function runWorker({ init }: Lib, bundle: string): Promise<WorkerReport> {
  const t0 = performance.now();
  let atomicsWait: string;
  try {
    atomicsWait = Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0);
  } catch (e) {
    atomicsWait = `${(e as Error).name}: ${(e as Error).message}`;
  }
  const single = await init();
  const pools: WorkerPoolReport[] = [];
  for (const asked of ASKED) pools.push(await poolReport(init, single, asked));
  return {
    scope: globalThis.constructor.name,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hasSharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    atomicsWait,
    bundle,
    single: { build: single.info.build, threads: single.info.threads, workers: single.info.workers },
    pools,
    ms: performance.now() - t0,
  };
}

// One request per worker: import the bundle the page names, run, answer.
addEventListener('message', (event: MessageEvent<WorkerRequest>) => {
  const { bundle } = event.data;
  const reply = (message: WorkerReply) => globalThis.postMessage(message);
  (import(/* @vite-ignore */ bundle) as Promise<Lib>)
    .then((lib) => runWorker(lib, bundle))
    .then((report) => reply({ report }),
      (e: unknown) => reply({ error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }));
}, { once: true });
