// C[i, j] = Σ_p A[i, p]·B[j, p] + bias[j] for rows i in [rowBegin, rowEnd), all j < n.
// "nt": A is m×k, B is n×k, both row-major (B used as Bᵀ). This is Z = X·Wᵀ + b.
//
// Dot-product form, 2×4 register tile (tiles.ts: NT_MR × NT_NR = 8 v128 accumulators): both
// operands are read along k, contiguous in both. Each output element has one accumulator
// whose lane l sums the products with p ≡ l (mod 4) in increasing p (the k % 4 tail enters as
// zero-padded vectors), then the lanes are added as (l0 + l1) + (l2 + l3), then the bias.
//
// Packed path (scratch ≥ gemm_nt_f32_scratch(n, k) bytes): a block of B's rows that fits L2
// (NT_L2_FLOATS) is copied so that each 4-row group is one stream of [k-vector][row] v128s,
// and each row pair of A into [k-vector][row]; the inner loop then walks two pointers with
// constant offsets instead of six strided rows, which V8 turns into fewer address additions
// (measured on this host: 46.7 against 38.9 GFLOP/s from L1 with mul+add). The copies read A
// and B once per block, about 1% of the work at these sizes.
// Without enough scratch (scratchBytes = 0) it runs the same tile on the unpacked rows.
// Both paths, every tile and every tail (1 row, 1 to 3 columns, k % 4) do the same
// operations per element, so results are bitwise the same for any row range or scratch size.
// Error: ≤ (⌈k/4⌉ + 2)·u·Σ_p |A[i,p]·B[j,p]| + u·|bias| (u = 2^-24), √ of that in practice.
import { madd, loadPartial, storePartial, hsum4 } from './simd';
import { NT_NR, NT_L2_FLOATS } from './tiles';

// ---- unpacked tile ------------------------------------------------------------------------

/** One tile on the rows as they lie: rows (1..2) of A from a0, cols (1..4) rows of B from b0. */
@inline function dotTile(
  c0: usize, strideC: usize, a0: usize, strideA: usize, b0: usize, strideB: usize,
  bias: usize, k: i32, rows: i32, cols: i32,
): void {
  const zero = f32x4.splat(0);
  let s00 = zero, s01 = zero, s02 = zero, s03 = zero;
  let s10 = zero, s11 = zero, s12 = zero, s13 = zero;
  const a1 = a0 + strideA;
  const b1 = b0 + strideB, b2 = b1 + strideB, b3 = b2 + strideB;
  const k4 = <usize>(k & ~3) << 2;
  let o: usize = 0;
  // One k-vector per trip: unrolling by hand makes V8 hoist the next trip's loads above the
  // madds, which needs more than the 16 xmm registers and spills accumulators.
  for (; o < k4; o += 16) {
    const x0 = v128.load(a0 + o), x1 = rows > 1 ? v128.load(a1 + o) : zero;
    let y = v128.load(b0 + o);
    s00 = madd(x0, y, s00); if (rows > 1) s10 = madd(x1, y, s10);
    if (cols > 1) { y = v128.load(b1 + o); s01 = madd(x0, y, s01); if (rows > 1) s11 = madd(x1, y, s11); }
    if (cols > 2) { y = v128.load(b2 + o); s02 = madd(x0, y, s02); if (rows > 1) s12 = madd(x1, y, s12); }
    if (cols > 3) { y = v128.load(b3 + o); s03 = madd(x0, y, s03); if (rows > 1) s13 = madd(x1, y, s13); }
  }
  // The k % 4 tail as zero-padded vectors (0·0 adds nothing).
  const t = k & 3;
  if (t) {
    const x0 = loadPartial(a0 + o, t), x1 = rows > 1 ? loadPartial(a1 + o, t) : zero;
    let y = loadPartial(b0 + o, t);
    s00 = madd(x0, y, s00); if (rows > 1) s10 = madd(x1, y, s10);
    if (cols > 1) { y = loadPartial(b1 + o, t); s01 = madd(x0, y, s01); if (rows > 1) s11 = madd(x1, y, s11); }
    if (cols > 2) { y = loadPartial(b2 + o, t); s02 = madd(x0, y, s02); if (rows > 1) s12 = madd(x1, y, s12); }
    if (cols > 3) { y = loadPartial(b3 + o, t); s03 = madd(x0, y, s03); if (rows > 1) s13 = madd(x1, y, s13); }
  }
  finishTile(c0, strideC, hsum4(s00, s01, s02, s03), rows > 1 ? hsum4(s10, s11, s12, s13) : zero, bias, rows, cols);
}

/** Adds the bias to the row sums r0 (row 0) and r1 (row 1) and stores rows × cols of them. */
@inline function finishTile(c0: usize, strideC: usize, r0: v128, r1: v128, bias: usize, rows: i32, cols: i32): void {
  if (bias) {
    const bv = cols == 4 ? v128.load(bias) : loadPartial(bias, cols);
    r0 = f32x4.add(r0, bv);
    r1 = f32x4.add(r1, bv);
  }
  if (cols == 4) {
    v128.store(c0, r0);
    if (rows > 1) v128.store(c0 + strideC, r1);
  } else {
    storePartial(c0, r0, cols);
    if (rows > 1) storePartial(c0 + strideC, r1, cols);
  }
}

/** Columns [jb, jEnd) of `rows` rows of C starting at row i, unpacked. */
@inline function dotStrip(
  c: usize, strideC: usize, a: usize, strideA: usize, b: usize, strideB: usize, bias: usize,
  k: i32, i: i32, jb: i32, jEnd: i32, rows: i32,
): void {
  const ci = c + <usize>i * strideC, ai = a + <usize>i * strideA;
  let j = jb;
  for (; j + 4 <= jEnd; j += 4) {
    dotTile(ci + (<usize>j << 2), strideC, ai, strideA, b + <usize>j * strideB, strideB,
      bias ? bias + (<usize>j << 2) : 0, k, rows, 4);
  }
  const left = jEnd - j;
  if (left == 0) return;
  const cj = ci + (<usize>j << 2), bj = b + <usize>j * strideB, biasj = bias ? bias + (<usize>j << 2) : 0;
  if (left == 3) dotTile(cj, strideC, ai, strideA, bj, strideB, biasj, k, rows, 3);
  else if (left == 2) dotTile(cj, strideC, ai, strideA, bj, strideB, biasj, k, rows, 2);
  else dotTile(cj, strideC, ai, strideA, bj, strideB, biasj, k, rows, 1);
}

// ---- packed path --------------------------------------------------------------------------

/** Copies k floats of a row into every `step`-th v128 of dst, zero-padding the last vector. */
@inline function packRow(dst: usize, step: usize, row: usize, k: i32): void {
  const full = <usize>(k >> 2);
  let d = dst, s = row;
  for (let v: usize = 0; v < full; v++) {
    v128.store(d, v128.load(s));
    d += step;
    s += 16;
  }
  const t = k & 3;
  if (t) v128.store(d, loadPartial(s, t));
}

/** Fills every `step`-th v128 of dst with zeros, vecs times (rows past the matrix). */
@inline function packZero(dst: usize, step: usize, vecs: i32): void {
  const zero = f32x4.splat(0);
  let d = dst;
  for (let v = 0; v < vecs; v++) {
    v128.store(d, zero);
    d += step;
  }
}

/**
 * The tile on packed operands: pa holds [k-vector][2 rows], pb [k-vector][4 rows]. Always
 * computes 2×4 (missing rows are zeros in the pack) and stores rows × cols.
 */
@inline function packedTile(
  c0: usize, strideC: usize, pa: usize, pb: usize, vecs: i32, bias: usize, rows: i32, cols: i32,
): void {
  const zero = f32x4.splat(0);
  let s00 = zero, s01 = zero, s02 = zero, s03 = zero;
  let s10 = zero, s11 = zero, s12 = zero, s13 = zero;
  const end = pa + (<usize>vecs << 5);
  for (; pa < end; pa += 32) {
    const x0 = v128.load(pa), x1 = v128.load(pa, 16);
    let y = v128.load(pb);
    s00 = madd(x0, y, s00); s10 = madd(x1, y, s10);
    y = v128.load(pb, 16);
    s01 = madd(x0, y, s01); s11 = madd(x1, y, s11);
    y = v128.load(pb, 32);
    s02 = madd(x0, y, s02); s12 = madd(x1, y, s12);
    y = v128.load(pb, 48);
    s03 = madd(x0, y, s03); s13 = madd(x1, y, s13);
    pb += 64;
  }
  const r0 = hsum4(s00, s01, s02, s03), r1 = hsum4(s10, s11, s12, s13);
  if (rows == 2 && cols == 4) finishTile(c0, strideC, r0, r1, bias, 2, 4);
  else if (rows == 2) finishTile(c0, strideC, r0, r1, bias, 2, cols);
  else if (cols == 4) finishTile(c0, strideC, r0, r1, bias, 1, 4);
  else finishTile(c0, strideC, r0, r1, bias, 1, cols);
}

/** Bytes of the A pair pack and of one 4-row group of B for depth k. */
@inline function pairBytes(k: i32): usize { return <usize>((k + 3) >> 2) << 5; }
@inline function quadBytes(k: i32): usize { return <usize>((k + 3) >> 2) << 6; }

/** 4-row groups of B per block: what fits NT_L2_FLOATS, at least 1, at most all of B. */
@inline function blockQuads(n: i32, k: i32): i32 {
  return min((n + 3) >> 2, max(1, NT_L2_FLOATS / (((k + 3) & ~3) << 2)));
}

/** Scratch bytes for the packed path of gemm_nt_f32 (less runs it unpacked, same results). */
export function gemm_nt_f32_scratch(n: i32, k: i32): usize {
  return pairBytes(k) + <usize>blockQuads(n, k) * quadBytes(k);
}

export function gemm_nt_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, bias: usize,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, scratch: usize, scratchBytes: usize,
): void {
  const strideA = <usize>lda << 2, strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  const pair = pairBytes(k), quad = quadBytes(k), vecs = (k + 3) >> 2;
  if (scratchBytes < pair + quad) {
    // Unpacked: blocks of B's rows that stay in L2 while every row pair of A sweeps them.
    const nc = max(NT_NR, (NT_L2_FLOATS / max(k, 1)) / NT_NR * NT_NR);
    for (let jb = 0; jb < n; jb += nc) {
      const jEnd = min(n, jb + nc);
      let i = rowBegin;
      for (; i + 2 <= rowEnd; i += 2) dotStrip(c, strideC, a, strideA, b, strideB, bias, k, i, jb, jEnd, 2);
      if (i < rowEnd) dotStrip(c, strideC, a, strideA, b, strideB, bias, k, i, jb, jEnd, 1);
    }
    return;
  }
  const aPack = scratch, bPack = scratch + pair;
  const quads = min(blockQuads(n, k), <i32>((scratchBytes - pair) / quad));
  for (let jb = 0; jb < n; jb += quads << 2) {
    const jEnd = min(n, jb + (quads << 2));
    // B rows jb.. as groups of 4: group g at bPack + g·quad holds [k-vector][row] v128s.
    for (let j = jb; j < jb + (quads << 2); j++) {
      const dst = bPack + <usize>((j - jb) >> 2) * quad + (<usize>((j - jb) & 3) << 4);
      if (j < jEnd) packRow(dst, 64, b + <usize>j * strideB, k);
      else if (j < ((jEnd + 3) & ~3)) packZero(dst, 64, vecs);
    }
    for (let i = rowBegin; i < rowEnd; i += 2) {
      const rows = min(2, rowEnd - i);
      packRow(aPack, 32, a + <usize>i * strideA, k);
      if (rows == 2) packRow(aPack + 16, 32, a + <usize>(i + 1) * strideA, k);
      else packZero(aPack + 16, 32, vecs);
      const ci = c + <usize>i * strideC;
      let j = jb, pb = bPack;
      if (rows == 2) {
        for (; j + 4 <= jEnd; j += 4, pb += quad) {
          packedTile(ci + (<usize>j << 2), strideC, aPack, pb, vecs, bias ? bias + (<usize>j << 2) : 0, 2, 4);
        }
      } else {
        for (; j + 4 <= jEnd; j += 4, pb += quad) {
          packedTile(ci + (<usize>j << 2), strideC, aPack, pb, vecs, bias ? bias + (<usize>j << 2) : 0, 1, 4);
        }
      }
      if (j < jEnd) {
        // 1 to 3 columns left: the group's missing rows are zeros; rows and cols at run time.
        const cols = jEnd - j, cj = ci + (<usize>j << 2), biasj = bias ? bias + (<usize>j << 2) : 0;
        if (rows == 2) packedTile(cj, strideC, aPack, pb, vecs, biasj, 2, cols);
        else packedTile(cj, strideC, aPack, pb, vecs, biasj, 1, cols);
      }
    }
  }
}
