// Bench section "data": speed on the data users really have (issue 11). The other sections
// use narrow inputs (logits within about ±2); on wider data far-off classes get
// probabilities exp(z − m) so small that dZ holds float32 subnormals, and x86 cores take a
// microcode assist for every multiply with a subnormal operand (WebAssembly has no
// flush-to-zero mode), so the backward gemms dX = dZ·W and dW = dZᵀ·X used to crawl.
//
// For each shape and distribution (bench/distributions.mjs: narrow, wide, trained, raw):
//   - the training step and the forward (loss only), our two builds with resident tensors
//     (as a training loop runs them), tfjs-wasm and tfjs-wasm · XNNPACK with arrays (as
//     bench/peers.mjs); medians of interleaved rounds (every distribution and build in one
//     round, bench/measure.mjs), GFLOP/s, % of the measured SIMD peak, and time ÷ the same
//     implementation's time on narrow data in this run;
//   - the fraction of dZ that is a float32 subnormal: in the f64 reference's dZ rounded to
//     float32 (what a row kernel without a flush writes, so the "before" figure of every
//     run) and in what each of our builds writes (after issue 11: 0);
//   - accuracy of our step against the f64 reference (max |error| ÷ max |reference| of dx,
//     dw, db; relative error of the loss);
//   - jax-js (@jax-js/jax, jit(valueAndGrad)) on its wasm device, in a child process on the
//     Node of bench/jaxjs (≥ 21: jax-js needs `navigator`), timed there the same way;
//   - one epoch of classifier.fit on the mnist digits unnormalised (0–255) against
//     normalised ([0, 1]), both builds.
//
//   npm run bench -- --section data           about 3 min on the 2-core dev machine
//   npm run bench -- --section data --quick   about 1 min: shorter time boxes, fewer fit epochs
//   (jax-js: `npm --prefix bench/jaxjs install` once; without it the section says so and goes on)
// Results: bench/results/data.{json,md} (build/bench/ for --quick, unless --save).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { PEERS, loadTf } from './peers.mjs';
import { TIMING, timeCells, median } from './measure.mjs';
import { measurePeak, mergePeaks } from './peak.mjs';
import { importLibrary, root, stamp, writeSection } from './common.mjs';
import { DISTRIBUTIONS, DESCRIPTIONS, makeDistribution, digitsData, subnormalFraction, subnormalFractionF32 } from './distributions.mjs';

const gc = globalThis.gc ?? (() => {});

export const DATA_SHAPES = [
  { id: '128x512x1000', n: 128, d: 512, c: 1000 },
  { id: '256x784x10', n: 256, d: 784, c: 10 },
];
const FLOPS = { step: 6, forward: 2 };
const BUILDS = ['simd', 'relaxed'];
const TFJS = ['tfjs-wasm', 'tfjs-wasm-xnn'];
const JAX_NODE = `${root}/bench/jaxjs/node_modules/.bin/node`;
const JAX_SCRIPT = `${root}/bench/jaxjs/step.mjs`;

/** Max |a − b| ÷ max |b| over the arrays. */
function relErr(a, b) {
  let e = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m ? e / m : e;
}

/** What the data does to the row kernel, and our accuracy on it (untimed). */
function inspect(sces, reference, shape, data) {
  const { n, d, c } = shape;
  const { x, w, b, target } = data;
  const z = sces.simd.linear({ x, w, b, n, d, c });
  let zmax = 0;
  for (const v of z) zmax = Math.max(zmax, Math.abs(v));
  const refDz = reference.crossEntropy({ logits: z, target, n, c }).dlogits;
  const ref = reference.linearCrossEntropy({ x, w, b, target, n, d, c });
  const out = { zmax, refLoss: ref.loss, subnormalUnflushed: subnormalFractionF32(refDz), builds: {} };
  for (const build of BUILDS) {
    const sce = sces[build];
    if (!sce) continue;
    const dz = sce.crossEntropy({ logits: z, target, n, c }).dlogits;
    const r = sce.linearCrossEntropy({ x, w, b, target, n, d, c });
    out.builds[build] = {
      subnormal: subnormalFraction(dz),
      subnormalSoftmax: subnormalFraction(sce.softmax(z, n, c)),
      lossRelErr: Math.abs(r.loss - ref.loss) / Math.abs(ref.loss),
      dxRelErr: relErr(r.dx, ref.dx), dwRelErr: relErr(r.dw, ref.dw), dbRelErr: relErr(r.db, ref.db),
    };
  }
  return out;
}

/** Our step and forward on resident tensors. */
function oursCells(sce, { n, d, c }, { x, w, b, target }) {
  const t = { x: sce.tensor(x), w: sce.tensor(w), b: sce.tensor(b), dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c) };
  const step = { x: t.x, w: t.w, b: t.b, target, n, d, c, out: { dx: t.dx, dw: t.dw, db: t.db } };
  const fwd = { x: t.x, w: t.w, b: t.b, target, n, d, c, grad: false };
  return {
    step: () => sce.linearCrossEntropy(step),
    forward: () => sce.linearCrossEntropy(fwd),
    dispose() { for (const v of Object.values(t)) v.free(); },
  };
}

/** jax-js in its child process; → { ok, results } or { ok: false, command, error }. */
function runJax(shapes, quick) {
  const args = [JAX_SCRIPT, JSON.stringify({ shapes, distributions: DISTRIBUTIONS, quick })];
  const command = `${JAX_NODE.replace(root + '/', '')} ${args.map((a) => `'${a.replace(root + '/', '')}'`).join(' ')}`;
  if (!existsSync(JAX_NODE)) {
    return Promise.resolve({ ok: false, command, error: `${JAX_NODE.replace(root + '/', '')} is missing: run \`npm --prefix bench/jaxjs install\`` });
  }
  return new Promise((resolve) => {
    const child = spawn(JAX_NODE, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => { err += b; process.stderr.write(b); });
    child.on('exit', (code, signal) => {
      if (code !== 0) return resolve({ ok: false, command, error: `exit ${code ?? signal}: ${err.trim().split('\n').slice(-4).join(' ')}` });
      try { resolve({ ok: true, command, ...JSON.parse(out.trim().split('\n').pop()) }); } catch (e) { resolve({ ok: false, command, error: `bad output: ${e.message}` }); }
    });
  });
}

/** One epoch of classifier.fit on the digits, normalised against raw, both builds, interleaved. */
function fitEpochs(sces, rounds, log) {
  const n = 8000;
  const sets = { normalised: digitsData(n, 1 / 255), raw: digitsData(n, 1) };
  const cells = [];
  for (const build of BUILDS) if (sces[build]) for (const data of Object.keys(sets)) cells.push({ build, data, ms: [], loss: null, accuracy: null });
  const epoch = (cell) => {
    const model = sces[cell.build].classifier({ inputs: 784, classes: 10, seed: 1 });
    const { x, labels } = sets[cell.data];
    const h = model.fit(x, labels, { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.001, seed: 1 });
    model.dispose();
    return h;
  };
  for (const cell of cells) epoch(cell); // warm-up: tier-up of the classifier's JS and kernels
  for (let r = 0; r < rounds; r++) {
    for (const cell of cells) {
      const h = epoch(cell);
      cell.ms.push(h.ms[0]);
      cell.loss = h.loss[0];
      cell.accuracy = h.accuracy[0];
    }
  }
  for (const cell of cells) {
    cell.medianMs = median(cell.ms);
    log(`  fit ${cell.build} ${cell.data.padEnd(10)} ${cell.medianMs.toFixed(1)} ms per epoch (${rounds} epochs), loss ${cell.loss.toFixed(3)}`);
  }
  for (const cell of cells) {
    const norm = cells.find((c) => c.build === cell.build && c.data === 'normalised');
    cell.ratio = cell.medianMs / norm.medianMs;
  }
  return cells;
}

// ---------------------------------------------------------------- the section (in the bench child)

export async function data({ quick = false, save = !quick } = {}) {
  const log = (s) => process.stderr.write(s + '\n');
  const loadStart = os.loadavg();
  const lib = await importLibrary();
  const sces = {};
  for (const build of BUILDS) {
    try { sces[build] = await lib.init({ build }); } catch (e) { log(`bench data: no '${build}' build here: ${e.message}`); }
  }
  const ctx = {};
  await loadTf(ctx);
  const tfPeers = PEERS.filter((p) => TFJS.includes(p.id));

  log('bench data: WebAssembly SIMD peak…');
  const peakSeconds = quick ? 0.3 : 0.8;
  const peakBefore = await measurePeak({ seconds: peakSeconds });

  // Tier-up: V8 compiles wasm with Liftoff first, TurboFan later; seconds of steps first.
  log('bench data: JIT warm-up…');
  {
    const shape = DATA_SHAPES[0], warm = makeDistribution('narrow', shape);
    for (const sce of Object.values(sces)) {
      const c = oursCells(sce, shape, warm), t0 = performance.now();
      while (performance.now() - t0 < (quick ? 500 : 1500)) c.step();
      c.dispose();
    }
  }

  const timing = quick ? { ...TIMING.quick } : { ...TIMING.full, minSamples: 9 };
  const cells = [], inspections = [];
  for (const shape of DATA_SHAPES) {
    const datasets = Object.fromEntries(DISTRIBUTIONS.map((dist) => [dist, makeDistribution(dist, shape)]));
    for (const dist of DISTRIBUTIONS) {
      const i = inspect(sces, lib.reference, shape, datasets[dist]);
      inspections.push({ shape: shape.id, dist, ...i });
      log(`bench data: ${shape.id} ${dist.padEnd(8)} max |z| ${i.zmax.toFixed(1)}, dZ subnormal unflushed ${(100 * i.subnormalUnflushed).toFixed(2)} %, ` +
        Object.entries(i.builds).map(([b, r]) => `${b} ${(100 * r.subnormal).toFixed(2)} % (dx err ${r.dxRelErr.toExponential(1)})`).join(', '));
    }
    const impls = [];
    for (const dist of DISTRIBUTIONS) {
      for (const build of BUILDS) if (sces[build]) impls.push({ impl: `ours-${build}`, dist, ...oursCells(sces[build], shape, datasets[dist]) });
      for (const peer of tfPeers) impls.push({ impl: peer.id, dist, ...peer.setup(shape, datasets[dist], ctx) });
    }
    for (const op of ['step', 'forward']) {
      log(`bench data: ${shape.id} ${op}`);
      const timed = impls.map((m) => ({ key: `${m.impl} ${m.dist}`, run: m[op], prepare: m.prepare }));
      const results = await timeCells(timed, timing, (key, r) => log(`  ${key.padEnd(28)} ${r.medianMs?.toPrecision(4) ?? r.stop} ms (${r.samples.length} runs)`));
      for (const m of impls) {
        const r = results.get(`${m.impl} ${m.dist}`);
        const flops = FLOPS[op] * shape.n * shape.d * shape.c;
        cells.push({ shape: shape.id, op, impl: m.impl, dist: m.dist, medianMs: r.medianMs, samples: r.samples.length,
          gflops: r.medianMs ? flops / (r.medianMs * 1e6) : null });
      }
    }
    for (const m of impls) m.dispose();
    gc();
  }

  log('bench data: jax-js (child process)…');
  const jax = await runJax(DATA_SHAPES, quick);
  if (!jax.ok) log(`bench data: jax-js did not run: ${jax.command}: ${jax.error}`);
  else {
    for (const r of jax.results) {
      // its loss against the f64 reference's: a peer that computes something else is flagged
      const ref = inspections.find((i) => i.shape === r.shape && i.dist === r.dist).refLoss;
      // (relative to max(|ref|, 1): on trained data the loss is 2e-14, which float32 log-softmax rounds to 0)
      const lossRelErr = Math.abs(r.loss - ref) / Math.max(Math.abs(ref), 1);
      if (!(lossRelErr <= 2e-3)) log(`bench data: WARNING jax-js loss on ${r.shape} ${r.dist} ${r.op} is ${r.loss}, the reference's ${ref}`);
      cells.push({ ...r, impl: 'jax-js', lossRelErr, gflops: r.medianMs ? (FLOPS[r.op] * r.n * r.d * r.c) / (r.medianMs * 1e6) : null });
    }
  }

  log('bench data: classifier.fit, one epoch of 8000 digits…');
  const fit = fitEpochs(sces, quick ? 3 : 7, log);

  const peakAfter = await measurePeak({ seconds: peakSeconds });
  const peak = mergePeaks(peakBefore, peakAfter);
  for (const cell of cells) {
    cell.pctPeak = cell.gflops ? (100 * cell.gflops) / peak.peak : null;
    const narrow = cells.find((o) => o.shape === cell.shape && o.op === cell.op && o.impl === cell.impl && o.dist === 'narrow');
    cell.ratio = narrow?.medianMs && cell.medianMs ? cell.medianMs / narrow.medianMs : null;
  }
  const meta = await stamp({ instance: sces.simd ?? sces.relaxed, builds: Object.keys(sces), loadStart, quick });
  const results = { meta, timing, peak, distributions: DESCRIPTIONS, inspections, cells, jax: { ok: jax.ok, command: jax.command, error: jax.error, meta: jax.meta }, fit };
  const dir = await writeSection('data', results, report(results), save);
  log(`bench data: wrote ${dir}/data.json and data.md`);
}

// ---------------------------------------------------------------- the table

const LABEL = { 'ours-simd': 'ours simd · resident', 'ours-relaxed': 'ours relaxed · resident', 'tfjs-wasm': 'tfjs-wasm', 'tfjs-wasm-xnn': 'tfjs-wasm · XNNPACK', 'jax-js': 'jax-js · wasm, jit' };
const pct = (v) => (v == null ? '–' : v === 0 ? '0' : v < 1e-4 ? '<0.01 %' : `${(100 * v).toFixed(2)} %`);

export function report(r) {
  const m = r.meta;
  const lines = [
    `Bench section data: ${m.date}, ${m.cpu} (${m.cores} cores), Node ${m.node} ${m.nodeFlags.filter((f) => f.includes('wasm')).join(' ')}, ` +
      `commit ${m.commit}, load ${m.loadAverage.start.map((v) => v.toFixed(1)).join(' ')} → ${m.loadAverage.end.map((v) => v.toFixed(1)).join(' ')}` +
      (m.quick ? ' (--quick)' : ''),
    `SIMD peak ${r.peak.peak.toFixed(1)} GFLOP/s (${r.peak.peakBuild}). Distributions: ` + Object.entries(r.distributions).map(([k, v]) => `${k}: ${v}`).join('; ') + '.',
    '',
    '**dZ** (the row kernel\'s output, which feeds the backward gemms): share of float32 subnormals, without the flush (f64 reference rounded to float32: what the kernels wrote before issue 11) and as our builds write it; accuracy of our step against the f64 reference (max |error| ÷ max |reference|, worst of dx, dw, db).',
    '',
    '| shape | data | max \\|z\\| | subnormal dZ, unflushed | ours simd | ours relaxed | softmax out (simd / relaxed) | step error simd / relaxed |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const i of r.inspections) {
    const b = i.builds;
    const err = (x) => (x ? Math.max(x.dxRelErr, x.dwRelErr, x.dbRelErr).toExponential(1) : '–');
    lines.push(`| ${i.shape} | ${i.dist} | ${i.zmax.toFixed(1)} | ${pct(i.subnormalUnflushed)} | ${pct(b.simd?.subnormal)} | ${pct(b.relaxed?.subnormal)} | ` +
      `${pct(b.simd?.subnormalSoftmax)} / ${pct(b.relaxed?.subnormalSoftmax)} | ${err(b.simd)} / ${err(b.relaxed)} |`);
  }
  for (const op of ['step', 'forward']) {
    lines.push('', `**${op}** (${FLOPS[op]}·N·D·C flops): median ms, GFLOP/s, % of peak, and ÷ narrow (the same implementation on narrow data, this run)`, '');
    lines.push('| shape | implementation | ' + DISTRIBUTIONS.join(' | ') + ' |', '|---|---|' + DISTRIBUTIONS.map(() => '---:').join('|') + '|');
    for (const shape of DATA_SHAPES) {
      for (const impl of ['ours-simd', 'ours-relaxed', 'tfjs-wasm', 'tfjs-wasm-xnn', 'jax-js']) {
        const row = DISTRIBUTIONS.map((dist) => r.cells.find((c) => c.shape === shape.id && c.op === op && c.impl === impl && c.dist === dist));
        if (!row.some(Boolean)) continue;
        lines.push(`| ${shape.id} | ${LABEL[impl]} | ` + row.map((c) => (c?.medianMs
          ? `${c.medianMs.toFixed(2)} ms, ${c.gflops.toFixed(1)} GF/s, ${c.pctPeak.toFixed(0)} %, **${c.ratio.toFixed(2)}×**`
          : '–')).join(' | ') + ' |');
      }
    }
  }
  lines.push('', r.jax.ok
    ? `jax-js ${r.jax.meta?.version} on Node ${r.jax.meta?.node} (child process, ${r.jax.meta?.threads}), jit(valueAndGrad) for the step, jit(loss) for the forward, arrays resident on its wasm device.`
    : `jax-js did not run: \`${r.jax.command}\`: ${r.jax.error}`);
  lines.push('', '**classifier.fit**, one epoch of 8000 digits (batch 32, adam): median ms per epoch, and raw (0–255) ÷ normalised ([0, 1])', '',
    '| build | normalised | raw 0–255 | raw ÷ normalised |', '|---|---:|---:|---:|');
  for (const build of BUILDS) {
    const norm = r.fit.find((c) => c.build === build && c.data === 'normalised'), raw = r.fit.find((c) => c.build === build && c.data === 'raw');
    if (norm && raw) lines.push(`| ${build} | ${norm.medianMs.toFixed(1)} ms | ${raw.medianMs.toFixed(1)} ms | ${raw.ratio.toFixed(2)}× |`);
  }
  return lines.join('\n');
}
