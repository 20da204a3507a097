// Writes the handwritten digits of the `mnist` package (10,000 digits 28×28, as JSON of
// floats in [0, 1], 21 MB) as one compact binary for the demo page: build/demo/digits.bin
// (generated, git-ignored; 7.9 MB). Run by `npm run demo:web` before serving, and by
// test/demo.test.ts.
//
// Layout (integers little-endian):
//   bytes 0–3   'DGT1'
//   4–19        uint32 count, height, width, trainCount
//   20…         uint8 labels[count], then uint8 pixels[count × height × width] (row-major, 0 = paper, 255 = ink)
// Rows [0, trainCount) are for training, the rest are held out for testing: a stratified
// split (each class gives its share of the test rows), shuffled with a fixed seed, so the
// page's training and its grid of test digits are the same on every run.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../build/index.js';
import { CLASSES, D, SIDE, loadDigitsByClass, testQuota } from '../mnist.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DIGITS_FILE = join(ROOT, 'build/demo/digits.bin');
const TEST = 2000, SEED = 42;

/** Writes `file` (default build/demo/digits.bin); returns its counts. */
export async function writeDigits(file = DIGITS_FILE) {
  const { byClass, counts, total } = loadDigitsByClass();
  const quota = testQuota(counts, TEST);
  const random = mulberry32(SEED);
  const shuffle = (a) => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  };
  const train = [], test = [];
  for (let k = 0; k < CLASSES; k++) {
    shuffle(Array.from({ length: counts[k] }, (_, i) => i)).forEach((i, rank) => (rank < quota[k] ? test : train).push([k, i]));
  }
  const rows = [...shuffle(train), ...shuffle(test)];

  const header = 20, bytes = new Uint8Array(header + total + total * D);
  bytes.set([...'DGT1'].map((ch) => ch.charCodeAt(0)));
  const view = new DataView(bytes.buffer);
  [total, SIDE, SIDE, train.length].forEach((v, i) => view.setUint32(4 + 4 * i, v, true));
  rows.forEach(([k, i], r) => {
    bytes[header + r] = k;
    const src = byClass[k], at = header + total + r * D;
    for (let j = 0; j < D; j++) bytes[at + j] = Math.round(src[i * D + j] * 255);
  });
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { file, count: total, train: train.length, test: test.length, bytes: bytes.length };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = performance.now();
  const { file, count, train, test, bytes } = await writeDigits();
  console.log(`wrote ${file}: ${count} digits (${train} train, ${test} test), ${(bytes / 1e6).toFixed(1)} MB, ` +
    `${(performance.now() - t0).toFixed(0)} ms`);
}
