/**
 * The command line on the inputs users bring: values float32 cannot hold, damaged model
 * files, other separators and encodings, byte-order marks, spreadsheets, unclosed quotes,
 * a continuous "label", feature names with commas, and option typos and bad numbers. Each
 * class of problem ends with one clear line (exit 1) or, where the file is fine, works.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobsCsv, cli as run, failed, workDir } from './cli-helpers.js';

let dir: string;
const cli = (...args: string[]) => run(dir, args);
const write = (name: string, data: string | Buffer) => writeFileSync(join(dir, name), data);
const train = (data: string, ...more: string[]) => cli('train', '--data', data, '--label', 'label', '--quiet', '--epochs', '20', ...more);

beforeAll(async () => {
  dir = workDir();
  write('ok.csv', blobsCsv(60, 3, ['a', 'b', 'c']));
  const r = await train('ok.csv', '--out', 'model.json');
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('numbers float32 cannot hold', () => {
  it('are refused with their line and column, in CSV and JSON, in train and predict', async () => {
    for (const bad of ['1e39', '-3.5e38', '1e400']) {
      write('big.csv', `f0,f1,f2,label\n1,2,3,a\n4,${bad},6,b\n1,2,3,b\n`);
      failed(await train('big.csv'), new RegExp(`big.csv line 3, column 2 \\('f1'\\): the value ${bad.replace('+', '\\+')} is outside the float32 range`));
    }
    write('big.json', '[{"f0": 1, "f1": 2, "f2": 3, "label": "a"},\n{"f0": 1, "f1": 2, "f2": 1e39, "label": "b"}]');
    failed(await train('big.json'), /big.json line 2, column 3 \('f2'\): the value 1e\+39 is outside the float32 range/);
    write('bigp.csv', 'f0,f1,f2\n1,2,3\n1,2,-1e39\n');
    failed(await cli('predict', '--model', 'model.json', '--data', 'bigp.csv'), /bigp.csv line 3, column 3 \('f2'\): the value -1e39 is outside/);
    // Not numbers at all: hex, Infinity, NaN; a decimal comma gets a hint.
    for (const [bad, hint] of [['0x10', /feature columns must be numeric/], ['Infinity', /not a number/], ['NaN', /missing-value marker/],
      ['NA', /missing-value marker/], ['?', /missing-value marker/], ['1,5', /decimal comma/]] as const) {
      write('nan.csv', `f0;f1;f2;label\n1;2;3;a\n4;${bad};6;b\n`);
      failed(await train('nan.csv'), hint);
    }
  });
});

describe('model files', () => {
  const model = () => JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const check = async (edit: (m: Record<string, any>) => void, message: RegExp) => {
    const m = model();
    edit(m);
    write('edited.json', JSON.stringify(m));
    failed(await cli('predict', '--model', 'edited.json', '--data', 'ok.csv'), message);
  };
  it('a normalisation with 0, negative, null, non-numeric or missing values is refused', async () => {
    await check((m) => (m.normalization.std[1] = 0), /edited.json: the model file is damaged: normalization.std\[1\] \(feature 'f1'\) must be > 0, got 0/);
    await check((m) => (m.normalization.std[0] = -2), /normalization.std\[0\] .* must be > 0, got -2/);
    await check((m) => (m.normalization.std[2] = null), /normalization.std\[2\] .* must be a finite number, got null/);
    await check((m) => (m.normalization.mean[0] = 'abc'), /normalization.mean\[0\] .* must be a finite number, got "abc"/);
    await check((m) => m.normalization.mean.pop(), /normalization.mean must hold 3 numbers/);
    await check((m) => (m.normalization = 5), /normalization must be an object/);
  });
  it('duplicate or empty class and feature names, wrong shapes and non-finite weights are refused', async () => {
    await check((m) => (m.classes[2] = m.classes[0]), /classes names 'a' twice/);
    await check((m) => (m.classes[1] = ''), /classes\[1\] must be a non-empty string/);
    await check((m) => (m.features[1] = 'f0'), /features names 'f0' twice/);
    await check((m) => m.classes.pop(), /the classifier has 3 inputs and 3 classes, but the file lists 3 features and 2 classes/);
    await check((m) => (m.classifier.weights[4] = null), /damaged: .*weights\[4\] must be a finite number/);
    await check((m) => (m.classifier.bias[0] = 1e39), /damaged: .*bias\[0\] = 1e\+39 overflows float32/);
    await check((m) => m.classifier.weights.pop(), /damaged: .*weights must be an array of 9 numbers/);
    await check((m) => (m.features = ['f0', 'label', 'f2']), /the label 'label' is also a feature/);
    write('notjson.json', '{"format": "softmax-ce-wasm/model",');
    failed(await cli('predict', '--model', 'notjson.json', '--data', 'ok.csv'), /notjson.json: not valid JSON/);
  });
});

describe('separators, encodings, byte-order marks, spreadsheets', () => {
  it('a semicolon- or tab-separated .csv is read, with a note; --delimiter chooses', async () => {
    write('semi.csv', blobsCsv(60, 3, ['a', 'b'], 2, ';'));
    const semi = await train('semi.csv', '--out', 'semi.json');
    expect(semi.code).toBe(0);
    expect(semi.stderr).toMatch(/note: semi.csv: columns separated by semicolons/);
    write('tabs.csv', blobsCsv(60, 3, ['a', 'b'], 2, '\t'));
    expect((await train('tabs.csv', '--out', 'tabs.json')).stderr).toMatch(/separated by tabs/);
    write('tabs.tsv', blobsCsv(60, 3, ['a', 'b'], 2, '\t'));
    expect((await train('tabs.tsv', '--out', 'tsv.json')).code).toBe(0);
    // Forcing a comma on the semicolon file: one column, and the error says so.
    failed(await train('semi.csv', '--delimiter', ','), /no label column 'label' .* one column whose name holds separators: pass --delimiter/);
  });

  it('UTF-16 (with or without a byte-order mark) is decoded; Latin-1 gets a hint, and --encoding latin1 reads it', async () => {
    const text = blobsCsv(60, 2, ['rot', 'grün'], 3);
    write('u16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const u16 = await train('u16.csv', '--out', 'u16.json');
    expect(u16.code).toBe(0);
    expect(u16.stderr).toMatch(/read as UTF-16LE/);
    expect(JSON.parse(readFileSync(join(dir, 'u16.json'), 'utf8')).classes).toEqual(['grün', 'rot']);
    write('u16nobom.csv', Buffer.from(text, 'utf16le'));
    expect((await train('u16nobom.csv', '--out', 'u16b.json')).stderr).toMatch(/UTF-16LE \(no byte-order mark/);
    write('latin1.csv', Buffer.from(text, 'latin1'));
    failed(await train('latin1.csv'), /latin1.csv line 3: bytes that are not UTF-8 .* pass --encoding latin1/);
    const latin = await train('latin1.csv', '--encoding', 'latin1', '--out', 'latin1.json');
    expect(latin.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'latin1.json'), 'utf8')).classes).toEqual(['grün', 'rot']);
    failed(await train('latin1.csv', '--encoding', 'klingon'), /--encoding 'klingon' is not an encoding/);
  });

  it('a byte-order mark is skipped in CSV, JSON arrays and JSON lines', async () => {
    const bom = '\uFEFF';
    write('bom.csv', bom + blobsCsv(30, 2, ['a', 'b']));
    write('bom.json', bom + JSON.stringify([{ f0: 1, label: 'a' }, { f0: 2, label: 'b' }, { f0: 1.5, label: 'a' }, { f0: 2.5, label: 'b' }]));
    write('bom.jsonl', bom + '{"f0": 1, "label": "a"}\n{"f0": 2, "label": "b"}\n{"f0": 1.2, "label": "a"}\n{"f0": 2.2, "label": "b"}\n');
    for (const f of ['bom.csv', 'bom.json', 'bom.jsonl']) {
      const r = await train(f, '--out', `${f}.model`);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const model = JSON.parse(readFileSync(join(dir, 'bom.csv.model'), 'utf8'));
    expect(model.features).toEqual(['f0', 'f1']); // not '\uFEFFf0'
  });

  it('spreadsheets and other binary files get a clear word, by extension or by their first bytes', async () => {
    write('sheet.xlsx', Buffer.from('PK\x03\x04 rest of a zip'));
    failed(await train('sheet.xlsx'), /sheet.xlsx: a spreadsheet \(.xlsx\), not a text file; export it as CSV/);
    write('sheet.ods', 'anything');
    failed(await train('sheet.ods'), /a spreadsheet \(.ods\)/);
    write('renamed.csv', Buffer.from('PK\x03\x04 rest of a zip'));
    failed(await train('renamed.csv'), /renamed.csv: a zip archive — an .xlsx or .ods spreadsheet\?; export it as CSV/);
    write('old.csv', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]));
    failed(await train('old.csv'), /old.csv: an OLE document — an .xls spreadsheet\?/);
    write('packed.csv', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]));
    failed(await train('packed.csv'), /gzip-compressed/);
  });
});

describe('quotes and JSON structure', () => {
  it('an unclosed quote is reported where it opens, not at the end of the file', async () => {
    const rows = blobsCsv(40, 2, ['a', 'b']).split('\n');
    rows[6] = rows[6].replace(/^/, '"'); // line 7 opens a quote that never closes
    write('quote.csv', rows.join('\n'));
    failed(await train('quote.csv'), /quote.csv line 7, column 1 \(character 1\): a quote opens here and is not closed/);
    write('quote2.csv', 'f0,label\n1,a\n2,"b\n3,a\n4,b\n');
    failed(await train('quote2.csv'), /quote2.csv line 3, column 2 \(character 3\): a quote opens here/);
  });

  it('quoted fields: CRLF, newlines and doubled quotes inside quotes, no final newline; errors give the line a record starts on', async () => {
    write('rfc.csv', 'a,"b ""x""",label\r\n1,2,"two\r\nlines"\r\n3,4,y\r\n5, 6 ,"two\r\nlines"\r\n7,8,y');
    const r = await train('rfc.csv', '--test-split', '0', '--out', 'rfc.json');
    expect(r.stderr).toBe('');
    const m = JSON.parse(readFileSync(join(dir, 'rfc.json'), 'utf8'));
    expect(m.features).toEqual(['a', 'b "x"']);
    expect(m.classes).toEqual(['two\r\nlines', 'y']);
    expect(r.stdout).toMatch(/data: 4 rows/);
    write('rfc2.csv', 'a,b,label\n1,2,"two\nlines"\n3,oops,y\n');
    failed(await train('rfc2.csv'), /rfc2.csv line 4, column 2 \('b'\): the value "oops"/);
    write('oneline.csv', 'a,b,label\n' + '1,'.repeat(1_100_000));
    failed(await train('oneline.csv'), /oneline.csv line 2: more than 1048576 fields in one record \(no line breaks\?\)/);
    write('inner.csv', 'a,b,label\n1,2,x\n3,4"5,y\n');
    failed(await train('inner.csv'), /inner.csv line 3, column 2 \(character 4\): a quote inside an unquoted field/);
  });

  it('JSON: a bad record, an unclosed array or record, and a non-object are reported with their line', async () => {
    write('bad.json', '[{"f0": 1, "label": "a"},\n {"f0": 2, "label": "b"}\n {"f0": 3, "label": "a"}]');
    failed(await train('bad.json'), /bad.json line 3, column 2: expected ',' or ']' between records/);
    write('open.json', '[{"f0": 1, "label": "a"},\n {"f0": 2, "label": "b}\n]');
    failed(await train('open.json'), /open.json line 2, column 2: the record that opens here is not closed \(a string is not closed\)/);
    write('nums.json', '[1, 2, 3]');
    failed(await train('nums.json'), /nums.json line 1, column 2: expected an object \{…\} for record 1/);
    write('unclosed.json', '[{"f0": 1, "label": "a"}, {"f0": 2, "label": "b"}');
    failed(await train('unclosed.json'), /unclosed.json line 1, .*the array is not closed/);
    write('columns.json', JSON.stringify({ f0: { 0: 1, 1: 2 }, label: { 0: 'a', 1: 'b' } }));
    failed(await train('columns.json'), /columns.json line 1: one object of columns .*\(pandas: df.to_json\(orient='records'\)/);
    write('lists.json', JSON.stringify({ f0: [1, 2], label: ['a', 'b'] }));
    failed(await train('lists.json'), /lists.json line 1: one object of columns \(each value an array\)/);
    write('lines.jsonl', '{"f0": 1, "label": "a"}\n{"f0": 2, "label": "b"}\n{"f0": 3 "label": "a"}\n');
    failed(await train('lines.jsonl'), /lines.jsonl line 3, column 10: not valid JSON/);
  });
});

describe('labels and --features', () => {
  it('a column without a name (a pandas index, a trailing separator) is noted and not used; a file without a header is named', async () => {
    const lines = blobsCsv(60, 3, ['a', 'b', 'c']).trim().split('\n');
    write('index.csv', [',' + lines[0], ...lines.slice(1).map((l, i) => `${i},${l}`)].join('\n') + '\n');
    const r = await train('index.csv', '--out', 'index.json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/note: index.csv: column 1 of the header has no name .*; it is not used/);
    expect(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).features).toEqual(['f0', 'f1', 'f2']);
    write('trailing.csv', lines.map((l) => l + ',').join('\n') + '\n');
    expect((await train('trailing.csv', '--out', 'trailing.json')).stderr).toMatch(/column 5 of the header has no name/);
    write('nohead.csv', lines.slice(1).join('\n') + '\n');
    failed(await train('nohead.csv'), /nohead.csv: no label column 'label' .* the first line holds numbers: the file needs a header row/);
  });

  it('warns when --label names a column that looks continuous', async () => {
    const lines = ['f0,label'];
    for (let i = 0; i < 200; i++) lines.push(`${i % 7},${(i * 0.37).toFixed(2)}`);
    write('cont.csv', lines.join('\n') + '\n');
    const r = await train('cont.csv', '--epochs', '1', '--out', 'cont.json');
    expect(r.stderr).toMatch(/warning: column 'label' looks continuous \(200 distinct numeric values, not all integers\)/);
    // More than 100,000 classes is a continuous column, not a label: refused before W is made.
    write('ids.csv', 'f0,label\n' + Array.from({ length: 100_001 }, (_, i) => `${i % 5},${i}`).join('\n') + '\n');
    failed(await train('ids.csv'), /ids.csv: column 'label' has more than 100,000 distinct values/);
    const ok = await train('ok.csv', '--out', 'm2.json');
    expect(ok.stderr).not.toMatch(/continuous/);
  });

  it('--features takes names with commas (CSV-quoted) and may be repeated', async () => {
    write('commas.csv', '"width, cm","height, cm",other,label\n' + blobsCsv(40, 3, ['a', 'b']).split('\n').slice(1).join('\n'));
    const quoted = await train('commas.csv', '--features', '"width, cm","height, cm"', '--out', 'c1.json');
    expect(quoted.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'c1.json'), 'utf8')).features).toEqual(['width, cm', 'height, cm']);
    const repeated = await train('commas.csv', '--features', '"width, cm"', '--features', 'other', '--out', 'c2.json');
    expect(repeated.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'c2.json'), 'utf8')).features).toEqual(['width, cm', 'other']);
    failed(await train('commas.csv', '--features', 'width'), /no feature column 'width'/);
    failed(await train('commas.csv', '--features', 'OTHER'), /no feature column 'OTHER' .* did you mean 'other'\?/);
    failed(await cli('train', '--data', 'commas.csv', '--label', 'Label'), /no label column 'Label' .* did you mean 'label'\?/);
    failed(await train('commas.csv', '--features', 'other,other'), /--features names 'other' twice/);
  });
});

describe('options', () => {
  it('unknown options and typos are errors that suggest the right name', async () => {
    const typo = await train('ok.csv', '--epoch', '5');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/unknown option '--epoch'[\s\S]*Did you mean --epochs\?/);
    expect((await train('ok.csv', '--lr=0.1', '--learning-rate', '0.1')).stderr).toMatch(/unknown option '--learning-rate'/);
    expect((await train('ok.csv', 'extra')).stderr).toMatch(/too many arguments/);
  });

  it('numeric options are checked, with the value and what was expected', async () => {
    const cases: [string[], RegExp][] = [
      [['--epochs', '0'], /'--epochs <n>' argument '0' is invalid. expected an integer ≥ 1/],
      [['--epochs', '2.5'], /'--epochs <n>' argument '2.5' is invalid/],
      [['--batch-size', 'many'], /'--batch-size <n>' argument 'many' is invalid/],
      [['--lr', '-1'], /'--lr <rate>' argument '-1' is invalid. expected a positive finite number/],
      [['--lr', 'NaN'], /'--lr <rate>' argument 'NaN' is invalid/],
      [['--lr', '1e999'], /'--lr <rate>' argument '1e999' is invalid/],
      [['--test-split', '1'], /'--test-split <fraction>' argument '1' is invalid. expected a number in \[0, 1\)/],
      [['--test-split', '-0.1'], /'--test-split <fraction>' argument '-0.1' is invalid/],
      [['--seed', '-3'], /'--seed <n>' argument '-3' is invalid/],
      [['--weight-decay', 'lots'], /'--weight-decay <w>' argument 'lots' is invalid/],
      [['--patience', '-1'], /'--patience <n>' argument '-1' is invalid/],
      [['--delimiter', ';;'], /'--delimiter <char>' argument ';;' is invalid/],
    ];
    for (const [args, message] of cases) {
      const r = await train('ok.csv', ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
