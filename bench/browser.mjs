// Bench section "browser": one training step (linear + CE + dx, dW, db; 6·N·D·C flops) in
// headless Chromium on a cross-origin-isolated page, 1 thread against 2, ours against
// tfjs-backend-wasm, at the shapes of bench/threads.mjs.
//   ours · init()                 page main thread, the synchronous instance
//   ours · threads: 1 | 2 · page  init({ threads }) on the page's main thread: n Web Workers
//                                 compute, the page only awaits
//   ours · … · Web Worker         the same three inside a dedicated module Web Worker, where
//                                 init({ threads: n }) computes on that worker + n − 1 more
//   (each with arrays in and out, and with resident tensors: x, W, b as sce.tensor,
//   gradients into `out` tensors)
//   tfjs-wasm · XNNPACK, setThreadsCount(1) | (2)   the step of peer 'tfjs-wasm-xnn'
//                                 (bench/peers.mjs), one page each: tfjs fixes its thread
//                                 count when the backend starts. In a cross-origin-isolated
//                                 page it loads tfjs-backend-wasm-threaded-simd.wasm (the
//                                 run records which .wasm the page requested and getThreadsCount()).
//                                 tfjs caps its threads at hardwareConcurrency / 2, so these pages
//                                 report twice the cores (see TFJS_CORES); a probe page records
//                                 what setThreadsCount(2) gives as shipped (1 on 2 cores)
//
//   npm run bench -- --section browser           about 3 min on the 2-core dev machine
//   npm run bench -- --section browser --quick   shorter time boxes, about 1.5 min
//
// How: this process bundles bench/browser/page.mjs (with tfjs-core and tfjs-backend-wasm,
// for the browser) and bench/browser/worker.mjs with esbuild, and serves them on
// 127.0.0.1 with COOP same-origin and COEP require-corp, together with the copy of
// build/index.js the run measures (/lib.js, as it is), tfjs's .wasm files (/tfjs/*.wasm,
// through tf.setWasmPaths) and the inputs of bench/common.mjs makeData (/data/NxDxC). It
// opens three pages in Chromium (through playwright-core; Debian's /usr/bin/chromium or
// CHROMIUM_PATH, no browser downloads; without it the section says so and is skipped):
// ours, tfjs with 1 thread, tfjs with 2. The pages time the steps themselves
// (performance.now; a Promise until it settles); this process takes the turns: every
// cell of a shape warms up, then the cells take turns of 5 steps in a row (back to back,
// as training runs them) under the same load, with the rules of bench/measure.mjs.
// "cores used" is the CPU time of Chromium's processes (every thread) over the wall time
// of a cell's turns, from /proc (Linux; the turns' round trips included, so approximate).
// Results: bench/results/browser.{json,md} (build/bench/ for --quick, unless --save).
import { createServer } from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import os from 'node:os';
import { TIMING, median } from './measure.mjs';
import { THREAD_SHAPES } from './threads.mjs';
import { compareFingerprints, libraryFile, makeData, root, stamp, writeSection } from './common.mjs';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WASM_DIST = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
/** One page call (a setup of the large shape, a turn) may take this long before the run is declared hung. */
const CALL_TIMEOUT_MS = 180_000;

/**
 * tfjs-backend-wasm 4.22 caps its XNNPACK threads at navigator.hardwareConcurrency / 2 (its
 * C++ assumes two hyperthreads per core), so on a 2-core machine setThreadsCount(2) gets 1
 * thread. The tfjs pages report twice the cores (&cores=, see bench/browser/page.mjs), which
 * makes the cap the machine's core count; a probe page without it records what tfjs does as shipped.
 */
const TFJS_CORES = 2 * os.cpus().length;
const PAGES = [
  { key: 'ours', query: 'role=ours' },
  { key: 'tfjs-1', query: `role=tfjs&threads=1&cores=${TFJS_CORES}` },
  { key: 'tfjs-2', query: `role=tfjs&threads=2&cores=${TFJS_CORES}` },
];
const AS_SHIPPED = { key: 'tfjs-2-as-shipped', query: 'role=tfjs&threads=2' };

const CONTEXT_LABEL = { page: 'page', worker: 'Web Worker' };
const INSTANCE_LABEL = {
  page: { sync: 'init() · page main thread', t1: 'threads: 1 · page (1 worker)', t2: 'threads: 2 · page (2 workers)' },
  worker: { sync: 'init() · in a Web Worker', t1: 'threads: 1 · Web Worker (computes itself)', t2: 'threads: 2 · Web Worker + 1 worker' },
};
/** Our cells in table order: where, which instance, arrays or resident. */
const OURS = ['page', 'worker'].flatMap((where) => [false, true].flatMap((resident) => ['sync', 't1', 't2'].map((instance) => ({
  id: `${where}-${instance}${resident ? '-resident' : ''}`, where, instance, resident,
  label: `ours · ${INSTANCE_LABEL[where][instance]}${resident ? ' · resident' : ''}`,
}))));
const TFJS = [1, 2].map((threads) => ({ id: `tfjs-${threads}`, page: `tfjs-${threads}`, asked: threads, label: `tfjs-wasm · XNNPACK, setThreadsCount(${threads})` }));
/** 2T ÷ 1T pairs: the 2-thread row and its 1-thread twin. */
const TWIN = Object.fromEntries([...OURS.filter((c) => c.instance === 't2').map((c) => [c.id, c.id.replace('-t2', '-t1')]), ['tfjs-2', 'tfjs-1']]);
/** The synchronous instance of the same context and residency. */
const syncOf = (id) => id.replace(/-t[12]/, '-sync');

const log = (s) => process.stderr.write(s + '\n');

export async function browser({ quick = false, save = !quick } = {}) {
  if (!existsSync(CHROMIUM_PATH)) {
    log(`bench browser: SKIPPED — no Chromium at ${CHROMIUM_PATH} (install it with \`apt-get install chromium\`, or set CHROMIUM_PATH); nothing written`);
    return;
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    log(`bench browser: SKIPPED — playwright-core does not load (${e.message}); nothing written`);
    return;
  }
  const loadStart = os.loadavg();
  const files = await bundle();
  const server = await serve(files);
  log(`bench browser: serving on ${server.url} (cross-origin isolated); Chromium ${CHROMIUM_PATH}`);
  const browserApp = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
      '--disable-quic', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
  const problems = [];
  try {
    const info = {};
    // tfjs as shipped (hardwareConcurrency as it is) with setThreadsCount(2): what it gets, then closed
    const probe = await openPage(browserApp, `${server.url}/?${AS_SHIPPED.query}`, AS_SHIPPED.key, problems);
    info[AS_SHIPPED.key] = { ...(await probe.call(() => window.bench.ready)), wasmRequests: probe.wasmRequests };
    await probe.close();
    const pages = {};
    for (const spec of PAGES) pages[spec.key] = await openPage(browserApp, `${server.url}/?${spec.query}`, spec.key, problems);
    for (const [key, p] of Object.entries(pages)) {
      info[key] = await p.call(() => window.bench.ready);
      info[key].wasmRequests = p.wasmRequests;
    }
    describe(info);
    const ours = info.ours;
    if (!ours.crossOriginIsolated) throw new Error('the page is not cross-origin isolated: no SharedArrayBuffer, no threads');

    // At least 20 runs a cell in a full run (bench/threads.mjs takes 10): at 64×768×32000 the
    // steps with arrays in and out come at two speeds (see SPREAD), and with 10 the mix of the
    // two, so the median, was more a matter of chance.
    const timing = { ...(quick ? TIMING.quick : { ...TIMING.full, minSamples: 20, budgetMs: 20_000 }), runsPerTurn: 5 };
    const warmMs = quick ? 300 : 700;
    log('bench browser: JIT warm-up…');
    for (const p of Object.values(pages)) await p.call((ms) => window.bench.jitWarm(ms), warmMs);

    const cells = [], bitwise = [], agreement = [], leaks = [];
    const meter = chromiumCpu();
    for (const shape of THREAD_SHAPES) {
      log(`bench browser: ${shape.id} step`);
      const ids = {};
      for (const [key, p] of Object.entries(pages)) ids[key] = await p.call((s) => window.bench.setup(s), shape);
      const tensorsBefore = {};
      for (const t of TFJS) tensorsBefore[t.id] = await pages[t.page].call(() => window.bench.tensors());
      meter.refresh();
      const specs = [
        ...OURS.filter((c) => ids.ours.includes(c.id)).map((c) => ({ ...c, page: pages.ours })),
        ...TFJS.map((t) => ({ ...t, page: pages[t.page] })),
      ];
      const results = await timeTurns(specs.map((c) => ({
        key: c.id,
        warm: (ms) => c.page.call(([id, m]) => window.bench.warm(id, m), [c.id, ms]),
        run: (k) => c.page.call(([id, n]) => window.bench.run(id, n, false), [c.id, k]),
      })), timing, meter, (id, r) => log(`  ${label(id).padEnd(52)} ${r.medianMs == null ? r.stop : `${r.medianMs.toPrecision(4).padStart(9)} ms`} (${r.samples.length} runs)`));
      const flops = 6 * shape.n * shape.d * shape.c;
      for (const [id, r] of results) {
        const c = specs.find((s) => s.id === id);
        cells.push({
          shape: shape.id, n: shape.n, d: shape.d, c: shape.c, id, label: label(id),
          where: c.where ?? 'page', instance: c.instance ?? null, resident: Boolean(c.resident), family: c.where ? 'ours' : 'tfjs',
          threads: c.where ? threadsOf(info, c) : info[c.id].tfjs.threadsCount,
          medianMs: r.medianMs, minMs: r.minMs, gflops: r.medianMs ? flops / (r.medianMs * 1e6) : null,
          coresUsed: r.coresUsed, spread: spread(r.samples), samples: r.samples, warmups: r.warmups, warmMs: r.warmMs, stop: r.stop,
          digest: r.check?.digest ?? null, fingerprint: r.check?.fingerprint ?? null,
        });
      }
      // Bitwise: every configuration of ours against init() on the page (arrays), and against
      // the synchronous instance of its own context and residency.
      const digest = (id) => results.get(id)?.check?.digest;
      for (const c of OURS.filter((o) => o.id !== 'page-sync' && results.has(o.id))) {
        const vsPage = digest(c.id) && digest('page-sync') ? digest(c.id) === digest('page-sync') : null;
        const vsSync = c.instance !== 'sync' && digest(c.id) && digest(syncOf(c.id)) ? digest(c.id) === digest(syncOf(c.id)) : null;
        bitwise.push({ shape: shape.id, a: c.id, vsPageSync: vsPage, vsOwnSync: vsSync });
        if (vsPage === false || vsSync === false) log(`bench browser: WARNING ${c.id} differs bitwise from ${vsSync === false ? syncOf(c.id) : 'page-sync'} on ${shape.id}`);
      }
      const oracle = results.get('page-sync')?.check?.fingerprint;
      for (const t of TFJS) {
        const fp = results.get(t.id)?.check?.fingerprint;
        const differences = fp && oracle ? compareFingerprints(fp, oracle) : null;
        agreement.push({ shape: shape.id, peer: t.id, agrees: differences ? differences.length === 0 : null, differences });
        if (differences?.length) log(`bench browser: WARNING ${t.id} disagrees with ours on ${shape.id}: ${differences.join('; ')}`);
      }
      for (const p of Object.values(pages)) await p.call(() => window.bench.dispose());
      for (const t of TFJS) {
        const after = await pages[t.page].call(() => window.bench.tensors());
        if (after !== tensorsBefore[t.id]) leaks.push({ shape: shape.id, peer: t.id, before: tensorsBefore[t.id], after });
      }
    }

    const meta = await stamp({ instance: { info: { build: ours.page.sync.build, threads: 1 } }, builds: [ours.page.sync.build], loadStart, quick });
    meta.browser = { executable: CHROMIUM_PATH, version: browserApp.version(), userAgent: ours.userAgent, hardwareConcurrency: ours.hardwareConcurrency };
    meta.tfjs.wasmBinary = [...new Set(TFJS.flatMap((t) => info[t.page].wasmRequests))].join(', ') || 'none requested';
    meta.threads = null;
    const out = {
      meta, section: 'browser', timing, jitWarmMs: warmMs, pages: info, cells, bitwise, tfjsAgreement: agreement, tfjsLeaks: leaks, problems,
    };
    out.speedups = THREAD_SHAPES.map((s) => speedups(out, s));
    const dir = await writeSection('browser', out, browserTable(out), save);
    for (const p of problems) log(`bench browser: the page reported: ${p}`);
    log(`bench browser: wrote ${dir}/browser.json and .md`);
  } finally {
    await browserApp.close().catch(() => {});
    await server.close();
  }
}

const label = (id) => OURS.find((c) => c.id === id)?.label ?? TFJS.find((t) => t.id === id)?.label ?? id;

function threadsOf(info, c) {
  const inst = c.where === 'page' ? info.ours.page[c.instance] : info.ours.worker.instances[c.instance];
  return inst?.threads ?? null;
}

function describe(info) {
  const inst = (o) => Object.entries(o).map(([k, s]) => `${k} ${s.build}, ${s.threads} thread(s), ${s.workers} worker(s)${s.threadsNote ? ` (${s.threadsNote})` : ''}`).join('; ');
  const o = info.ours;
  log(`bench browser: page: crossOriginIsolated ${o.crossOriginIsolated}, hardwareConcurrency ${o.hardwareConcurrency}, ${o.visibilityState}`);
  log(`  ours on the page: ${inst(o.page)}`);
  log(`  ours in the Web Worker (${o.worker.scope}, Atomics.wait → ${o.worker.atomicsWait}): ${inst(o.worker.instances)}`);
  for (const key of [AS_SHIPPED.key, ...TFJS.map((t) => t.page)]) {
    const i = info[key];
    log(`  tfjs page ${key}: hardwareConcurrency ${i.tfjs.hardwareConcurrencyReported}${i.tfjs.hardwareConcurrencyReported !== i.hardwareConcurrency ? ` (reported; really ${i.hardwareConcurrency})` : ''}, ` +
      `setThreadsCount(${i.tfjs.askedThreads}) → getThreadsCount() ${i.tfjs.threadsCount}, ` +
      `WASM_HAS_MULTITHREAD_SUPPORT ${i.tfjs.WASM_HAS_MULTITHREAD_SUPPORT}, requested ${i.wasmRequests.join(', ') || 'no .wasm'}`);
  }
}

// ---------------------------------------------------------------- the pages

/** esbuild: page.js (page.mjs + tfjs, for the browser) and worker.js; 'softmax-ce-wasm' stays an import of /lib.js. */
async function bundle() {
  const { build } = await import('esbuild');
  const outdir = path.join(root, 'build/bench/browser');
  const result = await build({
    entryPoints: { page: path.join(root, 'bench/browser/page.mjs'), worker: path.join(root, 'bench/browser/worker.mjs') },
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outdir, write: false, logLevel: 'error',
    plugins: [{
      name: 'softmax-ce-wasm-as-served',
      setup(b) { b.onResolve({ filter: /^softmax-ce-wasm$/ }, () => ({ path: '/lib.js', external: true })); },
    }],
  });
  const files = new Map();
  for (const f of result.outputFiles) files.set(`/${path.relative(outdir, f.path)}`, { type: 'text/javascript', body: Buffer.from(f.contents) });
  files.set('/lib.js', { type: 'text/javascript', body: await readFile(libraryFile()) });
  files.set('/', { type: 'text/html', body: await readFile(path.join(root, 'bench/browser/index.html')) });
  for (const name of (await readdir(WASM_DIST)).filter((f) => f.endsWith('.wasm'))) {
    files.set(`/tfjs/${name}`, { type: 'application/wasm', body: await readFile(path.join(WASM_DIST, name)) });
  }
  return files;
}

/** The bundles, tfjs's .wasm files and the inputs (/data/NxDxC: x | w | b | target), every response cross-origin isolated. */
function serve(files) {
  const data = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = files.get(url.pathname);
    const shape = url.pathname.match(/^\/data\/(\d+)x(\d+)x(\d+)$/);
    if (shape) {
      if (!data.has(shape[0])) {
        const [n, d, c] = shape.slice(1).map(Number);
        const { x, w, b, target } = makeData({ n, d, c });
        data.set(shape[0], Buffer.concat([x, w, b, target].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
      }
      file = { type: 'application/octet-stream', body: data.get(shape[0]) };
    }
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length }).end(file.body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    }));
  });
}

/** A page in a context of its own; records its .wasm requests and what it reports as wrong. call(fn, arg) evaluates with a timeout. */
async function openPage(browserApp, url, key, problems) {
  const context = await browserApp.newContext();
  const page = await context.newPage();
  const wasmRequests = [];
  context.on('request', (r) => { if (new URL(r.url()).pathname.endsWith('.wasm')) wasmRequests.push(path.basename(new URL(r.url()).pathname)); });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${key}: console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${key}: uncaught ${e.name}: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`${key}: request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${key}: HTTP ${r.status()}: ${r.url()}`); });
  page.on('crash', () => problems.push(`${key}: the page crashed`));
  await page.goto(url);
  const call = (fn, arg) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`page ${key} did not answer in ${CALL_TIMEOUT_MS / 1000} s` +
        (problems.length ? ` (it reported: ${problems.slice(-3).join('; ')})` : ''))), CALL_TIMEOUT_MS);
    });
    return Promise.race([page.evaluate(fn, arg), timeout]).finally(() => clearTimeout(timer));
  };
  return { page, call, wasmRequests, close: () => context.close() };
}

// ---------------------------------------------------------------- turns

/**
 * Times the cells of one shape, with the rules of bench/measure.mjs, the steps timed in
 * the page: each cell warms up (untimed steps until warmMs, at least one; its first result
 * is checked), then the cells take turns of runsPerTurn steps in a row, so a burst of load
 * lands on all of them. A cell stops when it has ≥ minSamples samples and ≥ minMs of them,
 * at maxSamples, or when one more step would pass its time box.
 * cells: [{ key, warm(ms) → { runs, ms, check }, run(k) → { times } }]
 */
async function timeTurns(cells, t, meter, onDone) {
  const state = new Map();
  for (const cell of cells) {
    const s = { samples: [], warmups: 0, warmMs: 0, totalMs: 0, last: 0, stop: null, check: null, cpuMs: 0, wallMs: 0 };
    state.set(cell.key, s);
    try {
      const w = await cell.warm(t.warmMs);
      Object.assign(s, { warmups: w.runs, warmMs: w.ms, totalMs: w.ms, last: w.ms / w.runs, check: w.check });
    } catch (e) {
      s.stop = `error: ${e.message.split('\n')[0]}`;
      onDone(cell.key, finish(s));
    }
  }
  let active = cells.filter((c) => !state.get(c.key).stop);
  while (active.length) {
    for (const cell of active) {
      const s = state.get(cell.key);
      // no more steps than the cell may still take: up to maxSamples, and within its time box
      const room = Math.floor((t.budgetMs - s.totalMs) / Math.max(s.last, 1e-3));
      const k = Math.max(1, Math.min(t.runsPerTurn ?? 1, t.maxSamples - s.samples.length, room));
      let times;
      try {
        const c0 = meter.read(), t0 = performance.now();
        ({ times } = await cell.run(k));
        s.wallMs += performance.now() - t0;
        s.cpuMs += meter.read() - c0;
      } catch (e) {
        s.stop = `error: ${e.message.split('\n')[0]}`;
        onDone(cell.key, finish(s));
        continue;
      }
      for (const ms of times) {
        s.last = ms;
        s.samples.push(ms);
        s.totalMs += ms;
        if (s.samples.length >= t.maxSamples) s.stop = 'max samples';
        else if (s.samples.length >= t.minSamples && s.totalMs - s.warmMs >= t.minMs) s.stop = 'enough samples';
        else if (s.totalMs + s.last > t.budgetMs) s.stop = 'time box';
        if (s.stop) {
          onDone(cell.key, finish(s));
          break;
        }
      }
    }
    active = active.filter((c) => !state.get(c.key).stop);
  }
  return new Map(cells.map((c) => [c.key, finish(state.get(c.key))]));
}

/**
 * The spread of a cell's samples: (p75 − p25) ÷ median. Above SPREAD the table's note calls the
 * median unreliable: seen at 64×768×32000 with arrays in and out, where steps alternate between
 * two speeds (≈ 260 and ≈ 470 ms) in the page and in the worker alike, so the median depends on
 * the mix; and on 256×784×10, where the pool's sub-millisecond steps sometimes wait for a
 * worker to wake (a tail of 1–3 ms).
 */
const SPREAD = 0.25;

function spread(samples) {
  if (samples.length < 4) return null;
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))];
  return (q(0.75) - q(0.25)) / median(s);
}

function finish(s) {
  return {
    samples: s.samples, warmups: s.warmups, warmMs: s.warmMs, totalMs: s.totalMs, stop: s.stop, check: s.check,
    medianMs: s.samples.length ? median(s.samples) : null, minMs: s.samples.length ? Math.min(...s.samples) : null,
    // /proc counts 10 ms ticks: over less than half a second of turns the ratio is noise
    coresUsed: s.wallMs >= 500 && Number.isFinite(s.cpuMs) ? s.cpuMs / s.wallMs : null,
  };
}

/**
 * CPU time (ms, every thread) of this process's descendants: Chromium's processes, the
 * pages' Web Workers being threads of their renderers. Linux /proc; NaN elsewhere.
 * refresh() finds the processes again (after pages or workers started).
 */
function chromiumCpu() {
  let tick = 10;
  try { tick = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()); } catch { /* 100 Hz */ }
  const stat = (pid) => {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  };
  let pids = [];
  const meter = {
    refresh() {
      if (process.platform !== 'linux') return;
      const parent = new Map();
      for (const name of readdirSyncSafe('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try { parent.set(Number(name), stat(name).ppid); } catch { /* gone */ }
      }
      const mine = (pid) => {
        for (let p = parent.get(pid), hops = 0; p && hops < 64; p = parent.get(p), hops++) if (p === process.pid) return true;
        return false;
      };
      pids = [...parent.keys()].filter(mine);
    },
    read() {
      if (!pids.length) return NaN;
      let ticks = 0;
      for (const pid of pids) {
        try { ticks += stat(pid).ticks; } catch { /* gone */ }
      }
      return ticks * tick;
    },
  };
  return meter;
}

function readdirSyncSafe(dir) {
  try { return readdirSync(dir); } catch { return []; }
}

// ---------------------------------------------------------------- checks and ratios

function speedups(results, shape) {
  const t = (id) => results.cells.find((c) => c.shape === shape.id && c.id === id)?.medianMs;
  const r = (a, b) => (t(a) && t(b) ? t(a) / t(b) : null);
  return {
    shape: shape.id,
    // 2T ÷ 1T: threads: 1 ÷ threads: 2, and tfjs setThreadsCount(1) ÷ (2)
    page: r('page-t1', 'page-t2'), pageResident: r('page-t1-resident', 'page-t2-resident'),
    worker: r('worker-t1', 'worker-t2'), workerResident: r('worker-t1-resident', 'worker-t2-resident'),
    tfjs: r('tfjs-1', 'tfjs-2'),
    // ours against tfjs, both on 2 threads (tfjs time ÷ ours): > 1 = ours faster
    pageVsTfjs2: r('tfjs-2', 'page-t2'), pageResidentVsTfjs2: r('tfjs-2', 'page-t2-resident'),
    workerVsTfjs2: r('tfjs-2', 'worker-t2'), workerResidentVsTfjs2: r('tfjs-2', 'worker-t2-resident'),
    // and on 1 thread: init() on the page against setThreadsCount(1)
    syncVsTfjs1: r('tfjs-1', 'page-sync'),
    // threads: 2 against init() in the same place
    pageVsSync: r('page-sync', 'page-t2'), workerVsSync: r('worker-sync', 'worker-t2'),
  };
}

// ---------------------------------------------------------------- table

function sig(x, digits = 3) {
  if (x == null || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toString();
  return Number(x.toPrecision(digits)).toString();
}

const times = (x) => (x == null ? '–' : `${sig(x)}×`);

export function browserTable(results) {
  const { meta, cells, speedups: sp, bitwise, tfjsAgreement, pages } = results;
  const head = ['shape N×D×C', 'implementation', 'threads', 'median ms', 'spread', 'runs', 'GFLOP/s', 'cores used ≈', '2T ÷ 1T', 'vs init()', 'vs tfjs 2T'];
  const rows = [];
  for (const shape of THREAD_SHAPES) {
    const t = (id) => cells.find((c) => c.shape === shape.id && c.id === id)?.medianMs;
    let first = true;
    for (const cell of cells.filter((c) => c.shape === shape.id)) {
      const twin = TWIN[cell.id] ? t(TWIN[cell.id]) : null;
      const sync = cell.family === 'ours' && cell.instance !== 'sync' ? t(syncOf(cell.id)) : null;
      const tfjs2 = cell.family === 'ours' ? t('tfjs-2') : null;
      const tfjsPage = cell.family === 'tfjs' ? pages[cell.id] : null;
      rows.push([
        first ? `${shape.n}×${shape.d}×${shape.c}` : '',
        cell.label,
        tfjsPage ? `${cell.threads} (asked ${tfjsPage.tfjs.askedThreads})` : String(cell.threads),
        cell.medianMs == null ? (cell.stop ?? '–') : sig(cell.medianMs),
        cell.spread == null ? '–' : `${Math.round(100 * cell.spread)} %`,
        String(cell.samples.length), sig(cell.gflops), sig(cell.coresUsed, 2),
        twin && cell.medianMs ? times(twin / cell.medianMs) : '',
        sync && cell.medianMs ? times(sync / cell.medianMs) : '',
        tfjs2 && cell.medianMs ? times(tfjs2 / cell.medianMs) : '',
      ]);
      first = false;
    }
  }
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (right.has(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const ours = pages.ours;
  const tfjsLine = TFJS.map((x) => {
    const p = pages[x.page];
    return `setThreadsCount(${p.tfjs.askedThreads}) → getThreadsCount() = ${p.tfjs.threadsCount}, loaded ${p.wasmRequests.join(', ') || 'no .wasm (?)'}`;
  }).join('; ');
  const shipped = pages[AS_SHIPPED.key], reported = pages[TFJS[1].page].tfjs.hardwareConcurrencyReported;
  const unequal = bitwise.filter((b) => b.vsPageSync === false || b.vsOwnSync === false);
  const unchecked = bitwise.filter((b) => b.vsPageSync == null);
  const disagree = tfjsAgreement.filter((a) => a.agrees === false);
  const wide = cells.filter((c) => c.spread > SPREAD);
  const inst = (o) => Object.entries(o).map(([k, s]) => `${k}: ${s.threads} thread(s), ${s.workers} worker(s)`).join(', ');
  return [
    `softmax-ce-wasm ${meta.version} (${meta.commit}, build/index.js ${meta.library.sha256}${meta.library.rebuiltDuringRun ? ', rebuilt during the run: this run used its copy from the start' : ''}) — ` +
      `${meta.cpu}, ${meta.cores} cores, ${meta.browser.version ? `Chromium ${meta.browser.version}` : 'Chromium'} headless (hardwareConcurrency ${meta.browser.hardwareConcurrency}), ` +
      `tfjs ${meta.tfjs.core}, build ${meta.defaultBuild}, ${meta.date}${meta.quick ? ', QUICK run' : ''}; load average ${meta.loadAverage.start[0].toFixed(1)} → ${meta.loadAverage.end[0].toFixed(1)}`,
    `Browser: one training step (linear + CE + dx, dW, db; 6·N·D·C flops) in headless Chromium, on a cross-origin-isolated page (COOP same-origin, COEP require-corp; crossOriginIsolated = ${ours.crossOriginIsolated}). ` +
      `Ours: \`init()\` (synchronous) and \`init({ threads: n })\` (Promises), on the page's main thread — n Web Workers compute, the page awaits (${inst(ours.page)}) — ` +
      `and inside a dedicated module Web Worker, where the calling worker computes a share and starts n − 1 more (${inst(ours.worker.instances)}; Atomics.wait there: ${ours.worker.atomicsWait}). ` +
      `Arrays in and out unless "resident" (x, W, b resident tensors, gradients into \`out\` tensors). ` +
      `tfjs-wasm: the step of peer tfjs-wasm-xnn (bench/peers.mjs: matMul with explicit transposes to reach XNNPACK, logSumExp, hand-written backward, int32 one-hot cast to float32), ` +
      `one page per thread count (${tfjsLine}). ` +
      `tfjs-backend-wasm caps its threads at navigator.hardwareConcurrency / 2 (it assumes 2 hyperthreads per core): as shipped, on this ${shipped.hardwareConcurrency}-thread machine, ` +
      `setThreadsCount(2) → getThreadsCount() = ${shipped.tfjs.threadsCount} (${shipped.wasmRequests.join(', ') || 'no .wasm'}); so the tfjs pages report hardwareConcurrency ${reported} (the cap becomes ${reported / 2}).`,
    '',
    line(head), rule, ...rows.map(line),
    '',
    `Medians after warm-up (${results.jitWarmMs} ms per instance on 64×128×512 first, then untimed steps for ${results.timing.warmMs} ms per cell), the steps timed in the page or worker that runs them (performance.now; a Promise until it settles), ` +
      `taken ${results.timing.runsPerTurn} in a row per cell and turn, every cell of a shape — all three pages — taking turns (same load). ` +
      `cores used ≈ CPU time of all Chromium processes ÷ wall time of the cell's turns (round trips included; /proc, 10 ms ticks: rough, and – where a cell's turns took under 0.5 s). ` +
      `2T ÷ 1T = the 1-thread twin ÷ the row (threads: 1 ÷ threads: 2 in the same place and mode; tfjs setThreadsCount(1) ÷ (2)). vs init() = \`init()\` in the same place and mode ÷ the row. ` +
      `vs tfjs 2T = tfjs-wasm with setThreadsCount(2) ÷ the row (> 1: ours faster). ` +
      `spread = (p75 − p25) ÷ median of the row's samples; over ${100 * SPREAD} % (${wide.length ? wide.map((c) => `${c.id} on ${c.shape}`).join(', ') : 'no row'}) ` +
      'steps come at two speeds or with a long tail: the median, and ratios with it, are less firm than their digits. ' +
      `Bitwise equal to \`init()\` on the page: ${unequal.length ? `NO — ${unequal.map((b) => `${b.a} on ${b.shape}`).join(', ')}` : unchecked.length ? 'not every configuration was checked' : 'yes, every configuration (page and Web Worker, threads 1 and 2, arrays and resident) on every shape'}. ` +
      `tfjs agrees with ours (loss, Σ|dx|, Σ|dW|, Σ|db| over ≤ 1000 strided entries, 2e-3): ${disagree.length ? `NO — ${disagree.map((a) => `${a.peer} on ${a.shape}: ${a.differences.join('; ')}`).join(' · ')}` : 'yes'}.`,
    `2T ÷ 1T, page (arrays; resident) · Web Worker (arrays; resident) · tfjs-wasm: ` + sp.map((s) =>
      `${s.shape} ${times(s.page)}; ${times(s.pageResident)} · ${times(s.worker)}; ${times(s.workerResident)} · tfjs ${times(s.tfjs)}`).join(' — ') + '.',
    `Ours ÷ tfjs-wasm at 2 threads (tfjs time ÷ ours; page arrays, page resident, Web Worker arrays, Web Worker resident): ` + sp.map((s) =>
      `${s.shape} ${times(s.pageVsTfjs2)}, ${times(s.pageResidentVsTfjs2)}, ${times(s.workerVsTfjs2)}, ${times(s.workerResidentVsTfjs2)}`).join(' — ') +
      `; at 1 thread (\`init()\` on the page vs setThreadsCount(1)): ` + sp.map((s) => `${s.shape} ${times(s.syncVsTfjs1)}`).join(', ') + '.',
  ].join('\n');
}
