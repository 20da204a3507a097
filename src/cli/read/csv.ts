/**
 * CSV and TSV, streamed: decoded chunks in, batches of records out (one batch per chunk, so
 * the async machinery runs once per MiB, not once per row). The tokenizer is RFC 4180: fields
 * separated by the delimiter, records by LF or CRLF, a field in double quotes may hold
 * delimiters, newlines and doubled quotes (""). Unquoted fields are trimmed; empty lines are
 * skipped. It is ours rather than csv-parse's stream because the whole pass over a file is
 * this loop, and a char-code loop with one slice per field reads several times faster than
 * csv-parse's record events (bench/cli.mjs); csv-parse still reads --features lists.
 *
 * The separator is `--delimiter`, a tab for .tsv/.tab, or else sniffed from the header line
 * (the most frequent of , ; tab | outside quotes), with a note when it is not a comma — a
 * semicolon-separated ".csv" is common where the decimal mark is a comma.
 *
 * Errors name the line and column: a quote that never closes is reported where it opens
 * (the tokenizer remembers that place; it does not have to read to the end first), as is a
 * quoted field longer than MAX_FIELD characters, which bounds the memory a runaway quote takes.
 */
import { CliError } from '../errors.js';
import type { Source } from './open.js';
import type { ReadOptions, Row } from './table.js';

/** The longest field (in characters) kept: bounds memory on a runaway quote. */
const MAX_FIELD = 8 << 20;
/** The most fields a record may have: bounds memory on a file without line breaks. */
const MAX_FIELDS = 1 << 20;

const NAMES: Record<string, string> = { ',': 'commas', ';': 'semicolons', '\t': 'tabs', '|': 'vertical bars' };

/** The separator of the header line: the most frequent candidate outside quotes (a comma on ties). */
export function sniffDelimiter(head: string): string {
  const counts = new Map<string, number>([[',', 0], [';', 0], ['\t', 0], ['|', 0]]);
  let quoted = false;
  for (const ch of head) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best = ',';
  for (const [ch, n] of counts) if (n > counts.get(best)!) best = ch;
  return best;
}

const QUOTE = 34, LF = 10, CR = 13, SPACE = 32, TAB = 9;

/** Trims spaces and tabs at either end (only when there are any: the common case slices nothing). */
const trimField = (s: string) => {
  const n = s.length;
  if (n === 0) return s;
  const a = s.charCodeAt(0), b = s.charCodeAt(n - 1);
  return a === SPACE || a === TAB || b === SPACE || b === TAB ? s.trim() : s;
};

/** Records of one CSV text, chunk by chunk. */
class Tokenizer {
  readonly #file: string;
  readonly #delim: number;
  /** The record being read, its first line, and the field pieces carried over from the last chunk. */
  #record: string[] = [];
  #recordLine = 1;
  #carry = '';
  /** 0 outside quotes, 1 inside, 2 just after a quote inside quotes (a "" or the end). */
  #quote = 0;
  #quotedField = false;
  #quoteLine = 0;
  /** Where the open quote is: its field (1-based, as other errors count columns) and character. */
  #quoteColumn = 0;
  #quoteCharacter = 0;
  #line = 1;
  #column = 0;
  #skipLf = false;

  constructor(file: string, delimiter: string) {
    this.#file = file;
    this.#delim = delimiter.charCodeAt(0);
  }

  #fail(what: string): never {
    // Columns count fields (as every other error does); the character pins the spot in the line.
    throw new CliError(`${this.#file} line ${this.#line}, column ${this.#record.length + 1} (character ${this.#column}): ${what}`);
  }

  #endField(text: string) {
    this.#record.push(this.#quotedField ? text : trimField(text));
    this.#quotedField = false;
    if (this.#record.length > MAX_FIELDS) {
      throw new CliError(`${this.#file} line ${this.#recordLine}: more than ${MAX_FIELDS} fields in one record (no line breaks?)`);
    }
  }

  #endRecord(out: Row[]) {
    const r = this.#record;
    // An empty line is one empty, unquoted field: skipped.
    if (!(r.length === 1 && r[0] === '' && !this.#lastQuoted)) out.push({ cells: r, line: this.#recordLine });
    this.#record = [];
  }

  #lastQuoted = false;

  /** Tokenizes one chunk; appends complete records to `out`. */
  feed(chunk: string, out: Row[]): void {
    const delim = this.#delim, n = chunk.length;
    let start = 0; // where the current field's text in this chunk begins
    let i = 0;
    if (this.#skipLf && n > 0) {
      this.#skipLf = false;
      if (chunk.charCodeAt(0) === LF) {
        i = start = 1;
      }
    }
    for (; i < n; i++) {
      const c = chunk.charCodeAt(i);
      this.#column++;
      if (this.#quote === 1) {
        if (c === QUOTE) {
          this.#carry += chunk.slice(start, i);
          this.#quote = 2;
          start = i + 1;
        } else if (c === LF) {
          this.#line++;
          this.#column = 0;
        }
        continue;
      }
      if (this.#quote === 2) {
        if (c === QUOTE) { // "" inside quotes: one quote, still quoted
          this.#carry += '"';
          this.#quote = 1;
          start = i + 1;
          continue;
        }
        this.#quote = 0; // the quote closed the field; c must end it
        if (c !== delim && c !== LF && c !== CR && c !== SPACE && c !== TAB) {
          this.#fail(`text after the closing quote of a field (a quote inside a quoted field is written "")`);
        }
        if (c === SPACE || c === TAB) {
          start = i + 1;
          continue;
        }
      }
      if (c === delim) {
        this.#endField(this.#carry + chunk.slice(start, i));
        this.#lastQuoted = false;
        this.#carry = '';
        start = i + 1;
      } else if (c === LF || c === CR) {
        this.#lastQuoted = this.#quotedField;
        this.#endField(this.#carry + chunk.slice(start, i));
        this.#carry = '';
        this.#endRecord(out);
        if (c === CR) {
          if (i + 1 < n) {
            if (chunk.charCodeAt(i + 1) === LF) i++;
          } else {
            this.#skipLf = true;
          }
        }
        this.#line++;
        this.#column = 0;
        this.#recordLine = this.#line;
        start = i + 1;
      } else if (c === QUOTE) {
        // A quote opens a field only at its start (after spaces); elsewhere it is an error.
        const before = this.#carry + chunk.slice(start, i);
        if (before.trim() !== '' || this.#quotedField) {
          this.#fail('a quote inside an unquoted field (quote the whole field, and write a quote inside it as "")');
        }
        this.#quote = 1;
        this.#quotedField = true;
        this.#quoteLine = this.#line;
        this.#quoteColumn = this.#record.length + 1;
        this.#quoteCharacter = this.#column;
        this.#carry = '';
        start = i + 1;
      }
    }
    if (start < n) this.#carry += chunk.slice(start);
    if (this.#carry.length > MAX_FIELD) {
      if (this.#quote) {
        throw new CliError(`${this.#file} line ${this.#quoteLine}, column ${this.#quoteColumn} (character ${this.#quoteCharacter}): a quote opens here and is not closed ` +
          `within ${MAX_FIELD >> 20} Mi characters (a field in quotes must end with a quote)`);
      }
      this.#fail(`a field longer than ${MAX_FIELD >> 20} Mi characters (is this a text file?)`);
    }
  }

  /** The end of the text: the last record, if it has no newline. */
  end(out: Row[]): void {
    if (this.#quote === 1) {
      throw new CliError(`${this.#file} line ${this.#quoteLine}, column ${this.#quoteColumn} (character ${this.#quoteCharacter}): a quote opens here and is not closed ` +
        '(a field in quotes must end with a quote)');
    }
    if (this.#quote === 2) this.#quote = 0;
    if (this.#carry !== '' || this.#record.length > 0 || this.#quotedField) {
      this.#lastQuoted = this.#quotedField;
      this.#endField(this.#carry);
      this.#carry = '';
      this.#endRecord(out);
    }
  }
}

export async function csvRows(source: Source, ext: string, o: ReadOptions): Promise<{ columns: string[]; rows: AsyncGenerator<Row[]>; format: string }> {
  const file = source.file;
  let delimiter = o.delimiter;
  if (delimiter === undefined) {
    if (ext === '.tsv' || ext === '.tab') delimiter = '\t';
    else {
      delimiter = sniffDelimiter(source.head.replace(/^\uFEFF/, ''));
      if (delimiter !== ',') o.note(`note: ${file}: columns separated by ${NAMES[delimiter]} (from the header line; --delimiter to choose)`);
    }
  }
  const tokenizer = new Tokenizer(file, delimiter);
  const chunks = source.text(o.progress);
  let first = true, ended = false;
  /** The next batch of records (possibly empty); null at the end of the text. */
  const next = async (): Promise<Row[] | null> => {
    if (ended) return null;
    const out: Row[] = [];
    const r = await chunks.next();
    if (r.done) {
      tokenizer.end(out);
      ended = true;
      return out;
    }
    let chunk = r.value;
    if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1); // a byte-order mark
    first = false;
    tokenizer.feed(chunk, out);
    return out;
  };
  // The header: the first record.
  let pending: Row[] = [];
  while (pending.length === 0) {
    const batch = await next();
    if (batch === null) throw new CliError(`${file}: the file is empty (expected a header row and data rows)`);
    pending = batch;
  }
  const columns = pending.shift()!.cells as string[];
  const width = columns.length;
  const sep = NAMES[delimiter] ?? `'${delimiter}'`;
  const check = (batch: Row[]) => {
    for (const row of batch) {
      if (row.cells.length !== width) {
        throw new CliError(`${file} line ${row.line}: ${row.cells.length} fields, but the header has ${width} columns` +
          (row.cells.length === 1 && width > 1 ? ` (separated by ${sep})` : ''));
      }
    }
    return batch;
  };
  async function* rows(): AsyncGenerator<Row[]> {
    let any = pending.length > 0;
    if (any) yield check(pending);
    for (let batch = await next(); batch !== null; batch = await next()) {
      if (batch.length === 0) continue;
      any = true;
      yield check(batch);
    }
    if (!any) throw new CliError(`${file}: no data rows after the header`);
  }
  return { columns, rows: rows(), format: `csv (${sep})` };
}
