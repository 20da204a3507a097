/**
 * The command line's files: nothing lost (no output over an input, a failed write leaves the
 * old file, no temporary file left behind), stdout to a closed pipe, exit codes, many rows
 * of one class, and memory that does not grow with the file.
 */
import { chmodSync, createWriteStream, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobsCsv, cli as run, failed, sh, workDir } from './cli-helpers.js';

let dir: string;
const cli = (...args: string[]) => run(dir, args);
const write = (name: string, data: string | Buffer) => writeFileSync(join(dir, name), data);
const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const temps = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

beforeAll(async () => {
  dir = workDir();
  write('data.csv', blobsCsv(90, 3, ['a', 'b', 'c']));
  const r = await cli('train', '--data', 'data.csv', '--label', 'label', '--epochs', '20', '--out', 'model.json');
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nothing lost', () => {
  it('refuses an --out that is the data, the model or the cache — also through another spelling or a link', async () => {
    const data = read('data.csv'), model = read('model.json');
    failed(await cli('train', '--data', 'data.csv', '--label', 'label', '--out', 'data.csv'),
      /--out 'data.csv' is the data file 'data.csv'; writing there would destroy it/);
    failed(await cli('train', '--data', 'data.csv', '--label', 'label', '--out', './sub/../data.csv'), /is the data file/);
    symlinkSync(join(dir, 'data.csv'), join(dir, 'link.csv'));
    failed(await cli('train', '--data', 'link.csv', '--label', 'label', '--out', 'data.csv'), /is the data file 'link.csv'/);
    failed(await cli('predict', '--model', 'model.json', '--data', 'data.csv', '--out', 'model.json'), /--out 'model.json' is the model/);
    failed(await cli('predict', '--model', 'model.json', '--data', 'data.csv', '--out', 'data.csv'), /--out 'data.csv' is the data file/);
    failed(await cli('train', '--data', 'data.csv', '--label', 'label', '--cache', 'c.bin', '--out', 'c.bin'), /--out 'c.bin' is the cache/);
    failed(await cli('train', '--data', 'data.csv', '--label', 'label', '--cache', 'data.csv'), /--cache 'data.csv' is the data file/);
    failed(await cli('train', '--data', 'data.csv', '--label', 'label', '--cache', 'model.json', '--out', 'x.json'), /--cache 'model.json' exists and is not a cache/);
    expect(read('data.csv')).toBe(data);
    expect(read('model.json')).toBe(model);
  });

  it('--cache keeps the rows as float32 and may be reused for another run', async () => {
    const first = await cli('train', '--data', 'data.csv', '--label', 'label', '--epochs', '3', '--cache', 'rows.cache', '--out', 'm1.json');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/kept the cache .*rows.cache/);
    // header (64 bytes) + 90 rows of 3 float32 and an int32 code
    expect(readFileSync(join(dir, 'rows.cache')).length).toBe(64 + 90 * 16);
    const again = await cli('train', '--data', 'data.csv', '--label', 'label', '--epochs', '3', '--cache', 'rows.cache', '--out', 'm2.json');
    expect(again.code).toBe(0);
    expect(JSON.parse(read('m1.json')).classifier).toEqual(JSON.parse(read('m2.json')).classifier);
  });

  it('a write that fails partway (file size limit) leaves the old file as it was and no temporary file', async () => {
    write('big.csv', blobsCsv(20000, 3, ['a', 'b', 'c']));
    write('old.csv', 'the old predictions\n');
    const r = await sh(dir, 'ulimit -f 200; $CLI predict --model model.json --data big.csv --out old.csv');
    failed(r, /cannot write the predictions to 'old.csv': file too large \(nothing was replaced\)/);
    expect(read('old.csv')).toBe('the old predictions\n');
    expect(temps()).toEqual([]);
  });

  it('a bad row after output began: exit 1, the old --out file untouched, no temporary file', async () => {
    const lines = blobsCsv(10000, 3, ['a', 'b', 'c']).split('\n');
    lines[9000] = lines[9000].replace(/^[^,]+/, 'oops');
    write('late.csv', lines.join('\n'));
    write('prev.csv', 'previous\n');
    failed(await cli('predict', '--model', 'model.json', '--data', 'late.csv', '--out', 'prev.csv'), /late.csv line 9001, column 1 \('f0'\): the value "oops"/);
    expect(read('prev.csv')).toBe('previous\n');
    failed(await cli('train', '--data', 'late.csv', '--label', 'label', '--out', 'model.json'), /late.csv line 9001/);
    expect(temps()).toEqual([]);
    // To stdout, the rows before it were printed; the exit code still says the run failed.
    const out = await cli('predict', '--model', 'model.json', '--data', 'late.csv');
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/line 9001/);
  });

  it('--out /dev/null and other non-files are written directly; a link keeps pointing at the replaced file, whose mode stays', async () => {
    const r = await cli('predict', '--model', 'model.json', '--data', 'data.csv', '--out', '/dev/null');
    expect(r.code).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    write('target.csv', 'old\n');
    chmodSync(join(dir, 'target.csv'), 0o600);
    symlinkSync('target.csv', join(dir, 'out-link.csv'));
    expect((await cli('predict', '--model', 'model.json', '--data', 'data.csv', '--out', 'out-link.csv')).code).toBe(0);
    expect(lstatSync(join(dir, 'out-link.csv')).isSymbolicLink()).toBe(true);
    expect(read('target.csv')).toMatch(/^prediction,/);
    expect(statSync(join(dir, 'target.csv')).mode & 0o777).toBe(0o600);
    mkdirSync(join(dir, 'adir'));
    failed(await cli('predict', '--model', 'model.json', '--data', 'data.csv', '--out', 'adir'), /cannot write the predictions to 'adir': it is a directory/);
  });

  it('an --out in a missing directory is a one-line error', async () => {
    failed(await cli('train', '--data', 'data.csv', '--label', 'label', '--out', 'no/such/dir/m.json'),
      /cannot write the model to 'no\/such\/dir\/m.json': its directory does not exist/);
  });
});

describe('pipes and exit codes', () => {
  it('predict | head: no EPIPE trace, no error line', async () => {
    write('many.csv', blobsCsv(50000, 3, ['a', 'b', 'c']));
    const r = await sh(dir, 'set -o pipefail; $CLI predict --model model.json --data many.csv | head -n 2; echo "exit ${PIPESTATUS[0]}" >&2');
    expect(r.stdout.split('\n').length).toBe(3);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.stderr).toMatch(/^exit 0$/m);
  });

  it("'-' reads standard input (train and predict) and --out - writes stdout", async () => {
    const t = await sh(dir, '$CLI train --data - --label label --epochs 5 --out stdin-model.json < data.csv');
    expect(t.stderr).toBe('');
    expect(t.stdout).toMatch(/data: 90 rows .* 1\.8 kB read/); // the bytes of data.csv, counted as read
    const p = await sh(dir, 'cat data.csv | $CLI predict --model stdin-model.json --data - --out -');
    expect(p.code).toBe(0);
    expect(p.stdout.trim().split('\n').length).toBe(91);
    failed(await sh(dir, 'printf "a,b\\n1,2\\n" | $CLI predict --model stdin-model.json --data -'), /stdin: no feature column 'f0'/);
  });

  it('rows without a label are not scored and not an error: predictions written, exit 0', async () => {
    write('some.csv', 'f0,f1,f2,label\n1,0,0,a\n0,3,0,\n0,0,3,c\n0,0,3,zebra\n');
    const r = await cli('predict', '--model', 'model.json', '--data', 'some.csv', '--out', 'some-pred.csv');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/wrote 4 predictions to some-pred.csv\naccuracy against column 'label': .* \(\d\/3\); 1 rows without a label not scored; 1 rows have a label the model does not know/);
    expect(read('some-pred.csv').trim().split('\n').length).toBe(5);
  });

  it('no progress bar when stderr is not a terminal (and none with --quiet)', async () => {
    const r = await cli('train', '--data', 'data.csv', '--label', 'label', '--epochs', '3', '--out', 'm3.json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('size', () => {
  it('200,000 rows of one class (and a few of another): trains, with the stratified split', async () => {
    const path = join(dir, 'one-class.csv');
    const out = createWriteStream(path);
    out.write('x,y,label\n');
    for (let b = 0; b < 20; b++) {
      const rows: string[] = [];
      for (let i = 0; i < 10000; i++) rows.push(`${(i % 97) / 97},${(i % 89) / 89},big`);
      if (b === 0) for (let i = 0; i < 50; i++) rows.push(`${3 + i / 50},3,small`);
      if (!out.write(rows.join('\n') + '\n')) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const r = await cli('train', '--data', 'one-class.csv', '--label', 'label', '--epochs', '2', '--out', 'one.json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/data: 200050 rows \(160040 train, 40010 test, stratified\)/);
    expect(r.stdout).toMatch(/big +160000 +40000/);
    expect(r.stdout).toMatch(/small +40 +10/);
  }, 120_000);

  it('peak memory does not grow with the file: 15 MB and 60 MB files train and predict in about the same RSS', async () => {
    const { writeCsv } = await import('../bench/cli-data.mjs');
    const rss = async (args: string[]) => {
      const r = await run(dir, args, { SCE_REPORT_RSS: '1' });
      expect(r.code, r.stderr).toBe(0);
      return Number(/peak RSS ([\d.]+) MiB/.exec(r.stderr)![1]);
    };
    const peaks: number[][] = [];
    for (const mb of [15, 60]) {
      await writeCsv(join(dir, `gen${mb}.csv`), { bytes: mb * 1e6, features: 50, classes: 10 });
      const t = await rss(['train', '--data', `gen${mb}.csv`, '--label', 'label', '--epochs', '1', '--out', `gen${mb}.json`]);
      const p = await rss(['predict', '--model', `gen${mb}.json`, '--data', `gen${mb}.csv`, '--out', `gen${mb}-pred.csv`]);
      peaks.push([t, p]);
      rmSync(join(dir, `gen${mb}.csv`));
    }
    for (let k = 0; k < 2; k++) {
      // Well under the 300 MB bound, and 4× the file adds far less than the file (< 40 MiB).
      expect(peaks[1][k]).toBeLessThan(200);
      expect(peaks[1][k] - peaks[0][k]).toBeLessThan(40);
    }
  }, 300_000);

  it('a 40 MB JSON array and JSON lines stream in the same bounded memory', async () => {
    const { writeCsv } = await import('../bench/cli-data.mjs');
    await writeCsv(join(dir, 'j.csv'), { bytes: 20e6, features: 50, classes: 10 });
    const lines = read('j.csv').trim().split('\n'), header = lines[0].split(',');
    rmSync(join(dir, 'j.csv'));
    const records = lines.slice(1).map((l) => {
      const cells = l.split(',');
      return JSON.stringify(Object.fromEntries(header.map((h, j) => [h, j < 50 ? Number(cells[j]) : cells[j]])));
    });
    write('j.jsonl', records.join('\n') + '\n');
    write('j.json', '[\n' + records.join(',\n') + '\n]\n');
    for (const f of ['j.jsonl', 'j.json']) {
      const r = await run(dir, ['train', '--data', f, '--label', 'label', '--epochs', '1', '--out', `${f}.model`], { SCE_REPORT_RSS: '1' });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`data: ${records.length} rows`));
      expect(Number(/peak RSS ([\d.]+) MiB/.exec(r.stderr)![1])).toBeLessThan(200);
    }
  }, 300_000);
});
