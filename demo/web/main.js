// The demo page's main thread: loads the digits, hands them to the training worker
// (train.js), and draws what it reports — the loss and accuracy charts after every batch and
// epoch (at most once per frame), and a grid of test digits with the model's guesses. The
// guesses are made here, with the package from the import map: each epoch the worker sends
// the weights (classifier.toJSON()), and SoftmaxClassifier.fromJSON + predictProba score the
// grid. Training never runs on this thread, so the page stays responsive.
//
// For tests (test/demo.test.ts) the page keeps its state on window.__demo.
import { init, SoftmaxClassifier } from 'softmax-ce-wasm';

const OPTIONS = { epochs: 10, batchSize: 64, learningRate: 0.005, seed: 1 };
const TARGET = 0.9;
const GRID = 64;

const $ = (id) => document.getElementById(id);
const demo = { state: 'loading', build: null, crossOriginIsolated: globalThis.crossOriginIsolated === true,
  runs: 0, epochs: [], batches: 0, grid: null, ms: null, error: null };
globalThis.__demo = demo;
window.addEventListener('error', (e) => fail(e.message));
window.addEventListener('unhandledrejection', (e) => fail(String(e.reason?.message ?? e.reason)));

// ------------------------------------------------------------------ data
const response = await fetch('/build/demo/digits.bin');
if (!response.ok) throw new Error(`GET /build/demo/digits.bin: HTTP ${response.status} (run npm run demo:web)`);
const digits = await response.arrayBuffer();
const header = new DataView(digits);
const [count, height, width, trainCount] = [4, 8, 12, 16].map((at) => header.getUint32(at, true));
const D = height * width;
const labels = new Uint8Array(digits, 20, count), pixels = new Uint8Array(digits, 20 + count, count * D);
// The grid: the first GRID test digits (the test rows are in a seeded random order).
const grid = { x: new Float32Array(GRID * D), labels: labels.slice(trainCount, trainCount + GRID) };
for (let i = 0; i < grid.x.length; i++) grid.x[i] = pixels[trainCount * D + i] / 255;

const sce = await init();
demo.build = sce.info.build;
$('build').textContent = sce.info.build === 'relaxed' ? 'relaxed SIMD' : 'SIMD';

// ------------------------------------------------------------------ the grid of test digits
const cells = [];
for (let i = 0; i < GRID; i++) {
  const cell = document.createElement('div');
  cell.className = 'cell';
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  for (let p = 0; p < D; p++) {
    const v = 255 - pixels[(trainCount + i) * D + p]; // dark ink on white
    image.data.set([v, v, v, 255], p * 4);
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
  const guess = document.createElement('span');
  guess.className = 'guess';
  guess.textContent = '·';
  cell.append(canvas, guess);
  $('grid').append(cell);
  cells.push({ cell, guess });
}

function showGuesses(json) {
  const model = SoftmaxClassifier.fromJSON(sce, json);
  const proba = model.predictProba(grid.x);
  model.dispose();
  let wrong = 0;
  cells.forEach(({ cell, guess }, i) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (proba[i * 10 + k] > proba[i * 10 + best]) best = k;
    const truth = grid.labels[i], ok = best === truth;
    if (!ok) wrong++;
    cell.classList.toggle('wrong', !ok);
    guess.innerHTML = ok ? `${best}` : `${best} <small>(${truth})</small>`;
    cell.title = `guess ${best} (p = ${proba[i * 10 + best].toFixed(2)}), true ${truth}`;
  });
  demo.grid = { shown: GRID, wrong };
  $('grid-note').textContent = `${GRID} of the held-out digits and the model's guess: ${GRID - wrong} right, ${wrong} wrong`;
}

// ------------------------------------------------------------------ charts
const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();

/**
 * A line chart on a canvas at device resolution: x from 0 to xMax (epochs), y from yMin to
 * yMax with `ticks` labelled by `format`; series of [x, y] points, clipped to the plot.
 */
function drawChart(canvas, { xMax, yMin, yMax, ticks, format, series, rule }) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const left = 60, right = 12, top = 10, bottom = 28;
  const X = (x) => left + (x / xMax) * (w - left - right);
  const Y = (y) => top + (1 - (y - yMin) / (yMax - yMin)) * (h - top - bottom);
  g.font = '12px system-ui, sans-serif';
  g.fillStyle = color('--muted');
  g.strokeStyle = color('--line');
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const t of ticks) {
    g.beginPath();
    g.moveTo(left, Math.round(Y(t)) + 0.5);
    g.lineTo(w - right, Math.round(Y(t)) + 0.5);
    g.stroke();
    g.fillText(format(t), left - 8, Y(t));
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (let e = 0; e <= xMax; e++) g.fillText(String(e), X(e), h - bottom + 8);
  g.textAlign = 'right';
  g.fillText('epoch', left - 16, h - bottom + 8);

  g.save();
  g.beginPath();
  g.rect(left, top, w - left - right, h - top - bottom);
  g.clip();
  if (rule) {
    g.strokeStyle = color(rule.color);
    g.setLineDash([5, 4]);
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(left, Y(rule.y));
    g.lineTo(w - right, Y(rule.y));
    g.stroke();
    g.setLineDash([]);
  }
  for (const s of series) {
    if (!s.points.length) continue;
    g.strokeStyle = g.fillStyle = color(s.color);
    g.lineWidth = s.width ?? 2;
    g.lineJoin = 'round';
    g.beginPath();
    s.points.forEach(([x, y], i) => (i ? g.lineTo(X(x), Y(y)) : g.moveTo(X(x), Y(y))));
    g.stroke();
    if (s.dots) {
      for (const [x, y] of s.points) {
        g.beginPath();
        g.arc(X(x), Y(y), 3.5, 0, 2 * Math.PI);
        g.fill();
      }
    }
  }
  g.restore();
}

const history = { batch: [], trainLoss: [], testLoss: [], trainAcc: [], testAcc: [] };
let frame = 0;

function draw() {
  frame = 0;
  const xMax = OPTIONS.epochs;
  // Batch losses, averaged over 8 batches (one batch of 64 digits is noisy).
  const smooth = [];
  for (let i = 7; i < history.batch.length; i += 4) {
    let s = 0;
    for (let j = i - 7; j <= i; j++) s += history.batch[j][1];
    smooth.push([history.batch[i][0], s / 8]);
  }
  drawChart($('loss-chart'), {
    xMax, yMin: 0, yMax: 1.2, ticks: [0, 0.3, 0.6, 0.9, 1.2], format: (v) => v.toFixed(1),
    series: [
      { points: smooth, color: '--batch', width: 1.5 },
      { points: history.trainLoss, color: '--train', dots: true },
      { points: history.testLoss, color: '--test', dots: true },
    ],
  });
  drawChart($('accuracy-chart'), {
    xMax, yMin: 0.8, yMax: 1, ticks: [0.8, 0.85, 0.9, 0.95, 1], format: (v) => `${Math.round(v * 100)} %`,
    rule: { y: TARGET, color: '--target' },
    series: [
      { points: history.trainAcc, color: '--train', dots: true },
      { points: history.testAcc, color: '--test', dots: true },
    ],
  });
}
const redraw = () => { frame ||= requestAnimationFrame(draw); };
window.addEventListener('resize', redraw);

// ------------------------------------------------------------------ training
const worker = new Worker(new URL('./train.js', import.meta.url), { type: 'module' });
const pkg = import.meta.resolve('softmax-ce-wasm');
const status = (text, error = false) => {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
};
const percent = (v) => `${(v * 100).toFixed(1)} %`;

function train() {
  demo.runs++;
  demo.state = 'training';
  demo.epochs = [];
  demo.batches = 0;
  demo.ms = null;
  for (const key of Object.keys(history)) history[key] = [];
  $('again').disabled = true;
  for (const id of ['epoch', 'accuracy', 'loss', 'time']) $(id).textContent = '–';
  $('accuracy').classList.remove('reached');
  status('Starting…');
  redraw();
  // A copy of the digits (this page keeps its own for the grid); each run a new seed.
  worker.postMessage({ type: 'train', pkg, digits: digits.slice(0), options: { ...OPTIONS, seed: OPTIONS.seed + demo.runs - 1 } });
}

let started = 0;
worker.onmessage = ({ data: m }) => {
  if (m.type === 'start') {
    started = performance.now();
    status(`Training on ${m.train.toLocaleString('en')} digits, testing on ${m.test.toLocaleString('en')}: ` +
      `Adam, learning rate ${OPTIONS.learningRate}, batches of ${OPTIONS.batchSize}…`);
  } else if (m.type === 'batch') {
    demo.batches++;
    history.batch.push([m.epoch + (m.batch + 1) / m.batches, m.loss]);
    $('epoch').textContent = `${m.epoch + 1} / ${OPTIONS.epochs}`;
    redraw();
  } else if (m.type === 'epoch') {
    const x = m.epoch + 1;
    history.trainLoss.push([x, m.loss]);
    history.testLoss.push([x, m.valLoss]);
    history.trainAcc.push([x, m.accuracy]);
    history.testAcc.push([x, m.valAccuracy]);
    demo.epochs.push({ epoch: m.epoch, loss: m.loss, accuracy: m.accuracy, valLoss: m.valLoss, valAccuracy: m.valAccuracy, ms: m.ms });
    $('accuracy').textContent = percent(m.valAccuracy);
    $('accuracy').classList.toggle('reached', m.valAccuracy >= TARGET);
    $('loss').textContent = m.valLoss.toFixed(3);
    $('time').textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`;
    showGuesses(m.model);
    redraw();
  } else if (m.type === 'done') {
    const last = demo.epochs[demo.epochs.length - 1];
    demo.ms = m.ms;
    $('time').textContent = `${(m.ms / 1000).toFixed(1)} s`;
    status(`Done: ${percent(last.valAccuracy)} of the held-out test digits right after ${demo.epochs.length} epochs ` +
      `(${(m.ms / demo.epochs.length).toFixed(0)} ms per epoch, including the scoring of both sets)` +
      (last.valAccuracy >= TARGET ? '.' : ` — below the ${percent(TARGET)} target.`));
    $('again').disabled = false;
    demo.state = 'done';
  } else if (m.type === 'error') {
    fail(m.message);
  }
};
worker.onerror = (e) => {
  e.preventDefault();
  fail(`the training worker failed: ${e.message || 'could not load train.js'}`);
};

function fail(message) {
  demo.state = 'error';
  demo.error = message;
  status(`Error: ${message}`, true);
  console.error(message);
  $('again').disabled = false;
}

$('again').addEventListener('click', train);
train();
