/**
 * The in-page half of the thread-pool tests in test/browser.test.ts (page: threads.html,
 * opened with and without `?coi`). It runs in Chromium against the package the import map
 * names and publishes a JSON report on `window.__sceThreads`.
 *
 * For each build the engine accepts and each thread count asked (2, 3 and 'auto'), it makes
 * `init({ build, threads })` and compares every public function with the single-thread
 * `init({ build })` BITWISE (float32 bit patterns; the losses, plain numbers, by Object.is),
 * on shapes whose rows, classes and columns do not divide evenly over the workers nor over
 * the 4-row split unit. In a cross-origin-isolated page the calls run on Web Workers over
 * shared memory; in one that is not, init falls back to one thread and says why. Either way
 * the methods return Promises. Then bad inputs (each must reject, not throw, with the error
 * that names the argument), and dispose() (pending and later calls reject).
 *
 * Opened as threads.html?coi&worker it runs publishInWorker instead: the pool inside a
 * dedicated Web Worker (test/browser/threads-worker.ts), where the calling thread may block
 * and so computes a share (callerComputes), after checking that this page's main thread
 * refuses callerComputes: true. That report goes on `window.__sceWorker`.
 */
import type * as Package from '../../src/index.js';
import type { LinearCrossEntropyArgs, SoftmaxCE, SoftmaxCEThreaded } from '../../src/index.js';
import { runSequence } from '../concurrency.js';
import { randomFloat32, randomLabels, randomProbs, rng } from '../helpers.js';
import type { WorkerReply, WorkerReport, WorkerRequest } from './threads-worker.js';

type Lib = Pick<typeof Package, 'init'>;
type PageLib = Pick<typeof Package, 'init' | 'SoftmaxClassifier' | 'mulberry32'>;
export type Value = number | Float32Array | undefined;

/** One bitwise comparison; `detail` says where the first difference is. */
export interface Same {
  name: string;
  ok: boolean;
  detail: string;
}

/** A bad call: it must return a Promise that rejects with `pattern`; the next valid call must be right. */
export interface Rejected {
  name: string;
  pattern: string;
  /** The call threw synchronously instead of returning a rejected Promise. */
  threwSync: boolean;
  rejected: boolean;
  errorName: string;
  message: string;
  next: Same[];
}

export interface PoolReport {
  build: string;
  asked: number | 'auto';
  threads: number;
  threadsNote: string | null;
  /** Workers the instance runs on (0 when it fell back to this thread). */
  workers: number;
  /** Every method returned a Promise. */
  promises: boolean;
  same: Same[];
  bad: Rejected[];
  /** dispose(): a call started a microtask before it, one queued behind that, and calls after it. */
  disposed: { name: string; outcome: 'resolved' | 'rejected' | 'pending'; message: string }[];
}

export interface ThreadsReport {
  crossOriginIsolated: boolean;
  hasSharedArrayBuffer: boolean;
  hardwareConcurrency: number;
  pools: PoolReport[];
  /** init({ threads: 0 }). */
  badThreads: { rejected: boolean; message: string };
  /** Issue 16 on the page's default pool (2 workers, the page awaits): null without workers. */
  safety: Same[] | null;
  ms: number;
}

declare global {
  // eslint-disable-next-line no-var
  var __sceThreads: { done: true; report?: ThreadsReport; error?: string } | undefined;
}

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

export function same(name: string, got: Value, want: Value): Same {
  if (want === undefined || typeof want === 'number') {
    const ok = Object.is(got, want);
    return { name, ok, detail: ok ? 'identical' : `got ${String(got)}, want ${String(want)}` };
  }
  if (!(got instanceof Float32Array)) return { name, ok: false, detail: `want a Float32Array, got ${Object.prototype.toString.call(got)}` };
  if (got.length !== want.length) return { name, ok: false, detail: `length ${got.length}, want ${want.length}` };
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length), b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return { name, ok: false, detail: `[${i}]: got ${got[i]} (0x${hex(a[i])}), want ${want[i]} (0x${hex(b[i])})` };
  }
  return { name, ok: true, detail: `${a.length} value${a.length === 1 ? '' : 's'} identical` };
}

// n, d, c: 1; sizes that split unevenly over 2 and 3 workers and over the 4-row unit of a
// split (rows for the forward and dX, classes for dW and db); more classes than rows; 4·k + 1.
export const SHAPES: [number, number, number][] = [[1, 3, 2], [5, 7, 3], [13, 17, 29], [37, 50, 101], [67, 33, 9], [130, 65, 10]];

/** Every public function on one shape, through `run` (the single-thread API, or the pool awaited). */
export const everyFunction: Every = async (call, n, d, c) => {
  const r = rng(n * 1000 + d * 10 + c);
  const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
  const logits = randomFloat32(r, n * c, 5), probs = randomProbs(r, n, c);
  const labels = randomLabels(r, n, c), ignored = labels.slice();
  for (let i = 0; i < n; i += 3) if (n > 1) ignored[i] = -100;
  const weight = Float32Array.from({ length: c }, () => 0.5 + r());
  const out: [string, Value][] = [];
  const at = `${n}×${d}×${c}`;
  out.push([`linear ${at}`, await call((s) => s.linear({ x, w, b, n, d, c }))]);
  out.push([`linear without b ${at}`, await call((s) => s.linear({ x, w, n, d, c }))]);
  out.push([`softmax ${at}`, await call((s) => s.softmax(logits, n, c))]);
  out.push([`logSoftmax ${at}`, await call((s) => s.logSoftmax(logits, n, c))]);
  const ce: [string, Parameters<SoftmaxCE['crossEntropy']>[0]][] = [
    ['labels, weight, ε=0.1, ignored rows', { logits, target: ignored, n, c, weight, labelSmoothing: 0.1 }],
    ['probabilities, none', { logits, target: probs, n, c, reduction: 'none' }],
    ['labels, sum, no grad', { logits, target: labels, n, c, reduction: 'sum', grad: false }],
  ];
  for (const [label, args] of ce) {
    const got = await call((s) => s.crossEntropy(args));
    out.push([`crossEntropy ${label} ${at} loss`, got.loss], [`crossEntropy ${label} ${at} dlogits`, got.dlogits]);
  }
  const lce: [string, LinearCrossEntropyArgs][] = [
    ['labels, weight, ignored rows', { x, w, b, target: ignored, n, d, c, weight }],
    ['probabilities, ε=0.1, none', { x, w, b, target: probs, n, d, c, labelSmoothing: 0.1, reduction: 'none' }],
    ['labels, chunk { rows: 5 }', { x, w, b, target: labels, n, d, c, chunk: { rows: 5 } }],
    ['probabilities, weight, chunk { rows: 5 }, sum', { x, w, b, target: probs, n, d, c, weight, reduction: 'sum', chunk: { rows: 5 } }],
    ['labels, no b, no grad', { x, w, target: labels, n, d, c, grad: false }],
  ];
  for (const [label, args] of lce) {
    const got = await call((s) => s.linearCrossEntropy(args));
    for (const key of ['loss', 'dx', 'dw', 'db'] as const) out.push([`linearCrossEntropy ${label} ${at} ${key}`, got[key]]);
  }
  // Resident tensors: weights used in place, gradients written into tensors.
  out.push(...await call(async (s) => {
    const W = s.tensor(w), B = s.tensor(b), dW = s.tensor(c * d), dB = s.tensor(c);
    try {
      const { loss } = await s.linearCrossEntropy({ x, w: W, b: B, target: labels, n, d, c, out: { dw: dW, db: dB } });
      return [[`linearCrossEntropy tensors ${at} loss`, loss], [`linearCrossEntropy tensors ${at} out.dw`, dW.read()],
        [`linearCrossEntropy tensors ${at} out.db`, dB.read()]] as [string, Value][];
    } finally {
      for (const t of [W, B, dW, dB]) t.free();
    }
  }));
  return out;
};

/** Bad arguments, each as a call on the pool; `good` is a valid call made after each. */
function badCalls(p: SoftmaxCEThreaded) {
  const n = 2, d = 3, c = 4, r = rng(11);
  const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
  const logits = randomFloat32(r, n * c), target = new Int32Array([1, 3]);
  const good = { x, w, b, target, n, d, c };
  const table: [string, () => Promise<unknown>, RegExp][] = [
    ['linearCrossEntropy: x too short', () => p.linearCrossEntropy({ ...good, x: x.subarray(1) }), /linearCrossEntropy: x must have length n×d = 6, got 5/],
    ['linearCrossEntropy: label out of range', () => p.linearCrossEntropy({ ...good, target: new Int32Array([1, 4]) }), /linearCrossEntropy: target\[1\] = 4 is outside \[0, c\)/],
    ['linearCrossEntropy: bad chunk', () => p.linearCrossEntropy({ ...good, chunk: { rows: 0 } }), /linearCrossEntropy: chunk must be/],
    ['crossEntropy: null arguments', () => p.crossEntropy(null as never), /crossEntropy: expected an arguments object/],
    ['crossEntropy: weight negative', () => p.crossEntropy({ logits, target, n, c, weight: new Float32Array([1, -1, 1, 1]) }), /crossEntropy: weight must be finite and ≥ 0, got weight\[1\] = -1/],
    ['softmax: n too large for the logits', () => p.softmax(logits, 3, c), /softmax: logits must have length n×c = 12/],
    ['logSoftmax: c zero', () => p.logSoftmax(logits, n, 0), /logSoftmax: c must be a positive integer/],
    ['linear: w too short', () => p.linear({ x, w: w.subarray(2), n, d, c }), /linear: w must have length c×d = 12/],
    ['linearCrossEntropy: unknown option', () => p.linearCrossEntropy({ ...good, label_smoothing: 0.1 } as never), /linearCrossEntropy: unknown option 'label_smoothing'/],
    ['linear: past the 4 GiB address space', () => p.linear({ x: good.x, w: good.w, b: good.b, c: good.c, n: 65536, d: 65536 }), /linear: .*4 GiB/],
  ];
  return { good, table };
}

async function outcome(promise: Promise<unknown>): Promise<{ outcome: 'resolved' | 'rejected' | 'pending'; message: string }> {
  // After dispose() every call settles within microtasks (nothing is computed); one still
  // pending 2 s later would never settle (its workers are gone).
  const timeout = new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 2000));
  const settled = promise.then(() => ({ outcome: 'resolved' as const, message: '' }),
    (e: Error) => ({ outcome: 'rejected' as const, message: String(e?.message ?? e) }));
  return Promise.race([settled, timeout.then(() => ({ outcome: 'pending' as const, message: '' }))]);
}

/** Runs public functions through `call`: the single-thread API, or the pool awaited. */
export type Every = (
  call: <R>(f: (s: SoftmaxCE | SoftmaxCEThreaded) => R | Promise<R>) => Promise<R>, n: number, d: number, c: number,
) => Promise<[string, Value][]>;

/**
 * `every` on the single-thread instance and on the pool, shape by shape, compared bitwise;
 * `promises`: whether every call on the pool returned a Promise.
 */
export async function comparePool(p: SoftmaxCEThreaded, single: SoftmaxCE, shapes: [number, number, number][], every: Every) {
  let promises = true;
  const onPool = async <R>(f: (s: SoftmaxCEThreaded) => R | Promise<R>): Promise<R> => {
    const result = f(p);
    if (!(result instanceof Promise)) promises = false;
    return result;
  };
  const onSingle = async <R>(f: (s: SoftmaxCE) => R | Promise<R>): Promise<R> => f(single);
  const results: Same[] = [];
  for (const [n, d, c] of shapes) {
    const want = await every(onSingle as never, n, d, c);
    const got = await every(onPool as never, n, d, c);
    got.forEach(([name, value], i) => results.push(same(name, value, want[i][1])));
  }
  return { promises, same: results };
}

async function poolReport(init: Lib['init'], single: SoftmaxCE, asked: number | 'auto'): Promise<PoolReport> {
  const build = single.info.build;
  const p = await init({ build, threads: asked });
  const { promises, same: results } = await comparePool(p, single, SHAPES, everyFunction);

  const { good, table } = badCalls(p);
  const bad: Rejected[] = [];
  for (const [name, call, re] of table) {
    let threwSync = false, rejected = false, errorName = '', message = '';
    try {
      await call().catch((e: Error) => {
        rejected = true;
        errorName = e?.name;
        message = String(e?.message ?? e);
      });
    } catch (e) {
      threwSync = true;
      message = String((e as Error)?.message ?? e);
    }
    const got = await p.linearCrossEntropy(good), want = single.linearCrossEntropy(good);
    const next = (['loss', 'dx', 'dw', 'db'] as const).map((k) => same(`next ${k}`, got[k], want[k]));
    bad.push({ name, pattern: re.source, threwSync, rejected, errorName, message, next });
  }

  const [n, d, c] = [67, 33, 9], r = rng(5);
  const args = { x: randomFloat32(r, n * d), w: randomFloat32(r, c * d), target: randomLabels(r, n, c), n, d, c };
  const linearArgs = { x: args.x, w: args.w, n, d, c }; // linear takes no target (an unknown option is an error)
  const info = { build, asked, threads: p.info.threads, threadsNote: p.info.threadsNote ?? null, workers: p.workers?.size ?? 0, promises };
  // dispose() one microtask after a call started: the call has laid out memory and is
  // waiting for its workers (with no workers it ran to the end at once, and resolves).
  const started = p.linearCrossEntropy(args);
  // A call queued behind it, not started yet when dispose() runs.
  const queued = p.linear(linearArgs);
  await new Promise<void>((resolve) => queueMicrotask(() => { p.dispose(); resolve(); }));
  p.dispose(); // twice is harmless
  const calls: [string, Promise<unknown>][] = [
    ['call started a microtask before dispose()', started],
    ['call queued at dispose()', queued],
    ['linear after dispose()', p.linear(linearArgs)],
    ['softmax after dispose()', p.softmax(new Float32Array(6), 2, 3)],
    ['logSoftmax after dispose()', p.logSoftmax(new Float32Array(6), 2, 3)],
    ['crossEntropy after dispose()', p.crossEntropy({ logits: new Float32Array(6), target: [0, 1], n: 2, c: 3 })],
    ['linearCrossEntropy after dispose()', p.linearCrossEntropy(args)],
  ];
  const disposed = await Promise.all(calls.map(async ([name, promise]) => ({ name, ...await outcome(promise) })));
  return { ...info, same: results, bad, disposed };
}

/** Rejects with the message, or resolves with 'resolved' (never hangs past 20 s). */
async function rejection(promise: Promise<unknown>): Promise<string> {
  const { outcome: o, message } = await Promise.race([
    promise.then(() => ({ outcome: 'resolved', message: 'resolved' }), (e: Error) => ({ outcome: 'rejected', message: String(e?.message ?? e) })),
    new Promise<{ outcome: string; message: string }>((resolve) => setTimeout(() => resolve({ outcome: 'pending', message: 'pending after 20 s' }), 20_000)),
  ]);
  return o === 'rejected' ? message : o;
}

/**
 * The threaded instance never computes on the wrong data (issue 16), on the page's default
 * pool: tensor() during a call, inputs taken at call time, write() and free() ordered with
 * calls, a retry right after a worker's death, a worker that stops, the scratch size, the
 * classifier, then random sequences of queued calls and tensor changes (test/concurrency.ts).
 */
async function safety({ init, SoftmaxClassifier, mulberry32 }: PageLib, single: SoftmaxCE): Promise<Same[]> {
  const out: Same[] = [];
  const p = await init({ build: single.info.build, threads: 2 });
  try {
    // 1. A tensor made (and memory grown) while a call runs on the workers.
    const r = rng(1);
    const [n, d, c] = [2048, 512, 256];
    const args = { x: randomFloat32(r, n * d, 3), w: randomFloat32(r, c * d, 3), target: randomLabels(r, n, c), n, d, c };
    const want = single.linearCrossEntropy(args);
    let ended = false;
    const pending = p.linearCrossEntropy(args).finally(() => { ended = true; });
    await new Promise((resolve) => setTimeout(resolve, 0));
    out.push(same('1. the call still runs when the tensor is made', Number(ended), 0));
    const t = p.tensor(16 << 20);
    const got = await pending;
    out.push(same('1. tensor() during a call: loss', got.loss as number, want.loss as number), same('1. tensor() during a call: dw', got.dw, want.dw));
    t.free();

    // 2. Inputs taken at call time; a write and a free ordered with the calls.
    const buf = randomFloat32(r, 5 * 7, 4), copy = buf.slice(), next = randomFloat32(r, 5 * 7, 4);
    const p1 = p.softmax(buf, 5, 7);
    buf.fill(0);
    const T = p.tensor(copy), q1 = p.softmax(T, 5, 7);
    T.write(next);
    const q2 = p.logSoftmax(T, 5, 7);
    T.free();
    out.push(same('2. softmax of a buffer refilled after the call', await p1, single.softmax(copy, 5, 7)));
    out.push(same('2. softmax of a tensor written after the call', await q1, single.softmax(copy, 5, 7)));
    out.push(same('2. logSoftmax of the tensor written before the call, freed after it', await q2, single.logSoftmax(next, 5, 7)));

    // 3. A retry of another shape right after a worker dies.
    const big = { x: randomFloat32(r, 2048 * 1024), w: randomFloat32(r, 1024 * 1024), target: randomLabels(r, 2048, 1024), n: 2048, d: 1024, c: 1024 };
    const retry = { x: randomFloat32(r, 4096 * 1024, 10), w: randomFloat32(r, 8 * 1024, 10), n: 4096, d: 1024, c: 8 };
    p.workers!.crash(0);
    const died = await rejection(p.linearCrossEntropy(big));
    out.push({ name: '3. a worker dies: the call rejects', ok: /worker died.*can be retried/.test(died), detail: died });
    out.push(same('3. the retry right after it', await p.linear(retry), single.linear(retry)));

    // 5. A worker that stops without throwing.
    p.workers!.stallMs = 300;
    p.workers!.hang(1);
    const stalled = await rejection(p.linearCrossEntropy(args));
    out.push({ name: '5. a worker stops: the call rejects in bounded time', ok: /did not reach a barrier within 300 ms/.test(stalled), detail: stalled });
    out.push(same('5. the next call', (await p.linearCrossEntropy(args)).dw, want.dw));
    p.workers!.stallMs = 10_000;

    // 4. Scratch sizes past 2^31 bytes, and none where the kernel never packs.
    const k = single.internals.kernels;
    out.push(same('4. gemm_nt_f32_scratch(16, 2^27)', k.gemm_nt_f32_scratch(16, 2 ** 27), 3 * 2 ** 30));
    out.push(same('4. gemm_nt_f32_scratch(1, 2^27)', k.gemm_nt_f32_scratch(1, 2 ** 27), 0));

    // 6. The classifier refuses a threaded instance.
    let refused = 'no error';
    try {
      new SoftmaxClassifier(p as never, { inputs: 4, classes: 3 });
    } catch (e) {
      refused = String((e as Error).message);
    }
    out.push({ name: '6. SoftmaxClassifier on a threaded instance throws', ok: /threaded instance/.test(refused), detail: refused });

    // Random sequences, bitwise against the synchronous API.
    for (const seed of [1, 2, 3]) {
      let detail = 'identical';
      try {
        await runSequence(p, single, mulberry32(seed), 150);
      } catch (e) {
        detail = `seed ${seed}: ${(e as Error).message}`;
      }
      out.push({ name: `concurrency seed ${seed}`, ok: detail === 'identical', detail });
    }
  } finally {
    p.dispose();
  }
  return out;
}

export async function runThreads(lib: PageLib): Promise<ThreadsReport> {
  const { init } = lib;
  const t0 = performance.now();
  const first = await init();
  const pools: PoolReport[] = [];
  for (const build of first.info.supported) {
    const single = build === first.info.build ? first : await init({ build });
    for (const asked of [2, 3] as const) pools.push(await poolReport(init, single, asked));
  }
  pools.push(await poolReport(init, first, 'auto'));
  const safetyChecks = pools[0].workers > 0 ? await safety(lib, first) : null;
  let badThreads = { rejected: false, message: '' };
  await init({ threads: 0 }).then((p) => p.dispose(), (e: Error) => { badThreads = { rejected: true, message: e.message }; });
  return {
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hasSharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    hardwareConcurrency: navigator.hardwareConcurrency,
    pools,
    badThreads,
    safety: safetyChecks,
    ms: performance.now() - t0,
  };
}

/** Runs the thread-pool suite and leaves its report (or the error) on `window.__sceThreads`. */
export function publishThreads(lib: PageLib): Promise<void> {
  return runThreads(lib).then(
    (report) => { globalThis.__sceThreads = { done: true, report }; },
    (e: unknown) => { globalThis.__sceThreads = { done: true, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }; },
  );
}

/** threads.html?worker: the page's own check, and the report of the pool inside a Web Worker (test/browser/threads-worker.ts). */
export interface InWorkerReport {
  page: {
    crossOriginIsolated: boolean;
    /** init({ threads: 2, callerComputes: true }) on this page's main thread, which may not block. */
    callerComputes: { rejected: boolean; errorName: string; message: string };
  };
  worker: WorkerReport;
}

declare global {
  // eslint-disable-next-line no-var
  var __sceWorker: { done: true; report?: InWorkerReport; error?: string } | undefined;
}

/**
 * Checks that this page's main thread refuses callerComputes: true, then starts the module
 * worker at `workerUrl`, hands it `bundle` (the URL the page imports the package from) and
 * waits for its report. A worker that fails to load or throws outside its run posts
 * nothing, so its error event fails the run at once, and silence fails it after 25 s (less
 * than the test's PAGE_TIMEOUT, so the report says which of the two waits ran out).
 */
export async function runInWorker({ init }: Lib, workerUrl: URL, bundle: string): Promise<InWorkerReport> {
  let callerComputes = { rejected: false, errorName: '', message: '' };
  await init({ threads: 2, callerComputes: true }).then((p) => p.dispose(),
    (e: Error) => { callerComputes = { rejected: true, errorName: e?.name, message: String(e?.message ?? e) }; });

  const worker = new Worker(workerUrl, { type: 'module' });
  try {
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the worker ${workerUrl} in 25 s`)), 25_000);
      worker.onmessage = (e: MessageEvent<WorkerReply>) => { clearTimeout(timer); resolve(e.data); };
      worker.onmessageerror = () => { clearTimeout(timer); reject(new Error('the worker\'s answer could not be deserialized')); };
      worker.onerror = (e) => {
        e.preventDefault();
        clearTimeout(timer);
        reject(new Error(`the worker ${workerUrl} failed: ${e.message || 'no message (its script did not load, or was blocked)'}`));
      };
      worker.postMessage({ bundle } satisfies WorkerRequest);
    });
    if ('error' in reply) throw new Error(`in the worker: ${reply.error}`);
    return { page: { crossOriginIsolated: globalThis.crossOriginIsolated === true, callerComputes }, worker: reply.report };
  } finally {
    worker.terminate();
  }
}

/** Runs the pool inside a Web Worker and leaves the report (or the error) on `window.__sceWorker`. */
export function publishInWorker(lib: Lib, workerUrl: URL, bundle: string): Promise<void> {
  return runInWorker(lib, workerUrl, bundle).then(
    (report) => { globalThis.__sceWorker = { done: true, report }; },
    (e: unknown) => { globalThis.__sceWorker = { done: true, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }; },
  );
}
