// Fused cross-entropy row kernel for class-index targets (PyTorch semantics).
// For rows [rowBegin, rowEnd) of the m×c logits z, with label y, class weights w
// (w = 1 when weight is 0), smoothing ε and W = Σ_c w_c:
//   target mass  a_c = (1−ε)·w_y·[c = y] + (ε/c)·w_c,   S = Σ a_c = (1−ε)·w_y + (ε/c)·W
//   loss_i       = Σ a_c·(lse − z_c) = (1−ε)·w_y·((m − z_y) + log s) + (ε/c)·(Σ w_c·(m − z_c) + W·log s)
//   dz_c         = gradScale·(p_c·S − a_c)
// with m = max z, s = Σ exp(z − m): every term is ≥ 0 and no exp overflows, so the loss is
// accurate for any finite logits (never m + log s − z_y, which cancels near |z| ≈ 1e4).
// Rows labelled ignoreIndex get loss 0 and dz 0. Passes (v128, rowops.ts): max; the
// smoothing sum; exp-store-sum; scale into dz. loss is written as f64 per row; dz may alias z.
// Error: loss a few ULP relative (s and the smoothing sum in f64, exp ≤ 1.5 ULP); dz ≤ 4 ULP
// of p_c·S plus one rounding of the smoothing term; the label entry as below. Every dz entry
// whose magnitude is below 2^-100 is written as ±0 (simd.ts DZ_FLUSH), so dz holds no
// subnormal and no product of the backward gemms underflows (for factors ≥ 2^-26): an added
// absolute error ≤ 2^-100 ≈ 7.9e-31 per element, below the rounding of any entry ≥ 2^-76.
import { rowMax, rowExpStoreSum, rowExpSum, rowScale } from './rowops';
import { loadPartial, storePartial, laneMask, promoteLo, promoteHi, hsumF64, flushBelow, flushBelow1, DZ_FLUSH } from './simd';

/** Σ_j w_j·(m − z_j), each m − z_j rounded to f32 and the products summed in f64. */
@inline function weightedGap(z: usize, weight: usize, c: i32, m: f32): f64 {
  const mv = f32x4.splat(m), one = f32x4.splat(1), end = <usize>(c & ~3) << 2;
  let s0 = f64x2.splat(0), s1 = s0;
  let o: usize = 0;
  for (; o < end; o += 16) {
    const d = f32x4.sub(mv, v128.load(z + o));
    const w = weight ? v128.load(weight + o) : one;
    s0 = f64x2.add(s0, f64x2.mul(promoteLo(w), promoteLo(d)));
    s1 = f64x2.add(s1, f64x2.mul(promoteHi(w), promoteHi(d)));
  }
  const t = c & 3;
  if (t) {
    const mask = laneMask(t);
    const d = v128.and(f32x4.sub(mv, loadPartial(z + o, t)), mask);
    const w = v128.and(weight ? loadPartial(weight + o, t) : one, mask);
    s0 = f64x2.add(s0, f64x2.mul(promoteLo(w), promoteLo(d)));
    s1 = f64x2.add(s1, f64x2.mul(promoteHi(w), promoteHi(d)));
  }
  return hsumF64(s0, s1);
}

export function xent_index_rows_f32(
  dz: usize, z: usize, ldz: i32, labels: usize, weight: usize, loss: usize,
  c: i32, rowBegin: i32, rowEnd: i32, ignoreIndex: i32,
  smoothing: f32, weightSum: f32, gradScale: f32, grad: i32,
): void {
  const rowBytes = <usize>ldz << 2;
  const eps = <f64>smoothing, epsOverC = eps / <f64>c;
  const end = <usize>(c & ~3) << 2, t = c & 3;
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * rowBytes, di = dz + <usize>i * rowBytes;
    const y = load<i32>(labels + (<usize>i << 2));
    if (y == ignoreIndex) {
      store<f64>(loss + (<usize>i << 3), 0);
      if (grad) memory.fill(di, 0, <usize>c << 2);
      continue;
    }
    const zy = load<f32>(zi + (<usize>y << 2));
    const wy: f64 = weight ? <f64>load<f32>(weight + (<usize>y << 2)) : 1.0;
    const m = rowMax(zi, c);

    // Σ w_c·(m − z_c) is read before the exp pass may overwrite z (dz aliases z).
    const smoothSum: f64 = smoothing != 0 ? weightedGap(zi, weight, c, m) : 0;
    const s = grad ? rowExpStoreSum(di, zi, c, m) : rowExpSum(zi, c, m);
    const logS = Math.log(s);
    store<f64>(loss + (<usize>i << 3),
      (1 - eps) * wy * (<f64>(m - zy) + logS) + epsOverC * (smoothSum + <f64>weightSum * logS));

    if (grad) {
      const ey = <f64>load<f32>(di + (<usize>y << 2));
      const mass = (1 - eps) * wy + epsOverC * <f64>weightSum;
      const pScale = <f32>(mass / s * <f64>gradScale);
      if (smoothing != 0) {
        // dz_c = e_c·pScale − (ε/c)·gradScale·w_c: two products, one difference (as scalar code).
        const pv = f32x4.splat(pScale), sv = f32x4.splat(<f32>(epsOverC * <f64>gradScale)), one = f32x4.splat(1);
        let o: usize = 0;
        for (; o < end; o += 16) {
          const w = weight ? v128.load(weight + o) : one;
          v128.store(di + o, flushBelow(f32x4.sub(f32x4.mul(v128.load(di + o), pv), f32x4.mul(sv, w)), DZ_FLUSH));
        }
        if (t) {
          const w = weight ? loadPartial(weight + o, t) : one;
          storePartial(di + o, flushBelow(f32x4.sub(f32x4.mul(loadPartial(di + o, t), pv), f32x4.mul(sv, w)), DZ_FLUSH), t);
        }
      } else {
        rowScale(di, di, c, pScale, DZ_FLUSH);
      }
      // At the label, p_y·S − a_y = (ε/c)·(W·p_y − w_y) − (1−ε)·w_y·(1 − p_y): computing
      // 1 − p_y as (s − e_y)/s avoids the cancellation of p_y − 1 when p_y → 1, which in
      // float32 would leave an absolute error of 2^-24·w_y in a gradient that is ≪ w_y.
      const py = ey / s;
      store<f32>(di + (<usize>y << 2), flushBelow1(<f32>(<f64>gradScale *
        (epsOverC * (<f64>weightSum * py - wy) - (1 - eps) * wy * ((s - ey) / s))), DZ_FLUSH));
    }
  }
}
