/**
 * The CLI as users run it: `node build/cli.js …` (what the package's bin points to) in a
 * temporary directory, on small files written here. Needs `npm run build` first (the
 * `pretest` script does it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from './helpers.js';

const CLI = fileURLToPath(new URL('../build/cli.js', import.meta.url));
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, SCE_DEBUG: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A failed run: exit code 1, one error line matching `message`, no stack trace. */
function failed(run: Run, message: RegExp) {
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stdout).toBe('');
}

/** 90 rows, 3 features, string labels: three well-separated blobs (flowers, of a kind). */
function flowers(seed: number): string {
  const r = rng(seed), names = ['setosa', 'versicolor', 'virginica'];
  const lines = ['petal_length,petal_width,sepal_length,species'];
  for (let i = 0; i < 90; i++) {
    const k = i % 3;
    lines.push([1 + 2 * k + r(), 0.2 + k + r() * 0.5, 5 + k * 0.5 + r(), names[k]].map((v) => (typeof v === 'number' ? v.toFixed(3) : v)).join(','));
  }
  return lines.join('\n') + '\n';
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('build/cli.js is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'sce-cli-'));
  writeFileSync(join(dir, 'flowers.csv'), flowers(1));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('train and predict', () => {
  it('trains on a CSV with string labels: report, model file, predictions', async () => {
    const run = await cli('train', '--data', 'flowers.csv', '--label', 'species', '--epochs', '100', '--lr', '0.05', '--out', 'model.json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/3 features → 3 classes, label 'species'/);
    expect(run.stdout).toMatch(/data: 90 rows \(72 train, 18 test, stratified\)/);
    expect(run.stdout).toMatch(/test: {2}loss \d\.\d{4} {2}accuracy 1\.0000/);
    expect(run.stdout).toMatch(/versicolor +24 +6 +6/);
    const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(model).toMatchObject({
      format: 'softmax-ce-wasm/model', label: 'species', classes: ['setosa', 'versicolor', 'virginica'],
      features: ['petal_length', 'petal_width', 'sepal_length'],
    });
    expect(model.normalization.mean.length).toBe(3);
    expect(model.classifier.weights.length).toBe(9);

    const predicted = await cli('predict', '--model', 'model.json', '--data', 'flowers.csv');
    expect(predicted.code).toBe(0);
    const rows = predicted.stdout.trim().split('\n');
    expect(rows[0]).toBe('prediction,p(setosa),p(versicolor),p(virginica)');
    expect(rows.length).toBe(91);
    const truth = flowers(1).trim().split('\n').slice(1).map((l) => l.split(',')[3]);
    const hits = rows.slice(1).filter((row, i) => row.split(',')[0] === truth[i]).length;
    expect(hits).toBeGreaterThanOrEqual(88);
    for (const row of rows.slice(1)) {
      const sum = row.split(',').slice(1).reduce((s, v) => s + Number(v), 0);
      expect(sum).toBeCloseTo(1, 4);
    }
    expect(predicted.stderr).toMatch(/accuracy against column 'species': 0\.9\d{3}|accuracy against column 'species': 1\.0000/);

    const toFile = await cli('predict', '--model', 'model.json', '--data', 'flowers.csv', '--out', 'p.csv');
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(toFile.stderr).toMatch(/wrote 90 predictions to p.csv/);
    expect(readFileSync(join(dir, 'p.csv'), 'utf8')).toBe(predicted.stdout);
  });

  it('one seed gives the same model; JSON data and numeric labels work', async () => {
    const rows = flowers(2).trim().split('\n');
    const header = rows[0].split(',');
    const records = rows.slice(1).map((l) => {
      const cells = l.split(',');
      return Object.fromEntries(header.map((h, j) => [h, j < 3 ? Number(cells[j]) : { setosa: 10, versicolor: 2, virginica: 1 }[cells[j]]]));
    });
    writeFileSync(join(dir, 'flowers.json'), JSON.stringify(records, null, 1));
    const a = await cli('train', '--data', 'flowers.json', '--label', 'species', '--epochs', '10', '--seed', '7', '--out', 'a.json');
    const b = await cli('train', '--data', 'flowers.json', '--label', 'species', '--epochs', '10', '--seed', '7', '--out', 'b.json');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const ma = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')), mb = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
    expect(ma.classifier).toEqual(mb.classifier);
    expect(ma.classes).toEqual(['1', '2', '10']); // numeric labels sort as numbers
  });

  it('--help and --version', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:[\s\S]*train[\s\S]*predict/);
    const train = await cli('train', '--help');
    expect(train.stdout).toMatch(/--test-split <fraction>/);
    expect((await cli('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('errors: one line, exit code 1, no stack trace', () => {
  it('a missing file', async () => {
    failed(await cli('train', '--data', 'nope.csv', '--label', 'species'), /error: cannot read data file 'nope.csv': no such file/);
    failed(await cli('predict', '--model', 'nope.json', '--data', 'flowers.csv'), /cannot read model file 'nope.json': no such file/);
  });

  it('a missing column', async () => {
    failed(await cli('train', '--data', 'flowers.csv', '--label', 'kind'),
      /flowers.csv: no label column 'kind' \(columns: 'petal_length', 'petal_width', 'sepal_length', 'species'\)/);
    failed(await cli('train', '--data', 'flowers.csv', '--label', 'species', '--features', 'petal_length,colour'),
      /flowers.csv: no feature column 'colour'/);
    writeFileSync(join(dir, 'partial.csv'), 'petal_length,sepal_length\n1,2\n');
    await cli('train', '--data', 'flowers.csv', '--label', 'species', '--epochs', '1', '--out', 'm1.json');
    failed(await cli('predict', '--model', 'm1.json', '--data', 'partial.csv'), /partial.csv: no feature column 'petal_width'/);
  });

  it('a non-numeric or missing value, with its line number', async () => {
    const lines = flowers(1).split('\n');
    lines[5] = lines[5].replace(/^[^,]+/, 'abc'); // line 6 of the file (the header is line 1)
    writeFileSync(join(dir, 'text.csv'), lines.join('\n'));
    failed(await cli('train', '--data', 'text.csv', '--label', 'species'),
      /text.csv line 6, column 1 \('petal_length'\): the value "abc" is not a number/);
    writeFileSync(join(dir, 'blank.csv'), 'a,b,label\n1,2,x\n\n3,,y\n');
    failed(await cli('train', '--data', 'blank.csv', '--label', 'label'), /blank.csv line 4, column 2 \('b'\): the value is missing/);
    writeFileSync(join(dir, 'nolabel.csv'), 'a,b,label\n1,2,x\n3,4,\n');
    failed(await cli('train', '--data', 'nolabel.csv', '--label', 'label'), /nolabel.csv line 3, column 3 \('label'\): the label is missing/);
  });

  it('malformed files', async () => {
    writeFileSync(join(dir, 'ragged.csv'), 'a,b,label\n1,2,x\n3,4\n');
    failed(await cli('train', '--data', 'ragged.csv', '--label', 'label'), /ragged.csv line 3: 2 fields, but the header has 3 columns/);
    writeFileSync(join(dir, 'quote.csv'), 'a,label\n"1,x\n2,y\n');
    failed(await cli('train', '--data', 'quote.csv', '--label', 'label'), /quote.csv line 2, column 1 \(character 1\): a quote opens here and is not closed/);
    writeFileSync(join(dir, 'bad.json'), '[{"a": 1, "l": "x"},\n {"a": , "l": "y"}]');
    failed(await cli('train', '--data', 'bad.json', '--label', 'l'), /bad.json line 2, column 8: not valid JSON/);
    writeFileSync(join(dir, 'empty.csv'), '');
    failed(await cli('train', '--data', 'empty.csv', '--label', 'l'), /empty.csv: the file is empty/);
    writeFileSync(join(dir, 'one.csv'), 'a,l\n1,x\n2,x\n');
    failed(await cli('train', '--data', 'one.csv', '--label', 'l'), /column 'l' has only one class \('x'\)/);
    writeFileSync(join(dir, 'notmodel.json'), '{"weights": []}');
    failed(await cli('predict', '--model', 'notmodel.json', '--data', 'flowers.csv'), /notmodel.json: not a model file of softmax-ce-wasm/);
  });

  it('bad options', async () => {
    const run = await cli('train', '--data', 'flowers.csv', '--label', 'species', '--epochs', 'ten');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/option '--epochs <n>' argument 'ten' is invalid/);
    expect((await cli('train', '--data', 'flowers.csv')).stderr).toMatch(/required option '--label <column>' not specified/);
    expect((await cli('train', '--data', 'flowers.csv', '--label', 'species', '--optimizer', 'rmsprop')).stderr)
      .toMatch(/argument 'rmsprop' is invalid. Allowed choices are adam, adamw, sgd, momentum/);
    expect((await cli('train', '--data', 'flowers.csv', '--label', 'species', '--test-split', '1')).code).toBe(1);
    expect((await cli('fly')).code).toBe(1);
  });
});
