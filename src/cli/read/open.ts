/**
 * Opening a data file: refuse what is not text (spreadsheets, archives), find its
 * encoding, and hand out its text as a stream of decoded chunks — never the whole file as
 * one string, so any size reads in memory bounded by the chunk size (1 MiB).
 *
 * Encodings: UTF-8 (a byte-order mark is skipped), UTF-16 with a byte-order mark, or
 * without one when every other byte of the start is zero (both decoded, with a note), and
 * any encoding TextDecoder knows by `--encoding` (e.g. latin1). Bytes that are not UTF-8
 * stop with the line where they are and a hint to pass `--encoding latin1`.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { CliError } from '../errors.js';

const CHUNK = 256 << 10;

const SPREADSHEETS = new Set(['.xlsx', '.xlsm', '.xls', '.ods', '.numbers']);

export interface Source {
  /** The name for messages: the path, or 'stdin' for '-'. */
  file: string;
  /** Size in bytes (for progress); 0 for standard input. */
  bytes: number;
  encoding: string;
  /** A note for the user (an encoding that was guessed), or null. */
  note: string | null;
  /** The text, chunk by chunk; `progress` is told the bytes read so far. */
  text(progress?: (bytes: number) => void): AsyncGenerator<string>;
  /** The first characters of the text (at most 64 KiB), to sniff a format or a separator. */
  head: string;
  /** Bytes read so far by text(). */
  bytesRead(): number;
}

const spreadsheetWord = (file: string, what: string) =>
  `${file}: ${what}; export it as CSV (in the spreadsheet program: Save As / Download → CSV, UTF-8)`;

export async function openSource(path: string, what: string, encodingOption?: string): Promise<Source> {
  // '-' is standard input: read as a stream like a file, of unknown size.
  const stdin = path === '-', file = stdin ? 'stdin' : path;
  let size = 0, start: Buffer, rest: AsyncIterator<Buffer> | null = null;
  if (stdin) {
    const it = process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const parts: Buffer[] = [];
    let n = 0, ended = false;
    while (n < 64 << 10) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      parts.push(r.value);
      n += r.value.length;
    }
    start = Buffer.concat(parts);
    rest = ended ? null : it;
  } else {
    try {
      const st = statSync(path);
      if (st.isDirectory()) throw new CliError(`cannot read ${what} '${path}': it is a directory`);
      size = st.size;
    } catch (error) {
      if (error instanceof CliError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(`cannot read ${what} '${path}': ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`);
    }
    const ext = extname(path).toLowerCase();
    if (SPREADSHEETS.has(ext)) throw new CliError(spreadsheetWord(file, `a spreadsheet (${ext}), not a text file`));
    // The first bytes say more than the name: a zip (xlsx, ods), an OLE file (xls), gzip.
    start = Buffer.alloc(Math.min(size, 64 << 10));
    const fd = openSync(path, 'r');
    try {
      readSync(fd, start, 0, start.length, 0);
    } finally {
      closeSync(fd);
    }
  }
  const magic = (...bytes: number[]) => bytes.every((b, i) => start[i] === b);
  if (magic(0x50, 0x4b, 0x03, 0x04)) throw new CliError(spreadsheetWord(file, 'a zip archive — an .xlsx or .ods spreadsheet?'));
  if (magic(0xd0, 0xcf, 0x11, 0xe0)) throw new CliError(spreadsheetWord(file, 'an OLE document — an .xls spreadsheet?'));
  if (magic(0x1f, 0x8b)) throw new CliError(`${file}: a gzip-compressed file; decompress it first (gunzip)`);
  if (magic(0x50, 0x41, 0x52, 0x31)) throw new CliError(`${file}: a Parquet file; convert it to CSV first`);

  let encoding = (encodingOption ?? 'utf-8').toLowerCase(), skip = 0, note: string | null = null;
  if (magic(0xef, 0xbb, 0xbf) && encoding === 'utf-8') skip = 3;
  else if (magic(0xff, 0xfe) && !encodingOption) [encoding, skip] = ['utf-16le', 2];
  else if (magic(0xfe, 0xff) && !encodingOption) [encoding, skip] = ['utf-16be', 2];
  else if (!encodingOption && start.length >= 4) {
    // UTF-16 without a byte-order mark: ASCII text then has a zero in every other byte.
    let evenZeros = 0, oddZeros = 0;
    for (let i = 0; i + 1 < start.length; i += 2) {
      if (start[i] === 0) evenZeros++;
      if (start[i + 1] === 0) oddZeros++;
    }
    const half = start.length / 4;
    if (oddZeros > half && evenZeros === 0) encoding = 'utf-16le';
    else if (evenZeros > half && oddZeros === 0) encoding = 'utf-16be';
    if (encoding !== 'utf-8') note = `${file}: read as ${encoding.toUpperCase()} (no byte-order mark; every other byte is zero)`;
  }
  if (encoding !== 'utf-8' && encoding.startsWith('utf-16') && skip && !note) note = `${file}: read as ${encoding.toUpperCase()} (byte-order mark)`;
  try {
    new TextDecoder(encoding, { fatal: true });
  } catch {
    throw new CliError(`--encoding '${encodingOption}' is not an encoding this Node knows (try utf-8, latin1, utf-16le)`);
  }
  const head = new TextDecoder(encoding).decode(start.subarray(skip), { stream: true });

  let total = 0, read = 0;
  async function* text(progress?: (bytes: number) => void): AsyncGenerator<string> {
    const decoder = new TextDecoder(encoding, { fatal: true });
    let lines = 1;
    const chunks = async function* (): AsyncGenerator<Buffer> {
      if (!stdin) {
        yield* createReadStream(path, { start: skip, highWaterMark: CHUNK }) as AsyncIterable<Buffer>;
        return;
      }
      if (start.length > skip) yield start.subarray(skip);
      if (rest) for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
    };
    for await (const bytes of chunks()) {
      read += bytes.length;
      total = read + skip;
      let s: string;
      try {
        s = decoder.decode(bytes, { stream: true });
      } catch {
        // Where: decode the chunk leniently; the first replacement character is the bad byte.
        const loose = new TextDecoder(encoding).decode(bytes);
        const bad = loose.indexOf('\uFFFD');
        const line = lines + (loose.slice(0, Math.max(bad, 0)).match(/\n/g)?.length ?? 0);
        throw new CliError(`${file} line ${line}: bytes that are not ${encoding.toUpperCase()} ` +
          `(a Latin-1 or Windows-1252 file?); pass --encoding latin1, or convert it: iconv -f latin1 -t utf-8`);
      }
      for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
      progress?.(read + skip);
      if (s) yield s;
    }
    let tail: string;
    try {
      tail = decoder.decode();
    } catch {
      throw new CliError(`${file} line ${lines}: the file ends inside a ${encoding.toUpperCase()} character (a truncated file?)`);
    }
    if (tail) yield tail;
  }
  return { file, bytes: size, encoding, note, text, head, bytesRead: () => total };
}
