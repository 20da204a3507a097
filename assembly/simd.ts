// v128 helpers shared by every kernel. madd is the only place where the two builds differ:
// the relaxed build (asc --enable relaxed-simd) sets the compile-time constant
// ASC_FEATURE_RELAXED_SIMD and gets f32x4.relaxed_madd, the simd build gets mul then add.

/**
 * a·b + c per lane. Relaxed build: f32x4.relaxed_madd, which V8 maps to one FMA (a single
 * rounding) on CPUs with FMA3 and to mul+add elsewhere; it is fixed per engine and CPU, so
 * results are reproducible on one machine. SIMD build: a rounded product, then a rounded sum.
 * Every kernel goes through this helper, so an output element's operations do not depend on
 * which tile (main or tail) computed it.
 */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  else return f32x4.add(f32x4.mul(a, b), c);
}

/** Lanes [0, len) from p, the others 0 (1 ≤ len ≤ 3); never reads past p + 4·len. */
@inline export function loadPartial(p: usize, len: i32): v128 {
  if (len == 1) return v128.load32_zero(p);
  if (len == 2) return v128.load64_zero(p);
  return v128.load32_lane(p, v128.load64_zero(p), 2, 8);
}

/** Stores lanes [0, len) of v at p (1 ≤ len ≤ 3); never writes past p + 4·len. */
@inline export function storePartial(p: usize, v: v128, len: i32): void {
  if (len == 1) {
    v128.store32_lane(p, v, 0);
  } else {
    v128.store64_lane(p, v, 0);
    if (len == 3) v128.store32_lane(p, v, 2, 8);
  }
}

/** All-ones in lanes [0, len), zero elsewhere: masks the unused lanes of a partial vector. */
@inline export function laneMask(len: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(len));
}

/**
 * [Σ x0, Σ x1, Σ x2, Σ x3], each sum taken as (lane0 + lane1) + (lane2 + lane3). A tile with
 * fewer columns passes zero vectors for the missing ones; the used lanes are the same.
 */
@inline export function hsum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const v0 = f32x4.add(v128.shuffle<f32>(x0, x1, 0, 4, 2, 6), v128.shuffle<f32>(x0, x1, 1, 5, 3, 7));
  const v1 = f32x4.add(v128.shuffle<f32>(x2, x3, 0, 4, 2, 6), v128.shuffle<f32>(x2, x3, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(v0, v1, 0, 1, 4, 5), v128.shuffle<f32>(v0, v1, 2, 3, 6, 7));
}

/** Σ of the four lanes in f64 (lanes converted exactly, summed in f64). */
@inline export function hsumF64(lo: v128, hi: v128): f64 {
  const s = f64x2.add(lo, hi);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** The low and high pairs of four f32 lanes as f64x2 (exact). */
@inline export function promoteLo(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
@inline export function promoteHi(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}
