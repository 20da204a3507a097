// C[i, 0..n) (+)= Σ_p A[p, i] · B[p, 0..n) for rows i in [rowBegin, rowEnd).
// "tn": A is k×m (used as Aᵀ), B is k×n, both row-major. This is dW = dZᵀ·X, where output
// row i is class i and p runs over the batch.
// Axpy form, AX_MR × 4·AX_NV v128 register tile with k/row cache blocks: see gemm_axpy.ts,
// which also states the element order (independent of the row range) and the error bound,
// ≤ k·u·Σ_p |A[p,i]·B[p,j]| (u = 2^-24). With accumulate = 0 C is overwritten, else added to.
// mask (0: none): gradFilter's kept class blocks (grad_filter.ts); only those rows (classes) are
// computed, the others are zero-filled (left alone when accumulating).
import { gemmAxpy, axpyScratchBytes } from './gemm_axpy';

export function gemm_tn_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, accumulate: i32, mask: usize, scratch: usize, scratchBytes: usize,
): void {
  // A(i, p) = A[p·lda + i]: the rows of a tile are adjacent floats, k steps by a row of A.
  gemmAxpy(c, ldc, a, 4, <usize>lda << 2, b, ldb, n, k, rowBegin, rowEnd, accumulate, 0, mask, scratch, scratchBytes);
}

/** Scratch bytes for the packed path of gemm_tn_f32 over m output rows (less runs unpacked, same results). */
export function gemm_tn_f32_scratch(m: i32, k: i32): usize {
  return axpyScratchBytes(m, k);
}
