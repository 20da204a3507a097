/**
 * A data file as a stream of rows: the header's column names, then one row at a time with
 * its cells in column order and the line it starts on. CSV/TSV (read/csv.ts) or JSON — an
 * array of objects or JSON lines (read/json.ts) — chosen by the extension or, for other
 * names, by the first character. Also: the cell → number rule every command uses.
 */
import { extname } from 'node:path';
import { at, CliError } from '../errors.js';
import { csvRows } from './csv.js';
import { jsonRows } from './json.js';
import { openSource, type Source } from './open.js';

export interface Row {
  /** One cell per column (undefined where a JSON record lacks the key). */
  cells: unknown[];
  /** The line the row starts on (1-based). */
  line: number;
}

export interface Table {
  file: string;
  columns: string[];
  source: Source;
  /** 'csv' (with its separator), 'json' (an array) or 'jsonl'. */
  format: string;
  /** The rows, in batches (one per chunk of text read). */
  rows: AsyncGenerator<Row[]>;
}

export interface ReadOptions {
  delimiter?: string;
  encoding?: string;
  /** Told the bytes read so far, for progress. */
  progress?: (bytes: number) => void;
  /** Notes for the user (a guessed separator or encoding). */
  note: (line: string) => void;
}

export async function openTable(file: string, o: ReadOptions): Promise<Table> {
  const source = await openSource(file, 'data file', o.encoding);
  if (source.note) o.note(`note: ${source.note}`);
  const ext = extname(file).toLowerCase();
  const first = source.head.replace(/^\uFEFF/, '').trimStart()[0];
  const json = ['.json', '.jsonl', '.ndjson'].includes(ext) || (!['.csv', '.tsv', '.tab', '.txt'].includes(ext) && (first === '[' || first === '{'));
  const { columns, rows, format } = json ? await jsonRows(source, o) : await csvRows(source, ext, o);
  checkColumns(source.file, columns, o.note);
  return { file: source.file, columns, source, format, rows };
}

/**
 * Column names must be unique. A column without a name is allowed but never a default
 * feature: it is most often a row index (pandas' to_csv writes one with an empty name) or
 * the empty column after a trailing separator, and a row number must not train the model.
 */
function checkColumns(file: string, columns: string[], note: (line: string) => void) {
  const seen = new Set<string>();
  columns.forEach((name, j) => {
    if (name === '') {
      note(`note: ${file}: column ${j + 1} of the header has no name (a row index, or a trailing separator?); it is not used`);
      return;
    }
    if (seen.has(name)) throw new CliError(`${file} line 1: the header names column '${name}' twice`);
    seen.add(name);
  });
}

export function columnIndex(table: { file: string; columns: string[] }, name: string, role: string): number {
  const j = table.columns.indexOf(name);
  if (j < 0) {
    const list = table.columns.length > 12 ? `${table.columns.slice(0, 12).map((c) => `'${c}'`).join(', ')}, …`
      : table.columns.map((c) => `'${c}'`).join(', ');
    const near = table.columns.find((c) => c.trim().toLowerCase() === name.trim().toLowerCase());
    const numbers = table.columns.filter((c) => NUMBER.test(c.trim())).length;
    const numeric = numbers >= 2 && numbers * 2 >= table.columns.length;
    const hint = near !== undefined ? ` — did you mean '${near}'? (names are case-sensitive)`
      : numeric ? ' — the first line holds numbers: the file needs a header row naming the columns'
      : table.columns.length === 1 && /[;\t|,]/.test(table.columns[0]) ? ' — one column whose name holds separators: pass --delimiter' : '';
    throw new CliError(`${table.file}: no ${role} column '${name}' (columns: ${list})${hint}`);
  }
  return j;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Whether Number(s) of an already trimmed cell may be taken without the regular expression:
 * it starts with a digit, sign or dot, does not start like hex/octal/binary ("0x…"), and
 * ends with a digit or dot — which rules out Infinity, NaN and every other word Number()
 * accepts. What passes and gives a finite number is a plain decimal number.
 */
const plain = (s: string) => {
  const a = s.charCodeAt(0), b = s.charCodeAt(1), z = s.charCodeAt(s.length - 1);
  return ((a >= 48 && a <= 57) || a === 43 || a === 45 || a === 46) && ((z >= 48 && z <= 57) || z === 46) &&
    b !== 120 && b !== 88 && b !== 111 && b !== 79 && b !== 98 && b !== 66;
};
const MAX_F32 = 3.4028234663852886e38;

/**
 * A cell as a float32-representable number, or a one-line error that names the file, line
 * and column. Text must be a plain decimal number (no hex, no "Infinity", no NaN): what is
 * not, or what float32 cannot hold (|v| > 3.4e38, which would train as Infinity and NaN),
 * is refused rather than turned into garbage.
 */
export function cellNumber(file: string, line: number, column: number, name: string, cell: unknown): number {
  let v = NaN;
  if (typeof cell === 'number') v = cell;
  else if (typeof cell === 'string' && cell.length > 0 && plain(cell)) v = Number(cell);
  if (v !== v && typeof cell === 'string' && NUMBER.test(cell.trim())) v = Number(cell.trim()); // spaces around, from JSON
  if (v !== v) {
    const where = `${file} ${at(line, column, name)}`;
    if (cell === undefined || cell === null || (typeof cell === 'string' && cell.trim() === '')) {
      throw new CliError(`${where}: the value is missing (every feature needs a number; remove or fill the row)`);
    }
    const shown = typeof cell === 'string' ? JSON.stringify(cell) : JSON.stringify(cell) ?? String(cell);
    const text = typeof cell === 'string' ? cell.trim() : '';
    const hint = /^[+-]?\d+,\d+$/.test(text) ? ' (a decimal comma? write numbers with a dot: 1.5)'
      : /^(na|n\/a|nan|null|none|\?|-|missing)$/i.test(text) ? ' (a missing-value marker: remove or fill the row — missing values are not imputed)'
        : ' (feature columns must be numeric; choose them with --features)';
    throw new CliError(`${where}: the value ${shown} is not a number${hint}`);
  }
  if (!(Math.abs(v) <= MAX_F32) || !Number.isFinite(Math.fround(v))) {
    throw new CliError(`${file} ${at(line, column, name)}: the value ${typeof cell === 'string' ? cell.trim() : v} is outside the ` +
      `float32 range (|v| ≤ 3.4e38); rescale the column`);
  }
  return v;
}

/** A label cell as its class name, or an error naming where it is missing. */
export function cellLabel(file: string, line: number, column: number, name: string, cell: unknown): string {
  if (cell === undefined || cell === null || (typeof cell === 'string' && cell.trim() === '')) {
    throw new CliError(`${file} ${at(line, column, name)}: the label is missing`);
  }
  if (typeof cell === 'object') throw new CliError(`${file} ${at(line, column, name)}: the label must be a string or a number`);
  return String(cell);
}
