// Fused cross-entropy row kernel for class-index targets (PyTorch semantics).
// For rows [rowBegin, rowEnd) of the m×c logits z, with label y, class weights w
// (w = 1 when weight is 0), smoothing ε and W = Σ_c w_c — the options in the parameter
// block at `params` (loss_params.ts):
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
// Options (src/kernels.ts LOSS_PARAMS):
// - softcap: the row is first capped into dz, z' = cap·tanh(z/cap) (softcap.ts), and everything
//   above reads z'; the exp pass then only sums, and the last pass recomputes exp(z' − m) to
//   write dz'·(1 − t²), t = z'/cap (one more exp per element; the plain path is unchanged).
// - z-loss: lse = m + log s; the record's zLoss is λ·lse², and dz gains zScale·2·lse·p_c,
//   folded into the scale of exp(z − m): (S·gradScale + 2·zScale·lse)/s.
// - accuracy: hit = 1 when the lowest index of the row's max (of z') is y (rowFirstIndexOf).
// Per row a record [loss, lse, zLoss, hit] (loss_params.ts storeRecord: lse, zLoss, hit only
// when an option reads them); ignored rows get [0, lse or 0, 0, −1], with lse computed only
// when allLse is set (returnLse).
import { rowMax, rowExpStoreSum, rowExpSum, rowScale, rowFirstIndexOf } from './rowops';
import { LossParams, storeRecord, logSumExp } from './loss_params';
import { rowSoftcap, softcapGrad4, softcapGrad1 } from './softcap';
import { expf4 } from './exp';
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

/**
 * dz'·(1 − t²) for a capped row: dz'_c = exp(z'_c − m)·pScale − smooth·w_c (no smoothing: the
 * first product only), the last pass of a capped row (z' read from di, dz written over it).
 */
function cappedGradRow(di: usize, c: i32, m: f32, pScale: f32, smooth: f32, weight: usize, cap: f32): void {
  const mv = f32x4.splat(m), pv = f32x4.splat(pScale), sv = f32x4.splat(smooth), cv = f32x4.splat(cap);
  const one = f32x4.splat(1), end = <usize>(c & ~3) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) {
    const zc = v128.load(di + o);
    let g = f32x4.mul(expf4(f32x4.sub(zc, mv)), pv);
    if (smooth != 0) g = f32x4.sub(g, f32x4.mul(sv, weight ? v128.load(weight + o) : one));
    v128.store(di + o, flushBelow(f32x4.mul(g, softcapGrad4(zc, cv)), DZ_FLUSH));
  }
  const t = c & 3;
  if (t) {
    const zc = loadPartial(di + o, t);
    let g = f32x4.mul(expf4(f32x4.sub(zc, mv)), pv);
    if (smooth != 0) g = f32x4.sub(g, f32x4.mul(sv, weight ? loadPartial(weight + o, t) : one));
    storePartial(di + o, flushBelow(f32x4.mul(g, softcapGrad4(zc, cv)), DZ_FLUSH), t);
  }
}

export function xent_index_rows_f32(
  params: usize, dz: usize, z: usize, labels: usize, rows: usize, rowBegin: i32, rowEnd: i32,
): void {
  const P = changetype<LossParams>(params);
  // Two copies of the rows (`options` a constant at each): without the large-vocabulary
  // options every branch on them folds away, so a plain call runs the loop it ran before
  // they existed (one copy with them all measured 1.1–1.2× slower on 10-class rows).
  if (P.softcap == 0 && P.zLoss == 0 && P.zScale == 0 && P.accuracy == 0 && P.allLse == 0) {
    indexRows(P, dz, z, labels, rows, rowBegin, rowEnd, false);
  } else {
    indexRows(P, dz, z, labels, rows, rowBegin, rowEnd, true);
  }
}

@inline function indexRows(
  P: LossParams, dz: usize, z: usize, labels: usize, rows: usize, rowBegin: i32, rowEnd: i32, options: bool,
): void {
  const c = P.c, weight = P.weight, ignoreIndex = P.ignoreIndex, smoothing = P.smoothing;
  const weightSum = P.weightSum, gradScale = P.gradScale, grad = P.grad;
  const cap: f32 = options ? P.softcap : 0, zLoss: f64 = options ? <f64>P.zLoss : 0, zScale: f64 = options ? <f64>P.zScale : 0;
  const accuracy = options && P.accuracy != 0, allLse = options && P.allLse != 0;
  const extras = allLse || accuracy || zLoss != 0;
  const rowBytes = <usize>P.ldz << 2;
  const eps = <f64>smoothing, epsOverC = eps / <f64>c;
  const end = <usize>(c & ~3) << 2, t = c & 3;
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * rowBytes, di = dz + <usize>i * rowBytes;
    // With a cap, the row is capped into dz and every pass reads z' there (dz may alias z).
    let src = zi;
    const y = load<i32>(labels + (<usize>i << 2));
    if (y == ignoreIndex) {
      let lse: f64 = 0;
      if (allLse) {
        if (cap != 0) { rowSoftcap(di, zi, c, cap); src = di; }
        const m = rowMax(src, c);
        lse = logSumExp(m, Math.log(rowExpSum(src, c, m)));
      }
      storeRecord(rows, i, extras, 0, lse, 0, -1);
      if (grad) memory.fill(di, 0, <usize>c << 2);
      continue;
    }
    if (cap != 0) { rowSoftcap(di, zi, c, cap); src = di; }
    const zy = load<f32>(src + (<usize>y << 2));
    const wy: f64 = weight ? <f64>load<f32>(weight + (<usize>y << 2)) : 1.0;
    const m = rowMax(src, c);
    const hit: f64 = accuracy ? (rowFirstIndexOf(src, c, m) == y ? 1 : 0) : 0;

    // Σ w_c·(m − z_c) is read before the exp pass may overwrite z (dz aliases z).
    const smoothSum: f64 = smoothing != 0 ? weightedGap(src, weight, c, m) : 0;
    // A capped row keeps z' for its last pass, so its exp pass only sums.
    const s = grad && cap == 0 ? rowExpStoreSum(di, src, c, m) : rowExpSum(src, c, m);
    const logS = Math.log(s);
    const lse = logSumExp(m, logS);
    storeRecord(rows, i, extras, (1 - eps) * wy * (<f64>(m - zy) + logS) + epsOverC * (smoothSum + <f64>weightSum * logS),
      lse, zLoss != 0 ? zLoss * lse * lse : 0, hit);

    if (grad) {
      // exp(z_y − m): stored by the exp pass, or (capped) the same lane computation again.
      const ey = cap == 0 ? <f64>load<f32>(di + (<usize>y << 2)) : <f64>f32x4.extract_lane(expf4(f32x4.splat(zy - m)), 0);
      const mass = (1 - eps) * wy + epsOverC * <f64>weightSum;
      // The z-loss term zScale·2·lse·p_c joins the scale of exp(z − m); without it the scale
      // is rounded exactly as before the option existed (bitwise the same results).
      const pScale = zScale != 0 ? <f32>((mass * <f64>gradScale + 2 * zScale * lse) / s) : <f32>(mass / s * <f64>gradScale);
      const smooth = <f32>(epsOverC * <f64>gradScale);
      if (cap != 0) {
        cappedGradRow(di, c, m, pScale, smoothing != 0 ? smooth : 0, weight, cap);
      } else if (smoothing != 0) {
        // dz_c = e_c·pScale − (ε/c)·gradScale·w_c: two products, one difference (as scalar code).
        const pv = f32x4.splat(pScale), sv = f32x4.splat(smooth), one = f32x4.splat(1);
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
      let gy = <f64>gradScale * (epsOverC * (<f64>weightSum * py - wy) - (1 - eps) * wy * ((s - ey) / s));
      if (zScale != 0) gy += 2 * zScale * lse * py;
      let dy = <f32>gy;
      if (cap != 0) dy *= softcapGrad1(zy, cap);
      store<f32>(di + (<usize>y << 2), flushBelow1(dy, DZ_FLUSH));
    }
  }
}
