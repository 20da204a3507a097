// gradFilter (Cut Cross-Entropy's gradient filtering) over an m×c dZ: for class blocks
// [blockBegin, blockEnd) of FILTER_CLASSES classes (tiles.ts; the last may be shorter), a
// block whose every |dZ| over the m rows is below `threshold` is set to +0 and marked 0 in
// mask (one byte per block), else marked 1; gemm_nn and gemm_tn then skip the 0 blocks
// (gemm_axpy.ts). The test is !(|v| < threshold), so a NaN entry, or a NaN or zero threshold,
// keeps the block. A kept block stops being read at its first large entry. Exact: each
// block's decision and content depend on that block alone, so any split over threads (by
// block ranges) gives the same mask and dZ.
import { FILTER_CLASSES } from './tiles';
import { loadPartial, laneMask } from './simd';

export function grad_filter_f32(
  mask: usize, dz: usize, ldz: i32, m: i32, c: i32, threshold: f32, blockBegin: i32, blockEnd: i32,
): void {
  const rowBytes = <usize>ldz << 2, tv = f32x4.splat(threshold);
  for (let blk = blockBegin; blk < blockEnd; blk++) {
    const j0 = blk * FILTER_CLASSES, width = min(FILTER_CLASSES, c - j0);
    const vecs = width >> 2, t = width & 3;
    const base = dz + (<usize>j0 << 2);
    let keep = false;
    for (let i = 0; i < m && !keep; i++) {
      const row = base + <usize>i * rowBytes;
      let large = f32x4.splat(0);
      for (let v = 0; v < vecs; v++) {
        large = v128.or(large, v128.not(f32x4.lt(f32x4.abs(v128.load(row + (<usize>v << 4))), tv)));
      }
      if (t) {
        const tail = v128.not(f32x4.lt(f32x4.abs(loadPartial(row + (<usize>vecs << 4), t)), tv));
        large = v128.or(large, v128.and(tail, laneMask(t)));
      }
      keep = v128.any_true(large);
    }
    store<u8>(mask + <usize>blk, keep ? 1 : 0);
    if (!keep) {
      for (let i = 0; i < m; i++) memory.fill(base + <usize>i * rowBytes, 0, <usize>width << 2);
    }
  }
}
