// Bench section "cli" (npm run bench -- --section cli): the command line on data that does
// not fit in memory, and on scikit-learn's small data sets. Measured runs, not tests.
//
//   1. A generated numeric CSV of about 1 GB (50 features, 10 classes; bench/cli-data.mjs) in a
//      temporary directory. `train` with --epochs N --patience 0 (exactly N epochs) and
//      `predict --out`, each in its own process with SCE_REPORT_RSS=1: parse throughput (MB/s of
//      the first pass), the median epoch time, wall times and peak RSS (getrusage maxRSS).
//   2. The same file and number of epochs through pandas read_csv(chunksize=65536) and
//      scikit-learn's SGDClassifier(loss='log_loss').partial_fit (bench/sklearn/sgd_stream.py).
//   3. scikit-learn's iris, wine, breast-cancer and digits, exported with a stratified 80/20
//      split, random_state 0 (bench/sklearn/export.py): our CLI with its defaults against
//      LogisticRegression (lbfgs after StandardScaler), test accuracy and correct rows; and
//      ml-logistic-regression (npm, one-vs-all gradient descent) on the same splits.
//
// Needs /usr/bin/python3 with Debian's python3-sklearn and python3-pandas for 2 and 3 (skipped
// with a message otherwise). Options: --quick (a 100 MB file, 2 epochs), --mb N, --epochs N.
// Results: bench/results/cli.{md,json} (build/bench/ for --quick).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import os from 'node:os';
import { createRequire } from 'node:module';
import { root, writeSection } from './common.mjs';
import { writeCsv } from './cli-data.mjs';

const CLI = join(root, 'build/cli.js');
const PYTHON = '/usr/bin/python3';

/** Runs a command; resolves to { code, stdout, stderr, ms }. */
function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

const must = (r, what) => {
  if (r.code !== 0) throw new Error(`bench cli: ${what} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r;
};
const num = (re, text) => {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
};
const seconds = (text) => {
  // "1234 ms" or "12.3 s" in our report
  const m = /^([\d.]+) (ms|s)$/.exec(text.trim());
  return m ? Number(m[1]) / (m[2] === 'ms' ? 1000 : 1) : null;
};
const hasPython = () => {
  try {
    execFileSync(PYTHON, ['-c', 'import sklearn, pandas'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

async function ours(file, epochs, dir) {
  const model = join(dir, 'model.json');
  const train = must(await run(process.execPath, [CLI, 'train', '--data', file, '--label', 'label', '--epochs', String(epochs),
    '--patience', '0', '--quiet', '--out', model], { SCE_REPORT_RSS: '1' }), 'train');
  const data = /MB read in ([\d.]+ m?s) \(([\d.]+) MB\/s\)/.exec(train.stdout);
  const perEpoch = /\(([\d.]+ m?s) per epoch\)/.exec(train.stdout);
  const predict = must(await run(process.execPath, [CLI, 'predict', '--model', model, '--data', file, '--quiet', '--out', join(dir, 'pred.csv')],
    { SCE_REPORT_RSS: '1' }), 'predict');
  return {
    report: train.stdout.trim().split('\n').slice(0, 5),
    parseSeconds: data && seconds(data[1]), parseMBps: data && Number(data[2]),
    epochSeconds: perEpoch && seconds(perEpoch[1]),
    testAccuracy: num(/test: +loss [\d.]+ +accuracy ([\d.]+)/, train.stdout),
    trainWallSeconds: train.ms / 1000, trainPeakRssMiB: num(/peak RSS ([\d.]+) MiB/, train.stderr),
    predictWallSeconds: predict.ms / 1000, predictPeakRssMiB: num(/peak RSS ([\d.]+) MiB/, predict.stderr),
    predictMBps: statSync(file).size / 1e6 / (predict.ms / 1000),
  };
}

/** ml-logistic-regression on one exported split: standardised with the training rows' statistics. */
function mlLogistic(dir, name) {
  const require = createRequire(import.meta.url);
  const LogisticRegression = require('ml-logistic-regression');
  const { Matrix } = require('ml-matrix');
  const load = (part) => {
    const lines = readFileSync(join(dir, `${name}-${part}.csv`), 'utf8').trim().split('\n').slice(1);
    // export.py writes plain numbers and a last column 'label' without commas in it
    const rows = lines.map((l) => l.split(','));
    return { x: rows.map((r) => r.slice(0, -1).map(Number)), y: rows.map((r) => r[r.length - 1]) };
  };
  const tr = load('train'), te = load('test');
  const d = tr.x[0].length, mean = new Array(d).fill(0), std = new Array(d).fill(0);
  for (const r of tr.x) r.forEach((v, j) => (mean[j] += v / tr.x.length));
  for (const r of tr.x) r.forEach((v, j) => (std[j] += (v - mean[j]) ** 2 / tr.x.length));
  std.forEach((s, j) => (std[j] = Math.sqrt(s) || 1));
  const scale = (x) => x.map((r) => r.map((v, j) => (v - mean[j]) / std[j]));
  const classes = [...new Set(tr.y)].sort();
  const index = new Map(classes.map((c, k) => [c, k]));
  const t0 = performance.now();
  // Its README's settings: 1000 gradient steps at learning rate 5e-3.
  const model = new LogisticRegression({ numSteps: 1000, learningRate: 5e-3 });
  model.train(new Matrix(scale(tr.x)), Matrix.columnVector(tr.y.map((c) => index.get(c))));
  const ms = performance.now() - t0;
  const predicted = model.predict(new Matrix(scale(te.x)));
  const correct = predicted.filter((k, i) => classes[k] === te.y[i]).length;
  return { correct, rows: te.y.length, accuracy: correct / te.y.length, seconds: ms / 1000 };
}

async function smallData(dir) {
  const sk = join(dir, 'sklearn');
  must(await run(PYTHON, [join(root, 'bench/sklearn/export.py'), sk]), 'export.py');
  const reference = JSON.parse(readFileSync(join(sk, 'sklearn.json'), 'utf8'));
  const rows = [];
  for (const name of Object.keys(reference)) {
    const model = join(sk, `${name}.json`);
    const train = must(await run(process.execPath, [CLI, 'train', '--data', join(sk, `${name}-train.csv`), '--label', 'label',
      '--test-split', '0', '--quiet', '--out', model]), `train ${name}`);
    const predict = must(await run(process.execPath, [CLI, 'predict', '--model', model, '--data', join(sk, `${name}-test.csv`),
      '--out', join(sk, `${name}-pred.csv`)]), `predict ${name}`);
    const m = /accuracy against column 'label': ([\d.]+) \((\d+)\/(\d+)\)/.exec(predict.stderr);
    const epochs = num(/; (?:stopped after )?(\d+) epochs/, train.stdout);
    rows.push({
      name, ...reference[name], ours: { accuracy: Number(m[1]), correct: Number(m[2]), epochs, seconds: train.ms / 1000 },
      mlLogistic: mlLogistic(sk, name),
    });
  }
  return rows;
}

export async function cli({ quick = false, save = false, mb, epochs } = {}) {
  const size = mb ?? (quick ? 100 : 1000), nEpochs = epochs ?? (quick ? 2 : 3);
  const dir = mkdtempSync(join(process.env.SCE_BENCH_TMP ?? tmpdir(), 'sce-bench-cli-'));
  const loadStart = os.loadavg();
  try {
    const file = join(dir, 'data.csv');
    console.log(`cli: writing a ${size} MB CSV (50 features, 10 classes) to ${file} …`);
    const rows = await writeCsv(file, { bytes: size * 1e6, features: 50, classes: 10 });
    const bytes = statSync(file).size;
    console.log(`cli: ${rows} rows, ${(bytes / 1e6).toFixed(0)} MB; ours: train (${nEpochs} epochs) and predict …`);
    const big = await ours(file, nEpochs, dir);
    console.log(big.report.join('\n'));
    let sgd = null, small = null;
    if (hasPython()) {
      console.log('cli: pandas read_csv(chunksize) + SGDClassifier.partial_fit …');
      const r = must(await run(PYTHON, [join(root, 'bench/sklearn/sgd_stream.py'), file, String(nEpochs)]), 'sgd_stream.py');
      sgd = JSON.parse(r.stdout.trim().split('\n').pop());
      sgd.wallSeconds = r.ms / 1000;
      console.log('cli: scikit-learn data sets …');
      small = await smallData(dir);
    } else {
      console.log(`cli: ${PYTHON} without sklearn and pandas: skipping the Python peers (apt-get install python3-sklearn python3-pandas)`);
    }
    const f = (v, digits = 1) => (v == null ? '–' : v.toFixed(digits));
    const md = [
      `## cli: ${(bytes / 1e6).toFixed(0)} MB CSV, ${rows} rows × 50 features, 10 classes, ${nEpochs} epochs`,
      '',
      `${new Date().toISOString()}, ${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}; load average ` +
        `${loadStart.map((v) => v.toFixed(1)).join(' ')} at the start, ${os.loadavg().map((v) => v.toFixed(1)).join(' ')} at the end (a shared machine)`,
      '',
      '| | first pass (parse) | per epoch | train wall | train peak RSS | predict wall | predict peak RSS | test accuracy |',
      '|---|---|---|---|---|---|---|---|',
      `| softmax-ce-wasm CLI | ${f(big.parseSeconds)} s (${f(big.parseMBps)} MB/s) | ${f(big.epochSeconds, 2)} s | ${f(big.trainWallSeconds)} s | ` +
        `${f(big.trainPeakRssMiB, 0)} MiB | ${f(big.predictWallSeconds)} s (${f(big.predictMBps)} MB/s) | ${f(big.predictPeakRssMiB, 0)} MiB | ${f(big.testAccuracy, 4)} |`,
      sgd ? `| pandas read_csv(chunksize=65536) + SGDClassifier.partial_fit | ${f(sgd.firstPassSeconds)} s (${f(sgd.firstPassMBps)} MB/s) | ` +
        `${f(sgd.epochSeconds.reduce((a, b) => a + b, 0) / sgd.epochSeconds.length, 2)} s (re-reads the CSV) | ${f(sgd.wallSeconds)} s | ` +
        `${f(sgd.peakRssMiB, 0)} MiB | – | – | ${f(sgd.testAccuracy, 4)} |` : '| pandas + SGDClassifier | skipped (no python3-sklearn) | | | | | | |',
      '',
      ...(small ? [
        '### scikit-learn data sets, stratified 80/20 split (random_state 0): test accuracy (correct rows)',
        '',
        '| data set | rows × features, classes | ours, CLI defaults | LogisticRegression (lbfgs, StandardScaler) | ml-logistic-regression (1000 steps, lr 5e-3) |',
        '|---|---|---|---|---|',
        ...small.map((s) => `| ${s.name} | ${s.rows} × ${s.features}, ${s.classes} | ${s.ours.accuracy.toFixed(4)} (${s.ours.correct}/${s.test}; ` +
          `${s.ours.epochs} epochs, ${s.ours.seconds.toFixed(1)} s) | ${s.accuracy.toFixed(4)} (${s.correct}/${s.test}) | ` +
          `${s.mlLogistic.accuracy.toFixed(4)} (${s.mlLogistic.correct}/${s.mlLogistic.rows}; ${s.mlLogistic.seconds.toFixed(1)} s) |`),
      ] : []),
    ].join('\n');
    const where = await writeSection('cli', { rows, bytes, epochs: nEpochs, ours: big, sgd, small, loadStart, loadEnd: os.loadavg() }, md, save);
    console.log(`cli: results in ${where}/cli.{md,json}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const quick = process.argv.includes('--quick');
  await cli({ quick, save: process.argv.includes('--save') || !quick, mb: arg('--mb'), epochs: arg('--epochs') });
}
