// The handwritten digits of the `mnist` package, shared by the main job (train-mnist.mjs)
// and the web demo (web/digits.mjs): 10,000 digits of 28×28 floats in [0, 1], by class.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const SIDE = 28, D = SIDE * SIDE, CLASSES = 10;

/** The digits by class: byClass[k] holds counts[k] digits of D floats each. */
export function loadDigitsByClass() {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits');
  const byClass = Array.from({ length: CLASSES }, (_, k) =>
    Float32Array.from(JSON.parse(readFileSync(join(dir, `${k}.json`), 'utf8')).data));
  const counts = byClass.map((a) => a.length / D);
  return { byClass, counts, total: counts.reduce((a, b) => a + b, 0) };
}

/**
 * A stratified hold-out of `test` rows: each class's share, proportional to its count,
 * with the largest remainders settling the rounding.
 */
export function testQuota(counts, test) {
  const total = counts.reduce((a, b) => a + b, 0);
  const quota = counts.map((n) => Math.floor((test * n) / total));
  counts.map((n, k) => [(test * n) / total - quota[k], k]).sort((a, b) => b[0] - a[0])
    .slice(0, test - quota.reduce((a, b) => a + b, 0)).forEach(([, k]) => quota[k]++);
  return quota;
}
