/**
 * `predict`: stream rows in, predictions out. Rows are read and checked one at a time and
 * classified in chunks of CHUNK rows; each chunk's CSV lines go to --out (through a
 * temporary file, renamed into place at the end) or to stdout (waiting for the pipe). With
 * the model's label column present, accuracy is reported on stderr, over the rows that
 * have a label (rows without one are counted and said, never an error after the output).
 */
import { init, SoftmaxClassifier } from '../index.js';
import { CliError, at } from './errors.js';
import { readModel } from './model.js';
import { bytesBar } from './progress.js';
import { cellNumber, columnIndex, openTable } from './read/table.js';
import { AtomicFile, refuseSame, StdoutSink } from './write.js';

const CHUNK = 4096;

export interface PredictOptions {
  model: string; data: string; out?: string; delimiter?: string; encoding?: string; quiet: boolean;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function predict(o: PredictOptions, note: (line: string) => void): Promise<void> {
  // --out - is stdout, as no --out.
  const out = o.out === '-' ? undefined : o.out;
  if (out) refuseSame('--out', out, [['data file', o.data], ['model', o.model]]);
  const m = await readModel(o.model);
  const sce = await init();
  let model: SoftmaxClassifier;
  try {
    model = SoftmaxClassifier.fromJSON(sce, m.classifier);
  } catch (error) {
    throw new CliError(`${o.model}: the model file is damaged: ${(error as Error).message.replace(/^softmax-ce-wasm: /, '')}`);
  }
  const started = performance.now();
  const { bar, onBytes } = bytesBar('predicting', o.quiet, started);
  const table = await openTable(o.data, { delimiter: o.delimiter, encoding: o.encoding, note, progress: onBytes });
  const d = m.features.length, c = m.classes.length;
  const cols = m.features.map((f) => columnIndex(table, f, 'feature'));
  const labelColumn = table.columns.indexOf(m.label);
  const mean = m.normalization?.mean, std = m.normalization?.std;
  const x = new Float32Array(CHUNK * d), lines = new Int32Array(CHUNK), truth: (string | null)[] = new Array(CHUNK);
  const file = out ? new AtomicFile(out, 'the predictions') : null;
  const sink = file ? null : new StdoutSink();
  const write = async (text: string) => (file ? file.write(text) : sink!.write(text));
  let rows = 0, scored = 0, hits = 0, unlabelled = 0, unknown = 0;
  const known = new Set(m.classes);
  const flush = async (n: number) => {
    const p = model.predictProba(x.subarray(0, n * d));
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < c; k++) if (p[i * c + k] > p[i * c + best]) best = k;
      if (!(p[i * c + best] >= 0)) throw new CliError(`${table.file} line ${lines[i]}: the probabilities came out as NaN (a value too large after normalisation?)`);
      let line = csvField(m.classes[best]);
      for (let k = 0; k < c; k++) line += ',' + String(Number(p[i * c + k].toPrecision(6)));
      parts.push(line);
      const t = truth[i];
      if (t !== null) {
        scored++;
        if (t === m.classes[best]) hits++;
        else if (!known.has(t)) unknown++;
      }
    }
    await write(parts.join('\n') + '\n');
  };
  try {
    bar.start(table.source.bytes, { mb: '0', speed: '…' });
    await write(['prediction', ...m.classes.map((name) => `p(${name})`)].map(csvField).join(',') + '\n');
    let n = 0;
    for await (const batch of table.rows) for (const row of batch) {
      for (let j = 0; j < d; j++) {
        let v = cellNumber(table.file, row.line, cols[j], m.features[j], row.cells[cols[j]]);
        if (mean && std) {
          v = (v - mean[j]) / std[j];
          if (!Number.isFinite(Math.fround(v))) {
            throw new CliError(`${table.file} ${at(row.line, cols[j], m.features[j])}: the value is outside float32 range after the model's normalisation`);
          }
        }
        x[n * d + j] = v;
      }
      lines[n] = row.line;
      if (labelColumn >= 0) {
        const cell = row.cells[labelColumn];
        const missing = cell === undefined || cell === null || (typeof cell === 'string' && cell.trim() === '');
        truth[n] = missing ? null : String(cell);
        if (missing) unlabelled++;
      } else {
        truth[n] = null;
      }
      rows++;
      if (++n === CHUNK) {
        await flush(n);
        n = 0;
      }
    }
    if (n > 0) await flush(n);
    if (file) file.commit();
    else await sink!.flush();
  } catch (error) {
    file?.abort();
    throw error;
  } finally {
    bar.stop();
    model.dispose();
  }
  if (file) note(`wrote ${rows} predictions to ${out}`);
  if (labelColumn >= 0 && scored > 0) {
    note(`accuracy against column '${m.label}': ${(hits / scored).toFixed(4)} (${hits}/${scored})` +
      (unlabelled ? `; ${unlabelled} rows without a label not scored` : '') +
      (unknown ? `; ${unknown} rows have a label the model does not know (counted wrong)` : ''));
  }
}
