/**
 * The command line (build/cli.js, `npx softmax-ce-wasm`): train a softmax-regression
 * classifier on a CSV or JSON file, and predict with the model file it writes.
 *
 *   softmax-ce-wasm train --data iris.csv --label species [--out model.json] …
 *   softmax-ce-wasm predict --model model.json --data new.csv [--out predictions.csv]
 *
 * Data: a CSV with a header row (or TSV by extension), or a JSON array of objects. Feature
 * values must be numbers; labels may be any strings (kept in the model as class names).
 * Bad input ends with one line on stderr that names the file, the line and the column, and
 * exit code 1 — no stack trace (set SCE_DEBUG=1 to see one).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { ArgumentError, init, mulberry32, SoftmaxClassifier, type ClassifierJSON, type OptimizerName } from './index.js';

declare const PACKAGE_VERSION: string; // esbuild's define (scripts/build.mjs)

/** An error in the user's input: printed as one line, exit code 1. */
class CliError extends Error {}

// ---------------------------------------------------------------- reading tables

/** A table of raw cells: every row has one cell per column; `where(i)` names the row's place in the file. */
interface Table {
  file: string;
  columns: string[];
  rows: unknown[][];
  where(i: number): string;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new CliError(`cannot read ${what} '${file}': ${reason}`);
  }
}

function readTable(file: string): Table {
  const text = readText(file, 'data file');
  const ext = extname(file).toLowerCase();
  const json = ext === '.json' || (ext !== '.csv' && ext !== '.tsv' && /^\s*[[{]/.test(text));
  return json ? jsonTable(file, text) : csvTable(file, text, ext === '.tsv' ? '\t' : ',');
}

function csvTable(file: string, text: string, delimiter: string): Table {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { delimiter, bom: true, trim: true, skip_empty_lines: true, info: true }) as never;
  } catch (error) {
    // csv-parse errors carry the line; its messages say it too, in varying words.
    const e = error as Error & { code?: string; lines?: number; record?: unknown[] };
    if (e.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' && e.lines !== undefined && Array.isArray(e.record)) {
      const header = headerLength(text, delimiter);
      throw new CliError(`${file} line ${e.lines}: ${e.record.length} fields, but the header has ${header ?? 'a different number of'} columns`);
    }
    throw new CliError(`${file}${e.lines !== undefined ? ` line ${e.lines}` : ''}: not valid CSV: ${e.message}`);
  }
  if (records.length === 0) throw new CliError(`${file}: the file is empty (expected a header row and data rows)`);
  const columns = records[0].record;
  checkColumns(file, columns, 'line ' + records[0].info.lines);
  const body = records.slice(1);
  if (body.length === 0) throw new CliError(`${file}: no data rows after the header`);
  return { file, columns, rows: body.map((r) => r.record), where: (i) => `line ${body[i].info.lines}` };
}

/** The header's column count, for an error message (csv-parse stops before telling it). */
function headerLength(text: string, delimiter: string): number | null {
  try {
    const first = parseCsv(text, { delimiter, bom: true, to_line: 1 }) as string[][];
    return first[0]?.length ?? null;
  } catch {
    return null;
  }
}

function checkColumns(file: string, columns: string[], where: string) {
  const seen = new Set<string>();
  columns.forEach((name, j) => {
    if (name === '') throw new CliError(`${file} ${where}: column ${j + 1} of the header has no name`);
    if (seen.has(name)) throw new CliError(`${file} ${where}: the header names column '${name}' twice`);
    seen.add(name);
  });
}

function jsonTable(file: string, text: string): Table {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const at = jsonErrorOffset(text);
    const line = text.slice(0, at).split('\n').length;
    const message = (error as Error).message.replace(/\s+/g, ' ');
    throw new CliError(`${file} line ${line}: not valid JSON: ${message}`);
  }
  if (!Array.isArray(data)) throw new CliError(`${file}: expected a JSON array of objects (one per row), got ${typeof data}`);
  if (data.length === 0) throw new CliError(`${file}: the array is empty`);
  const columns: string[] = [];
  const index = new Map<string, number>();
  data.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new CliError(`${file} record ${i + 1}: expected an object of column values, got ${Array.isArray(row) ? 'an array' : JSON.stringify(row)}`);
    }
    for (const key of Object.keys(row)) {
      if (!index.has(key)) {
        index.set(key, columns.length);
        columns.push(key);
      }
    }
  });
  // A key absent from a record stays undefined: reported as a missing value if it is used.
  const rows = data.map((row: Record<string, unknown>) => columns.map((key) => row[key]));
  return { file, columns, rows, where: (i) => `record ${i + 1}` };
}

/**
 * Where JSON.parse failed: the offset of the first character that is not valid JSON (V8's
 * messages do not always give a position). A plain recursive-descent scan, run only on error.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = () => {
    throw i;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (close === '}') {
          ws();
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (ch === '"') return string();
    const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    return i; // trailing characters
  } catch (at) {
    return Math.min(at as number, text.length);
  }
}

function columnIndex(table: Table, name: string, role: string): number {
  const j = table.columns.indexOf(name);
  if (j < 0) {
    throw new CliError(`${table.file}: no ${role} column '${name}' (columns: ${table.columns.map((c) => `'${c}'`).join(', ')})`);
  }
  return j;
}

/** The rows × features matrix as float32; every cell must be a finite number. */
function featureMatrix(table: Table, features: string[]): Float32Array {
  const cols = features.map((f) => columnIndex(table, f, 'feature'));
  const d = cols.length, x = new Float32Array(table.rows.length * d);
  table.rows.forEach((row, i) => {
    cols.forEach((j, k) => {
      const cell = row[j];
      const value = typeof cell === 'number' ? cell : typeof cell === 'string' && cell.trim() !== '' ? Number(cell) : NaN;
      if (!Number.isFinite(value)) {
        const shown = cell === undefined || cell === '' || cell === null ? 'is missing' : `${JSON.stringify(cell)} is not a number`;
        throw new CliError(`${table.file} ${table.where(i)}: column '${features[k]}': the value ${shown}` +
          (cell === undefined || cell === '' || cell === null ? '' : ' (feature columns must be numeric; choose them with --features)'));
      }
      x[i * d + k] = value;
    });
  });
  return x;
}

function labelStrings(table: Table, label: string): string[] {
  const j = columnIndex(table, label, 'label');
  return table.rows.map((row, i) => {
    const cell = row[j];
    if (cell === undefined || cell === null || cell === '') throw new CliError(`${table.file} ${table.where(i)}: column '${label}': the label is missing`);
    if (typeof cell === 'object') throw new CliError(`${table.file} ${table.where(i)}: column '${label}': the label must be a string or a number`);
    return String(cell);
  });
}

// ---------------------------------------------------------------- the model file

interface ModelFile {
  format: 'softmax-ce-wasm/model';
  version: 1;
  label: string;
  features: string[];
  /** Class names, in the order of the classifier's classes. */
  classes: string[];
  /** Per-feature standardisation x' = (x − mean) / std, or null. */
  normalization: { mean: number[]; std: number[] } | null;
  classifier: ClassifierJSON;
  training: Record<string, unknown>;
}

function readModel(file: string): ModelFile {
  const text = readText(file, 'model file');
  let m: ModelFile;
  try {
    m = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  if (m === null || typeof m !== 'object' || m.format !== 'softmax-ce-wasm/model') {
    throw new CliError(`${file}: not a model file of softmax-ce-wasm (written by 'softmax-ce-wasm train')`);
  }
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (m.version !== 1 || !strings(m.features) || !strings(m.classes) || typeof m.label !== 'string' || typeof m.classifier !== 'object') {
    throw new CliError(`${file}: the model file is damaged or of another version (label, features, classes, classifier)`);
  }
  const n = m.normalization;
  if (n !== null && (typeof n !== 'object' || !Array.isArray(n.mean) || !Array.isArray(n.std) ||
    n.mean.length !== m.features.length || n.std.length !== m.features.length)) {
    throw new CliError(`${file}: the model's normalization does not match its ${m.features.length} features`);
  }
  return m;
}

function standardize(x: Float32Array, d: number, norm: { mean: number[]; std: number[] } | null) {
  if (!norm) return;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - norm.mean[i % d]) / norm.std[i % d];
}

// ---------------------------------------------------------------- commands

interface TrainOptions {
  data: string; label: string; features?: string[]; epochs: number; batchSize: number; lr?: number;
  optimizer: OptimizerName; weightDecay: number; testSplit: number; seed: number; normalize: boolean; out: string;
}

async function train(o: TrainOptions, print: (line: string) => void) {
  const table = readTable(o.data);
  columnIndex(table, o.label, 'label');
  const features = o.features ?? table.columns.filter((c) => c !== o.label);
  if (features.length === 0) throw new CliError(`${o.data}: no feature columns besides the label '${o.label}'`);
  if (features.includes(o.label)) throw new CliError(`--features must not include the label column '${o.label}'`);
  const x = featureMatrix(table, features);
  const names = labelStrings(table, o.label);
  // Class names in a stable order: numerically when every label is a number, else by text.
  const distinct = [...new Set(names)];
  const numeric = distinct.every((s) => s.trim() !== '' && Number.isFinite(Number(s)));
  const classes = distinct.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  if (classes.length < 2) throw new CliError(`${o.data}: column '${o.label}' has only one class ('${classes[0]}'); a classifier needs at least 2`);
  const classOf = new Map(classes.map((name, k) => [name, k]));
  const y = Int32Array.from(names, (s) => classOf.get(s)!);
  const n = y.length, d = features.length, c = classes.length;

  // Stratified split: each class gives round(testSplit × its rows) to the test set, drawn
  // by a seeded shuffle, but keeps at least one row for training.
  const random = mulberry32(o.seed);
  const trainRows: number[] = [], testRows: number[] = [];
  for (let k = 0; k < c; k++) {
    const rows = [];
    for (let i = 0; i < n; i++) if (y[i] === k) rows.push(i);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    const held = Math.min(Math.round(o.testSplit * rows.length), rows.length - 1);
    testRows.push(...rows.slice(0, held));
    trainRows.push(...rows.slice(held));
  }
  const take = (rows: number[]) => {
    const xs = new Float32Array(rows.length * d), ys = new Int32Array(rows.length);
    rows.forEach((r, i) => {
      xs.set(x.subarray(r * d, (r + 1) * d), i * d);
      ys[i] = y[r];
    });
    return { x: xs, y: ys };
  };
  const tr = take(trainRows), te = take(testRows);

  // Standardisation from the training rows only (a constant feature keeps std 1).
  let normalization: ModelFile['normalization'] = null;
  if (o.normalize) {
    const mean = new Array<number>(d).fill(0), std = new Array<number>(d).fill(0);
    for (let i = 0; i < tr.y.length; i++) for (let j = 0; j < d; j++) mean[j] += tr.x[i * d + j] / tr.y.length;
    for (let i = 0; i < tr.y.length; i++) for (let j = 0; j < d; j++) std[j] += (tr.x[i * d + j] - mean[j]) ** 2 / tr.y.length;
    for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
    normalization = { mean, std };
    standardize(tr.x, d, normalization);
    standardize(te.x, d, normalization);
  }

  const sce = await init();
  const model = sce.classifier({ inputs: d, classes: c, seed: o.seed });
  const learningRate = o.lr ?? (o.optimizer === 'sgd' ? 0.1 : 0.01);
  const bar = new cliProgress.SingleBar({
    format: 'training [{bar}] epoch {value}/{total} | loss {loss} | accuracy {accuracy}', hideCursor: true, clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(o.epochs, 0, { loss: '…', accuracy: '…' });
  let history;
  try {
    history = model.fit(tr.x, tr.y, {
      epochs: o.epochs, batchSize: o.batchSize, optimizer: o.optimizer, learningRate, weightDecay: o.weightDecay, seed: o.seed,
      onEpoch: (e) => bar.update(e.epoch + 1, { loss: e.loss.toFixed(4), accuracy: e.accuracy.toFixed(4) }),
    });
  } finally {
    bar.stop();
  }
  const trainMetrics = { loss: history.loss[history.loss.length - 1], accuracy: history.accuracy[history.accuracy.length - 1] };
  if (!Number.isFinite(trainMetrics.loss)) {
    throw new CliError(`training diverged (loss ${trainMetrics.loss}); try a smaller --lr than ${learningRate}`);
  }
  const testMetrics = te.y.length ? model.evaluate(te.x, te.y) : null;
  const testPredicted = te.y.length ? model.predict(te.x) : new Int32Array(0);

  const file: ModelFile = {
    format: 'softmax-ce-wasm/model', version: 1, label: o.label, features, classes, normalization,
    classifier: model.toJSON(),
    training: {
      data: o.data, rows: n, trainRows: tr.y.length, testRows: te.y.length, epochs: o.epochs, batchSize: o.batchSize,
      optimizer: o.optimizer, learningRate, weightDecay: o.weightDecay, testSplit: o.testSplit, seed: o.seed,
      train: trainMetrics, test: testMetrics,
    },
  };
  model.dispose();
  try {
    writeFileSync(o.out, JSON.stringify(file) + '\n');
  } catch (error) {
    throw new CliError(`cannot write the model to '${o.out}': ${(error as Error).message}`);
  }

  const f4 = (v: number) => v.toFixed(4);
  print(`softmax regression: ${d} feature${d === 1 ? '' : 's'} → ${c} classes, label '${o.label}'`);
  print(`rows: ${n} (${tr.y.length} train, ${te.y.length} test, stratified); ${o.optimizer} lr ${learningRate}, ` +
    `batch ${o.batchSize}, ${o.epochs} epochs, seed ${o.seed}, ${history.ms.reduce((a, b) => a + b, 0).toFixed(0)} ms`);
  print(`train: loss ${f4(trainMetrics.loss)}  accuracy ${f4(trainMetrics.accuracy)}`);
  if (testMetrics) print(`test:  loss ${f4(testMetrics.loss)}  accuracy ${f4(testMetrics.accuracy)}`);
  const width = Math.max(5, ...classes.map((s) => s.length));
  print(`${'class'.padEnd(width)}  train   test  test correct`);
  for (let k = 0; k < c; k++) {
    let inTrain = 0, inTest = 0, correct = 0;
    for (let i = 0; i < tr.y.length; i++) if (tr.y[i] === k) inTrain++;
    for (let i = 0; i < te.y.length; i++) if (te.y[i] === k) { inTest++; if (testPredicted[i] === k) correct++; }
    print(`${classes[k].padEnd(width)}  ${String(inTrain).padStart(5)}  ${String(inTest).padStart(5)}  ${String(correct).padStart(12)}`);
  }
  print(`wrote ${o.out}`);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function predict(o: { model: string; data: string; out?: string }, print: (line: string) => void, note: (line: string) => void) {
  const m = readModel(o.model);
  const table = readTable(o.data);
  const d = m.features.length;
  const x = featureMatrix(table, m.features);
  standardize(x, d, m.normalization);
  const sce = await init();
  let model: SoftmaxClassifier;
  try {
    model = SoftmaxClassifier.fromJSON(sce, m.classifier);
  } catch (error) {
    throw new CliError(`${o.model}: ${(error as Error).message}`);
  }
  if (model.inputs !== d || model.classes !== m.classes.length) {
    throw new CliError(`${o.model}: the classifier has ${model.inputs} inputs and ${model.classes} classes, ` +
      `but the model lists ${d} features and ${m.classes.length} classes`);
  }
  const p = model.predictProba(x), labels = model.predict(x), c = model.classes, n = labels.length;
  model.dispose();
  const lines = [['prediction', ...m.classes.map((name) => `p(${name})`)].map(csvField).join(',')];
  for (let i = 0; i < n; i++) {
    const probs = Array.from(p.subarray(i * c, (i + 1) * c), (v) => String(Number(v.toPrecision(6))));
    lines.push([csvField(m.classes[labels[i]]), ...probs].join(','));
  }
  const text = lines.join('\n') + '\n';
  if (o.out) {
    try {
      writeFileSync(o.out, text);
    } catch (error) {
      throw new CliError(`cannot write predictions to '${o.out}': ${(error as Error).message}`);
    }
    note(`wrote ${n} predictions to ${o.out}`);
  } else {
    print(text.trimEnd());
  }
  // With the label column present, score the predictions (rows with an unknown class count as wrong).
  if (table.columns.includes(m.label)) {
    const truth = labelStrings(table, m.label);
    const hits = truth.reduce((s, t, i) => s + (t === m.classes[labels[i]] ? 1 : 0), 0);
    note(`accuracy against column '${m.label}': ${(hits / n).toFixed(4)} (${hits}/${n})`);
  }
}

// ---------------------------------------------------------------- argument parsing

const integer = (min: number) => (value: string) => {
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}.`);
  return v;
};
const positive = (value: string) => {
  const v = Number(value);
  if (!(v > 0 && v < Infinity)) throw new InvalidArgumentError('expected a positive number.');
  return v;
};
const fraction = (value: string) => {
  const v = Number(value);
  if (!(v >= 0 && v < 1)) throw new InvalidArgumentError('expected a number in [0, 1).');
  return v;
};
const nonNegative = (value: string) => {
  const v = Number(value);
  if (!(v >= 0 && v < Infinity)) throw new InvalidArgumentError('expected a number ≥ 0.');
  return v;
};

export async function main(argv: string[]): Promise<number> {
  const out = (line: string) => process.stdout.write(line + '\n');
  const err = (line: string) => process.stderr.write(line + '\n');
  const program = new Command('softmax-ce-wasm')
    .description('Train and run softmax-regression classifiers (WebAssembly) on CSV or JSON data.')
    .version(typeof PACKAGE_VERSION === 'string' ? PACKAGE_VERSION : 'dev')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  program.command('train')
    .description('train on a CSV (header row) or a JSON array of objects; writes a model file and prints a report')
    .requiredOption('--data <file>', 'training data: .csv, .tsv or .json')
    .requiredOption('--label <column>', 'the column holding the class (any strings or numbers)')
    .option('--features <columns>', 'comma-separated feature columns (default: every column but the label)',
      (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--epochs <n>', 'passes over the training rows', integer(1), 50)
    .option('--batch-size <n>', 'rows per step', integer(1), 32)
    .option('--lr <rate>', 'learning rate (default 0.01; 0.1 for sgd)', positive)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'adamw', 'sgd', 'momentum']).default('adam'))
    .option('--weight-decay <w>', 'weight decay (L2; decoupled for adamw)', nonNegative, 0)
    .option('--test-split <fraction>', 'fraction of each class held out for the report', fraction, 0.2)
    .option('--seed <n>', 'seed of the split, the initial weights and the shuffles', integer(0), 1)
    .option('--no-normalize', 'do not standardise the features (mean 0, std 1 from the training rows)')
    .option('--out <file>', 'where to write the model', 'model.json')
    .action(async (o: TrainOptions) => train(o, out));

  program.command('predict')
    .description('predict the class of every row of a data file; prints CSV (prediction, then class probabilities)')
    .requiredOption('--model <file>', "a model file written by 'softmax-ce-wasm train'")
    .requiredOption('--data <file>', 'rows to classify (.csv, .tsv or .json) with the model\'s feature columns')
    .option('--out <file>', 'write the predictions CSV here instead of stdout')
    .action(async (o: { model: string; data: string; out?: string }) => predict(o, out, err));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    // Commander has already printed its own messages (help, version, bad options).
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError || error instanceof ArgumentError) {
      err(`softmax-ce-wasm: error: ${error.message.replace(/^softmax-ce-wasm: /, '')}`);
    } else {
      err(`softmax-ce-wasm: unexpected error: ${(error as Error)?.message ?? error}`);
    }
    if (process.env.SCE_DEBUG) err(String((error as Error)?.stack));
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
