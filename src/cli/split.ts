/**
 * The stratified train/test split and the normalisation statistics, both in the one pass
 * that reads the file — before any class's row count is known.
 *
 * Split: each class draws a phase u in [0, 1) from the seeded PRNG when it first appears;
 * its k-th row (k = 1, 2, …) is held out while the class has held fewer than ⌊k·f + u⌋ rows
 * (f = --test-split) and at least one training row would remain. After n rows a class has
 * held ⌊n·f + u⌋ — ⌊n·f⌋ or ⌈n·f⌉, n·f on average — spread evenly through the file, so a
 * file sorted by time or by anything else gives a test set that covers its whole length.
 * Its first row always trains (every class can be learnt).
 *
 * Statistics: Welford's running mean and sum of squared deviations, in float64, over the
 * training rows only (the test rows must not inform the model).
 */
import { mulberry32 } from '../index.js';

export class StratifiedSplit {
  readonly #fraction: number;
  readonly #random: () => number;
  readonly #phase: number[] = [];
  readonly #seen: number[] = [];
  readonly #held: number[] = [];

  constructor(fraction: number, seed: number) {
    this.#fraction = fraction;
    this.#random = mulberry32(seed ^ 0x5eed5eed);
  }

  /** Whether the next row of class k (numbered by first appearance) is held out. */
  holds(k: number): boolean {
    if (k === this.#phase.length) {
      this.#phase.push(this.#random());
      this.#seen.push(0);
      this.#held.push(0);
    }
    const seen = ++this.#seen[k], held = this.#held[k];
    if (held < Math.floor(seen * this.#fraction + this.#phase[k]) && held + 1 < seen) {
      this.#held[k]++;
      return true;
    }
    return false;
  }
}

export class Welford {
  n = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(d: number) {
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }

  /** Adds the row at x[offset … offset + d). */
  add(x: Float32Array, offset: number): void {
    const n = ++this.n, mean = this.mean, m2 = this.m2;
    for (let j = 0; j < mean.length; j++) {
      const v = x[offset + j], delta = v - mean[j];
      mean[j] += delta / n;
      m2[j] += delta * (v - mean[j]);
    }
  }

  /** Population standard deviations (as scikit-learn's StandardScaler); 1 for a constant feature. */
  std(): number[] {
    return Array.from(this.m2, (s) => Math.sqrt(s / this.n) || 1);
  }
}
