// tanh on four f32 lanes, for logit soft-capping z' = cap·tanh(z/cap) (Gemma 2), and its
// backward from the output, 1 − t².
//
// tanh is odd, so it is computed on a = |x| and x's sign bit is put back with bit operations:
// tanh(−x) is −tanh(x) bit for bit, tanh(−0) = −0, and a NaN stays NaN. Two branch-free
// halves, one picked per lane with v128.bitselect (a ≥ 0.55f, false for NaN). Plain
// f32x4/f64x2 mul, add and div only, no simd.ts madd (it fuses on the relaxed build) and no
// expf4 (it uses madd): the two builds give the same bits. u = 2^-24 below.
//
//   a < 0.55: the odd Taylor polynomial to x^19, t = a + c, c = a·(s·P(s)), s = a², P by
//     Horner in s from the f32-rounded coefficients. The series alternates with decreasing
//     terms there, so the truncation error is below the first omitted term, 9.7e-5·a^21 ≤
//     3.5e-10, relative ≤ 7e-10 ≈ 0.012 u. c is small: |c| ≤ a³/3 and |c|/t ≤ 0.111. Its
//     relative error is ≤ 4u (s: 1u, Horner with the coefficients' rounding: 1.5u, the
//     sensitivity of P to s: 0.12u, the two products: 1u), which is ≤ 4·0.111 = 0.44 ULP of t
//     (ULP(t) ≥ t·u); with the final add's 0.5 ULP, ≤ 0.96 ULP. Subnormal a: s = 0, t = a.
//   a ≥ 0.55: e = exp(−2a) ≤ exp(−1.1) < 1/3 and t = 1 − 2e/(1 + e) (≥ 1/2, no cancellation).
//     a is clamped to 10 first (pmin keeps NaN): past a ≈ 9.01 tanh rounds to 1, so from 10 on,
//     inf included, the result is exactly 1. y = −2a (exact) = n·ln2 + r with n = round(y·log2 e)
//     ∈ [−29, 0] by the 1.5·2^23 trick, r = (y − n·LN2_HI) − n·LN2_LO (LN2_HI has 9
//     significant bits and |n| < 2^5, so the product and the first subtraction are exact),
//     |r| ≤ 0.347, and m = expm1 r ≈ r + r²·Q(r) in f32, Q the Taylor polynomial of degree 6
//     (truncation < 2e-10 relative). Then e = (1 + m)·2^n, 1 + e, the quotient and 1 − q are
//     formed in f64 (f64x2, two lanes at a time; each rounding 2^-53) and t is rounded to f32
//     once. e's relative error: r's rounding ≤ 2^-26 absolute (0.25u), m's last add ≤ 2^-26
//     over 1 + m ≥ 0.707 (0.35u), r²·Q (≤ 0.07, ~3u relative: 0.3u), the ln 2 split and the
//     truncation (0.01u): ≤ 0.91u. It moves t by |dt/de|·e·0.91u = 2e/(1 + e)²·0.91u ≤
//     0.375·0.91u = 0.34 ULP (t ≥ 1/2: ULP(t) = u); with the f32 rounding, ≤ 0.85 ULP.
//
// Bound stated: ≤ 1 ULP of the exact tanh everywhere (so faithfully rounded: the result is
// one of the two float32s around tanh x), |t| ≤ 1. Measured (test/tanh.test.ts: every float32
// in [0, 20] at a stride of 61 bit patterns, every one within 2^16 patterns of 0.55 and of the
// saturation, their negatives, the special values; both builds, bit for bit the same):
// 0.81 ULP below 0.55 (at 0.54704), 0.61 from 0.55 on (0.63 on a finer grid of [0.8, 0.9]).
// tanh(±inf) = ±1, tanh(±0) = ±0, NaN → NaN.
import { loadPartial, storePartial, promoteLo, promoteHi } from './simd';
// exp.ts's range reduction constants (its polynomial goes through madd, so this file has its own).
import { LOG2E, MAGIC, MAGIC_BITS, LN2_HI, LN2_LO } from './exp';

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
// Taylor coefficients 1/k! of exp r, k = 2…8, rounded to f32: expm1 r ≈ r + r²·Σ E_k r^(k−2).
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

/** 1 − 2e/(1 + e) in f64 for two lanes, e = (1 + m)·p2 (p2 a power of 2), as f32 in lanes 0, 1. */
@inline function large2(m: v128, p2: v128): v128 {
  const one = f64x2.splat(1);
  const e = f64x2.mul(f64x2.add(one, m), p2);
  return f32x4.demote_f64x2_zero(f64x2.sub(one, f64x2.div(f64x2.add(e, e), f64x2.add(one, e))));
}

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
  let h = add(mul(k(E8), r), k(E7));
  h = add(mul(h, r), k(E6));
  h = add(mul(h, r), k(E5));
  h = add(mul(h, r), k(E4));
  h = add(mul(h, r), k(E3));
  h = add(mul(h, r), k(E2));
  const m = add(r, mul(mul(r, r), h)); // expm1 r
  const p2 = i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23); // 2^n, normal for n ≥ −29
  // The rest in f64, two lanes at a time (1 + m and the scaling by 2^n are exact there).
  const lo = large2(promoteLo(m), promoteLo(p2)), hi = large2(promoteHi(m), promoteHi(p2));
  const large = v128.shuffle<f32>(lo, hi, 0, 1, 4, 5);
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
