/**
 * CSV and TSV through csv-parse's stream API: decoded chunks in, one record at a time out.
 * The separator is `--delimiter`, a tab for .tsv/.tab, or else sniffed from the header line
 * (the most frequent of , ; tab | outside quotes), with a note when it is not a comma — a
 * semicolon-separated ".csv" is common where the decimal mark is a comma.
 *
 * A quote that never closes makes csv-parse read to the end of the file (or to its record
 * size limit) and report the end; we then scan the text once more, quote-aware, to name the
 * line where that quote opens. That rescan runs only on this error.
 */
import { parse } from 'csv-parse';
import { CliError } from '../errors.js';
import type { Source } from './open.js';
import type { ReadOptions, Row } from './table.js';

/** The longest record (in characters) csv-parse may buffer: bounds memory on a runaway quote. */
const MAX_RECORD = 8 << 20;

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

export async function csvRows(source: Source, ext: string, o: ReadOptions): Promise<{ columns: string[]; rows: AsyncGenerator<Row>; format: string }> {
  const file = source.file;
  let delimiter = o.delimiter;
  if (delimiter === undefined) {
    if (ext === '.tsv' || ext === '.tab') delimiter = '\t';
    else {
      delimiter = sniffDelimiter(source.head.replace(/^\uFEFF/, ''));
      if (delimiter !== ',') o.note(`note: ${file}: columns separated by ${NAMES[delimiter]} (from the header line; --delimiter to choose)`);
    }
  }
  const parser = parse({
    delimiter, bom: true, trim: true, skip_empty_lines: true, info: true, max_record_size: MAX_RECORD,
    relax_column_count: true, // we check counts ourselves, to say which line and how many
  });
  // Feed the decoded chunks, respecting backpressure; a read error ends the parser with it.
  void (async () => {
    try {
      for await (const chunk of source.text(o.progress)) {
        if (!parser.write(chunk)) await new Promise<void>((resolve) => parser.once('drain', () => resolve()));
        if (parser.destroyed) return;
      }
      parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: { lines: number } }>;
  const failed = async (error: unknown): Promise<never> => {
    const e = error as Error & { code?: string; lines?: number };
    if (error instanceof CliError) throw error;
    if (e.code === 'CSV_QUOTE_NOT_CLOSED' || e.code === 'CSV_MAX_RECORD_SIZE') {
      const opened = await unclosedQuote(source, delimiter!);
      if (opened) throw new CliError(`${file} ${opened}: a quote opens here and is not closed (a field in quotes must end with a quote)`);
    }
    if (e.code === 'CSV_INVALID_CLOSING_QUOTE' || e.code === 'INVALID_OPENING_QUOTE') {
      throw new CliError(`${file}${e.lines !== undefined ? ` line ${e.lines}` : ''}: a quote inside a field (write "" for a quote in a quoted field): ${e.message}`);
    }
    throw new CliError(`${file}${e.lines !== undefined ? ` line ${e.lines}` : ''}: not valid CSV: ${e.message}`);
  };
  let first: IteratorResult<{ record: string[]; info: { lines: number } }>;
  try {
    first = await records.next();
  } catch (error) {
    return failed(error);
  }
  if (first.done) throw new CliError(`${file}: the file is empty (expected a header row and data rows)`);
  const columns = first.value.record;
  async function* rows(): AsyncGenerator<Row> {
    let any = false;
    for (;;) {
      let next: IteratorResult<{ record: string[]; info: { lines: number } }>;
      try {
        next = await records.next();
      } catch (error) {
        return failed(error);
      }
      if (next.done) break;
      const { record, info } = next.value;
      // info.lines is the line where the record ends (it spans lines only through quoted newlines).
      const line = info.lines;
      if (record.length !== columns.length) {
        throw new CliError(`${file} line ${line}: ${record.length} fields, but the header has ${columns.length} columns` +
          (record.length === 1 && columns.length > 1 ? ` (separated by ${NAMES[delimiter!] ?? `'${delimiter}'`})` : ''));
      }
      any = true;
      yield { cells: record, line };
    }
    if (!any) throw new CliError(`${file}: no data rows after the header`);
  }
  return { columns, rows: rows(), format: `csv (${NAMES[delimiter] ?? `'${delimiter}'`})` };
}

/**
 * The line (and column) where a quoted field opens that never closes — or runs past
 * MAX_RECORD characters — by one quote-aware scan of the text; null when there is none.
 */
async function unclosedQuote(source: Source, delimiter: string): Promise<string | null> {
  let line = 1, column = 0, quoted = false, atFieldStart = true, openLine = 0, openColumn = 0, length = 0, prevQuote = false;
  for await (const chunk of source.text()) {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      column++;
      if (quoted) {
        length++;
        if (ch === '"') {
          quoted = false;
          prevQuote = true; // "" inside a quoted field reopens it just below
        } else if (length > MAX_RECORD) {
          return `line ${openLine}, column ${openColumn}`;
        }
      } else if (ch === '"' && prevQuote) {
        quoted = true;
        prevQuote = false;
      } else {
        prevQuote = false;
        if (ch === '"' && atFieldStart) {
          quoted = true;
          openLine = line;
          openColumn = column;
          length = 0;
        }
      }
      if (ch === '\n') {
        line++;
        column = 0;
      }
      if (!quoted) atFieldStart = ch === delimiter || ch === '\n' || ch === '\r' || (atFieldStart && (ch === ' ' || ch === '\t'));
    }
  }
  return quoted ? `line ${openLine}, column ${openColumn}` : null;
}
