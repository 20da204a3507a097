// WebAssembly SIMD peak: f32x4 multiply-add throughput with all state in registers.
//
// Ten independent accumulators, each stepping acc = acc·m + c. The 'simd' build does
// that as f32x4.mul then f32x4.add (two dependent instructions); the 'relaxed' build as
// one f32x4.relaxed_madd (an FMA where the CPU has one). Ten chains cover the 3–5 cycle
// latency of two FP pipes, so the loop is throughput-bound; more chains stop paying once
// V8 runs short of its 16 xmm registers (10 + m + c + its scratch registers fit; at 12
// chains the relaxed build spilled and lost 40 % on the machine this was written on).
// m < 1 and c > 0 small keep every value bounded (it converges to c / (1 − m)), far from
// overflow and denormals, and both come from a runtime argument so nothing folds.
//
// bench/peak.mjs builds this one file twice with asc — with and without relaxed-simd;
// ASC_FEATURE_RELAXED_SIMD picks the instruction at compile time — and reports the most
// f32 FLOP/s either reaches: the roof the gemm kernels are measured against.

/** FLOPs of one step of peak_f32x4_10: 10 chains × 4 lanes × (mul + add). */
export const FLOPS_PER_STEP: i32 = 10 * 4 * 2;

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Runs `steps` steps of 10 independent f32x4 multiply-add chains; returns their sum (so none is dead). */
export function peak_f32x4_10(steps: i32, seed: f32): f32 {
  const m = f32x4.splat(<f32>1 - seed * <f32>1e-6), c = f32x4.splat(seed * <f32>1e-3);
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
  let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
  let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9);
  for (let i = 0; i < steps; i++) {
    a0 = madd(a0, m, c); a1 = madd(a1, m, c); a2 = madd(a2, m, c); a3 = madd(a3, m, c); a4 = madd(a4, m, c);
    a5 = madd(a5, m, c); a6 = madd(a6, m, c); a7 = madd(a7, m, c); a8 = madd(a8, m, c); a9 = madd(a9, m, c);
  }
  const s = f32x4.add(
    f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7))),
    f32x4.add(a8, a9));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** FLOPs of one step of peak_tile_2x4: 8 accumulators × 4 lanes × (mul + add). */
export const TILE_FLOPS_PER_STEP: i32 = 8 * 4 * 2;

/**
 * The same roof measured the way the gemm kernels use it: a 2×4 register tile, each step
 * loading 2 + 4 vectors from a small L1-resident buffer and doing 8 acc = madd(a, b, acc).
 * Here the multiply is off the accumulator's dependency chain (as in a matmul), so the
 * mul+add build is bound by the FP pipes, not by the mul→add latency that limits the
 * chains above; the loads move with the step, so nothing is loop-invariant.
 */
export function peak_tile_2x4(steps: i32, seed: f32): f32 {
  const buf: usize = (__heap_base + 15) & ~15;
  for (let i = 0; i < 192; i++) store<f32>(buf + (<usize>i << 2), seed * <f32>1e-4 * <f32>((i & 7) + 1));
  const zero = f32x4.splat(0);
  let c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero, c6 = zero, c7 = zero;
  for (let i = 0; i < steps; i++) {
    const p = buf + (<usize>(i & 7) << 4);
    const a0 = v128.load(p), a1 = v128.load(p, 128);
    const b0 = v128.load(p, 256), b1 = v128.load(p, 384), b2 = v128.load(p, 512), b3 = v128.load(p, 640);
    c0 = madd(a0, b0, c0); c1 = madd(a0, b1, c1); c2 = madd(a0, b2, c2); c3 = madd(a0, b3, c3);
    c4 = madd(a1, b0, c4); c5 = madd(a1, b1, c5); c6 = madd(a1, b2, c6); c7 = madd(a1, b3, c7);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
