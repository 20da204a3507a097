// Fused cross-entropy row kernel for probability targets q (m×c, PyTorch semantics).
// With class weights w (1 when weight is 0) and smoothing ε:
//   a_c = w_c·((1−ε)·q_c + ε/c),  S = Σ a_c,  loss_i = Σ a_c·(m − z_c) + S·log s,
//   dz_c = gradScale·(p_c·S − a_c).
// Rows are not renormalised. Same passes and stability argument as xent_index.ts, on v128;
// S and Σ a_c·(m − z_c) are accumulated in f64 from f32 a_c and m − z_c.
// Error: loss a few ULP relative; dz ≤ 4 ULP of p_c·S plus 2 roundings of a_c·gradScale.
// dz entries below 2^-100 in magnitude are written as ±0 (simd.ts DZ_FLUSH), so no subnormal
// reaches the backward gemms and their products do not underflow (for factors ≥ 2^-26): an
// added absolute error ≤ 2^-100 ≈ 7.9e-31 per element, below the rounding of any entry ≥ 2^-76.
// Options in the parameter block at `params` (loss_params.ts), as in xent_index.ts: softcap
// (capped into dz, last pass dz'·(1 − t²)), z-loss (λ·lse² in the record, zScale·2·lse·p_c in
// dz), accuracy (hit when the lowest index of the max of z' is the lowest index of the max
// of q). Per row the record [loss, lse, zLoss, hit]; every row is kept.
import { rowMax, rowExpStoreSum, rowExpSum, rowFirstIndexOf } from './rowops';
import { LossParams, storeRecord, logSumExp } from './loss_params';
import { rowSoftcap, softcapGrad4 } from './softcap';
import { expf4 } from './exp';
import { loadPartial, storePartial, laneMask, promoteLo, promoteHi, hsumF64, flushBelow, DZ_FLUSH } from './simd';

/** a = w·((1−ε)·q + ε/c) on four lanes, rounded as the scalar formula: q·keep, + ε/c, · w. */
@inline function targetMass4(q: v128, w: v128, weighted: bool, keep: v128, epsOverC: v128): v128 {
  const a = f32x4.add(f32x4.mul(q, keep), epsOverC);
  return weighted ? f32x4.mul(a, w) : a;
}

/**
 * The last pass of a capped row: dz'_c = exp(z'_c − m)·pv − a_c·gv, times (1 − t²), t = z'_c/cap
 * (z' read from di, dz written over it).
 */
function cappedProbGradRow(
  di: usize, qi: usize, weight: usize, weighted: bool, c: i32, mv: v128, pv: v128, gv: v128, keep: v128, epsOverC: v128, cv: v128,
): void {
  const zero = f32x4.splat(0), end = <usize>(c & ~3) << 2, t = c & 3;
  let o: usize = 0;
  for (; o < end; o += 16) {
    const a = targetMass4(v128.load(qi + o), weighted ? v128.load(weight + o) : zero, weighted, keep, epsOverC);
    const zc = v128.load(di + o);
    const g = f32x4.sub(f32x4.mul(expf4(f32x4.sub(zc, mv)), pv), f32x4.mul(a, gv));
    v128.store(di + o, flushBelow(f32x4.mul(g, softcapGrad4(zc, cv)), DZ_FLUSH));
  }
  if (t) {
    const a = targetMass4(loadPartial(qi + o, t), weighted ? loadPartial(weight + o, t) : zero, weighted, keep, epsOverC);
    const zc = loadPartial(di + o, t);
    const g = f32x4.sub(f32x4.mul(expf4(f32x4.sub(zc, mv)), pv), f32x4.mul(a, gv));
    storePartial(di + o, flushBelow(f32x4.mul(g, softcapGrad4(zc, cv)), DZ_FLUSH), t);
  }
}

export function xent_prob_rows_f32(
  params: usize, dz: usize, z: usize, q: usize, rows: usize, rowBegin: i32, rowEnd: i32,
): void {
  const P = changetype<LossParams>(params);
  // Two copies of the rows, as xent_index.ts: without the options their branches fold away.
  if (P.softcap == 0 && P.zLoss == 0 && P.zScale == 0 && P.accuracy == 0 && P.allLse == 0) {
    probRows(P, dz, z, q, rows, rowBegin, rowEnd, false);
  } else {
    probRows(P, dz, z, q, rows, rowBegin, rowEnd, true);
  }
}

@inline function probRows(
  P: LossParams, dz: usize, z: usize, q: usize, rows: usize, rowBegin: i32, rowEnd: i32, options: bool,
): void {
  const c = P.c, weight = P.weight, smoothing = P.smoothing, gradScale = P.gradScale, grad = P.grad;
  const cap: f32 = options ? P.softcap : 0, zLoss: f64 = options ? <f64>P.zLoss : 0, zScale: f64 = options ? <f64>P.zScale : 0;
  const accuracy = options && P.accuracy != 0;
  const extras = options && (P.allLse != 0 || accuracy || zLoss != 0);
  const rowBytes = <usize>P.ldz << 2, qBytes = <usize>P.ldq << 2;
  const keep = f32x4.splat(1 - smoothing), epsOverC = f32x4.splat(smoothing / <f32>c);
  const gv = f32x4.splat(gradScale), zero = f32x4.splat(0), cv = f32x4.splat(cap);
  const end = <usize>(c & ~3) << 2, t = c & 3, weighted = weight != 0;
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * rowBytes, di = dz + <usize>i * rowBytes, qi = q + <usize>i * qBytes;
    // With a cap, the row is capped into dz and every pass reads z' there (dz may alias z).
    let src = zi;
    if (cap != 0) { rowSoftcap(di, zi, c, cap); src = di; }
    const m = rowMax(src, c), mv = f32x4.splat(m);
    let hit: f64 = 0;
    if (accuracy) {
      const predicted = rowFirstIndexOf(src, c, m);
      hit = predicted >= 0 && predicted == rowFirstIndexOf(qi, c, rowMax(qi, c)) ? 1 : 0;
    }
    let mass0 = f64x2.splat(0), mass1 = mass0, gap0 = mass0, gap1 = mass0;
    let o: usize = 0;
    for (; o < end; o += 16) {
      const a = targetMass4(v128.load(qi + o), weighted ? v128.load(weight + o) : zero, weighted, keep, epsOverC);
      const d = f32x4.sub(mv, v128.load(src + o));
      const a0 = promoteLo(a), a1 = promoteHi(a);
      mass0 = f64x2.add(mass0, a0);
      mass1 = f64x2.add(mass1, a1);
      gap0 = f64x2.add(gap0, f64x2.mul(a0, promoteLo(d)));
      gap1 = f64x2.add(gap1, f64x2.mul(a1, promoteHi(d)));
    }
    if (t) {
      const mask = laneMask(t);
      const a = v128.and(targetMass4(loadPartial(qi + o, t), weighted ? loadPartial(weight + o, t) : zero,
        weighted, keep, epsOverC), mask);
      const d = v128.and(f32x4.sub(mv, loadPartial(src + o, t)), mask);
      const a0 = promoteLo(a), a1 = promoteHi(a);
      mass0 = f64x2.add(mass0, a0);
      mass1 = f64x2.add(mass1, a1);
      gap0 = f64x2.add(gap0, f64x2.mul(a0, promoteLo(d)));
      gap1 = f64x2.add(gap1, f64x2.mul(a1, promoteHi(d)));
    }
    const mass = hsumF64(mass0, mass1), gap = hsumF64(gap0, gap1);
    // A capped row keeps z' for its last pass, so its exp pass only sums.
    const s = grad && cap == 0 ? rowExpStoreSum(di, src, c, m) : rowExpSum(src, c, m);
    const logS = Math.log(s), lse = logSumExp(m, logS);
    storeRecord(rows, i, extras, gap + mass * logS, lse, zLoss != 0 ? zLoss * lse * lse : 0, hit);
    if (grad) {
      // The z-loss term joins the scale of exp(z − m); without it, rounded exactly as before.
      const pv = f32x4.splat(zScale != 0 ? <f32>((mass * <f64>gradScale + 2 * zScale * lse) / s) : <f32>(mass / s * <f64>gradScale));
      if (cap != 0) {
        cappedProbGradRow(di, qi, weight, weighted, c, mv, pv, gv, keep, epsOverC, cv);
        continue;
      }
      o = 0;
      for (; o < end; o += 16) {
        const a = targetMass4(v128.load(qi + o), weighted ? v128.load(weight + o) : zero, weighted, keep, epsOverC);
        v128.store(di + o, flushBelow(f32x4.sub(f32x4.mul(v128.load(di + o), pv), f32x4.mul(a, gv)), DZ_FLUSH));
      }
      if (t) {
        const a = targetMass4(loadPartial(qi + o, t), weighted ? loadPartial(weight + o, t) : zero, weighted, keep, epsOverC);
        storePartial(di + o, flushBelow(f32x4.sub(f32x4.mul(loadPartial(di + o, t), pv), f32x4.mul(a, gv)), DZ_FLUSH), t);
      }
    }
  }
}
