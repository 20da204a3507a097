/**
 * The kernels' SIMD exp (assembly/exp.ts, expf4) against Math.exp, through the test-only
 * export exp_f32, for each build. The bound asserted is the one stated in exp.ts's header:
 * ≤ 1.5 ULP of the float32 result for normal results, ≤ 1 ULP (2^-149) absolute for
 * subnormal ones, over a dense sweep of [−104, 0] (where softmax evaluates it: z − max ≤ 0)
 * and at the edges. Math.exp is a double result, far more accurate than a float32 ULP.
 */
import { describe, expect, it } from 'vitest';
import { instantiate, type BuildName, type KernelExports } from '../src/wasm.js';
import { rng } from './helpers.js';

const BUILD = (process.env.SCE_BUILD as BuildName | undefined) ?? 'simd';
const SUBNORMAL_ULP = 2 ** -149;

/** The float32 ULP at |v| (subnormal spacing below 2^-126). */
function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return SUBNORMAL_ULP;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  return 2 ** (e - 23);
}

/** exp_f32 over xs, in the instance's memory. */
function wasmExp(k: KernelExports, xs: Float32Array): Float32Array {
  const base = k.heap_base(), bytes = xs.length * 4;
  const need = base + 2 * bytes + 64;
  if (need > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const px = base, pout = base + bytes;
  new Float32Array(k.memory.buffer, px, xs.length).set(xs);
  k.exp_f32(pout, px, xs.length);
  return new Float32Array(k.memory.buffer, pout, xs.length).slice();
}

describe(`SIMD exp (${BUILD})`, () => {
  it('dense sweep of [−104, 0]: ≤ 1.5 ULP (normal results), ≤ 2^-149 (subnormal results)', async () => {
    const k = await instantiate(BUILD);
    const n = 1 << 22, r = rng(2024);
    const xs = new Float32Array(n + (1 << 20));
    for (let i = 0; i < n; i++) xs[i] = -104 * (i / (n - 1));
    // Random points too (all float32 mantissas, not just a grid), denser near 0.
    for (let i = n; i < xs.length; i++) xs[i] = i & 1 ? -104 * r() : -Math.exp(-12 * r());
    const got = wasmExp(k, xs);
    let worstNormal = 0, worstSub = 0, at = 0;
    for (let i = 0; i < xs.length; i++) {
      const want = Math.exp(xs[i]);
      const err = Math.abs(got[i] - want);
      if (want >= 2 ** -126) {
        const u = err / ulp32(want);
        if (u > worstNormal) { worstNormal = u; at = xs[i]; }
      } else if (err > worstSub) {
        worstSub = err;
      }
    }
    expect(worstNormal, `worst at x = ${at}`).toBeLessThanOrEqual(1.5);
    expect(worstSub / SUBNORMAL_ULP).toBeLessThanOrEqual(1);
  });

  it('edge values: exp(±0) = 1, exp(−inf) = 0, NaN stays NaN, underflow to 0 without NaN', async () => {
    const k = await instantiate(BUILD);
    const xs = new Float32Array([0, -0, -Infinity, NaN, -1e-45, -1e-30, -87.33654, -87.33655, -103.27893,
      -103.97208, -103.9721, -104, -104.5, -200, -1e30, -3.4e38, 1e-7, 1, 10, 88.7, 89, 200, Infinity, -1e-7]);
    const got = wasmExp(k, xs);
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(1);
    expect(got[2]).toBe(0);
    expect(got[3]).toBeNaN();
    for (let i = 4; i < xs.length; i++) {
      const want = Math.fround(Math.exp(xs[i]));
      expect(Number.isNaN(got[i]), `exp(${xs[i]})`).toBe(false);
      if (!Number.isFinite(want)) expect(got[i], `exp(${xs[i]})`).toBe(Infinity);
      else expect(Math.abs(got[i] - Math.exp(xs[i])), `exp(${xs[i]}) = ${got[i]}, want ${want}`)
        .toBeLessThanOrEqual(1.5 * ulp32(Math.exp(xs[i])));
    }
    // Past the smallest subnormal the result is exactly 0.
    for (const i of [11, 12, 13, 14, 15]) expect(got[i]).toBe(0);
  });
});
