/**
 * The first pass of `train`: read the data file once, as a stream, and
 *   - learn the class labels (in order of first appearance) and their counts,
 *   - hold out the stratified test rows (split.ts),
 *   - accumulate the training rows' normalisation statistics (Welford, float64),
 *   - write every row as float32 to the binary cache (cache.ts).
 * Memory: one decoded chunk, one record and the cache's write buffer — not the file.
 */
import { CliError } from './errors.js';
import { CacheFile } from './cache.js';
import { cellLabel, cellNumber, columnIndex, type Table } from './read/table.js';
import { StratifiedSplit, Welford } from './split.js';

export interface Ingested {
  /** Class names in order of first appearance (the cache's codes). */
  names: string[];
  trainCounts: number[];
  testCounts: number[];
  rows: number;
  stats: Welford;
  cache: CacheFile;
  /** Distinct numeric label values, when every label is a number (for the "continuous?" warning). */
  numericLabels: boolean;
  integerLabels: boolean;
}

export interface IngestOptions {
  label: string;
  features: string[];
  testSplit: number;
  seed: number;
  cachePath: string;
  /** Told the rows read so far. */
  onRow?: (rows: number) => void;
}

export async function ingest(table: Table, o: IngestOptions): Promise<Ingested> {
  const file = table.file;
  const labelColumn = columnIndex(table, o.label, 'label');
  const columns = o.features.map((f) => columnIndex(table, f, 'feature'));
  const d = columns.length;
  const cache = new CacheFile(o.cachePath, d);
  const split = new StratifiedSplit(o.testSplit, o.seed);
  const stats = new Welford(d);
  const classOf = new Map<string, number>();
  const names: string[] = [], trainCounts: number[] = [], testCounts: number[] = [];
  let numericLabels = true, integerLabels = true, rows = 0;
  try {
    for await (const batch of table.rows) for (const row of batch) {
      const cells = row.cells;
      const name = cellLabel(file, row.line, labelColumn, o.label, cells[labelColumn]);
      let k = classOf.get(name);
      if (k === undefined) {
        k = names.length;
        classOf.set(name, k);
        names.push(name);
        trainCounts.push(0);
        testCounts.push(0);
        if (numericLabels) {
          const v = Number(name);
          if (name.trim() === '' || !Number.isFinite(v)) numericLabels = integerLabels = false;
          else if (!Number.isInteger(v)) integerLabels = false;
        }
        if (names.length > 100_000) {
          throw new CliError(`${file}: column '${o.label}' has more than 100,000 distinct values; a label column holds classes ` +
            '(a continuous target needs regression, not classification)');
        }
      }
      const f32 = cache.f32, at = cache.slot();
      for (let j = 0; j < d; j++) f32[at + j] = cellNumber(file, row.line, columns[j], o.features[j], cells[columns[j]]);
      if (split.holds(k)) {
        cache.i32[at + d] = -1 - k;
        testCounts[k]++;
      } else {
        cache.i32[at + d] = k;
        trainCounts[k]++;
        stats.add(f32, at);
      }
      cache.commit();
      rows++;
      if ((rows & 1023) === 0) o.onRow?.(rows);
    }
    cache.flush();
  } catch (error) {
    cache.close();
    throw error;
  }
  o.onRow?.(rows);
  return { names, trainCounts, testCounts, rows, stats, cache, numericLabels, integerLabels };
}
