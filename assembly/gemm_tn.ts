// C[i, 0..n) (+)= Σ_p A[p, i] · B[p, 0..n) for rows i in [rowBegin, rowEnd).
// "tn": A is k×m (used as Aᵀ), B is k×n, both row-major. This is dW = dZᵀ·X,
// where output row i is class i and p runs over the batch.
// Scalar reference kernel, axpy form like gemm_nn; accumulate as there.

export function gemm_tn_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, accumulate: i32,
): void {
  const strideA = <usize>lda << 2, strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  for (let i = rowBegin; i < rowEnd; i++) {
    const ci = c + <usize>i * strideC;
    if (!accumulate) memory.fill(ci, 0, <usize>n << 2);
    for (let p = 0; p < k; p++) {
      const api = load<f32>(a + <usize>p * strideA + (<usize>i << 2));
      const bp = b + <usize>p * strideB;
      for (let j = 0; j < n; j++) {
        const o = <usize>j << 2;
        store<f32>(ci + o, load<f32>(ci + o) + api * load<f32>(bp + o));
      }
    }
  }
}
