// The input distributions of bench section "data": the data users really have, not only the
// friendly narrow one of every other section. Plain JavaScript with no import of the library,
// so the jax-js child (bench/jaxjs/step.mjs, on another Node) makes bit-identical inputs.
//
//   narrow   x in [−1, 1), W in ±0.05, b in [0, 0.1) (common.mjs makeData, every other section)
//   wide     x, W, b uniform in [−2, 2): logits up to about ±150 at d = 512 (issue 11)
//   trained  a head that has learnt its classes: x = prototype of its label (random ±1) +
//            noise, W = α·prototypes, so the label's logit is about 40 above the rest
//   raw      handwritten digits of the `mnist` package at 0–255 (unnormalised pixels),
//            Glorot-uniform W and b = 0 (a fresh classifier); at d ≠ 784 the first d pixels
//            of each digit, starting at the image's row 5 (the inked middle)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mulberry32 } from '../build/index.js';

export const DISTRIBUTIONS = ['narrow', 'wide', 'trained', 'raw'];

export const DESCRIPTIONS = {
  narrow: 'x in [−1, 1), W in ±0.05, b in [0, 0.1)',
  wide: 'x, W, b uniform in [−2, 2)',
  trained: 'label logit about 40 above the rest (prototype rows)',
  raw: 'mnist pixels 0–255, Glorot W, b = 0',
};

/** Uniform numbers in [0, 1) from a seed: the package's mulberry32. */
const rng = mulberry32;

let digits = null;
/** The 10,000 digits (pixels 0–255, 784 each) and their labels, interleaved by class. */
function loadDigits() {
  if (digits) return digits;
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits');
  const byClass = Array.from({ length: 10 }, (_, k) => JSON.parse(readFileSync(join(dir, `${k}.json`), 'utf8')).data);
  const counts = byClass.map((a) => a.length / 784);
  const rows = [], labels = [];
  for (let i = 0; rows.length < counts.reduce((a, b) => a + b, 0); i++) {
    for (let k = 0; k < 10; k++) if (i < counts[k]) { rows.push(byClass[k].slice(i * 784, (i + 1) * 784)); labels.push(k); }
  }
  digits = { rows, labels };
  return digits;
}

/** The digits as n×784 float32 in [0, 1] (scale 1/255) or 0–255 (scale 1), with labels. */
export function digitsData(n, scale) {
  const { rows, labels } = loadDigits();
  const x = new Float32Array(n * 784), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i % rows.length];
    for (let j = 0; j < 784; j++) x[i * 784 + j] = Math.round(r[j] * 255) * scale;
    y[i] = labels[i % rows.length];
  }
  return { x, labels: y };
}

/** Seeded inputs { x, w, b, target } of one shape and distribution. */
export function makeDistribution(name, { n, d, c }) {
  const rand = rng(1);
  const u = (lo, hi) => lo + (hi - lo) * rand();
  const x = new Float32Array(n * d), w = new Float32Array(c * d), b = new Float32Array(c), target = new Int32Array(n);
  if (name === 'narrow') { // exactly common.mjs makeData
    for (let i = 0; i < x.length; i++) x[i] = u(-1, 1);
    for (let i = 0; i < w.length; i++) w[i] = (rand() * 2 - 1) * 0.05;
    for (let i = 0; i < b.length; i++) b[i] = rand() * 0.1;
    for (let i = 0; i < n; i++) target[i] = Math.floor(rand() * c);
  } else if (name === 'wide') {
    for (let i = 0; i < x.length; i++) x[i] = u(-2, 2);
    for (let i = 0; i < w.length; i++) w[i] = u(-2, 2);
    for (let i = 0; i < b.length; i++) b[i] = u(-2, 2);
    for (let i = 0; i < n; i++) target[i] = Math.floor(rand() * c);
  } else if (name === 'trained') {
    // z_c = α·(p_c · x): the label's prototype gives α·d·(1 ± noise), another class's
    // α·(±√d); α = 40/d puts the label about 40 above the rest (the rest spread by ±40/√d·few).
    const proto = new Float32Array(c * d);
    for (let i = 0; i < proto.length; i++) proto[i] = rand() < 0.5 ? -1 : 1;
    const alpha = 40 / d;
    for (let i = 0; i < w.length; i++) w[i] = alpha * proto[i];
    for (let i = 0; i < n; i++) {
      const y = Math.floor(rand() * c);
      target[i] = y;
      for (let j = 0; j < d; j++) x[i * d + j] = proto[y * d + j] + u(-0.5, 0.5);
    }
  } else if (name === 'raw') {
    const { rows, labels } = loadDigits();
    const first = d >= 784 ? 0 : Math.min(5 * 28, 784 - d);
    for (let i = 0; i < n; i++) {
      const r = rows[i % rows.length];
      for (let j = 0; j < d; j++) x[i * d + j] = first + j < 784 ? Math.round(r[first + j] * 255) : 0;
      target[i] = labels[i % rows.length] % c;
    }
    const limit = Math.sqrt(6 / (d + c)); // Glorot-uniform, as the classifier's initial weights
    for (let i = 0; i < w.length; i++) w[i] = u(-limit, limit);
  } else {
    throw new Error(`bench: unknown distribution '${name}' (${DISTRIBUTIONS.join(', ')})`);
  }
  return { x, w, b, target };
}

/** |v| below this is a float32 subnormal (2^-126). */
export const SUBNORMAL_LIMIT = 2 ** -126;

/** Fraction of the values of a float32 array that are subnormal (nonzero, |v| < 2^-126). */
export function subnormalFraction(a) {
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v !== 0 && v < SUBNORMAL_LIMIT) k++;
  }
  return k / a.length;
}

/**
 * Fraction of f64 values that a float32 kernel without a flush writes as subnormals: those
 * whose float32 rounding is nonzero and below 2^-126.
 */
export function subnormalFractionF32(a) {
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(Math.fround(a[i]));
    if (v !== 0 && v < SUBNORMAL_LIMIT) k++;
  }
  return k / a.length;
}
