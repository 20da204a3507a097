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

// Flush to zero. WebAssembly has no FTZ/DAZ mode, and x86 cores take a microcode assist
// (tens to hundreds of cycles) for a multiply with a subnormal operand or a subnormal result.
// A subnormal left in dZ slowed every product it entered in the backward gemms 1.6–2.3× on
// wide data in the simd build (issue 11), so the row kernels write small results as zero of
// the same sign. Normal values above the limit, zeros, ±inf and NaN pass unchanged, bit for bit.
//
// Two limits. MIN_NORMAL (2^-126) removes exactly the subnormals: softmax rows, which the
// library's gemms never read, get only that (absolute change ≤ 2^-126, below the rounding of
// any normal result). DZ_FLUSH (2^-100) is for dZ: the simd build rounds each product of the
// gemms on its own (mul, then add), and dz·w below 2^-126 is a subnormal result with the same
// assist. With |dz| ≥ 2^-100 a product underflows only if its other factor (a weight or an
// input) is nonzero and below 2^-26 ≈ 1.5e-8 in magnitude. Measured on the data bench's wide
// inputs (x, W, b uniform in [−2, 2], 128×512×1000, simd, resident step, median of 40 after a
// 1.5 s warm-up, two runs each): flushing below 2^-126 left the step at 1.4× the narrow-data
// step, below 2^-100 at 1.05×. The added error in dz, ≤ 2^-100 ≈ 7.9e-31 absolute per element,
// is below the float32 rounding of every entry ≥ 2^-76 ≈ 1.3e-23; a row loses its whole
// gradient only when every entry is below 2^-100, a row whose loss is below about c·2^-100.

/** The smallest normal float32, 2^-126. */
@inline export const MIN_NORMAL: f32 = 1.17549435e-38;
/** dz entries below 2^-100 in magnitude are written as ±0 (see above). */
@inline export const DZ_FLUSH: f32 = 7.88860905e-31;

/** v with every lane of magnitude below `limit` replaced by ±0 (its sign kept). Branch-free. */
@inline export function flushBelow(v: v128, limit: f32): v128 {
  // |v| < limit is false for NaN, so NaN lanes keep their bits; the mask clears the magnitude
  // bits only (0x7fffffff), leaving the sign: −1e-40 → −0, as hardware FTZ does.
  const tiny = f32x4.lt(f32x4.abs(v), f32x4.splat(limit));
  return v128.andnot(v, v128.and(tiny, i32x4.splat(0x7fffffff)));
}

/** The scalar form of flushBelow (a select, no branch). */
@inline export function flushBelow1(x: f32, limit: f32): f32 {
  return select<f32>(copysign<f32>(0, x), x, abs<f32>(x) < limit);
}
