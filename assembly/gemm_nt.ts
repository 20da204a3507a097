// C[i, j] = Σ_p A[i, p]·B[j, p] + bias[j] for rows i in [rowBegin, rowEnd), all j < n.
// "nt": A is m×k, B is n×k, both row-major (B used as Bᵀ). This is Z = X·Wᵀ + b.
//
// Dot-product form, 2×4 register tile (tiles.ts: NT_MR × NT_NR): both operands are read
// along k, which is contiguous in both, so no packing is needed. Each output element has
// one v128 accumulator: lane l sums the products with p ≡ l (mod 4) in increasing p (the
// k % 4 tail enters as zero-padded vectors), then the lanes are added as (l0 + l1) + (l2 + l3),
// then the bias. Measured on this host, this tile beats a packed-B broadcast tile (4×8 or
// 2×16) with mul+add (it needs no broadcasts, which compete for the FP ports) and matches it
// with FMA, without scratch memory.
// Every tile and tail (rows 2 or 1, columns 4..1) does these same operations per element, so
// the result does not depend on the row range or on the column blocking.
// Error: ≤ (⌈k/4⌉ + 2)·u·Σ_p |A[i,p]·B[j,p]| + u·|bias| (u = 2^-24), √ of that in practice.
import { madd, loadPartial, storePartial, hsum4 } from './simd';
import { NT_MR, NT_NR, NT_L2_FLOATS } from './tiles';

/** One tile: rows (1..2) rows of A from a0, cols (1..4) rows of B from b0; constants fold. */
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
  // Two k-vectors per trip: halves the pointer and loop overhead (V8 adds a stack check per trip).
  for (; o + 32 <= k4; o += 32) {
    let x0 = v128.load(a0 + o), x1 = rows > 1 ? v128.load(a1 + o) : zero;
    let y = v128.load(b0 + o);
    s00 = madd(x0, y, s00); if (rows > 1) s10 = madd(x1, y, s10);
    if (cols > 1) { y = v128.load(b1 + o); s01 = madd(x0, y, s01); if (rows > 1) s11 = madd(x1, y, s11); }
    if (cols > 2) { y = v128.load(b2 + o); s02 = madd(x0, y, s02); if (rows > 1) s12 = madd(x1, y, s12); }
    if (cols > 3) { y = v128.load(b3 + o); s03 = madd(x0, y, s03); if (rows > 1) s13 = madd(x1, y, s13); }
    x0 = v128.load(a0 + o, 16); if (rows > 1) x1 = v128.load(a1 + o, 16);
    y = v128.load(b0 + o, 16);
    s00 = madd(x0, y, s00); if (rows > 1) s10 = madd(x1, y, s10);
    if (cols > 1) { y = v128.load(b1 + o, 16); s01 = madd(x0, y, s01); if (rows > 1) s11 = madd(x1, y, s11); }
    if (cols > 2) { y = v128.load(b2 + o, 16); s02 = madd(x0, y, s02); if (rows > 1) s12 = madd(x1, y, s12); }
    if (cols > 3) { y = v128.load(b3 + o, 16); s03 = madd(x0, y, s03); if (rows > 1) s13 = madd(x1, y, s13); }
  }
  // At most one more full k-vector, then the k % 4 tail as zero-padded vectors (0·0 adds 0).
  if (o < k4) {
    const x0 = v128.load(a0 + o), x1 = rows > 1 ? v128.load(a1 + o) : zero;
    let y = v128.load(b0 + o);
    s00 = madd(x0, y, s00); if (rows > 1) s10 = madd(x1, y, s10);
    if (cols > 1) { y = v128.load(b1 + o); s01 = madd(x0, y, s01); if (rows > 1) s11 = madd(x1, y, s11); }
    if (cols > 2) { y = v128.load(b2 + o); s02 = madd(x0, y, s02); if (rows > 1) s12 = madd(x1, y, s12); }
    if (cols > 3) { y = v128.load(b3 + o); s03 = madd(x0, y, s03); if (rows > 1) s13 = madd(x1, y, s13); }
    o += 16;
  }
  const t = k & 3;
  if (t) {
    const x0 = loadPartial(a0 + o, t), x1 = rows > 1 ? loadPartial(a1 + o, t) : zero;
    let y = loadPartial(b0 + o, t);
    s00 = madd(x0, y, s00); if (rows > 1) s10 = madd(x1, y, s10);
    if (cols > 1) { y = loadPartial(b1 + o, t); s01 = madd(x0, y, s01); if (rows > 1) s11 = madd(x1, y, s11); }
    if (cols > 2) { y = loadPartial(b2 + o, t); s02 = madd(x0, y, s02); if (rows > 1) s12 = madd(x1, y, s12); }
    if (cols > 3) { y = loadPartial(b3 + o, t); s03 = madd(x0, y, s03); if (rows > 1) s13 = madd(x1, y, s13); }
  }
  let r0 = hsum4(s00, s01, s02, s03), r1 = rows > 1 ? hsum4(s10, s11, s12, s13) : zero;
  if (bias) {
    const bv = cols == 4 ? v128.load(bias) : loadPartial(bias, cols);
    r0 = f32x4.add(r0, bv);
    if (rows > 1) r1 = f32x4.add(r1, bv);
  }
  if (cols == 4) {
    v128.store(c0, r0);
    if (rows > 1) v128.store(c0 + strideC, r1);
  } else {
    storePartial(c0, r0, cols);
    if (rows > 1) storePartial(c0 + strideC, r1, cols);
  }
}

/** Columns [jb, jEnd) of `rows` rows of C starting at row i. */
@inline function dotStrip(
  c: usize, strideC: usize, a: usize, strideA: usize, b: usize, strideB: usize, bias: usize,
  k: i32, i: i32, jb: i32, jEnd: i32, rows: i32,
): void {
  const ci = c + <usize>i * strideC, ai = a + <usize>i * strideA;
  let j = jb;
  for (; j + NT_NR <= jEnd; j += NT_NR) {
    dotTile(ci + (<usize>j << 2), strideC, ai, strideA, b + <usize>j * strideB, strideB,
      bias ? bias + (<usize>j << 2) : 0, k, rows, NT_NR);
  }
  const left = jEnd - j;
  if (left == 0) return;
  const cj = ci + (<usize>j << 2), bj = b + <usize>j * strideB, biasj = bias ? bias + (<usize>j << 2) : 0;
  if (NT_NR > 3 && left == 3) dotTile(cj, strideC, ai, strideA, bj, strideB, biasj, k, rows, 3);
  else if (NT_NR > 2 && left == 2) dotTile(cj, strideC, ai, strideA, bj, strideB, biasj, k, rows, 2);
  else if (left == 1) dotTile(cj, strideC, ai, strideA, bj, strideB, biasj, k, rows, 1);
}

export function gemm_nt_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, bias: usize,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32,
): void {
  const strideA = <usize>lda << 2, strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  // Blocks of B's rows small enough to stay in L2 while every row pair of A sweeps them.
  const nc = max(NT_NR, (NT_L2_FLOATS / max(k, 1)) / NT_NR * NT_NR);
  for (let jb = 0; jb < n; jb += nc) {
    const jEnd = min(n, jb + nc);
    let i = rowBegin;
    for (; i + NT_MR <= rowEnd; i += NT_MR) dotStrip(c, strideC, a, strideA, b, strideB, bias, k, i, jb, jEnd, NT_MR);
    if (NT_MR > 1 && i < rowEnd) dotStrip(c, strideC, a, strideA, b, strideB, bias, k, i, jb, jEnd, 1);
  }
}
