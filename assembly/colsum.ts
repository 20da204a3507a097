// out[j] (+)= Σ_{p<k} A[p, j] for columns j in [colBegin, colEnd): db = Σ_rows dZ.
// Rows are added in order, so every column's sum is the same for any column split.

export function colsum_f32(
  out: usize, a: usize, lda: i32, k: i32, colBegin: i32, colEnd: i32, accumulate: i32,
): void {
  const strideA = <usize>lda << 2;
  const o0 = out + (<usize>colBegin << 2), width = <usize>(colEnd - colBegin) << 2;
  if (!accumulate) memory.fill(o0, 0, width);
  for (let p = 0; p < k; p++) {
    const ap = a + <usize>p * strideA + (<usize>colBegin << 2);
    for (let o: usize = 0; o < width; o += 4) store<f32>(o0 + o, load<f32>(o0 + o) + load<f32>(ap + o));
  }
}
