// The template behind gemm_nn and gemm_tn (not a kernel of its own):
//   C[i, j] (+)= Σ_{p<k} A(i, p)·B[p, j]   for rows i in [rowBegin, rowEnd), all j < n,
// with A(i, p) at a + i·aRow + p·aCol (bytes): nn passes (row stride, 4), tn passes (4, row
// stride). B is k×n row-major, so a row of B is contiguous along the output columns: the
// "axpy" form broadcasts one A(i, p) and multiplies it into v128 slices of B's row p, with no
// packing. Register tile AX_MR × 4·AX_NV (tiles.ts). Tails: narrower tiles of 8 and 4 columns,
// one zero-padded vector for the last n % 4 columns, and tiles of fewer rows.
//
// Every element is accumulated as acc = madd(A(i, p), B[p, j], acc) for p = 0, 1, … k−1 in
// order, starting from C (accumulate) or 0: the k blocks store the f32 accumulator and load
// it back exactly, so neither the row range, the blocks nor the tile an element falls in
// change its result. Error: ≤ k·u·Σ_p |A(i,p)·B[p,j]| (u = 2^-24), √k·u·… in practice.
//
// Loop nest (cache blocking without packing): k blocks of AX_KC × row blocks of AX_MC (the
// A block stays in L2) × column tiles (the AX_KC × 4·AX_NV slice of B stays in L1) × row tiles.
import { madd, loadPartial, storePartial } from './simd';
import { AX_MR, AX_NV, AX_KC, AX_MC } from './tiles';

/**
 * One tile: rows (1..4) rows from c0 / a0, nv (1..4) full column vectors, or when nv = 0 one
 * vector of `part` (1..3) columns. rows and nv are constants at every call, so the unused
 * accumulators and branches fold away.
 */
@inline function axpyTile(
  c0: usize, strideC: usize, a0: usize, aRow: usize, aCol: usize, b0: usize, strideB: usize,
  kc: i32, load: bool, rows: i32, nv: i32, part: i32,
): void {
  const zero = f32x4.splat(0);
  const c1 = c0 + strideC, c2 = c1 + strideC, c3 = c2 + strideC;
  let c00 = zero, c01 = zero, c02 = zero, c03 = zero;
  let c10 = zero, c11 = zero, c12 = zero, c13 = zero;
  let c20 = zero, c21 = zero, c22 = zero, c23 = zero;
  let c30 = zero, c31 = zero, c32 = zero, c33 = zero;
  if (load) {
    if (nv == 0) {
      c00 = loadPartial(c0, part);
      if (rows > 1) c10 = loadPartial(c1, part);
      if (rows > 2) c20 = loadPartial(c2, part);
      if (rows > 3) c30 = loadPartial(c3, part);
    } else {
      c00 = v128.load(c0); if (nv > 1) c01 = v128.load(c0, 16); if (nv > 2) c02 = v128.load(c0, 32); if (nv > 3) c03 = v128.load(c0, 48);
      if (rows > 1) { c10 = v128.load(c1); if (nv > 1) c11 = v128.load(c1, 16); if (nv > 2) c12 = v128.load(c1, 32); if (nv > 3) c13 = v128.load(c1, 48); }
      if (rows > 2) { c20 = v128.load(c2); if (nv > 1) c21 = v128.load(c2, 16); if (nv > 2) c22 = v128.load(c2, 32); if (nv > 3) c23 = v128.load(c2, 48); }
      if (rows > 3) { c30 = v128.load(c3); if (nv > 1) c31 = v128.load(c3, 16); if (nv > 2) c32 = v128.load(c3, 32); if (nv > 3) c33 = v128.load(c3, 48); }
    }
  }
  let pa = a0, pb = b0;
  for (let p = 0; p < kc; p++) {
    const b0v = nv == 0 ? loadPartial(pb, part) : v128.load(pb);
    const b1v = nv > 1 ? v128.load(pb, 16) : zero;
    const b2v = nv > 2 ? v128.load(pb, 32) : zero;
    const b3v = nv > 3 ? v128.load(pb, 48) : zero;
    let s = v128.load32_splat(pa);
    c00 = madd(s, b0v, c00); if (nv > 1) c01 = madd(s, b1v, c01); if (nv > 2) c02 = madd(s, b2v, c02); if (nv > 3) c03 = madd(s, b3v, c03);
    if (rows > 1) {
      s = v128.load32_splat(pa + aRow);
      c10 = madd(s, b0v, c10); if (nv > 1) c11 = madd(s, b1v, c11); if (nv > 2) c12 = madd(s, b2v, c12); if (nv > 3) c13 = madd(s, b3v, c13);
    }
    if (rows > 2) {
      s = v128.load32_splat(pa + 2 * aRow);
      c20 = madd(s, b0v, c20); if (nv > 1) c21 = madd(s, b1v, c21); if (nv > 2) c22 = madd(s, b2v, c22); if (nv > 3) c23 = madd(s, b3v, c23);
    }
    if (rows > 3) {
      s = v128.load32_splat(pa + 3 * aRow);
      c30 = madd(s, b0v, c30); if (nv > 1) c31 = madd(s, b1v, c31); if (nv > 2) c32 = madd(s, b2v, c32); if (nv > 3) c33 = madd(s, b3v, c33);
    }
    pa += aCol;
    pb += strideB;
  }
  if (nv == 0) {
    storePartial(c0, c00, part);
    if (rows > 1) storePartial(c1, c10, part);
    if (rows > 2) storePartial(c2, c20, part);
    if (rows > 3) storePartial(c3, c30, part);
  } else {
    v128.store(c0, c00); if (nv > 1) v128.store(c0, c01, 16); if (nv > 2) v128.store(c0, c02, 32); if (nv > 3) v128.store(c0, c03, 48);
    if (rows > 1) { v128.store(c1, c10); if (nv > 1) v128.store(c1, c11, 16); if (nv > 2) v128.store(c1, c12, 32); if (nv > 3) v128.store(c1, c13, 48); }
    if (rows > 2) { v128.store(c2, c20); if (nv > 1) v128.store(c2, c21, 16); if (nv > 2) v128.store(c2, c22, 32); if (nv > 3) v128.store(c2, c23, 48); }
    if (rows > 3) { v128.store(c3, c30); if (nv > 1) v128.store(c3, c31, 16); if (nv > 2) v128.store(c3, c32, 32); if (nv > 3) v128.store(c3, c33, 48); }
  }
}

/** Rows [ic, icEnd) of the column tile at j (nv vectors, or `part` columns when nv = 0). */
@inline function axpyColumn(
  c: usize, strideC: usize, a: usize, aRow: usize, aCol: usize, b: usize, strideB: usize,
  kc: i32, load: bool, ic: i32, icEnd: i32, j: i32, nv: i32, part: i32,
): void {
  const cj = c + (<usize>j << 2), bj = b + (<usize>j << 2);
  let i = ic;
  for (; i + AX_MR <= icEnd; i += AX_MR) {
    axpyTile(cj + <usize>i * strideC, strideC, a + <usize>i * aRow, aRow, aCol, bj, strideB, kc, load, AX_MR, nv, part);
  }
  const left = icEnd - i;
  if (left == 0) return;
  const ci = cj + <usize>i * strideC, ai = a + <usize>i * aRow;
  if (AX_MR > 3 && left == 3) axpyTile(ci, strideC, ai, aRow, aCol, bj, strideB, kc, load, 3, nv, part);
  else if (AX_MR > 2 && left == 2) axpyTile(ci, strideC, ai, aRow, aCol, bj, strideB, kc, load, 2, nv, part);
  else if (left == 1) axpyTile(ci, strideC, ai, aRow, aCol, bj, strideB, kc, load, 1, nv, part);
}

/** See the header. aRow, aCol: byte steps of A along the output rows and along k. */
@inline export function gemmAxpy(
  c: usize, ldc: i32, a: usize, aRow: usize, aCol: usize, b: usize, ldb: i32,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, accumulate: i32,
): void {
  const strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  if (k <= 0 && !accumulate) {
    for (let i = rowBegin; i < rowEnd; i++) memory.fill(c + <usize>i * strideC, 0, <usize>n << 2);
  }
  const NR = 4 * AX_NV;
  for (let pc = 0; pc < k; pc += AX_KC) {
    const kc = min(AX_KC, k - pc);
    const load = accumulate != 0 || pc > 0;
    const apc = a + <usize>pc * aCol, bpc = b + <usize>pc * strideB;
    for (let ic = rowBegin; ic < rowEnd; ic += AX_MC) {
      const icEnd = min(rowEnd, ic + AX_MC);
      let j = 0;
      for (; j + NR <= n; j += NR) axpyColumn(c, strideC, apc, aRow, aCol, bpc, strideB, kc, load, ic, icEnd, j, AX_NV, 0);
      if (AX_NV > 2 && n - j >= 8) {
        axpyColumn(c, strideC, apc, aRow, aCol, bpc, strideB, kc, load, ic, icEnd, j, 2, 0);
        j += 8;
      }
      if (AX_NV > 1 && n - j >= 4) {
        axpyColumn(c, strideC, apc, aRow, aCol, bpc, strideB, kc, load, ic, icEnd, j, 1, 0);
        j += 4;
      }
      if (j < n) axpyColumn(c, strideC, apc, aRow, aCol, bpc, strideB, kc, load, ic, icEnd, j, 0, n - j);
    }
  }
}
