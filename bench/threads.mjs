// Bench section "threads": one training step on 1 thread against 2.
//   ours · sync                 init(): SoftmaxCE, kernels on the calling thread (the baseline)
//   ours · threads: 1 | 2       init({ threads }): SoftmaxCEThreaded, Node's default: the calling
//                               thread computes a share, so 2 threads = it + 1 worker
//   ours · 1 | 2 workers        init({ threads, callerComputes: false }): workers only, the
//                               calling thread waits (what a browser page gets)
//   (each with arrays in and out, and with resident tensors, which take the copies — done on
//   the calling thread, serially — out of the step)
//   tfjs-wasm · XNNPACK with setThreadsCount(2): what it runs on in Node (tf.getThreadsCount())
//   tfjs-wasm with its threaded binary forced: tried in a child process; the error is reported
//
//   npm run bench -- --section threads          about 2 min on the 2-core dev machine
//   npm run bench -- --section threads --quick  shorter time boxes
//
// Also measured: the pool's dispatch cost (tiny calls through the pool against the same
// call on the calling thread), and the machine's ceiling for 2 threads right now: two independent
// single-thread steps on two worker threads at once against one alone (on a shared
// machine another process's load takes cores too, and no pool can scale past that).
// Timing: medians of interleaved runs after warm-up (bench/measure.mjs; a Promise is timed
// until it settles). Results: bench/results/threads.{json,md} (build/bench/ for --quick, unless --save).
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import path from 'node:path';
import { createRequire } from 'node:module';
import os from 'node:os';
import { PEERS, loadTf } from './peers.mjs';
import { TIMING, timeCells } from './measure.mjs';
import { importLibrary, libraryFile, makeData, root, stamp, writeSection } from './common.mjs';

const gc = globalThis.gc ?? (() => {});

export const THREAD_SHAPES = [
  { id: '128x512x1000', n: 128, d: 512, c: 1000 },
  { id: '64x768x32000', n: 64, d: 768, c: 32000 },
  { id: '256x784x10', n: 256, d: 784, c: 10 },
];
const TARGET_SPEEDUP = 1.8;
const LABELS = {
  'ceiling-one': 'ceiling · 1 sync step on 1 worker',
  'ceiling-two': 'ceiling · 2 sync steps on 2 workers at once',
  'tfjs-wasm-xnn': 'tfjs-wasm · XNNPACK, setThreadsCount(2)',
};

/** Our instances: init() options, and the row label. */
const INSTANCES = {
  sync: { options: {}, label: 'ours · sync (calling thread)', threads: 1 },
  t1: { options: { threads: 1 }, label: 'ours · threads: 1 (calling thread)', threads: 1 },
  t2: { options: { threads: 2 }, label: 'ours · threads: 2 (calling thread + 1 worker)', threads: 2 },
  w1: { options: { threads: 1, callerComputes: false }, label: 'ours · 1 worker (callerComputes: false)', threads: 1 },
  w2: { options: { threads: 2, callerComputes: false }, label: 'ours · 2 workers (callerComputes: false)', threads: 2 },
};
const OURS = [false, true].flatMap((resident) => Object.entries(INSTANCES).map(([instance, { label, threads }]) => ({
  id: resident ? `${instance}-resident` : instance, label: resident ? `${label} · resident` : label, instance, threads, resident,
})));
/** 2T ÷ 1T pairs: the row with 2 threads, and its 1-thread twin. */
const TWIN = { t2: 't1', w2: 'w1', 't2-resident': 't1-resident', 'w2-resident': 'w1-resident', 'ceiling-two': 'ceiling-one' };

/** Step of one of our configurations: arrays, or resident x, W, b and `out` gradients. */
function oursStep(sce, cfg, { n, d, c }, { x, w, b, target }) {
  if (!cfg.resident) {
    const args = { x, w, b, target, n, d, c };
    return { run: () => sce.linearCrossEntropy(args), dispose() {} };
  }
  const t = { x: sce.tensor(x), w: sce.tensor(w), b: sce.tensor(b), dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c) };
  const args = { x: t.x, w: t.w, b: t.b, target, n, d, c, out: { dx: t.dx, dw: t.dw, db: t.db } };
  return { run: () => sce.linearCrossEntropy(args), dispose() { for (const v of Object.values(t)) v.free(); } };
}

/** Whether two step results are bitwise the same (loss and every element of dx, dw, db). */
function bitwiseEqual(a, b) {
  if (!Object.is(a.loss, b.loss)) return false;
  for (const key of ['dx', 'dw', 'db']) {
    const u = new Uint32Array(a[key].buffer, a[key].byteOffset, a[key].length), v = new Uint32Array(b[key].buffer, b[key].byteOffset, b[key].length);
    if (u.length !== v.length) return false;
    for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return false;
  }
  return true;
}

/** Runs every instance on a small shape for a while, so V8 (in each worker too) has tiered the kernels up. */
async function jitWarm(instances, ms) {
  const shape = { n: 64, d: 128, c: 512 };
  const data = makeData(shape);
  for (const sce of Object.values(instances)) {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) await sce.linearCrossEntropy({ ...data, ...shape });
  }
}

// ---------------------------------------------------------------- the section (in the bench child)

export async function threads({ quick = false, save = !quick } = {}) {
  const log = (s) => process.stderr.write(s + '\n');
  const loadStart = os.loadavg();
  const lib = await importLibrary();
  const instances = {};
  for (const [k, { options }] of Object.entries(INSTANCES)) instances[k] = await lib.init(options);
  for (const [k, sce] of Object.entries(instances)) {
    log(`bench threads: ${k}: ${sce.info.build}, ${sce.info.threads} thread(s), ${sce.info.workers} worker(s)${sce.info.threadsNote ? ` (${sce.info.threadsNote})` : ''}`);
  }
  const ctx = {};
  await loadTf(ctx, { threads: 2 });
  const tfjsThreads = ctx.tf.getThreadsCount();
  const tfjsMultithreadFlag = await ctx.tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  log(`bench threads: tfjs-wasm after setThreadsCount(2): getThreadsCount() = ${tfjsThreads}, WASM_HAS_MULTITHREAD_SUPPORT = ${tfjsMultithreadFlag}`);
  const ceiling = await ceilingWorkers();
  log('bench threads: JIT warm-up…');
  await jitWarm(instances, quick ? 300 : 700);
  await ceiling.warm(quick ? 300 : 700);

  // At least 10 runs a cell (a 64×768×32000 step takes 0.15–0.5 s, and 5 left its ratios to
  // chance), 5 in a row per turn: steps back to back, as training runs them (bench/measure.mjs).
  const timing = { ...(quick ? TIMING.quick : { ...TIMING.full, minSamples: 10, budgetMs: 20_000 }), runsPerTurn: 5 };
  const cells = [], equality = [];
  const label = (id) => LABELS[id] ?? OURS.find((c) => c.id === id).label;
  try {
    for (const shape of THREAD_SHAPES) {
      const data = makeData(shape);
      const steps = new Map(OURS.map((cfg) => [cfg.id, oursStep(instances[cfg.instance], cfg, shape, data)]));
      const tfjs = PEERS.find((p) => p.id === 'tfjs-wasm-xnn').setup(shape, data, ctx);
      await ceiling.setup(shape);
      const firsts = new Map();
      const meters = new Map([
        ...OURS.map((cfg) => [cfg.id, metered(steps.get(cfg.id).run)]),
        ['ceiling-one', metered(ceiling.one)], ['ceiling-two', metered(ceiling.two)], ['tfjs-wasm-xnn', metered(tfjs.step)],
      ]);
      log(`bench threads: ${shape.id} step`);
      const results = await timeCells([...meters].map(([id, m]) => ({
        key: id, run: m.run, prepare: id === 'tfjs-wasm-xnn' ? tfjs.prepare : undefined,
        check: OURS.some((c) => c.id === id) ? (r) => firsts.set(id, r) : undefined,
      })), timing, (id, r) => log(`  ${label(id).padEnd(44)} ${r.medianMs == null ? r.stop : `${r.medianMs.toPrecision(4).padStart(9)} ms`} (${r.samples.length} runs)`));
      const flops = 6 * shape.n * shape.d * shape.c;
      for (const [id, r] of results) {
        const cfg = OURS.find((c) => c.id === id), m = meters.get(id);
        const perRun = id === 'ceiling-two' ? 2 : 1; // two whole steps, one on each worker
        cells.push({
          shape: shape.id, n: shape.n, d: shape.d, c: shape.c, id, label: label(id),
          threads: cfg ? cfg.threads : id === 'tfjs-wasm-xnn' ? tfjsThreads : perRun,
          pool: cfg ? cfg.instance !== 'sync' : null, resident: Boolean(cfg?.resident), ceiling: id.startsWith('ceiling'),
          workers: cfg ? instances[cfg.instance].info.workers : null,
          medianMs: r.medianMs, minMs: r.minMs, gflops: r.medianMs ? (perRun * flops) / (r.medianMs * 1e6) : null,
          coresUsed: m.wallMs ? m.cpuMs / m.wallMs : null, cpuMsPerRun: m.runs ? m.cpuMs / m.runs : null,
          samples: r.samples, warmups: r.warmups, stop: r.stop,
        });
      }
      for (const id of ['t1', 't2', 'w1', 'w2']) {
        const same = firsts.get(id) && firsts.get('sync') ? bitwiseEqual(firsts.get(id), firsts.get('sync')) : null;
        equality.push({ shape: shape.id, a: id, b: 'sync', bitwiseEqual: same });
        if (same === false) log(`bench threads: WARNING ${id} differs from sync on ${shape.id}`);
      }
      for (const s of steps.values()) s.dispose();
      tfjs.dispose();
      gc();
    }
  } finally {
    await ceiling.close();
  }

  log('bench threads: dispatch cost (tiny calls)…');
  const dispatch = await measureDispatch(instances, quick);
  for (const d of dispatch) log(`  ${d.call.padEnd(36)} ${Object.entries(d.us).map(([k, v]) => `${k} ${v.toFixed(1)} µs`).join(', ')}`);

  log('bench threads: tfjs-wasm with its threaded binary forced, in a child process…');
  const tfjsForced = await tfjsForcedThreads();
  log(`  ${tfjsForced.runs ? 'runs' : 'does not run'}: ${tfjsForced.summary}`);

  const meta = await stamp({ instance: instances.sync, builds: [instances.sync.info.build], loadStart, quick });
  meta.threads = { ...Object.fromEntries(Object.entries(instances).map(([k, s]) => [k, { threads: s.info.threads, workers: s.info.workers }])), notes: Object.fromEntries(
    Object.entries(instances).filter(([, s]) => s.info.threadsNote).map(([k, s]) => [k, s.info.threadsNote])) };
  for (const sce of Object.values(instances)) sce.dispose?.();
  const out = {
    meta, section: 'threads', timing, targetSpeedup: TARGET_SPEEDUP, cells, bitwise: equality, dispatch,
    tfjs: { requestedThreads: 2, getThreadsCount: tfjsThreads, WASM_HAS_MULTITHREAD_SUPPORT: tfjsMultithreadFlag, forcedThreadedBinary: tfjsForced },
  };
  out.speedups = THREAD_SHAPES.map((s) => speedups(out, s));
  const dir = await writeSection('threads', out, threadsTable(out), save);
  log(`bench threads: wrote ${dir}/threads.json and .md`);
}

export function speedups(results, shape) {
  const t = (id) => results.cells.find((c) => c.shape === shape.id && c.id === id)?.medianMs;
  const r = (a, b) => (t(a) && t(b) ? t(a) / t(b) : null);
  const tiny = results.dispatch.find((d) => d.id === 'step');
  // what a call through the pool costs beyond the kernels (2 threads): the tiny step − the same on the calling thread
  const dispatchMs = tiny ? (tiny.us.t2 - tiny.us.sync) / 1000 : null;
  // An estimate, not a measurement: what 2 free cores could give if the kernels split
  // perfectly and all else in the 1-thread step stayed serial (copies in and out on the
  // calling thread, dispatch, JS): kernels ≈ the sync resident step.
  const bound = (one) => (t(one) && t('sync-resident') ? t(one) / Math.max(t(one) - t('sync-resident') / 2, t(one) / 2) : null);
  const out = {
    shape: shape.id,
    // Node's default (the calling thread computes a share) and workers only
    arrays: r('t1', 't2'), resident: r('t1-resident', 't2-resident'),
    workersArrays: r('w1', 'w2'), workersResident: r('w1-resident', 'w2-resident'),
    vsSyncArrays: r('sync', 't2'), vsSyncResident: r('sync-resident', 't2-resident'),
    overhead1: r('t1', 'sync'), workersOverhead1: r('w1', 'sync'),
    // what two threads can get now: 2 whole steps at once vs 1 (see ceilingWorkers)
    ceiling: t('ceiling-one') && t('ceiling-two') ? (2 * t('ceiling-one')) / t('ceiling-two') : null,
    coresT2: results.cells.find((c) => c.shape === shape.id && c.id === 't2')?.coresUsed ?? null,
    coresCeiling: results.cells.find((c) => c.shape === shape.id && c.id === 'ceiling-two')?.coresUsed ?? null,
    dispatchShare: dispatchMs != null && t('t2') ? dispatchMs / t('t2') : null,
    copyMs: t('sync') && t('sync-resident') ? Math.max(0, t('sync') - t('sync-resident')) : null,
    boundArrays: bound('t1'), boundResident: bound('t1-resident'),
  };
  out.metArrays = out.arrays != null ? out.arrays >= TARGET_SPEEDUP : null;
  out.metResident = out.resident != null ? out.resident >= TARGET_SPEEDUP : null;
  return out;
}

/**
 * Tiny calls, where the kernels take almost nothing: the rest is the cost of a call —
 * Promise and queue, and for the pool its job (control block, wake-ups, barrier). A step is
 * 3 phases here (forward; loss rows; backward), softmax 1; with 8 rows and 8 classes
 * each of 2 threads gets a part of every phase.
 */
async function measureDispatch(instances, quick) {
  const shape = { n: 8, d: 4, c: 8 };
  const data = makeData(shape);
  const logits = new Float32Array(8 * 8).fill(0.5);
  const calls = [
    { id: 'step', call: `linearCrossEntropy ${shape.n}×${shape.d}×${shape.c}`, run: (sce) => () => sce.linearCrossEntropy({ ...data, ...shape }) },
    { id: 'softmax', call: 'softmax 8×8', run: (sce) => () => sce.softmax(logits, 8, 8) },
  ];
  const t = quick ? { warmMs: 100, minSamples: 100, minMs: 300, maxSamples: 2000, budgetMs: 2000 }
    : { warmMs: 200, minSamples: 300, minMs: 1000, maxSamples: 5000, budgetMs: 4000 };
  const out = [];
  for (const c of calls) {
    const r = await timeCells(Object.entries(instances).map(([k, sce]) => ({ key: k, run: c.run(sce) })), t);
    const us = Object.fromEntries(Object.keys(instances).map((k) => [k, r.get(k).medianMs * 1000]));
    const samples = Object.fromEntries(Object.keys(instances).map((k) => [k, r.get(k).samples.length]));
    out.push({ id: c.id, call: c.call, us, samples });
  }
  return out;
}

// ---------------------------------------------------------------- machine ceiling

/**
 * The ceiling for 2 threads at this moment on this machine: two worker threads, each
 * with its own single-thread instance and its own resident copy of the inputs (no copies,
 * like the resident rows: the kernels alone), each run the whole step — no split, nothing
 * shared. Timed as cells among the others (same load): one step
 * on one worker, and one step on each of the two at once. 2 × t(one) ÷ t(two at once) is
 * the speed-up two threads can get now: 2 on two idle cores, less when other processes
 * hold a core.
 */
async function ceilingWorkers() {
  const workers = [0, 1].map(() => new Worker(fileURLToPath(import.meta.url), { workerData: { role: 'ceiling', lib: libraryFile() } }));
  const ask = (w, msg) => new Promise((resolve, reject) => {
    const onError = (e) => reject(e);
    w.once('error', onError);
    w.once('message', (m) => { w.off('error', onError); resolve(m); });
    w.postMessage(msg);
  });
  return {
    setup: (shape) => Promise.all(workers.map((w) => ask(w, { setup: shape }))),
    warm: (ms) => Promise.all(workers.map((w) => ask(w, { warm: ms }))),
    one: () => ask(workers[0], { step: true }),
    two: () => Promise.all(workers.map((w) => ask(w, { step: true }))),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

async function ceilingWorker({ lib }) {
  const { init } = await import(pathToFileURL(lib).href);
  const sce = await init();
  let args = null, tensors = {};
  parentPort.on('message', (msg) => {
    if (msg.setup) {
      const { n, d, c } = msg.setup, data = makeData(msg.setup);
      for (const t of Object.values(tensors)) t.free();
      tensors = { x: sce.tensor(data.x), w: sce.tensor(data.w), b: sce.tensor(data.b), dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c) };
      args = { x: tensors.x, w: tensors.w, b: tensors.b, target: data.target, n, d, c, out: { dx: tensors.dx, dw: tensors.dw, db: tensors.db } };
    }
    else if (msg.warm) {
      const shape = { n: 64, d: 128, c: 512 }, warm = { ...makeData(shape), ...shape };
      const t0 = performance.now();
      while (performance.now() - t0 < msg.warm) sce.linearCrossEntropy(warm);
    } else if (msg.step) sce.linearCrossEntropy(args);
    parentPort.postMessage('ok');
  });
}

/**
 * Wraps a cell's run to add up the process's CPU time (every thread: the pool's workers
 * too) and the wall time: cpu ÷ wall = the cores the cell actually got.
 */
function metered(run) {
  const m = { cpuMs: 0, wallMs: 0, runs: 0 };
  const add = (c0, t0) => {
    const c = process.cpuUsage(c0);
    m.cpuMs += (c.user + c.system) / 1000;
    m.wallMs += performance.now() - t0;
    m.runs++;
  };
  m.run = () => {
    const c0 = process.cpuUsage(), t0 = performance.now();
    const r = run();
    if (typeof r?.then === 'function') return r.then((v) => { add(c0, t0); return v; });
    add(c0, t0);
    return r;
  };
  return m;
}

// ---------------------------------------------------------------- tfjs-wasm threads in Node

/**
 * tfjs-backend-wasm decides on threads with the flag WASM_HAS_MULTITHREAD_SUPPORT, which
 * is false whenever IS_NODE (tfjs issue 3830), so setThreadsCount(2) gets the single-thread
 * SIMD binary. This sets the flag to true in a child process and tries the
 * threaded-simd binary; the child reports what happened (it may also hang: 60 s timeout).
 */
function tfjsForcedThreads() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--tfjs-forced-threads'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '', err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      let report = null;
      try { report = JSON.parse(out.trim().split('\n').pop()); } catch { /* below */ }
      const stderr = err.trim().split('\n').filter(Boolean);
      const workerError = stderr.find((l) => /ERR_WORKER_PATH|Error/.test(l)) ?? null;
      if (!report) {
        resolve({ runs: false, summary: signal ? `no answer in 60 s (killed)` : `child exited ${code}`, stderr: stderr.slice(0, 4) });
        return;
      }
      const summary = report.runs
        ? `setBackend('wasm') succeeded, getThreadsCount() = ${report.threads}`
        : `setBackend('wasm') ${report.error ? `threw: ${report.error}` : 'returned false'}` + (workerError ? `; Emscripten's pthread pool: ${workerError.trim()}` : '');
      resolve({ ...report, summary, stderr: stderr.slice(0, 4) });
    });
  });
}

async function tfjsForcedChild() {
  const require = createRequire(import.meta.url);
  const tf = require(path.join(root, 'build/bench/tfjs.cjs'));
  tf.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  tf.setThreadsCount(2);
  const report = { forcedFlag: true, binary: 'tfjs-backend-wasm-threaded-simd.wasm' };
  try {
    report.runs = await tf.setBackend('wasm');
    if (report.runs) report.threads = tf.getThreadsCount();
  } catch (e) {
    report.runs = false;
    report.error = e?.message ?? String(e);
  }
  console.log(JSON.stringify(report));
  process.exit(0); // Emscripten may leave workers or timers behind
}

// ---------------------------------------------------------------- table

function sig(x, digits = 3) {
  if (x == null || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toString();
  return Number(x.toPrecision(digits)).toString();
}

export function threadsTable(results) {
  const { meta, cells, speedups: sp, dispatch, tfjs, bitwise } = results;
  const head = ['shape N×D×C', 'implementation', 'threads', 'median ms', 'runs', 'GFLOP/s', 'cores used', 'CPU ms/run', '2T ÷ 1T', 'vs sync'];
  const rows = [];
  for (const shape of THREAD_SHAPES) {
    const t = (id) => cells.find((c) => c.shape === shape.id && c.id === id)?.medianMs;
    let first = true;
    for (const cell of cells.filter((c) => c.shape === shape.id)) {
      const one = TWIN[cell.id] ? t(TWIN[cell.id]) : null;
      // the ceiling runs 2 steps in its time: its speed-up is 2 × t(one) ÷ t(two)
      const speedup = one && cell.medianMs ? (cell.id === 'ceiling-two' ? 2 : 1) * one / cell.medianMs : null;
      const sync = cell.resident ? t('sync-resident') : t('sync');
      const isTfjs = cell.id === 'tfjs-wasm-xnn';
      rows.push([
        first ? `${shape.n}×${shape.d}×${shape.c}` : '',
        cell.label,
        isTfjs ? `${cell.threads} (asked 2)` : String(cell.threads),
        cell.medianMs == null ? (cell.stop ?? '–') : sig(cell.medianMs),
        String(cell.samples.length), sig(cell.gflops), sig(cell.coresUsed, 2), sig(cell.cpuMsPerRun),
        speedup ? `${sig(speedup)}×${cell.ceiling ? ' (ceiling)' : ''}` : '',
        cell.pool && sync && cell.medianMs ? `${sig(sync / cell.medianMs)}×` : '',
      ]);
      first = false;
    }
  }
  rows.push(['any', 'tfjs-wasm, threaded-simd binary forced', '2', tfjs.forcedThreadedBinary.runs ? 'runs' : 'does not run in Node', '', '', '', '', '', '']);
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 9]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (right.has(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const keys = Object.keys(INSTANCES);
  const dHead = ['tiny call', ...keys.map((k) => `${k} µs`), 'cost per call µs (t1 / t2 / w1 / w2)'];
  const dRows = dispatch.map((d) => [d.call, ...keys.map((k) => sig(d.us[k])),
    ['t1', 't2', 'w1', 'w2'].map((k) => sig(d.us[k] - d.us.sync)).join(' / ')]);
  const dw = dHead.map((h, i) => Math.max(h.length, ...dRows.map((r) => r[i].length)));
  const dLine = (r) => '| ' + r.map((v, i) => (i ? v.padStart(dw[i]) : v.padEnd(dw[i]))).join(' | ') + ' |';
  const dRule = '|' + dw.map((w, i) => (i ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const allEqual = bitwise.every((b) => b.bitwiseEqual);
  const forced = tfjs.forcedThreadedBinary;
  const verdict = (s) => (s.metResident && s.metArrays ? ' — target met'
    : s.metResident ? ' — target met resident' : s.ceiling != null && s.ceiling < TARGET_SPEEDUP ? ' — target not reachable at this load' : ' — below target');
  return [
    `softmax-ce-wasm ${meta.version} (${meta.commit}, build/index.js ${meta.library.sha256}${meta.library.rebuiltDuringRun ? ', rebuilt during the run: this run used its copy from the start' : ''}) — ` +
      `${meta.cpu}, ${meta.cores} cores, Node ${meta.node}, tfjs ${meta.tfjs.core}, build ${meta.defaultBuild}, ${meta.date}${meta.quick ? ', QUICK run' : ''}; ` +
      `load average ${meta.loadAverage.start[0].toFixed(1)} → ${meta.loadAverage.end[0].toFixed(1)}`,
    `Threads: one training step (linear + CE + dx, dW, db; 6·N·D·C flops). sync = \`init()\` (SoftmaxCE, kernels on the calling thread). ` +
      `threads: n = \`init({ threads: n })\` (SoftmaxCEThreaded, Promises; Node's default: the calling thread computes one share, n − 1 worker_threads the others, over shared memory, every kernel split by output rows or columns). ` +
      `n workers = \`init({ threads: n, callerComputes: false })\`: workers compute, the calling thread only waits (what a browser page gets). ` +
      `Arrays in and out unless "resident" (x, W, b resident tensors, gradients into \`out\` tensors: no copies on the calling thread). ` +
      `Ceiling rows: two worker threads with their own single-thread instances and resident inputs run whole steps, no split — one alone, then both at once (two steps per run).`,
    '',
    line(head), rule, ...rows.map(line),
    '',
    `Medians after warm-up of runs taken 5 in a row per cell (steps back to back, as training runs them), the cells of a shape taking turns (all rows share the same load). cores used = CPU time of the process (every thread) ÷ wall time over the row's runs: ` +
      `1 = one core busy; 2 threads can show up to 2. CPU ms/run = that CPU time per run (warm-ups included): the work a step costs, whatever the cores. ` +
      `2T ÷ 1T = the 1-thread twin ÷ the row (threads: 1 ÷ threads: 2; 1 worker ÷ 2 workers; target ≥ ${TARGET_SPEEDUP}×); on the ceiling row, 2 × t(1 step alone) ÷ t(2 at once): ` +
      `the most any 2-thread split could gain under the load of that moment. vs sync = the sync twin's time ÷ the row's. ` +
      `Results bitwise equal to sync: ${allEqual ? 'yes, every configuration on every shape' : bitwise.filter((b) => !b.bitwiseEqual).map((b) => `${b.a} on ${b.shape}: NO`).join(', ')}.`,
    `Speed-up 2T ÷ 1T, threads: 2 ÷ threads: 1 (arrays; resident) [workers only] against the ceiling: ` + sp.map((s) =>
      `${s.shape} ${sig(s.arrays)}×; ${sig(s.resident)}× [${sig(s.workersArrays)}×; ${sig(s.workersResident)}×] of ${sig(s.ceiling)}×${verdict(s)}`).join(' · ') + '.',
    `Estimated 2T ÷ 1T on two free cores (Amdahl: the kernels ≈ the sync resident step, split perfectly; everything else in the 1-thread step — ` +
      `copies in and out on the calling thread (≈ sync − sync resident), dispatch, JS — serial): ` +
      sp.map((s) => `${s.shape} ${sig(s.boundArrays)}× with arrays (copies ${sig(s.copyMs)} ms), ${sig(s.boundResident)}× resident`).join(' · ') + '.',
    '',
    dLine(dHead), dRule, ...dRows.map(dLine),
    '',
    `Dispatch: a call's cost = the tiny call − the same call on the sync instance (Promise, queue; with workers, the job: control block, wake-ups, a barrier per phase, one message back when the calling thread does not compute). ` +
      `On the steps above, threads: 2 carries about ` +
      sp.map((s) => `${s.dispatchShare != null ? sig(100 * s.dispatchShare, 2) : '–'} % at ${s.shape}`).join(', ') + ' of dispatch.',
    `tfjs-wasm: \`setThreadsCount(2)\` before \`setBackend('wasm')\` in Node gives getThreadsCount() = ${tfjs.getThreadsCount} ` +
      `(WASM_HAS_MULTITHREAD_SUPPORT = ${tfjs.WASM_HAS_MULTITHREAD_SUPPORT}: tfjs sets it false whenever IS_NODE, tfjs issue 3830), so it loads the single-thread SIMD binary; ` +
      `its rows above are that. Forcing the flag to true to load tfjs-backend-wasm-threaded-simd.wasm: ${forced.summary}` +
      (forced.runs ? '.' : ' — Emscripten starts its pthread workers from a blob: URL, which Node\'s worker_threads cannot load: **does not run in Node**.'),
  ].join('\n');
}

// ---------------------------------------------------------------- entry points of child processes and workers

if (!isMainThread && workerData?.role === 'ceiling') await ceilingWorker(workerData);
else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--tfjs-forced-threads')) await tfjsForcedChild();
  else throw new Error('bench/threads.mjs runs inside the bench: npm run bench -- --section threads');
}
