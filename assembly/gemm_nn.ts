// C[i, 0..n) (+)= A[i, 0..k) · B[0..k, 0..n) for rows i in [rowBegin, rowEnd).
// "nn": A is m×k, B is k×n, both row-major. This is dX = dZ·W.
// Axpy form, AX_MR × 4·AX_NV v128 register tile with k/row cache blocks: see gemm_axpy.ts,
// which also states the element order (independent of the row range) and the error bound,
// ≤ k·u·Σ_p |A[i,p]·B[p,j]| (u = 2^-24). With accumulate = 0 C is overwritten, else added to.
// mask (0: none): gradFilter's kept class blocks (grad_filter.ts); p runs only over those.
import { gemmAxpy, axpyScratchBytes } from './gemm_axpy';

export function gemm_nn_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, accumulate: i32, mask: usize, scratch: usize, scratchBytes: usize,
): void {
  // A(i, p) = A[i·lda + p]: output rows step by a row of A, k steps along it.
  gemmAxpy(c, ldc, a, <usize>lda << 2, 4, b, ldb, n, k, rowBegin, rowEnd, accumulate, mask, 0, scratch, scratchBytes);
}

/** Scratch bytes for the packed path of gemm_nn_f32 over m output rows (less runs unpacked, same results). */
export function gemm_nn_f32_scratch(m: i32, k: i32): usize {
  return axpyScratchBytes(m, k);
}
