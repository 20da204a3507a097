// softmax-ce-wasm benchmarks, in four sections:
//   main     our builds, the float64 reference, tfjs-wasm and tfjs-cpu, single thread, in one
//            process; medians after warm-up; GFLOP/s and % of the measured WebAssembly SIMD
//            peak; one table on stdout, JSON + table + SVG chart in bench/results/latest.*
//   vocab    large vocabularies: unfused against chunked, time, WebAssembly memory, peak RSS
//            (bench/vocab.mjs → bench/results/vocab.*)
//   threads  the thread pool, 1 thread against 2, dispatch cost, tfjs-wasm threads in Node
//            (bench/threads.mjs → bench/results/threads.*)
//   cli      the command line on a generated 1 GB CSV (parse MB/s, epoch time, peak RSS) against
//            pandas read_csv(chunksize) + SGDClassifier.partial_fit, and on scikit-learn's data sets
//            with defaults against LogisticRegression and ml-logistic-regression (bench/cli.mjs →
//            bench/results/cli.*; only with --section cli)
//   browser  the same step in headless Chromium on a cross-origin-isolated page: ours on the
//            page and in a Web Worker, 1 thread against 2, and tfjs-wasm with 1 and 2 threads
//            (its threaded binary loads there) (bench/browser.mjs → bench/results/browser.*);
//            skipped, with a message, where there is no Chromium (/usr/bin/chromium or CHROMIUM_PATH)
//   data     speed on the data users have: the step and the forward on narrow, wide, trained and
//            raw (unnormalised digits) inputs, both builds, tfjs-wasm and jax-js (its own Node,
//            bench/jaxjs), the share of subnormals in dZ, time ÷ narrow; one epoch of
//            classifier.fit on raw against normalised digits (bench/data.mjs → bench/results/data.*)
//   engines  Node 20/22/24, Deno and Bun (test/engines) taking turns: the resident step on each
//            build and 1 and 2 threads, the 512³ matmul, beside each engine's own SIMD peak
//            (bench/engines.mjs → bench/results/engines.*; about 3 min, --quick about 1)
//   vocab-options  the options of issue 15 (gradFilter, softcap, zLoss, returnLse, returnAccuracy)
//            on the large-vocabulary step, peaked (trained-like) and flat logits: time ÷ the plain
//            step, blocks skipped, what the filter changes in dW and dX (bench/vocab-options.mjs →
//            bench/results/vocab-options.*; about 8 min, --quick about 3; only with --section
//            vocab-options; --plain-only times the plain step alone, for a build without the options)
//
//   npm run bench                        full run, every section: main about 5 min on the 2-core dev
//                                        machine with other jobs running (most of it the reference and
//                                        tfjs-cpu on 64×768×32000), vocab about 5, threads about 2,
//                                        browser about 3 (or a skip message without Chromium)
//   npm run bench -- --section vocab,threads          some sections: main, vocab, threads, browser
//   npm run bench -- --section browser   the browser section alone (about 3 min; --quick about 1.5)
//   npm run bench -- --section data      the data section alone (about 3 min; --quick about 1)
//   npm run bench -- --section vocab --slow           vocab also runs tfjs-wasm's autodiff on
//                                        2048×256×32768 (one step of about 2 min, in its own process)
//   npm run bench -- --quick             shorter time boxes and fewer samples, no memory probes,
//                                        and the reference and tfjs-cpu skip 64×768×32000 (about 1 min
//                                        for main; vocab: ours only; threads, browser: shorter; about 1 min each)
//   npm run bench -- --shapes 128x512x1000,matmul     a subset of shapes: 256x784x10 (alias small),
//                                        128x512x1000 (medium), 64x768x32000 (large), matmul512 (matmul)
//   npm run bench -- --peers tfjs,resident            a subset of peers, by id or group: ours,
//                                        resident, reference, tfjs; ours-relaxed, ours-simd,
//                                        ours-relaxed-resident, ours-simd-resident, tfjs-wasm,
//                                        tfjs-wasm-xnn, tfjs-cpu (ours with the default build always runs:
//                                        it is what the speed-ups are relative to)
//   npm run bench -- --ops step          a subset of ops: step, forward, matmul
//                                        (--shapes, --peers, --ops are main's and run main only)
//   --memory / --no-memory               force / skip the peak-memory probes (on in full runs, except
//                                        for implementations whose step takes over 10 s; --memory
//                                        probes those too)
//   --save                               write bench/results/latest.* even for a quick or subset run
//                                        (by default only a full run does; others go to build/bench/);
//                                        vocab, threads and browser write bench/results/ unless --quick
//
// How it runs: this process (the parent) compiles bench/assembly/simd_peak.ts with asc and
// bundles tfjs with esbuild into build/bench/, then re-runs this file in a child node with
// --expose-gc and, where the engine needs it for relaxed SIMD (Node 20),
// --experimental-wasm-relaxed-simd. The child measures (see bench/measure.mjs for the
// timing rules, bench/peers.mjs for what each peer runs) and, for peak memory, starts one
// more node per implementation and shape (`--probe peer:shape`), since peak RSS means
// nothing for one implementation inside a process that ran all the others. Every process
// of a run loads one copy of build/index.js taken at the start (bench/common.mjs), so a
// rebuild during the run does not mix two builds in one table.
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { PEERS, PEER_GROUPS } from './peers.mjs';
import { TIMING, timeCells } from './measure.mjs';
import { buildPeak, measurePeak, mergePeaks, relaxedValidates } from './peak.mjs';
import { table, svg } from './report.mjs';
import { compareFingerprints, makeData, snapshotLibrary, stamp, toJson } from './common.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const gc = globalThis.gc ?? (() => {});

const SHAPES = [
  { id: '256x784x10', alias: 'small', n: 256, d: 784, c: 10, ops: ['step', 'forward'] },
  { id: '128x512x1000', alias: 'medium', n: 128, d: 512, c: 1000, ops: ['step', 'forward'] },
  { id: '64x768x32000', alias: 'large', n: 64, d: 768, c: 32000, ops: ['step', 'forward'] },
  { id: 'matmul512', alias: 'matmul', n: 512, d: 512, c: 512, ops: ['matmul'] },
];
const FLOPS_PER_NDC = { step: 6, forward: 2, matmul: 2 };
/** Full runs probe the peak memory of a step only where one step takes at most this long, unless --memory. */
const PROBE_MAX_MS = 10_000;
/** --quick leaves out the cells that take seconds per run. */
const QUICK_SKIP = { '64x768x32000': ['reference', 'tfjs-cpu'] };

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    shapes: { type: 'string' },
    peers: { type: 'string' },
    ops: { type: 'string' },
    memory: { type: 'boolean' },
    'no-memory': { type: 'boolean' },
    save: { type: 'boolean', default: false },
    probe: { type: 'string' },
    'probe-runs': { type: 'string', default: '2' },
    section: { type: 'string' },
    slow: { type: 'boolean', default: false },
    'plain-only': { type: 'boolean', default: false },
  },
});

// Sections: main (the table above), vocab (bench/vocab.mjs), threads (bench/threads.mjs),
// browser (bench/browser.mjs), data (bench/data.mjs), engines (bench/engines.mjs), cli
// (bench/cli.mjs), vocab-options (bench/vocab-options.mjs). A full run has all but cli and
// vocab-options (browser skips itself, exit 0, without Chromium); cli runs only when named
// (it writes a 1 GB file), and so does vocab-options (about 8 min); --shapes, --peers and
// --ops select within main and imply it.
const SECTIONS = ['main', 'vocab', 'threads', 'browser', 'data', 'engines', 'cli', 'vocab-options'];
const NAMED_ONLY = ['cli', 'vocab-options'];
const sections = opt.section
  ? opt.section.split(',').map((s) => s.trim()).filter(Boolean)
  : opt.shapes || opt.peers || opt.ops ? ['main'] : SECTIONS.filter((s) => !NAMED_ONLY.includes(s));
for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`bench: unknown section '${s}' (${SECTIONS.join(', ')})`);

function pick(list, spec, name, ids) {
  if (!spec) return list;
  const wanted = spec.split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) if (!ids(w)) throw new Error(`bench: unknown ${name} '${w}'`);
  return list.filter((item) => wanted.some((w) => ids(w).includes(item.id ?? item)));
}

const shapes = pick(SHAPES, opt.shapes, 'shape', (w) => SHAPES.filter((s) => s.id === w || s.alias === w).map((s) => s.id));
const ops = pick(['step', 'forward', 'matmul'], opt.ops, 'op', (w) => (['step', 'forward', 'matmul'].includes(w) ? [w] : null));
const peerIds = (w) => PEER_GROUPS[w] ?? (PEERS.some((p) => p.id === w) ? [w] : null);
const subset = Boolean(opt.shapes || opt.peers || opt.ops);

if (opt.probe) await probe(opt.probe, Number(opt['probe-runs']));
else if (!process.env.SCE_BENCH_CHILD) await parent();
else {
  for (const section of sections) {
    if (section === 'main') await main();
    if (section === 'vocab') await (await import('./vocab.mjs')).vocab({ quick: opt.quick, save: opt.save || !opt.quick, slow: opt.slow });
    if (section === 'threads') await (await import('./threads.mjs')).threads({ quick: opt.quick, save: opt.save || !opt.quick });
    if (section === 'browser') await (await import('./browser.mjs')).browser({ quick: opt.quick, save: opt.save || !opt.quick });
    if (section === 'data') await (await import('./data.mjs')).data({ quick: opt.quick, save: opt.save || !opt.quick });
    if (section === 'cli') await (await import('./cli.mjs')).cli({ quick: opt.quick, save: opt.save || !opt.quick });
    if (section === 'engines') await (await import('./engines.mjs')).engines({ quick: opt.quick, save: opt.save || !opt.quick });
    if (section === 'vocab-options') {
      await (await import('./vocab-options.mjs')).vocabOptions({ quick: opt.quick, save: opt.save || !opt.quick, plainOnly: opt['plain-only'] });
    }
  }
}

// ---------------------------------------------------------------- parent

async function parent() {
  await buildPeak(); // the SIMD peak of the main table, and the relaxed-SIMD probe below
  const { build } = await import('esbuild');
  await build({
    entryPoints: [`${root}/bench/tfjs-entry.mjs`], bundle: true, format: 'cjs', platform: 'node',
    mainFields: ['module', 'main'], outfile: `${root}/build/bench/tfjs.cjs`, logLevel: 'error',
  });
  const relaxed = await relaxedValidates();
  const flags = ['--expose-gc', ...(relaxed ? [] : ['--experimental-wasm-relaxed-simd'])];
  // Every process of the run loads one copy of build/index.js (see snapshotLibrary).
  const lib = await snapshotLibrary();
  let code;
  try {
    code = await run(flags, lib.file);
    if (code === 9 && !relaxed) { // "bad option": this node has no such flag
      console.error('bench: node rejected --experimental-wasm-relaxed-simd; running without the relaxed build');
      code = await run(['--expose-gc'], lib.file);
    }
  } finally {
    await lib.remove();
  }
  process.exitCode = code;
}

function run(flags, libFile) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
      { stdio: 'inherit', env: { ...process.env, SCE_BENCH_CHILD: '1', SCE_BENCH_LIB: libFile } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// ---------------------------------------------------------------- data

/** A few numbers that any correct implementation reproduces: the loss and Σ|v| over ≤ 1000 strided entries of each output. */
function fingerprint(r) {
  const sum = (a) => {
    if (!a) return undefined;
    const k = Math.max(1, Math.floor(a.length / 1000));
    let s = 0;
    for (let i = 0; i < a.length; i += k) s += Math.abs(a[i]);
    return s;
  };
  const out = {};
  if (r.loss !== undefined) out.loss = Number(r.loss);
  for (const key of ['dx', 'dw', 'db', 'z']) if (r[key]) out[key] = sum(r[key]);
  return out;
}

// ---------------------------------------------------------------- child: timing

async function main() {
  const timing = opt.quick ? TIMING.quick : TIMING.full;
  const memoryProbes = opt['no-memory'] ? false : opt.memory ?? !opt.quick;
  const save = opt.save || (!opt.quick && !subset);
  const log = (s) => process.stderr.write(s + '\n');
  const loadStart = os.loadavg();

  const ctx = {};
  const skipped = [];
  const available = [];
  const wantedPeers = pick(PEERS, opt.peers, 'peer', peerIds);
  for (const peer of PEERS) {
    const load = async () => peer.load(ctx).catch((e) => e.message);
    if (peer.family === 'ours' && !peer.resident) {
      // the default build is always measured: the speed-ups are relative to it
      const why = await load();
      const isDefault = ctx.autoBuild === peer.build;
      if (!wantedPeers.includes(peer) && !isDefault) continue;
      if (why) skipped.push({ peer: peer.id, reason: why });
      else available.push(peer);
      continue;
    }
    if (!wantedPeers.includes(peer)) continue;
    const why = await load();
    if (why) skipped.push({ peer: peer.id, reason: why });
    else available.push(peer);
  }
  for (const s of skipped) log(`bench: skipping ${s.peer}: ${s.reason}`);
  if (!ctx.autoBuild) throw new Error(`bench: cannot load build/index.js (${skipped.find((s) => s.peer.startsWith('ours'))?.reason}); ` +
    '`npm run bench` builds it first, `node bench/run.mjs` does not');
  const baseline = `ours-${ctx.autoBuild}`;

  // The peak is measured before and after the rest and the best sample kept: a busy
  // machine can only lower it.
  const peakSeconds = opt.quick ? 0.3 : 0.8;
  const showPeak = (p) => ['relaxed', 'simd'].filter((b) => p[b]?.best).map((b) => `${b} ${p[b].best.toFixed(1)} GFLOP/s`).join(', ');
  log(`bench: WebAssembly SIMD peak…`);
  const peakBefore = await measurePeak({ seconds: peakSeconds });
  log(`  ${showPeak(peakBefore)}`);

  const cells = [];
  const ran = new Set(); // "peer op" that have run on some shape: their code is JIT-compiled
  const mismatches = [];
  const leaks = [];
  for (const shape of shapes) {
    const shapeOps = shape.ops.filter((o) => ops.includes(o));
    if (!shapeOps.length) continue;
    const data = makeData(shape);
    const insts = new Map();
    for (const peer of available) {
      if (opt.quick && QUICK_SKIP[shape.id]?.includes(peer.id)) {
        skipped.push({ peer: peer.id, shape: shape.id, reason: '--quick' });
        continue;
      }
      try {
        insts.set(peer.id, peer.setup(shape, data, ctx));
      } catch (e) {
        skipped.push({ peer: peer.id, shape: shape.id, reason: e.message });
        log(`bench: ${peer.id} on ${shape.id}: ${e.message}`);
      }
    }
    const tensorsBefore = [...insts.values()].find((i) => i.liveTensors)?.liveTensors();
    for (const op of shapeOps) {
      log(`bench: ${shape.id} ${op}`);
      const prints = new Map();
      const timed = [...insts].filter(([, inst]) => inst[op]).map(([id, inst]) => ({
        key: id, run: inst[op], prepare: inst.prepare, lane: inst.lane, jitWarm: ran.has(`${id} ${op}`),
        check: (r) => prints.set(id, fingerprint({ ...r, ...inst.results?.[op]?.() })),
      }));
      const results = await timeCells(timed, timing, (id, r) => {
        const label = PEERS.find((p) => p.id === id).label;
        log(`  ${label.padEnd(24)} ${r.medianMs == null ? r.stop : `${r.medianMs.toPrecision(4).padStart(9)} ms`}` +
          `  (${r.samples.length} runs, ${r.warmups} warm-up, ${r.stop})`);
      });
      for (const [id, r] of results) if (r.samples.length) ran.add(`${id} ${op}`);
      const oracle = prints.get('reference') ?? prints.get(baseline);
      for (const [id, r] of results) {
        const peer = PEERS.find((p) => p.id === id);
        const flops = FLOPS_PER_NDC[op] * shape.n * shape.d * shape.c;
        const gflops = r.medianMs ? flops / (r.medianMs * 1e6) : null;
        const bad = oracle && prints.get(id) ? compareFingerprints(prints.get(id), oracle) : [];
        if (bad.length) mismatches.push({ shape: shape.id, op, peer: id, differences: bad });
        cells.push({
          shape: shape.id, n: shape.n, d: shape.d, c: shape.c, op, flops,
          peer: id, label: peer.label, family: peer.family, build: peer.build ?? peer.backend ?? null,
          resident: Boolean(peer.resident),
          medianMs: r.medianMs, minMs: r.minMs, gflops, pctPeak: null,
          samples: r.samples, warmups: r.warmups, warmMs: r.warmMs, stop: r.stop, singleRun: r.singleRun,
          memoryBytes: insts.get(id).memoryBytes?.() ?? null,
          fingerprint: prints.get(id) ?? null,
        });
      }
    }
    const tensorsAfter = [...insts.values()].find((i) => i.liveTensors)?.liveTensors();
    if (tensorsBefore !== tensorsAfter) leaks.push({ shape: shape.id, tfjsTensorsBefore: tensorsBefore, tfjsTensorsAfter: tensorsAfter });
    for (const inst of insts.values()) inst.dispose();
    gc();
  }

  const memory = [];
  const notProbed = [];
  if (memoryProbes) {
    const probePeers = [baseline, `${baseline}-resident`, 'reference', 'tfjs-wasm', 'tfjs-wasm-xnn', 'tfjs-cpu']
      .filter((id) => available.some((p) => p.id === id));
    for (const shape of shapes.filter((s) => s.ops.includes('step') && ops.includes('step'))) {
      log(`bench: peak memory, ${shape.id} step`);
      for (const id of probePeers) {
        const cell = cells.find((c) => c.shape === shape.id && c.op === 'step' && c.peer === id);
        if (!cell?.medianMs) continue;
        if (cell.medianMs > PROBE_MAX_MS && !opt.memory) {
          notProbed.push({ shape: shape.id, peer: id, reason: `one step takes ${(cell.medianMs / 1000).toFixed(0)} s (--memory probes it)` });
          log(`  ${cell.label.padEnd(24)} not probed: one step takes ${(cell.medianMs / 1000).toFixed(0)} s (--memory probes it)`);
          continue;
        }
        const runs = cell.medianMs > 2000 ? 1 : 2;
        try {
          const m = await spawnProbe(`${id}:${shape.id}`, runs);
          memory.push(m);
          log(`  ${cell.label.padEnd(24)} peak RSS ${(m.peakRss / 2 ** 20).toFixed(0)} MiB, inputs ${(m.dataRss / 2 ** 20).toFixed(0)} MiB` +
            (m.wasmBytes ? `, wasm ${(m.wasmBytes / 2 ** 20).toFixed(0)} MiB` : ''));
        } catch (e) {
          log(`  ${cell.label}: probe failed: ${e.message}`);
        }
      }
    }
  }

  log(`bench: WebAssembly SIMD peak again…`);
  const peakAfter = await measurePeak({ seconds: peakSeconds });
  log(`  ${showPeak(peakAfter)}`);
  const peak = mergePeaks(peakBefore, peakAfter);
  for (const cell of cells) cell.pctPeak = cell.gflops ? (100 * cell.gflops) / peak.peak : null;

  const meta = await stamp({ instance: ctx.sce?.[ctx.autoBuild], builds: ctx.sce ? Object.keys(ctx.sce) : [], loadStart, quick: opt.quick });
  const results = {
    meta, options: { quick: opt.quick, shapes: shapes.map((s) => s.id), ops, memoryProbes }, timing,
    baseline, baselineLabel: `ours ${ctx.autoBuild}`, peak, cells, memory, notProbed, skipped, mismatches, tfjsLeaks: leaks,
  };
  const dir = save ? `${root}/bench/results` : `${root}/build/bench`;
  const name = save ? 'latest' : 'results';
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/${name}.json`, toJson(results));
  await writeFile(`${dir}/${name}.svg`, svg(results));
  await writeFile(`${dir}/${name}.md`, table(results) + '\n');
  console.log('\n' + table(results) + '\n');
  for (const m of mismatches) log(`bench: WARNING ${m.peer} on ${m.shape} ${m.op} disagrees with the oracle: ${m.differences.join('; ')}`);
  for (const l of leaks) log(`bench: WARNING tfjs tensors leaked on ${l.shape}: ${l.tfjsTensorsBefore} → ${l.tfjsTensorsAfter}`);
  log(`bench: wrote ${dir.replace(root + '/', '')}/${name}.json, .md (the table) and .svg` +
    (save ? '' : ' (quick or subset run: pass --save to write bench/results/latest.*)'));
}

// ---------------------------------------------------------------- peak memory probes

function spawnProbe(spec, runs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--probe', spec, '--probe-runs', String(runs)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SCE_BENCH_CHILD: '1' } });
    let out = '', err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`exit ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`));
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch (e) { reject(e); }
    });
  });
}

/**
 * In its own process: load one implementation, make the inputs, run `runs` training
 * steps, report RSS. On Linux the peak is VmHWM, reset (clear_refs 5) once the inputs
 * exist, so it is the peak of setup + steps and not of loading the libraries; elsewhere
 * it falls back to the whole process's maxRSS.
 */
async function probe(spec, runs) {
  const [peerId, shapeId] = spec.split(':');
  const peer = PEERS.find((p) => p.id === peerId), shape = SHAPES.find((s) => s.id === shapeId);
  if (!peer || !shape) throw new Error(`bench: --probe ${spec}: unknown peer or shape`);
  const ctx = {};
  const why = await peer.load(ctx);
  if (why) throw new Error(`bench: --probe ${spec}: ${why}`);
  const rss = () => process.memoryUsage().rss;
  const hwm = () => {
    try { return Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/)[1]) * 1024; } catch { return null; }
  };
  gc();
  const loadedRss = rss();
  const data = makeData(shape);
  gc();
  const dataRss = rss();
  let reset = true;
  try { writeFileSync('/proc/self/clear_refs', '5'); } catch { reset = false; }
  const inst = peer.setup(shape, data, ctx);
  for (let r = 0; r < runs; r++) {
    await inst.prepare?.();
    inst.step();
  }
  const afterRss = rss();
  const processPeakRss = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({
    peer: peerId, shape: shapeId, runs, loadedRss, dataRss, afterRss,
    peakRss: (reset && hwm()) || processPeakRss, peakSource: reset && hwm() ? 'VmHWM since inputs' : 'process maxRSS',
    processPeakRss, wasmBytes: inst.memoryBytes?.() ?? null,
  }));
}
