// tanh on four f32 lanes, for logit soft-capping z' = cap·tanh(z/cap) (Gemma 2), and its
// backward from the output, 1 − t².
//
// tanh is odd, so it is computed on a = |x| and x's sign bit is put back with bit operations:
// tanh(−x) is −tanh(x) bit for bit, tanh(−0) = −0, and a NaN stays NaN. Two branch-free
// halves, one picked per lane with v128.bitselect (a ≥ 0.55f, false for NaN):
//
//   a < 0.55: the odd Taylor polynomial to x^19, t = a + a·(s·P(s)), s = a², Horner in s.
//     The series alternates with decreasing terms there, so the truncation error is below the
//     first omitted term, 9.7e-5·a^21 ≤ 3.5e-10 absolute, 7e-10 relative to tanh(0.55) ≈ 0.5
//     (and smaller for smaller a: the relative error goes as a^20). The correction a·s·P(s)
//     is at most 0.09 of the result (a/3·a² ≤ 0.056, s.t. |a·s·P| ≤ a³/3), so its rounding
//     errors (a few ULP of itself) are below 0.2 ULP of t; the final add rounds once (0.5 ULP).
//     Subnormal a: s = 0 and t = a exactly.
//   a ≥ 0.55: e = exp(−2a) ≤ exp(−1.1) < 1/3, t = 1 − q with q = 2e/(1 + e) ≤ 0.5 (so t ≥ 0.5
//     and 1 − q never cancels). a is clamped to 10 first (pmin keeps NaN): past a ≈ 9.01,
//     q < 2^-25 and t rounds to 1, so from 10 on, inf included, the result is exactly 1.
//     e comes from exp2 range reduction and a degree-8 Taylor polynomial written here, not
//     exp.ts's expf4: expf4 goes through simd.ts's madd, which fuses on the relaxed build,
//     and this kernel must give the same bits on both builds (so plain f32x4.mul/add only).
//     y = −2a (exact) = n·ln2 + r, n = round(y·log2 e) ∈ [−29, −1] by the 1.5·2^23 trick,
//     r = (y − n·LN2_HI) − n·LN2_LO with the first product and subtraction exact
//     (LN2_HI has 9 significant bits, |n| < 2^5), |r| ≤ 0.347; exp r = 1 + (r + r²·Q(r)),
//     truncation r^9/9! < 2e-10 relative; 2^n is one exact normal scale factor.
//     e is within about 1 ULP of exp(−2a); the error of t: |dt/de| = 2/(1 + e)² ≤ 2
//     propagates e's error as ≤ 1.13·ULP(e) ≤ 0.57 ULP(t) (e < 1/2 and t ≥ 1/2, so ULP(e) ≤
//     ULP(t)/2), plus the rounding of 1 + e (≤ 0.38 ULP(t) in q), of the division (q < 1/2:
//     ≤ 0.25 ULP(t)) and of 1 − q (0.5 ULP): ≤ 1.7 ULP in all, worst at a = 0.55, falling to
//     0.5 ULP as e → 0.
//
// ULP error against the exact tanh (test/tanh.test.ts: every float32 in [0, 20] at a stride
// of 61 bit patterns and all of them around 0.55 and at the saturation, their negatives, the
// special values; both builds, which agree bit for bit): ≤ 1.5 ULP stated (measured 1.01 for
// a ≥ 0.55 and 0.74 below), |t| ≤ 1, tanh(±inf) = ±1, tanh(±0) = ±0, NaN → NaN.
import { loadPartial, storePartial } from './simd';

/** The switch point between the polynomial (below) and the exp form (from it on). */
@inline const SWITCH: f32 = 0.55;
/** tanh rounds to 1 from a ≈ 9.01 on; the exp form clamps a to this. */
@inline const SATURATE: f32 = 10;
// Taylor coefficients of tanh x = x + Σ T_k x^k, rounded to f32.
@inline const T3: f32 = -0.33333334;
@inline const T5: f32 = 0.13333334;
@inline const T7: f32 = -0.053968254;
@inline const T9: f32 = 0.021869488;
@inline const T11: f32 = -0.008863236;
@inline const T13: f32 = 0.003592128;
@inline const T15: f32 = -0.0014558344;
@inline const T17: f32 = 0.0005900274;
@inline const T19: f32 = -0.00023912912;
// exp reduction (as exp.ts: LN2_HI has 9 significant bits, LN2_HI + LN2_LO = ln 2 to 2^-33).
@inline const LOG2E: f32 = 1.44269504;
@inline const MAGIC: f32 = 12582912.0; // 1.5·2^23: adding it rounds |t| < 2^22 to an integer
@inline const MAGIC_BITS: i32 = 0x4b400000;
@inline const LN2_HI: f32 = 0.693359375;
@inline const LN2_LO: f32 = -2.12194440e-4;
// Taylor coefficients 1/k! of exp r, k = 2…8, rounded to f32.
@inline const E2: f32 = 0.5;
@inline const E3: f32 = 0.16666667;
@inline const E4: f32 = 0.041666668;
@inline const E5: f32 = 0.008333334;
@inline const E6: f32 = 0.0013888889;
@inline const E7: f32 = 0.0001984127;
@inline const E8: f32 = 2.4801588e-05;

@inline function mul(a: v128, b: v128): v128 { return f32x4.mul(a, b); }
@inline function add(a: v128, b: v128): v128 { return f32x4.add(a, b); }
@inline function k(c: f32): v128 { return f32x4.splat(c); }

/** tanh of each lane (see the header for the method and error); the same bits on both builds. */
@inline export function tanhf4(x: v128): v128 {
  const a = f32x4.abs(x);
  // a < 0.55: a + a·(s·P(s)).
  const s = mul(a, a);
  let p = add(mul(k(T19), s), k(T17));
  p = add(mul(p, s), k(T15));
  p = add(mul(p, s), k(T13));
  p = add(mul(p, s), k(T11));
  p = add(mul(p, s), k(T9));
  p = add(mul(p, s), k(T7));
  p = add(mul(p, s), k(T5));
  p = add(mul(p, s), k(T3));
  const small = add(a, mul(a, mul(s, p)));
  // a ≥ 0.55: e = exp(−2·min(a, 10)), 1 − 2e/(1 + e).
  const y = mul(f32x4.pmin(a, k(SATURATE)), k(-2));
  const t = add(mul(y, k(LOG2E)), k(MAGIC));
  const nf = f32x4.sub(t, k(MAGIC));
  const n = i32x4.sub(t, i32x4.splat(MAGIC_BITS));
  let r = f32x4.sub(y, mul(nf, k(LN2_HI)));
  r = f32x4.sub(r, mul(nf, k(LN2_LO)));
  let q = add(mul(k(E8), r), k(E7));
  q = add(mul(q, r), k(E6));
  q = add(mul(q, r), k(E5));
  q = add(mul(q, r), k(E4));
  q = add(mul(q, r), k(E3));
  q = add(mul(q, r), k(E2));
  const er = add(k(1), add(r, mul(mul(r, r), q)));
  const e = mul(er, i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23));
  const large = f32x4.sub(k(1), f32x4.div(add(e, e), add(k(1), e)));
  const mag = v128.bitselect(large, small, f32x4.ge(a, k(SWITCH)));
  return v128.or(mag, v128.and(x, i32x4.splat(0x80000000)));
}

/**
 * 1 − t² per lane, as (1 − t)·(1 + t): the derivative of tanh from its output t (torch's
 * tanh backward), for |t| ≤ 1. Three roundings (each factor and the product; 1 − t is exact
 * for t ∈ [1/2, 1] and 1 + t for t ∈ [−1, −1/2]), so the relative error is ≤ 3·2^-24, the
 * absolute error ≤ 3·2^-24·(1 − t²) ≤ 1.8e-7; no cancellation near |t| = 1 (1 − t exact there),
 * where 1 − t·t would lose every digit. t = ±1 gives +0 exactly.
 */
@inline export function tanhGrad4(t: v128): v128 {
  const one = k(1);
  return mul(f32x4.sub(one, t), add(one, t));
}

/** Test-only kernel (test/tanh.test.ts): out[i] = tanhf4(x[i]) for i < len; out may alias x. */
export function tanh_f32(out: usize, x: usize, len: i32): void {
  let o: usize = 0;
  const end = <usize>(len & ~3) << 2;
  for (; o < end; o += 16) v128.store(out + o, tanhf4(v128.load(x + o)));
  const t = len & 3;
  if (t) storePartial(out + o, tanhf4(loadPartial(x + o, t)), t);
}
