// Row-wise softmax and log-softmax of an m×c matrix, for rows [rowBegin, rowEnd).
// Max-subtracted, so finite for any finite logits: softmax = exp(z − m) / s,
// log-softmax = (z − m) − log s with s = Σ exp(z − m) ∈ [1, c] accumulated in f64.
// v128 throughout (rowops.ts). Error: softmax ≤ 1.5 ULP (exp, exp.ts) + 1 rounding of the
// scale + 1 of the product ≈ 3 ULP for normal results; results below 2^-126 are written as 0
// (rowScale's flush at simd.ts MIN_NORMAL: absolute error ≤ 2^-126, so a softmax output never
// holds a subnormal for a gemm to meet). log-softmax ≤ 1 ULP of |z − m| + 1 of log s + 1 rounding; it
// needs no flush, since it never yields a subnormal: both terms of (z − m) − log s are ≤ 0, and
// log s is 0 or at least log(1 + 2^-52) ≈ 2.2e-16 (s is an f64 sum ≥ 1), and log s = 0 means
// the other terms summed below 2^-53, i.e. every z − m is 0 or below −36.
// NaN in a row makes that row NaN. out may alias z.
import { rowMax, rowExpStoreSum, rowExpSum, rowScale } from './rowops';
import { loadPartial, storePartial, MIN_NORMAL } from './simd';

export function softmax_rows_f32(out: usize, ldo: i32, z: usize, ldz: i32, c: i32, rowBegin: i32, rowEnd: i32): void {
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * (<usize>ldz << 2), oi = out + <usize>i * (<usize>ldo << 2);
    const m = rowMax(zi, c);
    const s = rowExpStoreSum(oi, zi, c, m);
    rowScale(oi, oi, c, <f32>(1.0 / s), MIN_NORMAL);
  }
}

export function log_softmax_rows_f32(out: usize, ldo: i32, z: usize, ldz: i32, c: i32, rowBegin: i32, rowEnd: i32): void {
  const end = <usize>(c & ~3) << 2, t = c & 3;
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * (<usize>ldz << 2), oi = out + <usize>i * (<usize>ldo << 2);
    const m = rowMax(zi, c);
    const logS = <f32>Math.log(rowExpSum(zi, c, m));
    const mv = f32x4.splat(m), lv = f32x4.splat(logS);
    let o: usize = 0;
    for (; o < end; o += 16) v128.store(oi + o, f32x4.sub(f32x4.sub(v128.load(zi + o), mv), lv));
    if (t) storePartial(oi + o, f32x4.sub(f32x4.sub(loadPartial(zi + o, t), mv), lv), t);
  }
}
