// Row primitives shared by the softmax and cross-entropy kernels (XNNPACK's rmax and
// raddstoreexpminusmax), on v128: full vectors, then one zero-padded vector for the last
// c % 4 elements (loads and stores never touch memory past the row). Each states its accuracy.
import { expf4 } from './exp';
import { loadPartial, storePartial, laneMask, promoteLo, promoteHi, hsumF64, flushBelow } from './simd';

// max over z[0..c). f32x4.max and f32.max propagate NaN, so a NaN logit makes the row NaN
// (as PyTorch). Exact.
@inline export function rowMax(z: usize, c: i32): f32 {
  const end = <usize>(c & ~3) << 2;
  let m = load<f32>(z);
  if (end) {
    let m0 = v128.load(z), m1 = m0;
    let o: usize = 16;
    for (; o + 32 <= end; o += 32) {
      m0 = f32x4.max(m0, v128.load(z + o));
      m1 = f32x4.max(m1, v128.load(z + o, 16));
    }
    if (o < end) m0 = f32x4.max(m0, v128.load(z + o));
    m0 = f32x4.max(m0, m1);
    m0 = f32x4.max(m0, v128.shuffle<f32>(m0, m0, 2, 3, 0, 1));
    m = max<f32>(f32x4.extract_lane(m0, 0), f32x4.extract_lane(m0, 1));
  }
  for (let o = end; o < (<usize>c << 2); o += 4) m = max<f32>(m, load<f32>(z + o));
  return m;
}

// out[j] = exp(z[j] − m), returns Σ out[j] (out may alias z). exp is expf4 (≤ 1.5 ULP, exp.ts);
// z − m ≤ 0, so no term overflows and the sum is in [1, c]. The sum is accumulated in f64
// (two f64x2 accumulators), so it is exact to far below float32 precision for any c.
@inline export function rowExpStoreSum(out: usize, z: usize, c: i32, m: f32): f64 {
  const mv = f32x4.splat(m), end = <usize>(c & ~3) << 2;
  let s0 = f64x2.splat(0), s1 = s0;
  let o: usize = 0;
  for (; o < end; o += 16) {
    const e = expf4(f32x4.sub(v128.load(z + o), mv));
    v128.store(out + o, e);
    s0 = f64x2.add(s0, promoteLo(e));
    s1 = f64x2.add(s1, promoteHi(e));
  }
  const t = c & 3;
  if (t) {
    const e = v128.and(expf4(f32x4.sub(loadPartial(z + o, t), mv)), laneMask(t));
    storePartial(out + o, e, t);
    s0 = f64x2.add(s0, promoteLo(e));
    s1 = f64x2.add(s1, promoteHi(e));
  }
  return hsumF64(s0, s1);
}

// Σ exp(z[j] − m) without storing, accumulated as in rowExpStoreSum (same value).
@inline export function rowExpSum(z: usize, c: i32, m: f32): f64 {
  const mv = f32x4.splat(m), end = <usize>(c & ~3) << 2;
  let s0 = f64x2.splat(0), s1 = s0;
  let o: usize = 0;
  for (; o < end; o += 16) {
    const e = expf4(f32x4.sub(v128.load(z + o), mv));
    s0 = f64x2.add(s0, promoteLo(e));
    s1 = f64x2.add(s1, promoteHi(e));
  }
  const t = c & 3;
  if (t) {
    const e = v128.and(expf4(f32x4.sub(loadPartial(z + o, t), mv)), laneMask(t));
    s0 = f64x2.add(s0, promoteLo(e));
    s1 = f64x2.add(s1, promoteHi(e));
  }
  return hsumF64(s0, s1);
}

// out[j] = v[j] · k (out may alias v), flushed: one rounding, then a product below `limit` in
// magnitude is written as ±0 (simd.ts flushBelow: MIN_NORMAL for softmax rows, DZ_FLUSH for
// dZ, which feeds the backward gemms). Absolute change ≤ limit.
@inline export function rowScale(out: usize, v: usize, c: i32, k: f32, limit: f32): void {
  const kv = f32x4.splat(k), end = <usize>(c & ~3) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(out + o, flushBelow(f32x4.mul(v128.load(v + o), kv), limit));
  const t = c & 3;
  if (t) storePartial(out + o, flushBelow(f32x4.mul(loadPartial(v + o, t), kv), limit), t);
}

// The lowest j with z[j] == m, or −1 (m NaN, or absent): the argmax of a row as torch.argmax
// (first maximum) when m is the row's max. Stops at the first match. Exact.
@inline export function rowFirstIndexOf(z: usize, c: i32, m: f32): i32 {
  const mv = f32x4.splat(m), end = <usize>(c & ~3) << 2;
  for (let o: usize = 0; o < end; o += 16) {
    const eq = f32x4.eq(v128.load(z + o), mv);
    if (v128.any_true(eq)) return <i32>(o >> 2) + <i32>ctz(i32x4.bitmask(eq));
  }
  for (let j = c & ~3; j < c; j++) if (load<f32>(z + (<usize>j << 2)) == m) return j;
  return -1;
}
