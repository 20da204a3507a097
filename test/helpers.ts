/**
 * Deterministic test data. Every generator takes an explicit `Rng`, so a test
 * that fails reproduces from its seed alone.
 */

import { mulberry32 } from '../src/classifier.js';

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32, the generator the classifier uses for its seeds (a 32-bit-state PRNG, not
 * cryptographic): equal seeds give equal sequences of multiples of 2^-32 in [0, 1).
 */
export const rng: (seed: number) => Rng = mulberry32;

/** `len` float32 values uniform in [−scale, scale) (rounded to float32). */
export function randomFloat32(random: Rng, len: number, scale = 1): Float32Array {
  const out = new Float32Array(len);
  for (let k = 0; k < len; k++) out[k] = (2 * random() - 1) * scale;
  return out;
}

/** `n` class indices uniform in [0, c). */
export function randomLabels(random: Rng, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * c);
  return out;
}

/** n×c probability targets: each row is positive and sums to 1 (up to float32 rounding). */
export function randomProbs(random: Rng, n: number, c: number): Float32Array {
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    const row = new Float64Array(c);
    for (let k = 0; k < c; k++) sum += row[k] = random() + 1e-3;
    for (let k = 0; k < c; k++) out[i * c + k] = row[k] / sum;
  }
  return out;
}

/**
 * `len` float32 values k/denominator with integer k uniform in [−kMax, kMax]:
 * dyadic when `denominator` is a power of two, so small steps like ±2^-10 keep
 * them exactly representable (handy for finite differences through float32 APIs).
 */
export function randomDyadic(random: Rng, len: number, kMax = 64, denominator = 64): Float32Array {
  const out = new Float32Array(len);
  for (let k = 0; k < len; k++) out[k] = (Math.floor(random() * (2 * kMax + 1)) - kMax) / denominator;
  return out;
}
