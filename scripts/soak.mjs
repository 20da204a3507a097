// npm run soak -- [--calls 100000] [--seed 1]
//
// 10^5 mixed calls (every function; arrays, resident inputs and out tensors; tensors
// allocated and freed between calls; now and then an invalid call) on a synchronous instance,
// then as many on a pool of 2 threads. Every 10^4 calls it reports the instance's
// WebAssembly memory and the process RSS (after a full GC). It fails (exit 1) when
//   - WebAssembly memory changes after the warm-up (the first 10^4 calls, up to the first
//     report): the arena must grow only to the largest call and freed blocks must be reused, or
//   - RSS rises more than RSS_SLACK above its plateau: V8 sizes its young generation to the
//     allocation rate, so RSS climbs tens of MB in the first reports; the plateau is the
//     highest RSS of the first half of the reports, and later reports must stay within
//     a few MB of it (a leak of 100 bytes a call would add 5 MB over the second half).
import { parseArgs } from 'node:util';
import { init, mulberry32 } from '../build/index.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' } } });
const CALLS = Number(values.calls), EVERY = Math.max(1, Math.floor(CALLS / 10));
const RSS_SLACK = 8 << 20;
const MB = (b) => (b / 2 ** 20).toFixed(1);
if (typeof globalThis.gc !== 'function') throw new Error('soak: run node with --expose-gc (npm run soak does)');


// A fixed set of shapes (1, primes, off the SIMD tiles, an MNIST batch, a 1000-class head),
// so that the largest call recurs; a { rows: 8 } chunk sends some calls down the chunked path.
const SHAPES = [[1, 1, 2], [7, 13, 11], [33, 65, 129], [64, 784, 10], [5, 17, 1000], [128, 31, 3]];

async function soak(name, sce, random) {
  const pick = (a) => a[Math.floor(random() * a.length)];
  const arrays = SHAPES.map(([n, d, c]) => ({
    n, d, c,
    x: Float32Array.from({ length: n * d }, () => random() * 2 - 1),
    w: Float32Array.from({ length: c * d }, () => random() * 2 - 1),
    b: Float32Array.from({ length: c }, () => random() * 2 - 1),
    logits: Float32Array.from({ length: n * c }, () => random() * 8 - 4),
    labels: Int32Array.from({ length: n }, () => Math.floor(random() * c)),
    weight: Float32Array.from({ length: c }, () => random() * 2),
  }));
  // Long-lived tensors (parameters, optimizer state), replaced at random below.
  const held = [1, 100, 4096, 50_000, 300_000, 4096].map((length) => sce.tensor(length));
  const reports = [];
  let rejected = 0;
  const report = (calls) => {
    globalThis.gc();
    const m = process.memoryUsage();
    const r = { calls, wasm: sce.memoryBytes, rss: m.rss };
    reports.push(r);
    console.log(`${name}: ${String(calls).padStart(6)} calls  WebAssembly memory ${MB(r.wasm)} MB  RSS ${MB(r.rss)} MB` +
      `  (JS heap ${MB(m.heapUsed)} MB used of ${MB(m.heapTotal)}; ${rejected} calls rejected on purpose)`);
  };
  // Warm-up: every shape once through its largest layout (all inputs resident, every
  // gradient to an out tensor, beside arrays), so the arena reaches its size.
  for (const a of arrays) {
    const { n, d, c } = a, ts = [a.x, a.w, a.b, a.logits].map((v) => sce.tensor(v));
    const outs = [n * d, c * d, c, n * c].map((length) => sce.tensor(length));
    await sce.linearCrossEntropy({ x: ts[0], w: ts[1], b: ts[2], target: a.labels, n, d, c, out: { dx: outs[0], dw: outs[1], db: outs[2] } });
    await sce.linearCrossEntropy({ x: a.x, w: a.w, b: a.b, target: a.labels, n, d, c });
    await sce.crossEntropy({ logits: ts[3], target: a.labels, n, c, out: { dlogits: outs[3] } });
    await sce.linear({ x: ts[0], w: ts[1], b: a.b, n, d, c, out: outs[3] });
    for (const t of [...ts, ...outs]) t.free();
  }

  for (let call = 1; call <= CALLS; call++) {
    const a = pick(arrays), { n, d, c } = a, temp = [];
    const tensor = (data) => {
      const t = sce.tensor(data);
      temp.push(t);
      return t;
    };
    const maybe = (data) => (random() < 0.3 ? tensor(data) : data);
    if (random() < 0.1) {
      // Replace a long-lived tensor (free, then allocate its like: the block is reused).
      const k = Math.floor(random() * held.length), length = held[k].length;
      held[k].free();
      held[k] = sce.tensor(length);
    }
    try {
      const kind = random();
      if (kind < 0.01) {
        rejected++;
        // The sync instance throws, the pool rejects: an async wrapper turns both into a rejection.
        await (async () => sce.linearCrossEntropy({ x: a.x, w: a.w, target: a.labels, n, d, c, label_smoothing: 0.1 }))().then(() => {
          throw new Error('soak: an invalid call was not rejected');
        }, () => undefined);
      } else if (kind < 0.15) {
        await sce.linear({ x: maybe(a.x), w: maybe(a.w), b: a.b, n, d, c, ...(random() < 0.3 ? { out: tensor(n * c) } : {}) });
      } else if (kind < 0.25) {
        await (random() < 0.5 ? sce.softmax(maybe(a.logits), n, c) : sce.logSoftmax(maybe(a.logits), n, c));
      } else if (kind < 0.45) {
        const logits = maybe(a.logits);
        const out = random() < 0.3 ? { out: { dlogits: logits instanceof Float32Array ? tensor(n * c) : logits } } : {};
        await sce.crossEntropy({ logits, target: a.labels, n, c, labelSmoothing: random() < 0.5 ? 0.1 : 0, ...out });
      } else {
        const out = random() < 0.4 ? { out: { dw: tensor(c * d), db: tensor(c) } } : {};
        const r = await sce.linearCrossEntropy({
          x: maybe(a.x), w: maybe(a.w), b: maybe(a.b), target: a.labels, n, d, c,
          weight: random() < 0.3 ? a.weight : undefined, reduction: pick(['mean', 'sum', 'none']),
          inputGrad: random() < 0.5, chunk: random() < 0.2 ? { rows: 8 } : 'auto', ...out,
        });
        if (typeof r.loss === 'number' && !Number.isFinite(r.loss)) throw new Error(`soak: loss ${r.loss}`);
      }
    } finally {
      for (const t of temp) if (!t.freed) t.free();
    }
    if (call % EVERY === 0) report(call);
  }
  for (const t of held) t.free();

  const problems = [];
  const wasm0 = reports[0].wasm;
  for (const r of reports) if (r.wasm !== wasm0) problems.push(`WebAssembly memory ${MB(r.wasm)} MB at ${r.calls} calls, ${MB(wasm0)} MB after the warm-up`);
  const half = Math.ceil(reports.length / 2);
  const plateau = Math.max(...reports.slice(0, half).map((r) => r.rss));
  for (const r of reports.slice(half)) {
    if (r.rss > plateau + RSS_SLACK) problems.push(`RSS ${MB(r.rss)} MB at ${r.calls} calls, more than ${MB(RSS_SLACK)} MB above the plateau ${MB(plateau)} MB`);
  }
  console.log(problems.length ? `${name}: FAILED\n  ${problems.join('\n  ')}`
    : `${name}: ok — WebAssembly memory flat at ${MB(wasm0)} MB after warm-up; RSS plateau ${MB(plateau)} MB, later at most ${MB(Math.max(...reports.slice(half).map((r) => r.rss)))} MB`);
  return problems.length === 0;
}

const seed = Number(values.seed);
const sync = await init();
const okSync = await soak('sync', sync, mulberry32(seed));
const pool = await init({ threads: 2 });
const okPool = await soak(`pool (${pool.info.threads} threads)`, pool, mulberry32(seed + 1));
pool.dispose();
console.log(okSync && okPool ? 'soak: passed' : 'soak: FAILED');
process.exit(okSync && okPool ? 0 : 1);
