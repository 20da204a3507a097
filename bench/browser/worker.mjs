// Our side of the bench section "browser" (bench/browser.mjs), shared by the page and a
// dedicated module Web Worker. bench/browser.mjs bundles this file twice with esbuild:
// as the worker's script (worker.js), and into the page's script (page.js, through
// page.mjs). 'softmax-ce-wasm' stays an import of /lib.js: the copy of build/index.js
// the run measures, served as it is.
//
// In the worker, the calling thread may block (Atomics.wait), so init({ threads: n })
// computes one share here and starts n − 1 Web Workers of its own (callerComputes, the
// default there); on the page it starts n workers and the page only awaits.
import { init } from 'softmax-ce-wasm';

/** Our configurations: init() options. */
export const INSTANCES = { sync: {}, t1: { threads: 1 }, t2: { threads: 2 } };

export async function makeInstances() {
  const out = {};
  for (const [k, options] of Object.entries(INSTANCES)) out[k] = await init(options);
  return out;
}

export const infoOf = (sce) => ({
  build: sce.info.build, threads: sce.info.threads, workers: sce.info.workers ?? 0, threadsNote: sce.info.threadsNote ?? null,
});

/** The inputs of one shape, as bench/common.mjs makeData makes them (the server sends x | w | b | target). */
export async function fetchData({ n, d, c }) {
  const res = await fetch(`/data/${n}x${d}x${c}`);
  if (!res.ok) throw new Error(`GET /data/${n}x${d}x${c}: HTTP ${res.status}`);
  const buf = await res.arrayBuffer();
  let at = 0;
  const take = (T, length) => {
    const a = new T(buf, at, length);
    at += length * 4;
    return a;
  };
  return { x: take(Float32Array, n * d), w: take(Float32Array, c * d), b: take(Float32Array, c), target: take(Int32Array, n) };
}

/**
 * One training step of each instance on one shape, with arrays in and out, and with
 * resident tensors (x, W, b as sce.tensor, gradients into `out` tensors).
 * → Map id → { run: () => result | Promise, result: (r) → { loss, dx, dw, db }, dispose }
 */
export function oursSteps(instances, { n, d, c }, { x, w, b, target }, prefix) {
  const steps = new Map();
  for (const [k, sce] of Object.entries(instances)) {
    const args = { x, w, b, target, n, d, c };
    steps.set(`${prefix}-${k}`, { run: () => sce.linearCrossEntropy(args), result: (r) => r, dispose() {} });
    const t = { x: sce.tensor(x), w: sce.tensor(w), b: sce.tensor(b), dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c) };
    const resident = { x: t.x, w: t.w, b: t.b, target, n, d, c, out: { dx: t.dx, dw: t.dw, db: t.db } };
    steps.set(`${prefix}-${k}-resident`, {
      run: () => sce.linearCrossEntropy(resident),
      result: (r) => ({ loss: r.loss, dx: t.dx.read(), dw: t.dw.read(), db: t.db.read() }),
      dispose() { for (const v of Object.values(t)) v.free(); },
    });
  }
  return steps;
}

/** Runs every instance on a small shape for `ms` each, so the engine (in every worker too) has tiered the kernels up. */
export async function jitWarm(instances, ms) {
  const shape = { n: 64, d: 128, c: 512 };
  const args = { ...(await fetchData(shape)), ...shape };
  for (const sce of Object.values(instances)) {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) await sce.linearCrossEntropy(args);
  }
}

// ---------------------------------------------------------------- timing and checks

const isPromise = (v) => typeof v?.then === 'function';

/** k steps back to back, each timed (a Promise until it settles); the first result checked if asked. */
export async function runSteps(step, k, check) {
  const times = [];
  let first;
  for (let i = 0; i < k; i++) {
    const t0 = performance.now();
    let r = step.run();
    if (isPromise(r)) r = await r;
    times.push(performance.now() - t0);
    if (i === 0 && check) first = r;
  }
  return { times, check: check ? summary(step.result(first)) : undefined };
}

/** Untimed warm-up: steps until `ms` have passed (at least one); the first result checked. */
export async function warmSteps(step, ms) {
  let total = 0, runs = 0, check;
  while (runs === 0 || total < ms) {
    const { times, check: c } = await runSteps(step, 1, runs === 0);
    if (runs === 0) check = c;
    total += times[0];
    runs++;
  }
  return { runs, ms: total, check };
}

/**
 * What the Node side compares: a 64-bit digest of the bits of loss, dx, dw, db (equal
 * digests = bitwise equal results), and a fingerprint any correct implementation
 * reproduces to ~1e-3 (the loss and Σ|v| over ≤ 1000 strided entries of each gradient).
 */
export function summary(r) {
  let h1 = 0x811c9dc5, h2 = 0x9e3779b9;
  const mix = (u) => {
    h1 = Math.imul(h1 ^ u, 0x01000193);
    h2 = Math.imul(h2 ^ u, 0x85ebca6b) ^ (h2 >>> 13);
  };
  const lossBits = new Uint32Array(new Float64Array([Number(r.loss)]).buffer);
  mix(lossBits[0]);
  mix(lossBits[1]);
  const fingerprint = { loss: Number(r.loss) };
  for (const key of ['dx', 'dw', 'db']) {
    const a = r[key];
    mix(a.length);
    const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < u.length; i++) mix(u[i]);
    const k = Math.max(1, Math.floor(a.length / 1000));
    let s = 0;
    for (let i = 0; i < a.length; i += k) s += Math.abs(a[i]);
    fingerprint[key] = s;
  }
  const hex = (v) => (v >>> 0).toString(16).padStart(8, '0');
  return { digest: hex(h1) + hex(h2), fingerprint };
}

// ---------------------------------------------------------------- the worker

/**
 * Requests from the page: { id, op: 'init' | 'jitWarm' | 'setup' | 'warm' | 'run' | 'dispose', … };
 * each answered with { id, value } or { id, error }.
 */
function serveWorker() {
  let instances = null, steps = new Map();
  const ops = {
    async init() {
      let atomicsWait;
      try { atomicsWait = Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0); } catch (e) { atomicsWait = `${e.name}: ${e.message}`; }
      instances = await makeInstances();
      return {
        scope: globalThis.constructor.name, crossOriginIsolated: globalThis.crossOriginIsolated === true, atomicsWait,
        instances: Object.fromEntries(Object.entries(instances).map(([k, s]) => [k, infoOf(s)])),
      };
    },
    jitWarm: ({ ms }) => jitWarm(instances, ms),
    async setup({ shape }) {
      for (const s of steps.values()) s.dispose();
      steps = oursSteps(instances, shape, await fetchData(shape), 'worker');
      return [...steps.keys()];
    },
    warm: ({ cell, ms }) => warmSteps(steps.get(cell), ms),
    run: ({ cell, k, check }) => runSteps(steps.get(cell), k, check),
    dispose() {
      for (const s of steps.values()) s.dispose();
      steps = new Map();
    },
  };
  addEventListener('message', async ({ data }) => {
    try {
      postMessage({ id: data.id, value: await ops[data.op](data) });
    } catch (e) {
      postMessage({ id: data.id, error: `${e?.name}: ${e?.message}\n${e?.stack ?? ''}` });
    }
  });
}

if (typeof WorkerGlobalScope === 'function' && globalThis instanceof WorkerGlobalScope) serveWorker();
