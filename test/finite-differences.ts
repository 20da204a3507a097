/**
 * Central finite differences of the float64 reference's linearCrossEntropy loss, for the
 * gradient tests of reference.test.ts and reference-vocab.test.ts (each states its step and
 * tolerance). With reduction 'none' the loss differentiated is the sum of the row losses, as
 * the API's gradients are.
 */
import { expect } from 'vitest';
import { linearCrossEntropy } from '../src/reference.js';
import type { LinearCrossEntropyArgs } from '../src/types.js';

/** A loss as one number: the sum of the rows with reduction 'none'. */
export const scalar = (loss: number | Float64Array) => (typeof loss === 'number' ? loss : loss.reduce((s, v) => s + v, 0));

/** (L(v + h·e_j) − L(v − h·e_j)) / 2h for every entry j of args[name] (x, w or b: Float32Arrays). */
export function linearDifferences(args: LinearCrossEntropyArgs, name: 'x' | 'w' | 'b', h: number): Float64Array {
  const loss = (a: LinearCrossEntropyArgs) => scalar(linearCrossEntropy({ ...a, grad: false }).loss);
  const v = args[name] as Float32Array;
  const fd = new Float64Array(v.length);
  for (let j = 0; j < v.length; j++) {
    const plus = v.slice(), minus = v.slice();
    plus[j] += h;
    minus[j] -= h;
    expect(plus[j] - minus[j]).toBe(2 * h); // exact in float32
    fd[j] = (loss({ ...args, [name]: plus }) - loss({ ...args, [name]: minus })) / (2 * h);
  }
  return fd;
}
