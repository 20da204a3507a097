/**
 * Comparing results with expected values that may be non-finite (the torch fixtures), for
 * vitest files. Apart from test/helpers.ts, which must not import vitest: the engine
 * conformance run bundles it for Deno, Bun and the browsers.
 */
import { expect } from 'vitest';

/** A number as the torch fixtures write it (JSON has no NaN or infinities). */
export type Num = number | 'NaN' | 'Infinity' | '-Infinity';
export const value = (v: Num) => (typeof v === 'number' ? v : Number(v));

/**
 * Every element: the same non-finite value where `want` has one (NaN where it has NaN), else
 * |got − want| ≤ tol·scale, scale the largest finite |want| of the array (at least 1e-3, so
 * that an all-tiny gradient is not held to a relative bound below its own rounding).
 */
export function expectMatch(got: ArrayLike<number> | number | undefined, want: ArrayLike<Num> | Num, tol: number, what: string): void {
  expect(got, what).toBeDefined();
  const g = typeof got === 'number' ? [got] : Array.from(got!);
  const w = (typeof want === 'object' ? Array.from(want) : [want]).map(value);
  expect(g.length, what).toBe(w.length);
  const scale = Math.max(1e-3, ...w.filter(Number.isFinite).map(Math.abs));
  for (let k = 0; k < w.length; k++) {
    if (!Number.isFinite(w[k])) expect(g[k], `${what}[${k}]`).toBe(w[k]);
    else expect(Math.abs(g[k] - w[k]), `${what}[${k}]: ${g[k]} vs ${w[k]}`).toBeLessThanOrEqual(tol * scale);
  }
}
