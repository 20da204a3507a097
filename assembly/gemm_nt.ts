// C[i, 0..n) = bias + A[i, 0..k) · B[j, 0..k)ᵀ for rows i in [rowBegin, rowEnd).
// "nt": A is m×k row-major, B is n×k row-major (used as Bᵀ). This is Z = X·Wᵀ + b.
// Scalar reference kernel: four rows of A share each load of B (a 4×1 register tile).
// Accumulation is float32 in the natural k order; error ≤ k·u·Σ|a·b| (u = 2^-24).

@inline function dot(a: usize, b: usize, k: i32): f32 {
  let s: f32 = 0;
  for (let p = 0; p < k; p++) s += load<f32>(a + (<usize>p << 2)) * load<f32>(b + (<usize>p << 2));
  return s;
}

export function gemm_nt_f32(
  c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, bias: usize,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32,
): void {
  const strideA = <usize>lda << 2, strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  let i = rowBegin;
  for (; i + 4 <= rowEnd; i += 4) {
    const a0 = a + <usize>i * strideA, a1 = a0 + strideA, a2 = a1 + strideA, a3 = a2 + strideA;
    const c0 = c + <usize>i * strideC, c1 = c0 + strideC, c2 = c1 + strideC, c3 = c2 + strideC;
    for (let j = 0; j < n; j++) {
      const bj = b + <usize>j * strideB;
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      for (let p = 0; p < k; p++) {
        const off = <usize>p << 2;
        const bv = load<f32>(bj + off);
        s0 += load<f32>(a0 + off) * bv;
        s1 += load<f32>(a1 + off) * bv;
        s2 += load<f32>(a2 + off) * bv;
        s3 += load<f32>(a3 + off) * bv;
      }
      const bb: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      const oj = <usize>j << 2;
      store<f32>(c0 + oj, s0 + bb);
      store<f32>(c1 + oj, s1 + bb);
      store<f32>(c2 + oj, s2 + bb);
      store<f32>(c3 + oj, s3 + bb);
    }
  }
  for (; i < rowEnd; i++) {
    const ai = a + <usize>i * strideA, ci = c + <usize>i * strideC;
    for (let j = 0; j < n; j++) {
      const bb: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      store<f32>(ci + (<usize>j << 2), dot(ai, b + <usize>j * strideB, k) + bb);
    }
  }
}
