// out[j] (+)= Σ_{p<k} A[p, j] for columns j in [colBegin, colEnd): db = Σ_rows dZ.
// v128 across columns, CS_NV vectors at a time (tiles.ts), a zero-padded vector for the last
// (colEnd − colBegin) % 4 columns. Each column adds its rows in order p = 0, 1, … from out
// (accumulate) or 0, so its sum is the same for any column split or tile.
// Error: ≤ k·u·Σ_p |A[p, j]| (u = 2^-24).
import { loadPartial, storePartial } from './simd';
import { CS_NV } from './tiles';

@inline function colsumTile(o: usize, a: usize, strideA: usize, k: i32, accumulate: i32, nv: i32, part: i32): void {
  const zero = f32x4.splat(0);
  let s0 = zero, s1 = zero, s2 = zero, s3 = zero;
  if (accumulate) {
    s0 = nv == 0 ? loadPartial(o, part) : v128.load(o);
    if (nv > 1) s1 = v128.load(o, 16);
    if (nv > 2) s2 = v128.load(o, 32);
    if (nv > 3) s3 = v128.load(o, 48);
  }
  let ap = a;
  for (let p = 0; p < k; p++) {
    s0 = f32x4.add(s0, nv == 0 ? loadPartial(ap, part) : v128.load(ap));
    if (nv > 1) s1 = f32x4.add(s1, v128.load(ap, 16));
    if (nv > 2) s2 = f32x4.add(s2, v128.load(ap, 32));
    if (nv > 3) s3 = f32x4.add(s3, v128.load(ap, 48));
    ap += strideA;
  }
  if (nv == 0) storePartial(o, s0, part);
  else v128.store(o, s0);
  if (nv > 1) v128.store(o, s1, 16);
  if (nv > 2) v128.store(o, s2, 32);
  if (nv > 3) v128.store(o, s3, 48);
}

export function colsum_f32(
  out: usize, a: usize, lda: i32, k: i32, colBegin: i32, colEnd: i32, accumulate: i32,
): void {
  const strideA = <usize>lda << 2;
  let j = colBegin;
  for (; j + 4 * CS_NV <= colEnd; j += 4 * CS_NV) {
    colsumTile(out + (<usize>j << 2), a + (<usize>j << 2), strideA, k, accumulate, CS_NV, 0);
  }
  for (; j + 4 <= colEnd; j += 4) colsumTile(out + (<usize>j << 2), a + (<usize>j << 2), strideA, k, accumulate, 1, 0);
  if (j < colEnd) colsumTile(out + (<usize>j << 2), a + (<usize>j << 2), strideA, k, accumulate, 0, colEnd - j);
}
