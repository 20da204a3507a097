// The page of the bench section "browser" (bench/browser.mjs drives it in headless
// Chromium; served cross-origin isolated). One page plays one role, by its query:
//   ?role=ours          our instances on the page's main thread (init(), threads 1 and 2:
//                       workers only) and, in a dedicated module Web Worker (worker.js),
//                       the same three (there the calling thread computes a share)
//   ?role=tfjs&threads=n   tfjs-backend-wasm after tf.setThreadsCount(n): the step of peer
//                       'tfjs-wasm-xnn' in bench/peers.mjs (its threads count is fixed once
//                       the backend starts, so 1 and 2 threads are two pages)
//   &cores=m            (tfjs) navigator.hardwareConcurrency reads m on this page. tfjs-backend-wasm
//                       4.22 caps its XNNPACK threads at hardwareConcurrency / 2 (it assumes two
//                       hyperthreads per core), so on a 2-core machine setThreadsCount(2) gives 1
//                       thread unless the page reports 4
// It publishes window.bench: { ready: Promise<info>, jitWarm(ms), setup(shape) → cell ids,
// warm(cell, ms), run(cell, k, check) → { times, check }, dispose() }. The Node side
// takes the turns; the page times the steps (performance.now, a Promise until it settles).
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths, setThreadsCount, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { fetchData, infoOf, jitWarm, makeInstances, oursSteps, runSteps, warmSteps } from './worker.mjs';

const query = new URLSearchParams(location.search);
const role = query.get('role');

const context = () => ({
  role, crossOriginIsolated: globalThis.crossOriginIsolated === true, sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
  hardwareConcurrency: navigator.hardwareConcurrency, userAgent: navigator.userAgent, visibilityState: document.visibilityState,
});

// ---------------------------------------------------------------- ours

/** The module Web Worker (worker.js), one request at a time. */
function startWorker() {
  const worker = new Worker('/worker.js', { type: 'module' });
  let next = 0;
  const pending = new Map();
  worker.addEventListener('message', ({ data }) => {
    const p = pending.get(data.id);
    pending.delete(data.id);
    if (data.error) p.reject(new Error(`in the Web Worker: ${data.error}`));
    else p.resolve(data.value);
  });
  worker.addEventListener('error', (e) => {
    for (const p of pending.values()) p.reject(new Error(`the Web Worker failed: ${e.message}`));
    pending.clear();
  });
  return (op, args = {}) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...args });
  });
}

async function oursRole() {
  const instances = await makeInstances();
  const ask = startWorker();
  const inWorker = await ask('init');
  let steps = new Map(), workerCells = [];
  return {
    info: {
      ...context(),
      page: Object.fromEntries(Object.entries(instances).map(([k, s]) => [k, infoOf(s)])),
      worker: inWorker,
    },
    async jitWarm(ms) {
      await jitWarm(instances, ms);
      await ask('jitWarm', { ms });
    },
    async setup(shape) {
      for (const s of steps.values()) s.dispose();
      steps = oursSteps(instances, shape, await fetchData(shape), 'page');
      workerCells = await ask('setup', { shape });
      return [...steps.keys(), ...workerCells];
    },
    warm: (cell, ms) => (steps.has(cell) ? warmSteps(steps.get(cell), ms) : ask('warm', { cell, ms })),
    run: (cell, k, check) => (steps.has(cell) ? runSteps(steps.get(cell), k, check) : ask('run', { cell, k, check })),
    async dispose() {
      for (const s of steps.values()) s.dispose();
      steps = new Map();
      await ask('dispose');
    },
  };
}

// ---------------------------------------------------------------- tfjs-backend-wasm

/**
 * One-hot float32 labels. Not tf.oneHot(…, 'float32'): the wasm backend's OneHot ignores
 * the dtype and writes int32 bits (1 reads as 1.4e-45), so cast an int32 one-hot instead
 * (as bench/peers.mjs does).
 */
const oneHot = (target, c) => tf.cast(tf.oneHot(tf.tensor1d(target, 'int32'), c), 'float32');

/**
 * The step of peer 'tfjs-wasm-xnn' (bench/peers.mjs): inputs uploaded from the same
 * Float32Arrays each call; z = x·transpose(w) + b (explicit transposes: tfjs-wasm's
 * BatchMatMul reaches XNNPACK only without transposed operands); logp = z − logSumExp(z);
 * loss = −Σ y·logp / N; dz = (exp(logp) − y)/N, dx = dz·w, dw = transpose(dz)·x,
 * db = Σ dz; results read back with dataSync outside tf.tidy.
 */
function tfjsStep({ n, d, c }, { x, w, b, target }) {
  const step = () => tf.tidy(() => {
    const xs = tf.tensor2d(x, [n, d]), ws = tf.tensor2d(w, [c, d]), bs = tf.tensor1d(b);
    const y = oneHot(target, c);
    const z = tf.add(tf.matMul(xs, tf.transpose(ws)), bs);
    const logp = tf.sub(z, tf.logSumExp(z, 1, true));
    const loss = tf.neg(tf.div(tf.sum(tf.mul(y, logp)), n));
    const dz = tf.div(tf.sub(tf.exp(logp), y), n);
    return [loss, tf.matMul(dz, ws), tf.matMul(tf.transpose(dz), xs), tf.sum(dz, 0)];
  });
  return {
    run() {
      const tensors = step();
      const [l, dx, dw, db] = tensors.map((t) => t.dataSync());
      tf.dispose(tensors);
      return { loss: l[0], dx, dw, db };
    },
    result: (r) => r,
    dispose() {},
  };
}

async function tfjsRole() {
  const asked = Number(query.get('threads'));
  const cores = query.has('cores') ? Number(query.get('cores')) : null;
  const hardwareConcurrency = navigator.hardwareConcurrency;
  // read by the backend's C++ when its module starts (emscripten_num_logical_cores), so before setBackend
  if (cores) Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { configurable: true, get: () => cores });
  setWasmPaths('/tfjs/');
  setThreadsCount(asked);
  tf.enableProdMode();
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false");
  await tf.ready();
  const wasmFiles = performance.getEntriesByType('resource').map((e) => e.name).filter((u) => u.endsWith('.wasm'))
    .map((u) => new URL(u).pathname.split('/').pop());
  let steps = new Map();
  const cell = `tfjs-${asked}`;
  const warmShape = { n: 64, d: 128, c: 512 };
  return {
    info: {
      ...context(), hardwareConcurrency,
      tfjs: {
        core: tf.version_core, askedThreads: asked, threadsCount: getThreadsCount(), backend: tf.getBackend(),
        hardwareConcurrencyReported: cores ?? hardwareConcurrency,
        WASM_HAS_MULTITHREAD_SUPPORT: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
        WASM_HAS_SIMD_SUPPORT: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), wasmFiles,
      },
    },
    async jitWarm(ms) {
      const step = tfjsStep(warmShape, await fetchData(warmShape));
      const t0 = performance.now();
      while (performance.now() - t0 < ms) step.run();
    },
    async setup(shape) {
      steps = new Map([[cell, tfjsStep(shape, await fetchData(shape))]]);
      return [cell];
    },
    warm: (id, ms) => warmSteps(steps.get(id), ms),
    run: (id, k, check) => runSteps(steps.get(id), k, check),
    tensors: () => tf.memory().numTensors,
    dispose() { steps = new Map(); },
  };
}

// ---------------------------------------------------------------- window.bench

const started = role === 'ours' ? oursRole() : role === 'tfjs' ? tfjsRole() : Promise.reject(new Error(`unknown role '${role}'`));
window.bench = {
  ready: started.then((r) => r.info),
  jitWarm: async (ms) => (await started).jitWarm(ms),
  setup: async (shape) => (await started).setup(shape),
  warm: async (cell, ms) => (await started).warm(cell, ms),
  run: async (cell, k, check) => (await started).run(cell, k, check),
  tensors: async () => (await started).tensors?.() ?? null,
  dispose: async () => (await started).dispose(),
};
