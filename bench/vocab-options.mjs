// Bench section "vocab-options": what the options of issue 15 (spec: gradFilter, softcap,
// zLoss, returnLse, returnAccuracy) cost or save in the large-vocabulary training step
// linearCrossEntropy({ x, w, b, target, n, d, c }) — grad on, reduction 'mean', chunk 'auto'
// (row blocks whose logits fit CHUNK_BYTES), x, W, b resident tensors and dx, dW, db into
// `out` tensors, so that only the kernels are timed (as the resident steps of bench/vocab.mjs).
//
// Shapes (N×D×C): 64×768×32000 (one row block) and 2048×256×32768 (32 row blocks of 64 rows;
// the 256 MB of logits never exist at once). Instances: init() (synchronous, the calling
// thread) and init({ threads: 2 }) (the calling thread + 1 worker).
//
// Distributions of the logits z = x·Wᵀ (b = 0), made by choosing W and x (makeOptionData):
//   W          one matrix for every distribution: entries N(0, 1/D), so |w_c| ≈ 1 and two class
//              rows are nearly orthogonal (w_c·w_k ~ N(0, 1/D)).
//   flat       x_i ~ N(0, I): z_ic ~ N(0, |w_c|²) ≈ N(0, 1) — a fresh head; nothing skippable.
//   peaked-*   trained-like: each row draws p_i ~ U(0.9, 0.99) for its label y and puts
//              x_i = (β_i/|w_y|²)·w_y + s_i·g⊥ (g ~ N(0, I) with its w_y component removed), so
//              z_iy = β_i exactly and the other logits are β_i·(w_y·w_c)/|w_y|² + s_i·g⊥·w_c
//              ≈ N(0, β_i²/D + s_i²) = N(0, 1) with s_i² = 1 − β_i²/D. With Σ_{c≠y} exp(z_ic)
//              ≈ (C − 1)·e^{1/2} (law of large numbers), β_i = logit(p_i) + ln(C − 1) + 1/2
//              gives p_label ≈ p_i; the rest are tiny (≈ e^{z}/(C·e^{1/2}·10…100)). The
//              section measures p_label on sampled rows (in float64) and reports it.
//     peaked-zipf     labels Zipf-distributed over the vocabulary, P(rank r) ∝ 1/r^s, s = 1
//                     (as token frequencies); ranks are mapped to class ids by a seeded random
//                     permutation (a tokenizer's ids only loosely follow frequency; frequent
//                     classes sorted to low ids would share class blocks and skip more).
//     peaked-uniform  the same, labels uniform over the vocabulary.
//   flat has uniform labels. Labels matter to gradFilter: a (row block, 32-class block) holding
//   some row's label has |dZ| = g·(1 − p_label) ≥ g·0.01 there and is never skipped; the
//   table gives that bound (the share of blocks holding no label) beside the measured share.
//
// Per shape × instance × distribution, in interleaved rounds (every cell of a shape and
// instance runs once per round, the order rotated each round) after a warm-up (a JIT
// warm-up on a small shape with every option, then untimed rounds for at least the warm-up
// time — at least one: it also records each variant's result):
//   - the plain step: median ms, GFLOP/s (6·N·D·C flops, nominal for every variant), % of the
//     measured SIMD peak (bench/peak.mjs, before and after, best sample; one core's peak times
//     the instance's threads);
//   - gradFilter 2^-12 (the issue's ε; CCE's filter_eps "auto" is 2^-12 for bfloat16, 2^-28 for float32) ÷ plain; skippedBlocks ÷ blocks; what the
//     filter changes: max |ΔdW|, max |ΔdX|, max |Δdb| against the plain call's gradients, also
//     ÷ max |dW|, |dX|, |db| of the plain call; the loss must not change;
//   - softcap: 30, zLoss: 1e-4, both, returnLse + returnAccuracy, each ÷ plain;
//   - on flat, "plain, again": the plain call as a second cell, its ratio the noise floor.
//   Ratios: median over rounds of t(variant) ÷ t(plain) taken in the same round (paired);
//   the ratio of medians is in the JSON too.
//
//   npm run bench -- --section vocab-options               about 8 min on the 2-core dev machine
//   npm run bench -- --section vocab-options --quick       about 3 min: fewer rounds, no threads on the big shape
//   npm run bench -- --section vocab-options --plain-only  only the plain step (and its "again" twin):
//                                                          for a library without the issue-15 options
// Environment (optional): SCE_VO_ROUNDS (timed rounds at 64×768×32000, default 9, quick 3),
// SCE_VO_BIG_ROUNDS (at 2048×256×32768, default 4, quick 1), SCE_VO_WARM_S (warm-up seconds per
// shape and instance, default 5, quick 2), SCE_VO_THREADS (threads of the second instance,
// default 2; 0 = synchronous only), SCE_VO_SHAPES (shape ids, comma-separated),
// SCE_VO_PLAIN_ONLY=1 (as --plain-only).
// Without --plain-only, a library that rejects the options stops the section with a message.
// Results: bench/results/vocab-options.{json,md} (build/bench/ for --quick, unless --save).
import os from 'node:os';
import { mulberry32 } from '../build/index.js';
import { median } from './measure.mjs';
import { measurePeak, mergePeaks } from './peak.mjs';
import { MiB, autoBlockRows, chunkBytes, importLibrary, stamp, writeSection } from './common.mjs';

const gc = globalThis.gc ?? (() => {});

export const OPTION_SHAPES = [
  { id: '64x768x32000', n: 64, d: 768, c: 32000 },
  { id: '2048x256x32768', n: 2048, d: 256, c: 32768, big: true },
];
export const OPTION_DISTRIBUTIONS = ['peaked-zipf', 'peaked-uniform', 'flat'];
/** gradFilter ε: 2^-12, the issue's threshold (CCE's "auto" filter_eps for bfloat16). */
export const GRAD_FILTER = 2 ** -12;
/** Classes per gradFilter block (spec: GRAD_FILTER_CLASSES). */
const FILTER_CLASSES = 32;
const ZIPF_S = 1;
const P_LABEL = [0.9, 0.99];

/** The cells of a shape and instance: options added to the plain step. `plain`: runs without the new options. */
const VARIANTS = [
  { id: 'plain', label: 'plain', options: {}, plain: true },
  { id: 'again', label: 'plain, again (noise floor)', options: {}, plain: true, dists: ['flat'] },
  { id: 'filter', label: 'gradFilter 2^-12', options: { gradFilter: GRAD_FILTER }, diff: true },
  { id: 'softcap', label: 'softcap 30', options: { softcap: 30 } },
  { id: 'zloss', label: 'zLoss 1e-4', options: { zLoss: 1e-4 } },
  { id: 'softcap-zloss', label: 'softcap 30 + zLoss 1e-4', options: { softcap: 30, zLoss: 1e-4 } },
  { id: 'lse-acc', label: 'returnLse + returnAccuracy', options: { returnLse: true, returnAccuracy: true } },
];

export const DESCRIPTIONS = {
  'peaked-zipf': `trained-like: label logit β_i set for p_label ~ U(${P_LABEL.join(', ')}), the others ≈ N(0, 1); labels Zipf (s = ${ZIPF_S}) over the vocabulary, ranks randomly permuted to class ids`,
  'peaked-uniform': `trained-like as peaked-zipf, labels uniform over the vocabulary`,
  flat: 'logits ≈ N(0, 1) (x ~ N(0, I), W entries N(0, 1/D)), labels uniform: nothing skippable',
};

const envInt = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const k = Number(v);
  if (!Number.isFinite(k) || k < 0) throw new Error(`bench vocab-options: ${name} must be a number ≥ 0, got '${v}'`);
  return k;
};

// ---------------------------------------------------------------- inputs

/** Uniform numbers in [0, 1) from a seed: the package's mulberry32. */
const rng = mulberry32;

/** Standard normal samples (Box–Muller) from a uniform source. */
function gaussian(rand) {
  let spare = null;
  return () => {
    if (spare !== null) { const v = spare; spare = null; return v; }
    const u = 1 - rand(), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** W (C×D, entries N(0, 1/D)) and b = 0, shared by every distribution of a shape. */
export function makeHead({ d, c }) {
  const normal = gaussian(rng(15));
  const w = new Float32Array(c * d), scale = 1 / Math.sqrt(d);
  for (let i = 0; i < w.length; i++) w[i] = normal() * scale;
  return { w, b: new Float32Array(c) };
}

/** n labels, Zipf(s) over c classes with ranks permuted to ids by a seeded shuffle, or uniform. */
export function makeLabels(n, c, zipf, seed) {
  const rand = rng(seed);
  const target = new Int32Array(n);
  if (!zipf) {
    for (let i = 0; i < n; i++) target[i] = Math.floor(rand() * c);
    return target;
  }
  const cdf = new Float64Array(c);
  let sum = 0;
  for (let r = 0; r < c; r++) cdf[r] = sum += 1 / (r + 1) ** ZIPF_S;
  const perm = Int32Array.from({ length: c }, (_, i) => i);
  for (let i = c - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  for (let i = 0; i < n; i++) {
    const u = rand() * sum;
    let lo = 0, hi = c - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] < u) lo = mid + 1; else hi = mid; }
    target[i] = perm[lo];
  }
  return target;
}

/** x and target of one distribution over the shared head W (see the header). */
export function makeOptionData(dist, { n, d, c }, { w }) {
  if (!OPTION_DISTRIBUTIONS.includes(dist)) throw new Error(`bench vocab-options: unknown distribution '${dist}'`);
  const seed = 100 + OPTION_DISTRIBUTIONS.indexOf(dist);
  const rand = rng(seed), normal = gaussian(rng(seed + 1000));
  const x = new Float32Array(n * d);
  const target = makeLabels(n, c, dist === 'peaked-zipf', seed + 2000);
  if (dist === 'flat') {
    for (let i = 0; i < x.length; i++) x[i] = normal();
    return { x, target, beta: null };
  }
  const g = new Float64Array(d), beta = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = target[i], wy = w.subarray(y * d, (y + 1) * d);
    const p = P_LABEL[0] + (P_LABEL[1] - P_LABEL[0]) * rand();
    const b = Math.log(p / (1 - p)) + Math.log(c - 1) + 0.5;
    beta[i] = b;
    let nn = 0, gw = 0;
    for (let j = 0; j < d; j++) { g[j] = normal(); nn += wy[j] * wy[j]; gw += g[j] * wy[j]; }
    const s = Math.sqrt(Math.max(0, 1 - (b * b) / d));
    for (let j = 0; j < d; j++) x[i * d + j] = (b / nn) * wy[j] + s * (g[j] - (gw / nn) * wy[j]);
  }
  return { x, target, beta };
}

/**
 * The logits of `rows` sampled rows in float64 (from the float32 inputs): p_label, the
 * spread of the other logits, the largest other probability, the share of entries a
 * gradFilter of ε would keep (|dZ| ≥ ε·g with g = 1/n: |p − y| ≥ ε).
 */
export function sampleRows({ n, d, c }, { w, b }, { x, target }, rows = 8) {
  const out = [];
  const z = new Float64Array(c);
  for (let k = 0; k < rows; k++) {
    const i = Math.floor(((k + 0.5) * n) / rows);
    let m = -Infinity;
    for (let cls = 0; cls < c; cls++) {
      let s = b[cls];
      for (let j = 0; j < d; j++) s += x[i * d + j] * w[cls * d + j];
      z[cls] = s;
      if (s > m) m = s;
    }
    let sum = 0;
    for (let cls = 0; cls < c; cls++) sum += Math.exp(z[cls] - m);
    const y = target[i];
    let mean = 0, sq = 0, maxOther = 0, kept = 0;
    for (let cls = 0; cls < c; cls++) {
      const p = Math.exp(z[cls] - m) / sum;
      if (Math.abs(p - (cls === y ? 1 : 0)) >= GRAD_FILTER) kept++;
      if (cls === y) continue;
      mean += z[cls];
      sq += z[cls] * z[cls];
      if (p > maxOther) maxOther = p;
    }
    mean /= c - 1;
    out.push({
      row: i, label: y, zLabel: z[y], pLabel: Math.exp(z[y] - m) / sum, argmaxIsLabel: z[y] === m,
      otherMean: mean, otherStd: Math.sqrt(Math.max(0, sq / (c - 1) - mean * mean)), maxOtherP: maxOther, keptShare: kept / c,
    });
  }
  return out;
}

/**
 * The gradFilter block grid of a shape (spec: row blocks of linearCrossEntropy's auto rows ×
 * 32-class blocks) and the share of blocks holding no label of their row block — the most
 * the filter can skip on data whose other entries are all below the threshold.
 */
export function labelBlocks({ n, c }, target, rows) {
  const classBlocks = Math.ceil(c / FILTER_CLASSES);
  let withLabel = 0;
  for (let r0 = 0; r0 < n; r0 += rows) {
    const seen = new Set();
    for (let i = r0; i < Math.min(n, r0 + rows); i++) seen.add(Math.floor(target[i] / FILTER_CLASSES));
    withLabel += seen.size;
  }
  const blocks = Math.ceil(n / rows) * classBlocks;
  return { rowsPerBlock: rows, blocks, blocksWithLabel: withLabel, skippableShare: 1 - withLabel / blocks };
}

const stats = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0], median: median(s), max: s[s.length - 1] };
};

// ---------------------------------------------------------------- measuring

/** max |a − b|, max |b|, and their ratio. */
function diff(a, b) {
  let worst = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (e > worst || Number.isNaN(e)) worst = Number.isNaN(e) ? NaN : e;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { maxAbs: worst, maxRef: scale, rel: scale ? worst / scale : worst };
}

/** The result fields besides the loss (arrays summarised), as JSON. */
function fields(r) {
  const out = { loss: r.loss };
  for (const key of ['zLoss', 'accuracy', 'skippedBlocks', 'blocks']) if (key in r) out[key] = r[key];
  if (r.lse) {
    let lo = Infinity, hi = -Infinity;
    for (const v of r.lse) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    out.lse = { length: r.lse.length, min: lo, max: hi };
  }
  if (r.zLoss instanceof Float32Array) out.zLoss = { length: r.zLoss.length };
  return out;
}

const settle = async (v) => (typeof v?.then === 'function' ? await v : v);

/** Whether this library takes the issue-15 options (a tiny call with all of them). */
async function optionsSupported(sce) {
  const n = 4, d = 8, c = 40;
  const args = { x: new Float32Array(n * d).fill(0.1), w: new Float32Array(c * d).fill(0.01), b: new Float32Array(c), target: new Int32Array(n), n, d, c };
  try {
    await settle(sce.linearCrossEntropy({ ...args, gradFilter: GRAD_FILTER, softcap: 30, zLoss: 1e-4, returnLse: true, returnAccuracy: true }));
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e.message };
  }
}

/** Runs every variant on a small shape for `ms` so that V8 tiers the kernels and the option paths up. */
async function jitWarm(sce, variants, ms) {
  const shape = { n: 32, d: 64, c: 512 };
  const head = makeHead(shape), { x, target } = makeOptionData('peaked-uniform', shape, head);
  const t0 = performance.now();
  do {
    for (const v of variants) await settle(sce.linearCrossEntropy({ ...head, x, target, ...shape, chunk: { rows: 8 }, ...v.options }));
  } while (performance.now() - t0 < ms);
}

/**
 * One shape on one instance: resident W, b (shared) and x per distribution, out tensors
 * shared by every cell; a first untimed round that records each cell's result (and the
 * gradients the filter changes), untimed rounds to the warm-up time, then `rounds` timed
 * rounds with the order of the cells rotated each round.
 */
async function runShape(sce, shape, head, datasets, variants, { rounds, warmMs, log, tag }) {
  const { n, d, c } = shape;
  const t = { w: sce.tensor(head.w), b: sce.tensor(head.b), dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c) };
  const xs = Object.fromEntries(Object.keys(datasets).map((dist) => [dist, sce.tensor(datasets[dist].x)]));
  const out = { dx: t.dx, dw: t.dw, db: t.db };
  const cells = [];
  for (const dist of Object.keys(datasets)) {
    for (const v of variants) {
      if (v.dists && !v.dists.includes(dist)) continue;
      const args = { x: xs[dist], w: t.w, b: t.b, target: datasets[dist].target, n, d, c, out, ...v.options };
      cells.push({ key: `${dist} ${v.id}`, dist, variant: v, run: () => sce.linearCrossEntropy(args), samples: [] });
    }
  }
  const inspected = new Map();
  try {
    // Inspection (also the first warm-up round): each distribution's plain call first, its gradients kept
    // until the variants that compare against them have run.
    log(`bench vocab-options: ${shape.id} ${tag}: first round, results and gradients (untimed)`);
    const t0 = performance.now();
    for (const dist of Object.keys(datasets)) {
      let plain = null;
      for (const cell of cells.filter((x) => x.dist === dist)) {
        const s = performance.now();
        const r = await settle(cell.run());
        const ms = performance.now() - s;
        const info = { firstMs: ms, result: fields(r) };
        if (cell.variant.id === 'plain') plain = { loss: r.loss, dx: t.dx.read(), dw: t.dw.read(), db: t.db.read() };
        else if ((cell.variant.diff || cell.variant.id === 'again') && plain) {
          info.change = {
            loss: Math.abs(r.loss - plain.loss),
            dw: diff(t.dw.read(), plain.dw), dx: diff(t.dx.read(), plain.dx), db: diff(t.db.read(), plain.db),
          };
        }
        inspected.set(cell.key, info);
        const ch = info.change;
        log(`  ${cell.key.padEnd(30)} ${ms.toFixed(0).padStart(6)} ms, loss ${r.loss.toPrecision(6)}` +
          ('skippedBlocks' in r ? `, skipped ${r.skippedBlocks}/${r.blocks}` : '') +
          (ch ? `, max |ΔdW| ${ch.dw.maxAbs.toExponential(1)} (${ch.dw.rel.toExponential(1)} of max), max |ΔdX| ${ch.dx.maxAbs.toExponential(1)} (${ch.dx.rel.toExponential(1)})` : ''));
      }
      plain = null;
      gc();
    }
    // More untimed rounds up to the warm-up time.
    let warmRounds = 1;
    while (performance.now() - t0 < warmMs) {
      for (const cell of cells) await settle(cell.run());
      warmRounds++;
    }
    log(`bench vocab-options: ${shape.id} ${tag}: ${warmRounds} warm-up round(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${rounds} timed rounds of ${cells.length} cells`);
    for (let r = 0; r < rounds; r++) {
      const start = (r * 5) % cells.length; // rotate: no cell always first or always after the same one
      for (let k = 0; k < cells.length; k++) {
        const cell = cells[(start + k) % cells.length];
        const s = performance.now();
        await settle(cell.run());
        cell.samples.push(performance.now() - s);
      }
    }
  } finally {
    for (const v of [...Object.values(t), ...Object.values(xs)]) v.free();
  }
  const flops = 6 * n * d * c;
  const results = [];
  for (const cell of cells) {
    const plain = cells.find((x) => x.dist === cell.dist && x.variant.id === 'plain');
    const med = cell.samples.length ? median(cell.samples) : null;
    const pairs = Math.min(cell.samples.length, plain.samples.length);
    results.push({
      shape: shape.id, n, d, c, instance: tag, dist: cell.dist, variant: cell.variant.id, label: cell.variant.label,
      options: cell.variant.options, medianMs: med, minMs: cell.samples.length ? Math.min(...cell.samples) : null,
      samples: cell.samples, gflops: med ? flops / (med * 1e6) : null, pctPeak: null,
      ratio: med && plain.samples.length ? med / median(plain.samples) : null,
      pairedRatio: pairs ? median(Array.from({ length: pairs }, (_, i) => cell.samples[i] / plain.samples[i])) : null,
      ...inspected.get(cell.key),
    });
    log(`  ${cell.key.padEnd(30)} ${med == null ? '–' : med.toPrecision(4).padStart(8)} ms` +
      (cell.variant.id === 'plain' ? `, ${(flops / (med * 1e6)).toFixed(1)} GFLOP/s` : `, ÷ plain ${results.at(-1).pairedRatio?.toFixed(3)} (paired)`));
  }
  return results;
}

// ---------------------------------------------------------------- the section (in the bench child)

export async function vocabOptions({ quick = false, save = !quick, plainOnly = false } = {}) {
  const log = (s) => process.stderr.write(s + '\n');
  const loadStart = os.loadavg();
  plainOnly ||= process.env.SCE_VO_PLAIN_ONLY === '1';
  const rounds = envInt('SCE_VO_ROUNDS', quick ? 3 : 9);
  const bigRounds = envInt('SCE_VO_BIG_ROUNDS', quick ? 1 : 4);
  const warmMs = 1000 * envInt('SCE_VO_WARM_S', quick ? 2 : 5);
  const threads = envInt('SCE_VO_THREADS', 2);
  const shapeIds = process.env.SCE_VO_SHAPES?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of shapeIds ?? []) if (!OPTION_SHAPES.some((s) => s.id === id)) throw new Error(`bench vocab-options: unknown shape '${id}' (${OPTION_SHAPES.map((s) => s.id).join(', ')})`);
  const shapes = OPTION_SHAPES.filter((s) => !shapeIds || shapeIds.includes(s.id));

  const lib = await importLibrary();
  const instances = [{ tag: 'sync', sce: await lib.init() }];
  if (threads > 0) instances.push({ tag: `threads: ${threads}`, sce: await lib.init({ threads }) });
  const bytes = chunkBytes();
  const support = await optionsSupported(instances[0].sce);
  if (!support.ok && !plainOnly) {
    for (const { sce } of instances) sce.dispose?.();
    throw new Error(`bench vocab-options: this build of the library does not take the issue-15 options (${support.error}); ` +
      'run with --plain-only (or SCE_VO_PLAIN_ONLY=1) to time the plain step alone');
  }
  const variants = plainOnly ? VARIANTS.filter((v) => v.plain).map((v) => ({ ...v, dists: undefined })) : VARIANTS;
  log(`bench vocab-options: ${plainOnly ? 'PLAIN ONLY (no issue-15 options)' : 'all options'}; options ${support.ok ? '' : 'NOT '}supported by this build` +
    `; rounds ${rounds} (big shape ${bigRounds}), warm-up ${warmMs / 1000} s, instances ${instances.map((i) => i.tag).join(', ')}, CHUNK_BYTES ${bytes / MiB} MiB`);
  for (const { tag, sce } of instances) if (sce.info.threadsNote) log(`bench vocab-options: ${tag}: ${sce.info.threadsNote}`);

  log('bench vocab-options: WebAssembly SIMD peak…');
  const peakSeconds = quick ? 0.3 : 0.8;
  const peakBefore = await measurePeak({ seconds: peakSeconds });
  log('bench vocab-options: JIT warm-up on a small shape…');
  for (const { sce } of instances) await jitWarm(sce, variants, quick ? 500 : 1500);

  const cells = [], inputs = [];
  for (const shape of shapes) {
    log(`bench vocab-options: ${shape.id}: making the inputs…`);
    const head = makeHead(shape);
    const datasets = Object.fromEntries(OPTION_DISTRIBUTIONS.map((dist) => [dist, makeOptionData(dist, shape, head)]));
    const rows = autoBlockRows(shape.n, shape.c, bytes);
    for (const [dist, data] of Object.entries(datasets)) {
      const sample = sampleRows(shape, head, data);
      const blocks = labelBlocks(shape, data.target, rows);
      const distinct = new Set(data.target).size;
      inputs.push({
        shape: shape.id, dist, distinctLabels: distinct, ...blocks,
        pLabel: stats(sample.map((s) => s.pLabel)), otherStd: stats(sample.map((s) => s.otherStd)),
        maxOtherP: Math.max(...sample.map((s) => s.maxOtherP)), keptShareOfRow: stats(sample.map((s) => s.keptShare)),
        argmaxIsLabel: sample.filter((s) => s.argmaxIsLabel).length / sample.length, sampledRows: sample.length,
      });
      const i = inputs.at(-1);
      log(`  ${dist.padEnd(15)} p_label ${i.pLabel.min.toFixed(3)}–${i.pLabel.max.toFixed(3)} (median ${i.pLabel.median.toFixed(3)}, ${i.sampledRows} rows), ` +
        `other logits σ ${i.otherStd.median.toFixed(2)}, max other p ${i.maxOtherP.toExponential(1)}, ${distinct} distinct labels, ` +
        `blocks without a label ${(100 * i.skippableShare).toFixed(1)} % of ${i.blocks}`);
    }
    for (const { tag, sce } of instances) {
      if (shape.big && quick && tag !== 'sync') continue;
      cells.push(...await runShape(sce, shape, head, datasets, variants, { rounds: shape.big ? bigRounds : rounds, warmMs, log, tag }));
      gc();
    }
  }
  const peakAfter = await measurePeak({ seconds: peakSeconds });
  const peak = mergePeaks(peakBefore, peakAfter);
  // % of the peak of as many cores as the instance has threads (the peak is one core's).
  const coresOf = Object.fromEntries(instances.map(({ tag, sce }) => [tag, sce.info.threads]));
  for (const cell of cells) cell.pctPeak = cell.gflops ? (100 * cell.gflops) / (peak.peak * coresOf[cell.instance]) : null;
  // The spec's block count: (row blocks) · ceil(c/32); a mismatch means the bench and the library disagree on the grid.
  for (const cell of cells) {
    const expect = inputs.find((i) => i.shape === cell.shape && i.dist === cell.dist).blocks;
    if (cell.result?.blocks != null && cell.result.blocks !== expect) log(`bench vocab-options: WARNING ${cell.shape} ${cell.dist}: result.blocks ${cell.result.blocks}, expected ${expect}`);
  }

  const meta = await stamp({ instance: instances[0].sce, builds: [instances[0].sce.info.build], loadStart, quick });
  meta.instances = instances.map(({ tag, sce }) => ({ tag, threads: sce.info.threads, workers: sce.info.workers, note: sce.info.threadsNote ?? null }));
  for (const { sce } of instances) sce.dispose?.();
  const results = {
    meta, section: 'vocab-options', options: { quick, plainOnly, optionsSupported: support.ok, rounds, bigRounds, warmMs, threads },
    gradFilter: GRAD_FILTER, chunkBytes: bytes, peak, distributions: DESCRIPTIONS, variants: VARIANTS.map(({ id, label, options }) => ({ id, label, options })),
    inputs, cells,
  };
  const dir = await writeSection('vocab-options', results, report(results), save);
  log(`bench vocab-options: wrote ${dir}/vocab-options.json and .md`);
}

// ---------------------------------------------------------------- the table

const sig = (x, k = 3) => (x == null || !Number.isFinite(x) ? '–' : Number(x.toPrecision(k)).toString());
const exp = (x) => (x == null ? '–' : x === 0 ? '0' : Number.isNaN(x) ? 'NaN' : x.toExponential(1));
const times = (x) => (x == null ? '–' : `${x.toFixed(2)}×`);

export function report(r) {
  const m = r.meta;
  const cell = (shape, inst, dist, variant) => r.cells.find((c) => c.shape === shape && c.instance === inst && c.dist === dist && c.variant === variant);
  const has = (variant) => r.cells.some((c) => c.variant === variant);
  const head = ['shape N×D×C', 'instance', 'logits', 'plain ms (GFLOP/s, % peak)'];
  const cols = [];
  if (has('filter')) {
    head.push('gradFilter ÷ plain', 'skipped blocks (no-label bound)', 'max \\|ΔdW\\| (÷ max \\|dW\\|)', 'max \\|ΔdX\\| (÷ max \\|dX\\|)');
    cols.push((s, i, dist) => times(cell(s, i, dist, 'filter')?.pairedRatio), (s, i, dist) => {
      const f = cell(s, i, dist, 'filter')?.result, bound = r.inputs.find((x) => x.shape === s && x.dist === dist);
      return f?.blocks ? `${(100 * f.skippedBlocks / f.blocks).toFixed(1)} % of ${f.blocks} (${(100 * bound.skippableShare).toFixed(1)} %)` : '–';
    }, (s, i, dist) => {
      const ch = cell(s, i, dist, 'filter')?.change;
      return ch ? `${exp(ch.dw.maxAbs)} (${exp(ch.dw.rel)})` : '–';
    }, (s, i, dist) => {
      const ch = cell(s, i, dist, 'filter')?.change;
      return ch ? `${exp(ch.dx.maxAbs)} (${exp(ch.dx.rel)})` : '–';
    });
  }
  for (const [id, label] of [['softcap', 'softcap 30 ÷'], ['zloss', 'zLoss 1e-4 ÷'], ['softcap-zloss', 'both ÷'], ['lse-acc', 'lse + accuracy ÷'], ['again', 'plain again ÷']]) {
    if (!has(id)) continue;
    head.push(label);
    cols.push((s, i, dist) => times(cell(s, i, dist, id)?.pairedRatio));
  }
  const rows = [];
  for (const shape of OPTION_SHAPES) {
    for (const inst of [...new Set(r.cells.filter((c) => c.shape === shape.id).map((c) => c.instance))]) {
      for (const dist of OPTION_DISTRIBUTIONS) {
        const p = cell(shape.id, inst, dist, 'plain');
        if (!p) continue;
        rows.push([`${shape.n}×${shape.d}×${shape.c}`, inst, dist,
          p.medianMs ? `${sig(p.medianMs, 4)} (${sig(p.gflops)}, ${sig(p.pctPeak, 2)} %)` : '–',
          ...cols.map((f) => f(shape.id, inst, dist))]);
      }
    }
  }
  const right = new Set(head.map((_, i) => i).filter((i) => i >= 3));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (x) => '| ' + x.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (right.has(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const inputLines = r.inputs.map((i) => `- ${i.shape} ${i.dist}: p_label ${sig(i.pLabel.min)}–${sig(i.pLabel.max)} (median ${sig(i.pLabel.median)}) on ${i.sampledRows} sampled rows, ` +
    `other logits σ ${sig(i.otherStd.median)}, largest other p ${exp(i.maxOtherP)}, entries with |p − y| ≥ ε per row ${sig(100 * i.keptShareOfRow.median)} %; ` +
    `${i.distinctLabels} distinct labels; ${i.rowsPerBlock} rows per block, ${i.blocks} blocks, ${sig(100 * i.skippableShare)} % hold no label of their rows`);
  const filterCells = r.cells.filter((c) => c.variant === 'filter' && c.change);
  const lossChange = filterCells.length ? Math.max(...filterCells.map((c) => c.change.loss)) : null;
  return [
    `Bench section vocab-options: ${m.date}, ${m.cpu} (${m.cores} cores), Node ${m.node}, softmax-ce-wasm ${m.version} (${m.commit}, build/index.js ${m.library.sha256}), ` +
      `build ${m.defaultBuild}, load ${m.loadAverage.start.map((v) => v.toFixed(1)).join(' ')} → ${m.loadAverage.end.map((v) => v.toFixed(1)).join(' ')}` +
      (m.quick ? ' (--quick)' : '') + (r.options.plainOnly ? ' — PLAIN ONLY: the issue-15 options were not run' : ''),
    `Training step linearCrossEntropy (grad on, mean, chunk 'auto' = row blocks within ${r.chunkBytes / MiB} MiB of logits), x, W, b resident, dx, dW, db into out tensors; ` +
      `${r.options.rounds} interleaved timed rounds (${r.options.bigRounds} at 2048×256×32768) after ≥ ${r.options.warmMs / 1000} s of warm-up rounds per shape and instance. ` +
      `GFLOP/s = 6·N·D·C ÷ time; % of the measured SIMD peak, ${sig(r.peak.peak)} GFLOP/s (${r.peak.peakBuild}) per core, times the instance's threads. ` +
      `Instances: ${m.instances.map((i) => `${i.tag} (${i.threads} thread${i.threads > 1 ? 's' : ''}${i.note ? `: ${i.note}` : ''})`).join(', ')}.`,
    '',
    'Logits: ' + Object.entries(r.distributions).map(([k, v]) => `**${k}**: ${v}`).join('; ') + '.',
    ...inputLines,
    '',
    line(head), rule, ...rows.map(line),
    '',
    `÷ plain = median over rounds of the variant's time ÷ the plain step's time in the same round (the ratio of medians is in the JSON). ` +
      (has('filter') ? `gradFilter ε = 2^-12: skipped = result.skippedBlocks ÷ result.blocks (blocks of rows × 32 classes); in brackets the share of blocks holding no label of their rows, ` +
        `the most that can be skipped where every other entry is below ε·g. ΔdW, ΔdX: the filtered call against the plain call on the same inputs (the change the filter makes), ` +
        `max |Δ| and ÷ the largest |value| of the plain result; the loss changed by at most ${exp(lossChange)}. ` : '') +
      (has('again') ? '"plain again" = the plain call as a second cell: its ratio is the noise of the measurement.' : ''),
  ].join('\n');
}
