/**
 * `train`: the first pass (ingest.ts) writes the cache; then epochs of shuffled batches from
 * the cache (blocks.ts) train the classifier one partialFit step at a time; an evaluation
 * pass scores the training and test rows; the model file is written (write.ts) and the
 * report printed (report.ts).
 *
 * When to stop, by default: after each epoch, the objective — the mean training loss of the
 * epoch's batches plus the L2 term — is compared with the best so far. When it has not
 * improved by more than --tol (relative) for --patience epochs, the learning rate halves
 * (the optimizer restarts at the lower rate); after MAX_HALVINGS halvings without
 * improvement, training stops. --epochs is the maximum. The L2 default, --weight-decay auto,
 * is 1/n_train on W (not b: decayBias false): with the mean loss that is scikit-learn's
 * LogisticRegression objective (Σ losses + ‖W‖²/(2C), C = 1, intercept unpenalised)
 * divided by n_train.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, mulberry32, type OptimizerName } from '../index.js';
import { isCache } from './cache.js';
import { CliError } from './errors.js';
import { ingest } from './ingest.js';
import { Blocks } from './blocks.js';
import type { ModelFile } from './model.js';
import { bytesBar, progressBar } from './progress.js';
import { columnIndex, openTable } from './read/table.js';
import { printTrainReport, type Scores } from './report.js';
import { AtomicFile, realTarget, refuseSame } from './write.js';

export interface TrainOptions {
  data: string; label: string; features?: string[]; epochs: number; batchSize: number; lr?: number;
  optimizer: OptimizerName; weightDecay: number | 'auto'; testSplit: number; seed: number; normalize: boolean; out: string;
  patience: number; tol: number; cache?: string; delimiter?: string; encoding?: string; quiet: boolean;
}

/**
 * Halvings of the learning rate on a plateau before training stops. With 6 (lr/64 at the
 * end) digits ended 0.0004 above LogisticRegression's objective, with 4 0.0007 above (the
 * same test rows right, but closer is safer on other data); small data sets spend well
 * under a second either way.
 */
const MAX_HALVINGS = 6;
/** The most weights (classes × features) a model may have; see the check in train(). */
const MAX_WEIGHTS = 1 << 23;
/** Rows per forward call of the evaluation pass. */
const EVAL_ROWS = 4096;

export async function train(o: TrainOptions, print: (line: string) => void, note: (line: string) => void): Promise<void> {
  // Nothing may be written over an input: check before reading anything.
  refuseSame('--out', o.out, [['data file', o.data], ...(o.cache ? [['cache', o.cache] as [string, string]] : [])]);
  if (o.cache) {
    refuseSame('--cache', o.cache, [['data file', o.data]]);
    if (existsSync(o.cache) && !isCache(o.cache)) {
      throw new CliError(`--cache '${o.cache}' exists and is not a cache of softmax-ce-wasm; choose a new file`);
    }
  }
  const started = performance.now();
  const { bar: parseBar, onBytes } = bytesBar('reading ', o.quiet, started);
  const table = await openTable(o.data, { delimiter: o.delimiter, encoding: o.encoding, note, progress: onBytes });
  columnIndex(table, o.label, 'label');
  const features = o.features ?? table.columns.filter((c) => c !== o.label && c !== '');
  if (features.length === 0) throw new CliError(`${table.file}: no feature columns besides the label '${o.label}'`);
  if (features.includes(o.label)) throw new CliError(`--features must not include the label column '${o.label}'`);
  const dupe = features.find((f, i) => features.indexOf(f) !== i);
  if (dupe !== undefined) throw new CliError(`--features names '${dupe}' twice`);

  const tempDir = o.cache ? null : mkdtempSync(join(tmpdir(), 'softmax-ce-wasm-'));
  const cachePath = o.cache ?? join(tempDir!, 'rows.cache');
  const cleanup = () => {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  try {
    parseBar.start(table.source.bytes, { mb: '0', speed: '…' });
    let data;
    try {
      data = await ingest(table, { label: o.label, features, testSplit: o.testSplit, seed: o.seed, cachePath });
    } finally {
      parseBar.stop();
    }
    const parseMs = performance.now() - started;
    const { names, rows } = data;
    if (names.length < 2) throw new CliError(`${table.file}: column '${o.label}' has only one class ('${names[0]}'); a classifier needs at least 2`);
    if (data.numericLabels && (!data.integerLabels || names.length > 50)) {
      note(`warning: column '${o.label}' looks continuous (${names.length} distinct numeric values${data.integerLabels ? '' : ', not all integers'}); ` +
        'each distinct value becomes a class — is it the right label column?');
    }
    // Class names in a stable order: numerically when every label is a number, else by text.
    const sorted = names.map((name, code) => ({ name, code }));
    sorted.sort(data.numericLabels ? (a, b) => Number(a.name) - Number(b.name) : (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const classes = sorted.map((s) => s.name);
    const remap = new Int32Array(names.length);
    sorted.forEach((s, k) => (remap[s.code] = k));
    const trainCounts = sorted.map((s) => data.trainCounts[s.code]), testCounts = sorted.map((s) => data.testCounts[s.code]);
    const nTrain = trainCounts.reduce((a, b) => a + b, 0), nTest = rows - nTrain;
    const d = features.length, c = classes.length;
    // W, its gradient and Adam's two moments are 16 bytes per weight in WebAssembly memory:
    // past 2^23 weights (128 MiB of them) the run would leave the memory bound behind.
    if (c * d > MAX_WEIGHTS) {
      throw new CliError(`${table.file}: ${c} classes × ${d} features = ${c * d} weights, more than ${MAX_WEIGHTS} ` +
        `(is '${o.label}' the right label column? choose fewer features with --features)`);
    }

    const normalization = o.normalize ? { mean: Array.from(data.stats.mean), std: data.stats.std() } : null;
    const blocks = new Blocks(data.cache, {
      remap, mean: normalization && Float64Array.from(normalization.mean), std: normalization && Float64Array.from(normalization.std),
    });
    const weightDecay = o.weightDecay === 'auto' ? 1 / nTrain : o.weightDecay;
    const baseLr = o.lr ?? (o.optimizer === 'sgd' ? 0.1 : 0.01);

    const sce = await init();
    const model = sce.classifier({ inputs: d, classes: c, seed: o.seed });
    try {
      const random = mulberry32(o.seed);
      const bar = progressBar('training [{bar}] epoch {value}/{total} | loss {loss} | {speed}', o.quiet);
      bar.start(o.epochs, { loss: '…', speed: '…' });
      let lr = baseLr, best = Infinity, stale = 0, halvings = 0, epochs = 0, objective = NaN;
      const trainStart = performance.now();
      const epochMs: number[] = [];
      try {
        for (let epoch = 0; epoch < o.epochs; epoch++) {
          const t0 = performance.now();
          // The settings go with the first step of each epoch: the same ones continue the
          // optimizer's state; after a halving (resetOptimizer) they start a new one.
          let sum = 0, fresh = true;
          const settings = { optimizer: o.optimizer, learningRate: lr, weightDecay, decayBias: false };
          await blocks.epoch(random, o.batchSize, (x, y) => {
            sum += model.partialFit(x, y, fresh ? settings : {}) * y.length;
            fresh = false;
          });
          epochs++;
          let penalty = 0;
          if (o.optimizer !== 'adamw') {
            for (const v of model.weights()) penalty += v * v;
          }
          objective = sum / nTrain + (weightDecay / 2) * penalty;
          epochMs.push(performance.now() - t0);
          bar.update(epochs, { loss: objective.toFixed(4), speed: `${(nTrain / Math.max(1, epochMs[epochMs.length - 1]) / 1e3).toFixed(2)}M rows/s` });
          if (!Number.isFinite(objective)) {
            throw new CliError(`training diverged (loss ${objective} in epoch ${epochs}); try a smaller --lr than ${lr}` +
              (o.normalize ? '' : ' or drop --no-normalize'));
          }
          if (o.patience === 0) continue;
          if (objective < best - o.tol * Math.max(1, Math.abs(best === Infinity ? objective : best))) {
            best = objective;
            stale = 0;
          } else if (++stale >= o.patience) {
            if (halvings === MAX_HALVINGS) break;
            halvings++;
            stale = 0;
            lr /= 2;
            model.resetOptimizer(); // the next step starts the optimizer at the new rate
          }
        }
      } finally {
        bar.stop();
      }
      const trainMs = performance.now() - trainStart;

      // One pass over the cache scores both sets with the final weights.
      const scores: Scores = { train: { loss: 0, hits: 0, rows: 0 }, test: { loss: 0, hits: 0, rows: 0 }, testCorrect: new Array(c).fill(0) };
      await blocks.scan(EVAL_ROWS, (x, codes, m) => {
        const z = model.logits(x);
        for (let i = 0; i < m; i++) {
          const code = codes[i], test = code < 0, y = test ? -1 - code : code, o2 = i * c;
          let max = z[o2], best2 = 0;
          for (let j = 1; j < c; j++) if (z[o2 + j] > max) { max = z[o2 + j]; best2 = j; }
          let s = 0;
          for (let j = 0; j < c; j++) s += Math.exp(z[o2 + j] - max);
          const set = test ? scores.test : scores.train;
          set.loss += max - z[o2 + y] + Math.log(s);
          set.rows++;
          if (best2 === y) {
            set.hits++;
            if (test) scores.testCorrect[y]++;
          }
        }
      });
      const trainMetrics = { loss: scores.train.loss / scores.train.rows, accuracy: scores.train.hits / scores.train.rows };
      const testMetrics = nTest ? { loss: scores.test.loss / scores.test.rows, accuracy: scores.test.hits / scores.test.rows } : null;
      if (!Number.isFinite(trainMetrics.loss)) throw new CliError(`training diverged (loss ${trainMetrics.loss}); try a smaller --lr than ${baseLr}`);

      const file: ModelFile = {
        format: 'softmax-ce-wasm/model', version: 1, label: o.label, features, classes, normalization,
        classifier: model.toJSON(),
        training: {
          data: o.data, rows, trainRows: nTrain, testRows: nTest, epochs, maxEpochs: o.epochs, batchSize: o.batchSize,
          optimizer: o.optimizer, learningRate: baseLr, finalLearningRate: lr, weightDecay, patience: o.patience, tol: o.tol,
          testSplit: o.testSplit, seed: o.seed, objective, train: trainMetrics, test: testMetrics,
        },
      };
      const out = new AtomicFile(o.out, 'the model');
      try {
        out.write(JSON.stringify(file) + '\n');
        out.commit();
      } catch (error) {
        out.abort();
        throw error;
      }
      printTrainReport(print, {
        label: o.label, classes, d, rows, nTrain, nTest, optimizer: o.optimizer, lr: baseLr, finalLr: lr, batchSize: o.batchSize,
        epochs, maxEpochs: o.epochs, weightDecay, seed: o.seed, format: table.format, bytes: table.source.bytesRead(),
        parseMs, trainMs, epochMs, train: trainMetrics, test: testMetrics, trainCounts, testCounts, testCorrect: scores.testCorrect,
        out: o.out, cache: o.cache ? realTarget(o.cache) : null,
      });
    } finally {
      model.dispose();
    }
    data.cache.close();
  } finally {
    cleanup();
    process.off('exit', cleanup);
  }
}

