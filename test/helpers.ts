/**
 * Deterministic test data. Every generator takes an explicit `Rng`, so a test
 * that fails reproduces from its seed alone.
 */

import { mulberry32 } from '../src/classifier.js';
import type { LossOptions, Reduction } from '../src/types.js';

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

// n, d, c: 1, primes, and sizes on both sides of multiples of 4, 8 and 16.
export const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 1, 2], [1, 7, 3], [2, 3, 5], [3, 4, 8], [7, 13, 11], [5, 16, 17], [16, 16, 16],
  [17, 31, 33], [9, 64, 100], [33, 65, 129], [4, 250, 1000],
];

/** One combination of the loss options, as the kernel tests run them. */
export interface Case {
  reduction: Reduction;
  weighted: boolean;
  smoothing: number;
  targets: 'index' | 'probs';
  grad: boolean;
}

/** Every reduction × weights × smoothing × target kind × grad: 48 cases. */
export const CASES: Case[] = [];
for (const reduction of ['mean', 'sum', 'none'] as Reduction[])
  for (const weighted of [false, true])
    for (const smoothing of [0, 0.1])
      for (const targets of ['index', 'probs'] as const)
        for (const grad of [true, false]) CASES.push({ reduction, weighted, smoothing, targets, grad });

/** The options and targets of one case on n rows and c classes, drawn from `r`. */
export function makeCase(r: Rng, n: number, c: number, k: Case) {
  const options: LossOptions & { target: Int32Array | Float32Array } = {
    reduction: k.reduction, labelSmoothing: k.smoothing, grad: k.grad,
    target: k.targets === 'probs' ? randomProbs(r, n, c) : randomLabels(r, n, c),
  };
  if (k.weighted) options.weight = Float32Array.from({ length: c }, () => 0.1 + 2 * r());
  if (k.targets === 'index' && n > 1) {
    // Ignore every third row, through a non-default ignoreIndex on some cases.
    const ignore = k.smoothing ? 5000 : -100;
    if (ignore !== -100) options.ignoreIndex = ignore;
    for (let i = 0; i < n; i += 3) (options.target as Int32Array)[i] = ignore;
  }
  return options;
}

