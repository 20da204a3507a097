// Bench section "vocab": large vocabularies. One training step (linear + cross-entropy +
// dx, dW, db) at C in the tens of thousands, where the N×C logits dominate memory:
//   ours · unfused      chunk: false — all N×C logits in WebAssembly memory at once
//   ours · chunked      chunk: 'auto' — row blocks whose logits fit CHUNK_BYTES (src/core.ts),
//                       dW and db accumulated over blocks; rows per block in the table
//   (both with arrays in and out, and with resident tensors: x, W, b in WebAssembly memory,
//   gradients into `out` tensors, so the step copies nothing but the targets)
//   tfjs-wasm · XNNPACK and tfjs-wasm (autodiff), as in bench/peers.mjs
//
//   npm run bench -- --section vocab            about 4 min on the 2-core dev machine
//   npm run bench -- --section vocab --quick    ours only, fewer runs, no memory probes (about 1 min)
//   npm run bench -- --section vocab --slow     also tfjs-wasm (autodiff) on 2048×256×32768: one
//                                               step in its own process, several minutes
//
// Time: medians of interleaved runs after a warm-up (bench/measure.mjs); on 2048×256×32768
// a step takes seconds, so 1 warm-up + 3 timed runs (marked). Before timing, every
// implementation runs a small shape for a while so that V8 has tiered its WebAssembly up
// (a first call that runs for seconds stays in baseline code: 21 s instead of 7 s).
// Memory: each implementation and shape in its own process (`node bench/vocab.mjs --probe
// id:shape`): WebAssembly memory after the steps, "extra" = that minus the bytes of x, W,
// b, dx, dW, db (exact), and the process's peak RSS (Linux VmHWM, reset once the inputs exist).
// Agreement: chunked against unfused, max |Δ| over the largest |value| of each output and
// the loss relative, pass at ≤ 1e-5 (the tests' rule).
// Results: bench/results/vocab.{json,md} (build/bench/ for --quick, unless --save).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { PEERS, loadTf } from './peers.mjs';
import { median, timeCells } from './measure.mjs';
import {
  MiB, autoBlockRows, chunkBytes, hwm, importLibrary, makeData, resetHwm, rss, stamp, writeSection,
} from './common.mjs';

const gc = globalThis.gc ?? (() => {});
const MB = 1e6;

export const VOCAB_SHAPES = [
  { id: '2048x256x32768', n: 2048, d: 256, c: 32768, big: true },
  { id: '64x768x32000', n: 64, d: 768, c: 32000 },
];

/** Targets from the project's "large vocabularies" issue. */
const TARGETS = { shape: '2048x256x32768', extraBytes: 16 * MB, ratio: 1.15, agreement: 1e-5 };

/**
 * The implementations. Ours: one instance per implementation and shape, so that its
 * memoryBytes is its own. chunk: what linearCrossEntropy gets.
 */
const CONFIGS = [
  { id: 'ours-unfused', label: 'ours · unfused', family: 'ours', chunk: false },
  { id: 'ours-chunked', label: 'ours · chunked', family: 'ours', chunk: 'auto' },
  { id: 'ours-unfused-resident', label: 'ours · unfused · resident', family: 'ours', chunk: false, resident: true },
  { id: 'ours-chunked-resident', label: 'ours · chunked · resident', family: 'ours', chunk: 'auto', resident: true },
  // Where 'auto' gives one block (64×768×32000: the logits are 7.8 MiB < CHUNK_BYTES), what blocks would cost.
  { id: 'ours-rows16', label: 'ours · chunk { rows: 16 }', family: 'ours', chunk: { rows: 16 }, only: ['64x768x32000'] },
  { id: 'tfjs-wasm-xnn', label: 'tfjs-wasm · XNNPACK', family: 'tfjs' },
  { id: 'tfjs-wasm', label: 'tfjs-wasm (autodiff)', family: 'tfjs', slow: ['2048x256x32768'] },
];

const sixBytes = ({ n, d, c }) => 4 * (2 * n * d + 2 * c * d + 2 * c);
const rowsOf = (config, { n, c }) =>
  config.family !== 'ours' ? null
    : config.chunk === false ? n
      : config.chunk === 'auto' ? autoBlockRows(n, c)
        : Math.min(n, config.chunk.rows);

async function load(config, ctx) {
  if (config.family === 'ours') {
    ctx.lib ??= await importLibrary();
    return;
  }
  await loadTf(ctx);
}

/** → { step() → result, results?() → { dx, dw, db }, memoryBytes(), dispose() } */
async function setup(config, shape, data, ctx) {
  const { n, d, c } = shape;
  const { x, w, b, target } = data;
  if (config.family === 'tfjs') return PEERS.find((p) => p.id === config.id).setup(shape, data, ctx);
  const sce = await ctx.lib.init(); // single thread, default build
  const chunk = config.chunk;
  if (!config.resident) {
    const args = { x, w, b, target, n, d, c, chunk };
    return { sce, step: () => sce.linearCrossEntropy(args), memoryBytes: () => sce.memoryBytes, dispose() {} };
  }
  const t = {
    x: sce.tensor(x), w: sce.tensor(w), b: sce.tensor(b), dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c),
  };
  const args = { x: t.x, w: t.w, b: t.b, target, n, d, c, chunk, out: { dx: t.dx, dw: t.dw, db: t.db } };
  return {
    sce,
    step: () => sce.linearCrossEntropy(args),
    results: () => ({ dx: t.dx.read(), dw: t.dw.read(), db: t.db.read() }),
    memoryBytes: () => sce.memoryBytes,
    dispose() { for (const v of Object.values(t)) v.free(); },
  };
}

/**
 * Runs each implementation's step on a small shape for `ms` so that V8 tiers its
 * WebAssembly up before the big calls (compiled code is per module, shared by instances).
 */
async function jitWarm(configs, ctx, ms) {
  const shape = { n: 32, d: 64, c: 512 };
  const data = makeData(shape);
  for (const config of configs) {
    const inst = await setup(config.family === 'ours' ? { ...config, chunk: { rows: 8 } } : config, shape, data, ctx);
    await inst.prepare?.();
    const t0 = performance.now();
    while (performance.now() - t0 < ms) inst.step();
    inst.dispose();
  }
}

/**
 * Median over rounds of t(a) ÷ t(b): the interleaved cells take sample i in the same
 * round, seconds apart, so each pair saw about the same load from other processes.
 */
function pairedRatio(a, b) {
  const k = Math.min(a?.samples.length ?? 0, b?.samples.length ?? 0);
  if (!k || a.singleProcessRun || b.singleProcessRun) return null;
  return median(Array.from({ length: k }, (_, i) => a.samples[i] / b.samples[i]));
}

/** max |a − b| / max |b| of each output; the loss relative. */
function agreement(a, b) {
  const out = {};
  out.loss = Math.abs(a.loss - b.loss) / Math.abs(b.loss);
  for (const key of ['dx', 'dw', 'db']) {
    if (!a[key] || !b[key]) continue;
    let scale = 0, worst = 0;
    for (let i = 0; i < b[key].length; i++) {
      scale = Math.max(scale, Math.abs(b[key][i]));
      worst = Math.max(worst, Math.abs(a[key][i] - b[key][i]));
    }
    out[key] = worst / scale;
  }
  out.pass = Object.values(out).every((v) => v <= TARGETS.agreement);
  out.identical = Object.entries(out).every(([k, v]) => k === 'pass' || v === 0);
  return out;
}

// ---------------------------------------------------------------- the section (in the bench child)

export async function vocab({ quick = false, save = !quick, slow = false } = {}) {
  const log = (s) => process.stderr.write(s + '\n');
  const loadStart = os.loadavg();
  const ctx = {};
  const bytes = chunkBytes();
  log(`bench vocab: CHUNK_BYTES = ${bytes} (${bytes / MiB} MiB)${quick ? ', quick' : ''}`);
  const configs = CONFIGS.filter((cfg) => !quick || cfg.family === 'ours');
  const skipped = [];
  for (const cfg of configs) await load(cfg, ctx);
  log('bench vocab: JIT warm-up on a small shape…');
  await jitWarm(configs, ctx, quick ? 300 : 800);

  const cells = [], checks = [], memory = [];
  for (const shape of VOCAB_SHAPES) {
    const here = configs.filter((cfg) => !cfg.only || cfg.only.includes(shape.id));
    const timed = here.filter((cfg) => {
      if (cfg.slow?.includes(shape.id)) {
        skipped.push({ id: cfg.id, shape: shape.id, reason: slow ? 'timed in its own process (--slow)' : 'one step takes minutes (--slow runs it once)' });
        return false;
      }
      if (quick && shape.big && cfg.resident) {
        skipped.push({ id: cfg.id, shape: shape.id, reason: '--quick' });
        return false;
      }
      return true;
    });
    const data = makeData(shape);
    const insts = new Map();
    for (const cfg of timed) insts.set(cfg.id, await setup(cfg, shape, data, ctx));
    const results = new Map();
    // 2048×256×32768: seconds per step, so one warm-up and 3 timed runs (1 for --quick).
    const timing = shape.big
      ? { warmMs: 0, minSamples: quick ? 1 : 3, minMs: 0, maxSamples: quick ? 1 : 3, budgetMs: 600_000 }
      : quick ? { warmMs: 150, minSamples: 3, minMs: 300, maxSamples: 20, budgetMs: 3_000 }
        : { warmMs: 300, minSamples: 9, minMs: 3000, maxSamples: 40, budgetMs: 12_000 };
    log(`bench vocab: ${shape.id} step (${timed.map((c) => c.id).join(', ')})`);
    const times = await timeCells(timed.map((cfg) => {
      const inst = insts.get(cfg.id);
      return {
        key: cfg.id, run: inst.step, prepare: inst.prepare,
        check: (r) => results.set(cfg.id, { ...r, ...inst.results?.() }),
      };
    }), timing, (id, r) => log(`  ${CONFIGS.find((c) => c.id === id).label.padEnd(28)} ` +
      `${r.medianMs == null ? r.stop : `${r.medianMs.toPrecision(4).padStart(8)} ms`} (${r.samples.length} runs, ${r.warmups} warm-up)`));
    const flops = 6 * shape.n * shape.d * shape.c;
    for (const cfg of timed) {
      const r = times.get(cfg.id), inst = insts.get(cfg.id);
      const rows = rowsOf(cfg, shape);
      cells.push({
        shape: shape.id, n: shape.n, d: shape.d, c: shape.c, id: cfg.id, label: cfg.label, family: cfg.family,
        resident: Boolean(cfg.resident), chunk: cfg.chunk ?? null, rowsPerBlock: rows, blocks: rows ? Math.ceil(shape.n / rows) : null,
        medianMs: r.medianMs, minMs: r.minMs, gflops: r.medianMs ? flops / (r.medianMs * 1e6) : null,
        samples: r.samples, warmups: r.warmups, stop: r.stop,
        // ours: this instance's memory (its own); tfjs: the one heap of every tfjs peer in this process
        wasmBytesInProcess: inst.memoryBytes?.() ?? null,
        sixBytes: sixBytes(shape), logitsBytes: 4 * shape.n * shape.c,
      });
    }
    // Chunked against unfused, with arrays and with resident tensors; tfjs against ours for information.
    for (const [a, bId, info] of [['ours-chunked', 'ours-unfused'], ['ours-chunked-resident', 'ours-unfused-resident'],
      ['ours-rows16', 'ours-unfused'], ['tfjs-wasm-xnn', 'ours-unfused', true], ['tfjs-wasm', 'ours-unfused', true]]) {
      if (!results.get(a) || !results.get(bId)) continue;
      const agree = agreement(results.get(a), results.get(bId));
      checks.push({ shape: shape.id, a, b: bId, informational: Boolean(info), ...agree });
      log(`  agreement ${a} vs ${bId}: loss ${agree.loss.toExponential(1)}, dx ${agree.dx?.toExponential(1)}, ` +
        `dw ${agree.dw?.toExponential(1)}, db ${agree.db?.toExponential(1)}${info ? '' : agree.pass ? ' — pass (≤ 1e-5)' : ' — FAIL (> 1e-5)'}`);
    }
    for (const inst of insts.values()) inst.dispose();
    insts.clear();
    results.clear();
    gc();

    if (!quick) {
      log(`bench vocab: ${shape.id} peak memory, one process each`);
      for (const cfg of here) {
        if (cfg.slow?.includes(shape.id) && !slow) continue;
        const single = cfg.slow?.includes(shape.id);
        const runs = shape.big ? 1 : 2;
        try {
          const m = await spawnProbe(`${cfg.id}:${shape.id}`, runs);
          memory.push({ ...m, timedHere: single });
          log(`  ${cfg.label.padEnd(28)} wasm ${(m.wasmBytes / MiB).toFixed(1)} MiB (extra ${(m.extraBytes / MiB).toFixed(1)}), ` +
            `peak RSS ${(m.peakRss / MiB).toFixed(0)} MiB (+${((m.peakRss - m.dataRss) / MiB).toFixed(0)}), step ${m.stepMs.map((t) => t.toFixed(0)).join(', ')} ms`);
          if (single) {
            // Too slow to time in the shared process: its one step in the probe is its time (marked).
            cells.push({
              shape: shape.id, n: shape.n, d: shape.d, c: shape.c, id: cfg.id, label: cfg.label, family: cfg.family,
              resident: false, chunk: null, rowsPerBlock: null, blocks: null,
              medianMs: m.stepMs.at(-1), minMs: m.stepMs.at(-1), gflops: (6 * shape.n * shape.d * shape.c) / (m.stepMs.at(-1) * 1e6),
              samples: [m.stepMs.at(-1)], warmups: 0, stop: 'one step in its own process (--slow)', singleProcessRun: true,
              wasmBytesInProcess: m.wasmBytes, sixBytes: sixBytes(shape), logitsBytes: 4 * shape.n * shape.c,
            });
          }
        } catch (e) {
          memory.push({ id: cfg.id, shape: shape.id, error: e.message });
          log(`  ${cfg.label}: probe failed: ${e.message}`);
        }
      }
    }
  }

  const meta = await stamp({ instance: (await ctx.lib.init()), builds: [], loadStart, quick });
  const results = { meta, section: 'vocab', options: { quick, slow }, chunkBytes: bytes, targets: TARGETS, cells, memory, agreement: checks, skipped };
  results.summary = summarize(results);
  const dir = await writeSection('vocab', results, vocabTable(results), save);
  log(`bench vocab: wrote ${dir}/vocab.json and .md`);
}

/** The issue's targets, met or not. */
function summarize({ cells, memory, agreement: checks }) {
  const s = TARGETS.shape;
  const cell = (id) => cells.find((c) => c.shape === s && c.id === id);
  const mem = (id) => memory.find((m) => m.shape === s && m.id === id && !m.error);
  const ratio = (a, b) => (cell(a)?.medianMs && cell(b)?.medianMs ? cell(a).medianMs / cell(b).medianMs : null);
  const paired = (a, b) => pairedRatio(cell(a), cell(b));
  const extra = mem('ours-chunked')?.extraBytes ?? (cell('ours-chunked') ? cell('ours-chunked').wasmBytesInProcess - cell('ours-chunked').sixBytes : null);
  const agree = checks.find((c) => c.shape === s && c.a === 'ours-chunked' && c.b === 'ours-unfused');
  return {
    shape: s,
    chunkedExtraBytes: extra, extraMet: extra != null ? extra <= TARGETS.extraBytes : null,
    ratioArrays: ratio('ours-chunked', 'ours-unfused'), ratioResident: ratio('ours-chunked-resident', 'ours-unfused-resident'),
    pairedArrays: paired('ours-chunked', 'ours-unfused'), pairedResident: paired('ours-chunked-resident', 'ours-unfused-resident'),
    ratioMet: ratio('ours-chunked', 'ours-unfused') != null
      ? Math.max(ratio('ours-chunked', 'ours-unfused'), paired('ours-chunked', 'ours-unfused') ?? 0) <= TARGETS.ratio : null,
    agreementMet: agree ? agree.pass : null,
  };
}

// ---------------------------------------------------------------- table

function sig(x, digits = 3) {
  if (x == null || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toString();
  return Number(x.toPrecision(digits)).toString();
}
const exp = (x) => (x == null ? '–' : x === 0 ? '0' : x.toExponential(1));

export function vocabTable(results) {
  const { meta, cells, memory, agreement: checks, summary } = results;
  const head = ['shape N×D×C', 'implementation', 'rows/block (blocks)', 'median ms', 'runs', 'GFLOP/s', '÷ unfused (paired)',
    'wasm MiB', 'extra wasm MiB', 'peak RSS MiB (Δ step)'];
  const rows = [];
  for (const shape of VOCAB_SHAPES) {
    let first = true;
    for (const cell of cells.filter((c) => c.shape === shape.id)) {
      const m = memory.find((x) => x.shape === shape.id && x.id === cell.id && !x.error);
      const twin = cell.family === 'ours' && cell.id !== 'ours-unfused' && cell.id !== 'ours-unfused-resident'
        ? cells.find((c) => c.shape === shape.id && c.id === (cell.resident ? 'ours-unfused-resident' : 'ours-unfused')) : null;
      // ours: the instance's memory is its own, in the timing process or the probe alike; tfjs: the probe's heap
      const wasm = m?.wasmBytes ?? (cell.family === 'ours' ? cell.wasmBytesInProcess : null);
      rows.push([
        first ? `${shape.n}×${shape.d}×${shape.c}` : '', cell.label,
        cell.rowsPerBlock ? `${cell.rowsPerBlock} (${cell.blocks})` : '',
        cell.medianMs == null ? (cell.stop ?? '–') : sig(cell.medianMs),
        cell.samples.length + (cell.singleProcessRun ? '†' : shape.big ? '*' : cell.samples.length < 9 ? '‡' : ''),
        sig(cell.gflops),
        twin?.medianMs && cell.medianMs ? `${sig(cell.medianMs / twin.medianMs, 3)}× (${sig(pairedRatio(cell, twin), 3)}×)` : '',
        wasm ? sig(wasm / MiB, 4) : '',
        wasm ? sig((wasm - cell.sixBytes) / MiB, 3) : '',
        m?.peakRss ? `${sig(m.peakRss / MiB)} (+${sig(Math.max(0, m.peakRss - m.dataRss) / MiB)})` : '',
      ]);
      first = false;
    }
  }
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 9]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (right.has(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const agreeLines = checks.map((c) => `- ${c.shape}: ${c.a} vs ${c.b}: loss ${exp(c.loss)}, dx ${exp(c.dx)}, dW ${exp(c.dw)}, db ${exp(c.db)}` +
    (c.informational ? ' (information: another implementation)' : c.identical ? ' — pass: bitwise identical' : c.pass ? ' — pass (≤ 1e-5)' : ' — **FAIL** (> 1e-5)'));
  const big = VOCAB_SHAPES.find((s) => s.id === summary.shape);
  const oneBlock = cells.filter((c) => c.id === 'ours-chunked' && c.blocks === 1).map((c) => `${c.n}×${c.d}×${c.c}`);
  const met = (ok) => (ok == null ? 'not measured' : ok ? 'met' : '**not met**');
  const failed = memory.filter((m) => m.error).map((m) => `- ${m.id} on ${m.shape}: probe failed: ${m.error}`);
  return [
    `softmax-ce-wasm ${meta.version} (${meta.commit}, build/index.js ${meta.library.sha256}${meta.library.rebuiltDuringRun ? ', rebuilt during the run: this run used its copy from the start' : ''}) — ` +
      `${meta.cpu}, ${meta.cores} cores, Node ${meta.node}, tfjs ${meta.tfjs.core}, single thread, ${meta.date}${meta.quick ? ', QUICK run' : ''}; ` +
      `load average ${meta.loadAverage.start[0].toFixed(1)} → ${meta.loadAverage.end[0].toFixed(1)}`,
    `Large vocabularies: one training step (linear + CE + dx, dW, db; 6·N·D·C flops). Unfused = \`chunk: false\` (all N×C logits at once); ` +
      `chunked = \`chunk: 'auto'\` (row blocks whose logits fit CHUNK_BYTES = ${results.chunkBytes / MiB} MiB). Arrays in and out unless "resident" ` +
      `(x, W, b resident tensors, gradients into \`out\` tensors).`,
    '',
    line(head), rule, ...rows.map(line),
    '',
    `* 1 warm-up + ${cells.find((c) => c.shape === big.id && c.family === 'ours')?.samples.length ?? 3} timed runs, interleaved (seconds per step); other shapes: median of interleaved runs after warm-up. ` +
      `‡ the 12 s time box ended it. † one step in its own process (\`--slow\`), after a JIT warm-up on a small shape, not interleaved. ` +
      `÷ unfused = median time over the unfused twin's (arrays or resident alike); (paired) = median over rounds of the two runs taken seconds apart in the same round, ` +
      `less moved by load that changes during the run` +
      (oneBlock.length ? `; where 'auto' makes one block (${oneBlock.join(', ')}) chunked and unfused run the same calls, so their ratio there is the noise of the measurement.` : '.'),
    `wasm MiB = WebAssembly memory after the steps, each implementation and shape in its own process (tfjs: its Emscripten heap, 16 MiB at start); ` +
      `extra = wasm − the bytes of x, W, b, dx, dW, db (4·(2ND + 2CD + 2C)). The N×C logits alone: ` +
      VOCAB_SHAPES.map((s) => `${sig((4 * s.n * s.c) / MiB, 4)} MiB at ${s.n}×${s.d}×${s.c}`).join(', ') + '. ' +
      `Peak RSS: Linux VmHWM from the moment the inputs exist through the step(s); Δ = above the process with its inputs.`,
    '',
    `Targets at ${big.n}×${big.d}×${big.c}: chunked extra wasm ≤ 16 MB: ${summary.chunkedExtraBytes != null ? `${sig(summary.chunkedExtraBytes / MB)} MB (${sig(summary.chunkedExtraBytes / MiB)} MiB)` : '–'} — ${met(summary.extraMet)}; ` +
      `chunked ÷ unfused time ≤ ${TARGETS.ratio}×: ${summary.ratioArrays ? `${sig(summary.ratioArrays)}× (paired ${sig(summary.pairedArrays)}×)` : '–'} with arrays` +
      `${summary.ratioResident ? `, ${sig(summary.ratioResident)}× (paired ${sig(summary.pairedResident)}×) resident` : ''} — ${met(summary.ratioMet)}; ` +
      `chunked = unfused within 1e-5: ${met(summary.agreementMet)}.`,
    '',
    'Agreement (max |Δ| / max |reference| per output, loss relative):',
    ...agreeLines,
    ...(results.skipped.length ? ['', 'Not timed: ' + results.skipped.map((s) => `${s.id} on ${s.shape} (${s.reason})`).join('; ') + '.'] : []),
    ...(failed.length ? ['', ...failed] : []),
  ].join('\n');
}

// ---------------------------------------------------------------- memory probes

function spawnProbe(spec, runs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--probe', spec, '--runs', String(runs)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '', err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`exit ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' ')}`));
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch (e) { reject(e); }
    });
  });
}

/**
 * In its own process: load one implementation, warm its JIT up on a small shape, make
 * the inputs, reset VmHWM, set up and run `runs` steps; report memory and step times.
 */
async function probe(spec, runs) {
  const [id, shapeId] = spec.split(':');
  const config = CONFIGS.find((c) => c.id === id), shape = VOCAB_SHAPES.find((s) => s.id === shapeId);
  if (!config || !shape) throw new Error(`bench vocab: --probe ${spec}: unknown implementation or shape`);
  const ctx = {};
  await load(config, ctx);
  await jitWarm([config], ctx, 500);
  gc();
  const loadedRss = rss();
  const data = makeData(shape);
  gc();
  const dataRss = rss();
  const reset = resetHwm();
  const inst = await setup(config, shape, data, ctx);
  const stepMs = [];
  for (let r = 0; r < runs; r++) {
    await inst.prepare?.();
    const t0 = performance.now();
    inst.step();
    stepMs.push(performance.now() - t0);
  }
  const wasmBytes = inst.memoryBytes?.() ?? null;
  const peak = reset ? hwm() : null;
  console.log(JSON.stringify({
    id, shape: shapeId, runs, loadedRss, dataRss, afterRss: rss(),
    peakRss: peak ?? process.resourceUsage().maxRSS * 1024, peakSource: peak ? 'VmHWM since inputs' : 'process maxRSS',
    wasmBytes, extraBytes: wasmBytes != null ? wasmBytes - sixBytes(shape) : null, sixBytes: sixBytes(shape), stepMs,
  }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { probe: { type: 'string' }, runs: { type: 'string', default: '1' } } });
  if (!values.probe) throw new Error('bench/vocab.mjs runs inside the bench: npm run bench -- --section vocab');
  await probe(values.probe, Number(values.runs));
}
