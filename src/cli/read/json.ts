/**
 * JSON data as a stream: an array of objects (`[{…}, {…}]`) or JSON lines (one object per
 * line, .jsonl/.ndjson — or any file whose first character is `{`). A small scanner walks
 * the decoded chunks, tracking strings and nesting, and cuts out one record's text at a
 * time, which JSON.parse then reads; so memory holds one record, not the file. The columns
 * are the first record's keys. A record that is not valid JSON is reported with the line
 * and column of its first bad character.
 */
import { CliError } from '../errors.js';
import type { Source } from './open.js';
import type { ReadOptions, Row } from './table.js';

/** The longest record (in characters) kept while looking for its end: bounds memory on a runaway string. */
const MAX_RECORD = 8 << 20;

interface Text {
  record: string;
  line: number;
  column: number;
}

/** Record texts from decoded chunks, a batch per chunk. */
async function* recordTexts(source: Source, progress?: (bytes: number) => void): AsyncGenerator<Text[]> {
  const file = source.file;
  let line = 1, column = 0;
  let state: 'start' | 'array' | 'lines' | 'done' = 'start';
  let afterComma = false, count = 0;
  // Inside a record: its pieces so far, nesting depth, string and escape state.
  let inRecord = false, depth = 0, inString = false, escaped = false, pieces: string[] = [], size = 0;
  let startLine = 0, startColumn = 0;
  const fail = (what: string): never => {
    throw new CliError(`${file} line ${line}, column ${column}: ${what}`);
  };
  let first = true;
  for await (let chunk of source.text(progress)) {
    if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1); // a byte-order mark
    first = false;
    const batch: Text[] = [];
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      if (ch === 10) {
        line++;
        column = 0;
      } else {
        column++;
      }
      if (inRecord) {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === 92) escaped = true; // backslash
          else if (ch === 34) inString = false;
        } else if (ch === 34) {
          inString = true;
        } else if (ch === 123 || ch === 91) {
          depth++;
        } else if (ch === 125 || ch === 93) {
          if (--depth === 0) {
            pieces.push(chunk.slice(from, i + 1));
            inRecord = false;
            count++;
            afterComma = false;
            batch.push({ record: pieces.join(''), line: startLine, column: startColumn });
            pieces = [];
            size = 0;
          }
        }
        continue;
      }
      if (ch === 32 || ch === 9 || ch === 10 || ch === 13) continue;
      if (state === 'start') {
        if (ch === 91) { // [
          state = 'array';
          continue;
        }
        state = 'lines';
      }
      if (state === 'done') fail(`unexpected '${chunk[i]}' after the end of the array`);
      if (state === 'array' && ch === 93) { // ]
        if (afterComma) fail("a comma before ']'");
        state = 'done';
        continue;
      }
      if (state === 'array' && ch === 44) { // ,
        if (count === 0 || afterComma) fail("a comma where a record should be");
        afterComma = true;
        continue;
      }
      if (ch === 123) { // {
        if (state === 'array' && count > 0 && !afterComma) fail("expected ',' or ']' between records");
        inRecord = true;
        depth = 1;
        from = i;
        startLine = line;
        startColumn = column;
        continue;
      }
      const shown = chunk.slice(i, i + 12).split('\n')[0];
      fail(`expected ${state === 'array' ? 'an object {…} for record ' + (count + 1) : 'an object {…} per line (JSON lines) or an array of objects'}, found '${shown}'`);
    }
    if (inRecord) {
      pieces.push(chunk.slice(from));
      size += chunk.length - from;
      if (size > MAX_RECORD) {
        throw new CliError(`${file} line ${startLine}, column ${startColumn}: a record longer than ${MAX_RECORD >> 20} MiB opens here ` +
          `(${inString ? 'a string that is not closed?' : 'a brace that is not closed?'})`);
      }
    }
    if (batch.length) yield batch;
  }
  if (inRecord) {
    throw new CliError(`${file} line ${startLine}, column ${startColumn}: the record that opens here is not closed ` +
      `(${inString ? 'a string is not closed' : 'a missing }'})`);
  }
  if (state === 'array') fail("the array is not closed (a missing ']')");
  if (state === 'start') throw new CliError(`${file}: the file is empty (expected a JSON array of objects, or JSON lines)`);
}

export async function jsonRows(source: Source, o: ReadOptions): Promise<{ columns: string[]; rows: AsyncGenerator<Row[]>; format: string }> {
  const file = source.file;
  const texts = recordTexts(source, o.progress);
  const parseRecord = (t: Text): Record<string, unknown> => {
    let value: unknown;
    try {
      value = JSON.parse(t.record);
    } catch (error) {
      const off = jsonErrorOffset(t.record);
      const before = t.record.slice(0, off), nl = before.lastIndexOf('\n');
      const line = t.line + (before.match(/\n/g)?.length ?? 0), column = nl < 0 ? t.column + off : off - nl;
      throw new CliError(`${file} line ${line}, column ${column}: not valid JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new CliError(`${file} line ${t.line}: expected an object of column values`);
    }
    return value as Record<string, unknown>;
  };
  const first = await texts.next();
  if (first.done) throw new CliError(`${file}: no records (expected a JSON array of objects, or JSON lines)`);
  const head = parseRecord(first.value[0]);
  const values = Object.values(head);
  if (values.length > 0 && values.every((v) => v !== null && typeof v === 'object')) {
    // pandas' default to_json (orient 'columns') and orient 'list' write columns, not rows.
    throw new CliError(`${file} line ${first.value[0].line}: one object of columns (each value ${Array.isArray(values[0]) ? 'an array' : 'an object'}), ` +
      "not rows; write an array of objects, one per row (pandas: df.to_json(orient='records'), or lines=True)");
  }
  const columns = Object.keys(head);
  const rowsOf = (batch: Text[]) => batch.map((t) => {
    const r = parseRecord(t);
    return { cells: columns.map((k) => r[k]), line: t.line };
  });
  async function* rows(): AsyncGenerator<Row[]> {
    yield rowsOf(first.value!);
    for await (const batch of texts) yield rowsOf(batch);
  }
  const format = source.head.replace(/^\uFEFF/, '').trimStart().startsWith('[') ? 'json (an array of objects)' : 'json lines';
  return { columns, rows: rows(), format };
}

/**
 * Where JSON.parse failed: the offset of the first character that is not valid JSON (V8's
 * messages do not always give a position). A plain recursive-descent scan, run only on error.
 */
export function jsonErrorOffset(text: string): number {
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
