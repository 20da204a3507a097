// C[i, 0..n) (+)= A[i, 0..k) · B[0..k, 0..n) for rows i in [rowBegin, rowEnd).
// "nn": A is m×k, B is k×n, both row-major. This is dX = dZ·W.
// Scalar reference kernel: the inner loop runs along a row of B and of C, so each
// step is an axpy with one broadcast a[i, p] — the shape a v128 tile vectorises.
// With accumulate = 0 C is overwritten, otherwise added to.

export function gemm_nn_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, accumulate: i32,
): void {
  const strideA = <usize>lda << 2, strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  for (let i = rowBegin; i < rowEnd; i++) {
    const ai = a + <usize>i * strideA, ci = c + <usize>i * strideC;
    if (!accumulate) memory.fill(ci, 0, <usize>n << 2);
    for (let p = 0; p < k; p++) {
      const aip = load<f32>(ai + (<usize>p << 2));
      const bp = b + <usize>p * strideB;
      for (let j = 0; j < n; j++) {
        const o = <usize>j << 2;
        store<f32>(ci + o, load<f32>(ci + o) + aip * load<f32>(bp + o));
      }
    }
  }
}
