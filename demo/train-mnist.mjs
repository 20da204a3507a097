// The main job (`npm start`): softmax regression on the 10,000 handwritten digits of the
// `mnist` package, trained in WebAssembly by sce.classifier(), then trained again the same
// way (same initial weights, same batches, same Adam/SGD math) by a float64 loop over the
// pure-TS `reference.linearCrossEntropy`, for the speed-up. Writes out/mnist-training.svg.
//
//   node demo/train-mnist.mjs [--epochs 10] [--batch-size 32] [--optimizer adam|adamw|sgd|momentum]
//                             [--lr 0.001] [--weight-decay 0] [--label-smoothing 0] [--seed 42] [--no-reference]
import { init, reference, mulberry32 } from '../build/index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { CLASSES as C, D, loadDigitsByClass, testQuota } from './mnist.mjs';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '32' },
    optimizer: { type: 'string', default: 'adam' },
    lr: { type: 'string' },
    seed: { type: 'string', default: '42' },
    'weight-decay': { type: 'string', default: '0' },
    'label-smoothing': { type: 'string', default: '0' },
    'no-reference': { type: 'boolean', default: false },
  },
});
const EPOCHS = Number(args.epochs), BATCH = Number(args['batch-size']), SEED = Number(args.seed);
const OPTIMIZER = args.optimizer, WEIGHT_DECAY = Number(args['weight-decay']), SMOOTHING = Number(args['label-smoothing']);
const LR = args.lr !== undefined ? Number(args.lr) : { adam: 0.001, adamw: 0.001, sgd: 0.1, momentum: 0.01 }[OPTIMIZER];
const TEST = 2000;

// ---------------------------------------------------------------- data
const t0 = performance.now();
const { byClass, counts, total } = loadDigitsByClass();

// Stratified hold-out: each class gives its share of the TEST rows, drawn by a seeded
// shuffle within the class.
const quota = testQuota(counts, TEST);
const random = mulberry32(SEED);
const shuffled = (n) => {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
};
const train = { x: new Float32Array((total - TEST) * D), y: new Int32Array(total - TEST) };
const test = { x: new Float32Array(TEST * D), y: new Int32Array(TEST) };
const fill = { train: 0, test: 0 };
for (let k = 0; k < C; k++) {
  shuffled(counts[k]).forEach((i, rank) => {
    const set = rank < quota[k] ? 'test' : 'train', dst = set === 'test' ? test : train, r = fill[set]++;
    dst.x.set(byClass[k].subarray(i * D, (i + 1) * D), r * D);
    dst.y[r] = k;
  });
}
// Rows are grouped by class until fit() shuffles them; the test set's order does not matter.
console.log(`MNIST (mnist package): ${total} digits 28×28, ${train.y.length} train / ${TEST} test (stratified), ` +
  `loaded in ${(performance.now() - t0).toFixed(0)} ms`);

const sce = await init();
console.log(`softmax-ce-wasm build '${sce.info.build}'; softmax regression ${D}→${C}, ${OPTIMIZER} lr ${LR}, ` +
  `batch ${BATCH}, ${EPOCHS} epochs, weight decay ${WEIGHT_DECAY}, label smoothing ${SMOOTHING}, seed ${SEED}\n`);

// ---------------------------------------------------------------- progress output
const fmt = (v, digits = 4) => v.toFixed(digits);
function progress(label, batches) {
  // cli-progress draws only on a terminal; the per-epoch lines below are printed either way.
  const bar = new cliProgress.SingleBar({
    format: `${label} epoch {epoch}/${EPOCHS} [{bar}] {value}/{total} batches | loss {loss}`,
    barsize: 30, hideCursor: true, clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  return {
    start: (epoch) => bar.start(batches, 0, { epoch: epoch + 1, loss: '…' }),
    batch: (batch, loss) => bar.update(batch + 1, { loss: fmt(loss) }),
    end: (e) => {
      bar.stop();
      console.log(`${label} epoch ${String(e.epoch + 1).padStart(2)}/${EPOCHS}  loss ${fmt(e.loss)}  acc ${fmt(e.accuracy)}  ` +
        `test loss ${fmt(e.valLoss)}  test acc ${fmt(e.valAccuracy)}  ${e.ms.toFixed(0)} ms`);
    },
  };
}
const batches = Math.ceil(train.y.length / BATCH);

// ---------------------------------------------------------------- WebAssembly
const model = sce.classifier({ inputs: D, classes: C, seed: SEED });
const w0 = model.weights(); // the reference run starts from the same weights
const bar = progress('wasm', batches);
const fitOptions = {
  epochs: EPOCHS, batchSize: BATCH, optimizer: OPTIMIZER, learningRate: LR, seed: SEED,
  weightDecay: WEIGHT_DECAY, labelSmoothing: SMOOTHING,
};
const history = model.fit(train.x, train.y, {
  ...fitOptions,
  validationData: { x: test.x, labels: test.y },
  onBatch: ({ epoch, batch, loss }) => (batch === 0 && bar.start(epoch), bar.batch(batch, loss)),
  onEpoch: bar.end,
});
const final = model.evaluate(test.x, test.y);
// Medians: the first epochs of each run also pay for V8 tiering up its code (wasm from
// Liftoff to TurboFan, JS likewise) and the machine may be busy; the mean is shown too.
const wasmMs = median(history.ms);
console.log(`\nwasm: test accuracy ${fmt(final.accuracy)} (${Math.round(final.accuracy * TEST)}/${TEST}), ` +
  `test loss ${fmt(final.loss)}, ${wasmMs.toFixed(0)} ms per epoch (median; mean ${mean(history.ms).toFixed(0)})\n`);
model.dispose();

// ---------------------------------------------------------------- float64 reference
let ref = null;
if (!args['no-reference']) {
  ref = trainReference(w0, fitOptions);
  const refMs = median(ref.ms);
  const refAcc = ref.valAccuracy[ref.valAccuracy.length - 1];
  console.log(`\nreference (TS float64): test accuracy ${fmt(refAcc)}, ${refMs.toFixed(0)} ms per epoch (median; mean ${mean(ref.ms).toFixed(0)})`);
  console.log(`speed-up of WebAssembly over the float64 reference: ${(refMs / wasmMs).toFixed(1)}× per epoch (medians) ` +
    `(test accuracy differs by ${Math.abs(refAcc - final.accuracy).toFixed(4)})`);
}

mkdirSync('out', { recursive: true });
writeFileSync('out/mnist-training.svg', chart(history, ref));
console.log(`\nwrote out/mnist-training.svg; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (final.accuracy < 0.9) process.exitCode = 1;

function mean(a) {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

function median(a) {
  const s = [...a].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The same training as the classifier, in float64 JS around reference.linearCrossEntropy:
 * the same shuffles (mulberry32 Fisher–Yates with the fit seed), the same batches and the
 * same update formulas (PyTorch SGD / momentum / Adam / AdamW), metrics at each epoch end.
 */
function trainReference(w0, { epochs, batchSize, optimizer, learningRate: lr, seed, weightDecay: wd, labelSmoothing }) {
  const n = train.y.length, lrBar = progress('ref ', batches);
  const W = Float64Array.from(w0), B = new Float64Array(C);
  const w32 = new Float32Array(W), b32 = new Float32Array(C);
  const s1 = new Float64Array(C * D + C), s2 = new Float64Array(C * D + C); // momentum / Adam state over [W, b]
  const [mu, beta1, beta2, eps] = [0.9, 0.9, 0.999, 1e-8];
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  const full = Math.min(batchSize, n), rest = n - (Math.ceil(n / full) - 1) * full;
  const xb = { [full]: new Float32Array(full * D), [rest]: new Float32Array(rest * D) };
  const yb = { [full]: new Int32Array(full), [rest]: new Int32Array(rest) };
  const out = { loss: [], accuracy: [], valLoss: [], valAccuracy: [], ms: [] };
  let t = 0;
  const update = (p, g, offset) => {
    for (let i = 0; i < p.length; i++) {
      const s = offset + i;
      let d = g[i];
      if (optimizer === 'adamw') p[i] *= 1 - lr * wd;
      else d += wd * p[i];
      if (optimizer === 'sgd') {
        p[i] -= lr * d;
      } else if (optimizer === 'momentum') {
        s1[s] = t === 1 ? d : mu * s1[s] + d;
        p[i] -= lr * s1[s];
      } else {
        s1[s] = beta1 * s1[s] + (1 - beta1) * d;
        s2[s] = beta2 * s2[s] + (1 - beta2) * d * d;
        p[i] -= (lr / (1 - beta1 ** t)) * s1[s] / (Math.sqrt(s2[s] / (1 - beta2 ** t)) + eps);
      }
    }
  };
  for (let epoch = 0; epoch < epochs; epoch++) {
    const start = performance.now();
    lrBar.start(epoch);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let r0 = 0, batch = 0; r0 < n; r0 += full, batch++) {
      const m = Math.min(full, n - r0), x = xb[m], y = yb[m];
      for (let i = 0; i < m; i++) {
        const row = order[r0 + i];
        x.set(train.x.subarray(row * D, (row + 1) * D), i * D);
        y[i] = train.y[row];
      }
      const g = reference.linearCrossEntropy({ x, w: w32, b: b32, target: y, n: m, d: D, c: C, labelSmoothing });
      t++;
      update(W, g.dw, 0);
      update(B, g.db, C * D);
      w32.set(W);
      b32.set(B);
      lrBar.batch(batch, g.loss);
    }
    const tr = score(train, w32, b32), te = score(test, w32, b32);
    const e = { epoch, loss: tr.loss, accuracy: tr.accuracy, valLoss: te.loss, valAccuracy: te.accuracy, ms: performance.now() - start };
    for (const key of ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'ms']) out[key].push(e[key]);
    lrBar.end(e);
  }
  return out;
}

/** Mean cross-entropy and accuracy of the reference's float64 logits. */
function score(set, w, b) {
  const n = set.y.length, rows = 1000;
  let loss = 0, hits = 0;
  for (let r0 = 0; r0 < n; r0 += rows) {
    const m = Math.min(rows, n - r0);
    const z = reference.linear({ x: set.x.subarray(r0 * D, (r0 + m) * D), w, b, n: m, d: D, c: C });
    for (let i = 0; i < m; i++) {
      let best = 0, max = z[i * C];
      for (let k = 1; k < C; k++) if (z[i * C + k] > max) [max, best] = [z[i * C + k], k];
      let s = 0;
      for (let k = 0; k < C; k++) s += Math.exp(z[i * C + k] - max);
      loss += max + Math.log(s) - z[i * C + set.y[r0 + i]];
      if (best === set.y[r0 + i]) hits++;
    }
  }
  return { loss: loss / n, accuracy: hits / n };
}

/**
 * Two panels (loss, accuracy) of per-epoch curves as a hand-written SVG: the WebAssembly
 * run as lines, the float64 reference as hollow circles (they land on the lines).
 */
function chart(h, r) {
  const W = 460, H = 344, pad = { l: 56, r: 16, t: 34, b: 80 };
  const runs = [[h, 'wasm train', '#1f77b4'], [{ loss: h.valLoss, accuracy: h.valAccuracy }, 'wasm test', '#d62728'],
    [r, 'reference train', '#1f77b4', true], [r && { loss: r.valLoss, accuracy: r.valAccuracy }, 'reference test', '#d62728', true]];
  const series = (key) => runs.filter(([run]) => run).map(([run, label, color, dots]) => ({ values: run[key], label, color, dots }));
  const panel = (x0, title, lines) => {
    const all = lines.flatMap((l) => l.values);
    let lo = Math.min(...all), hi = Math.max(...all);
    const span = hi - lo || 1;
    lo -= span * 0.05;
    hi += span * 0.05;
    const n = Math.max(...lines.map((l) => l.values.length));
    const px = (i) => x0 + pad.l + (n > 1 ? i / (n - 1) : 0.5) * (W - pad.l - pad.r);
    const py = (v) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
    const parts = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${title}</text>`,
      `<rect x="${x0 + pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="none" stroke="#999"/>`];
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4, y = py(v);
      parts.push(`<line x1="${x0 + pad.l}" x2="${x0 + W - pad.r}" y1="${y}" y2="${y}" stroke="#eee"/>`,
        `<text x="${x0 + pad.l - 6}" y="${y + 4}" text-anchor="end" font-size="11">${v.toFixed(3)}</text>`);
    }
    for (let i = 0; i < n; i++) parts.push(`<text x="${px(i)}" y="${H - pad.b + 16}" text-anchor="middle" font-size="11">${i + 1}</text>`);
    parts.push(`<text x="${x0 + (W + pad.l) / 2}" y="${H - pad.b + 32}" text-anchor="middle" font-size="12">epoch</text>`);
    lines.forEach((l, j) => {
      const lx = x0 + pad.l + (j % 2) * 200, ly = H - 22 + 15 * Math.floor(j / 2) - (lines.length > 2 ? 8 : 0);
      if (l.dots) {
        l.values.forEach((v, i) => parts.push(`<circle cx="${px(i).toFixed(1)}" cy="${py(v).toFixed(1)}" r="4" fill="none" stroke="${l.color}"/>`));
        parts.push(`<circle cx="${lx + 11}" cy="${ly - 4}" r="4" fill="none" stroke="${l.color}"/>`);
      } else {
        const pts = l.values.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
        parts.push(`<polyline points="${pts}" fill="none" stroke="${l.color}" stroke-width="2"/>`,
          `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${l.color}" stroke-width="2"/>`);
      }
      parts.push(`<text x="${lx + 28}" y="${ly}" font-size="11">${l.label}</text>`);
    });
    return parts.join('\n');
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panel(0, `Cross-entropy loss (MNIST, ${OPTIMIZER})`, series('loss'))}
${panel(W, 'Accuracy', series('accuracy'))}
</svg>
`;
}
