// C[i, j] = Σ_p A[i, p]·B[j, p] + bias[j] for rows i in [rowBegin, rowEnd), all j < n.
// "nt": A is m×k, B is n×k, both row-major (B used as Bᵀ). This is Z = X·Wᵀ + b.
//
// Dot-product form, 2×4 register tile (8 v128 accumulators, 2 A and 1 B vector): both
// operands are read along k, contiguous in both. Each output element has one accumulator
// whose lane l sums the products with p ≡ l (mod 4) in increasing p (the k % 4 tail enters as
// zero-padded vectors), then the lanes are added as (l0 + l1) + (l2 + l3), then the bias.
//
// Packed path (scratch ≥ gemm_nt_f32_scratch(n, k) bytes): a block of A's rows (NT_A_FLOATS)
// is copied as row pairs, [k-vector][2 rows] v128s, and a block of B's rows (NT_L2_FLOATS) as
// groups of 4, [k-vector][4 rows]; both blocks stay in L2, and each group of B stays in L1
// while the block's row pairs pass over it. The inner loop walks two pointers with constant
// offsets instead of six strided rows, which V8 turns into fewer address additions (measured
// on this host from L1: 46.7 against 38.9 GFLOP/s with mul+add). The copies read A once and
// B once per A block: a few per cent of the work at the sizes measured.
// Without enough scratch (scratchBytes = 0), or for n < NT_PACK_MIN_N, it runs the same tile
// on the unpacked rows.
// Both paths, every tile and every tail (1 row, 1 to 3 columns, k % 4) do the same
// operations per element, so results are bitwise the same for any row range or scratch size.
// Error: ≤ (⌈k/4⌉ + 2)·u·Σ_p |A[i,p]·B[j,p]| + u·|bias| (u = 2^-24), √ of that in practice.
import { madd, loadPartial, storePartial, hsum4 } from './simd';
import { NT_NR, NT_L2_FLOATS, NT_A_FLOATS, NT_PACK_MIN_N } from './tiles';

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
  // In i64: at k ≥ 2^29 the i32 divisor wraps (to 0 at k = 2^30).
  return <i32>min(<i64>((n + 3) >> 2), max(<i64>1, <i64>NT_L2_FLOATS / (max(<i64>4, (<i64>k + 3) & ~3) << 2)));
}

/** Row pairs of A per block: what fits NT_A_FLOATS, at least 1. */
@inline function blockPairs(k: i32): i32 {
  return <i32>max(<i64>1, <i64>NT_A_FLOATS / (max(<i64>4, (<i64>k + 3) & ~3) << 1));
}

/**
 * Scratch bytes for the packed path of gemm_nt_f32 (less runs it unpacked, same results);
 * 0 where it never packs. An f64, computed in u64: at large k the size passes 2^32, which
 * a usize would wrap and JavaScript would read as a negative i32.
 */
export function gemm_nt_f32_scratch(n: i32, k: i32): f64 {
  if (k <= 0 || n < NT_PACK_MIN_N) return 0;
  const vecs = (<u64>k + 3) >> 2;
  return <f64>(<u64>blockPairs(k) * (vecs << 5) + <u64>blockQuads(n, k) * (vecs << 6));
}

export function gemm_nt_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, bias: usize,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, scratch: usize, scratchBytes: usize,
): void {
  const strideA = <usize>lda << 2, strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  const pair = pairBytes(k), quad = quadBytes(k), vecs = (k + 3) >> 2;
  // Below NT_PACK_MIN_N columns each packed row of A would serve too few outputs to pay.
  if (k <= 0 || n < NT_PACK_MIN_N || <f64>scratchBytes < gemm_nt_f32_scratch(n, k)) {
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
  const pairs = blockPairs(k), quads = blockQuads(n, k);
  const aPack = scratch, bPack = scratch + <usize>pairs * pair;
  for (let ib = rowBegin; ib < rowEnd; ib += pairs << 1) {
    const iEnd = min(rowEnd, ib + (pairs << 1));
    // A rows ib.. as pairs: pair q at aPack + q·pair holds [k-vector][row] v128s.
    for (let i = ib; i < ((iEnd - ib + 1) & ~1) + ib; i++) {
      const dst = aPack + <usize>((i - ib) >> 1) * pair + (<usize>((i - ib) & 1) << 4);
      if (i < iEnd) packRow(dst, 32, a + <usize>i * strideA, k);
      else packZero(dst, 32, vecs);
    }
    for (let jb = 0; jb < n; jb += quads << 2) {
      const jEnd = min(n, jb + (quads << 2));
      // B rows jb.. as groups of 4: group g at bPack + g·quad holds [k-vector][row] v128s.
      for (let j = jb; j < ((jEnd - jb + 3) & ~3) + jb; j++) {
        const dst = bPack + <usize>((j - jb) >> 2) * quad + (<usize>((j - jb) & 3) << 4);
        if (j < jEnd) packRow(dst, 64, b + <usize>j * strideB, k);
        else packZero(dst, 64, vecs);
      }
      // Each group of B stays in L1 while the row pairs of the block pass over it.
      let pb = bPack;
      for (let j = jb; j < jEnd; j += 4, pb += quad) {
        const cols = min(4, jEnd - j), biasj = bias ? bias + (<usize>j << 2) : 0;
        let pa = aPack, i = ib;
        if (cols == 4) {
          for (; i + 2 <= iEnd; i += 2, pa += pair) packedTile(c + <usize>i * strideC + (<usize>j << 2), strideC, pa, pb, vecs, biasj, 2, 4);
          if (i < iEnd) packedTile(c + <usize>i * strideC + (<usize>j << 2), strideC, pa, pb, vecs, biasj, 1, 4);
        } else {
          for (; i + 2 <= iEnd; i += 2, pa += pair) packedTile(c + <usize>i * strideC + (<usize>j << 2), strideC, pa, pb, vecs, biasj, 2, cols);
          if (i < iEnd) packedTile(c + <usize>i * strideC + (<usize>j << 2), strideC, pa, pb, vecs, biasj, 1, cols);
        }
      }
    }
  }
}
