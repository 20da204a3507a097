// The template behind gemm_nn and gemm_tn (not a kernel of its own):
//   C[i, j] (+)= Σ_{p<k} A(i, p)·B[p, j]   for rows i in [rowBegin, rowEnd), all j < n,
// with A(i, p) at a + i·aRow + p·aCol (bytes): nn passes (row stride, 4), tn passes (4, row
// stride). B is k×n row-major, so a row of B is contiguous along the output columns: the
// "axpy" form broadcasts one A(i, p) and multiplies it into v128 slices of B's row p.
// Register tile AX_MR × 4·AX_NV (tiles.ts). Tails: narrower tiles of 8 and 4 columns, one
// zero-padded vector for the last n % 4 columns, and tiles of fewer rows.
//
// Every element is accumulated as acc = madd(A(i, p), B[p, j], acc) for p = 0, 1, … k−1 in
// order, starting from C (accumulate) or 0: the k blocks store the f32 accumulator and load
// it back exactly, so neither the row range, the blocks, the packing nor the tile an element
// falls in change its result. Error: ≤ k·u·Σ_p |A(i,p)·B[p,j]| (u = 2^-24), √k·u·… in practice.
//
// Loop nest: k blocks of AX_KC × row blocks of AX_MC × column tiles × row tiles.
// Packed path (scratch ≥ axpyScratchBytes): each A block is copied as [row tile][p][row] (it
// stays in L2), and each column tile's KC × 4·AX_NV slice of B as one contiguous panel (it
// stays in L1 while the row tiles pass). Unpacked, B's rows of a slice lie a row stride apart:
// with a stride of 2 or 3 KiB they fall in a few L1 sets and miss every time, and tn reads A's
// column pairs k rows apart (a power-of-two stride: one set, misses in L1 and L2). The copies
// read A once per call and B once per row block; inner loops walk two pointers. Blocks of
// fewer than AX_PANEL_MIN_ROWS rows read B in place (its copy would not pay).
// Without scratch (scratchBytes = 0) the same tiles read A and B in place.
import { madd, loadPartial, storePartial } from './simd';
import { AX_MR, AX_NV, AX_KC, AX_MC, AX_PANEL_MIN_ROWS, FILTER_CLASSES } from './tiles';

/**
 * One tile: rows (1..4) rows of C from c0, nv (1..4) full column vectors, or when nv = 0 one
 * vector of `part` (1..3) columns. rows, nv, packed and panel are constants at every call, so
 * unused accumulators and branches fold away.
 * A: unpacked at a0 + r·aRow + p·aCol; packed at a0 + (p·AX_MR + r)·4.
 * B[p, ·] at b0 + p·strideB; from a panel, strideB is the panel's row width and a partial
 * vector is zero-padded there, so it is loaded whole.
 */
@inline function axpyTile(
  c0: usize, strideC: usize, a0: usize, aRow: usize, aCol: usize, b0: usize, strideB: usize,
  kc: i32, load: bool, rows: i32, nv: i32, part: i32, packed: bool, panel: bool,
): void {
  const zero = f32x4.splat(0);
  const c1 = c0 + strideC, c2 = c1 + strideC, c3 = c2 + strideC;
  let c00 = zero, c01 = zero, c02 = zero, c03 = zero;
  let c10 = zero, c11 = zero, c12 = zero, c13 = zero;
  let c20 = zero, c21 = zero, c22 = zero, c23 = zero;
  let c30 = zero, c31 = zero, c32 = zero, c33 = zero;
  if (load) {
    if (nv == 0) {
      c00 = loadPartial(c0, part);
      if (rows > 1) c10 = loadPartial(c1, part);
      if (rows > 2) c20 = loadPartial(c2, part);
      if (rows > 3) c30 = loadPartial(c3, part);
    } else {
      c00 = v128.load(c0); if (nv > 1) c01 = v128.load(c0, 16); if (nv > 2) c02 = v128.load(c0, 32); if (nv > 3) c03 = v128.load(c0, 48);
      if (rows > 1) { c10 = v128.load(c1); if (nv > 1) c11 = v128.load(c1, 16); if (nv > 2) c12 = v128.load(c1, 32); if (nv > 3) c13 = v128.load(c1, 48); }
      if (rows > 2) { c20 = v128.load(c2); if (nv > 1) c21 = v128.load(c2, 16); if (nv > 2) c22 = v128.load(c2, 32); if (nv > 3) c23 = v128.load(c2, 48); }
      if (rows > 3) { c30 = v128.load(c3); if (nv > 1) c31 = v128.load(c3, 16); if (nv > 2) c32 = v128.load(c3, 32); if (nv > 3) c33 = v128.load(c3, 48); }
    }
  }
  const aStep: usize = packed ? <usize>(AX_MR << 2) : aCol;
  // The loop runs on A's pointer (no separate counter: one add less per trip).
  const aEnd = a0 + <usize>kc * aStep;
  let pa = a0, pb = b0;
  while (pa < aEnd) {
    const b0v = nv == 0 && !panel ? loadPartial(pb, part) : v128.load(pb);
    const b1v = nv > 1 ? v128.load(pb, 16) : zero;
    const b2v = nv > 2 ? v128.load(pb, 32) : zero;
    const b3v = nv > 3 ? v128.load(pb, 48) : zero;
    let s = v128.load32_splat(pa);
    c00 = madd(s, b0v, c00); if (nv > 1) c01 = madd(s, b1v, c01); if (nv > 2) c02 = madd(s, b2v, c02); if (nv > 3) c03 = madd(s, b3v, c03);
    if (rows > 1) {
      s = packed ? v128.load32_splat(pa, 4) : v128.load32_splat(pa + aRow);
      c10 = madd(s, b0v, c10); if (nv > 1) c11 = madd(s, b1v, c11); if (nv > 2) c12 = madd(s, b2v, c12); if (nv > 3) c13 = madd(s, b3v, c13);
    }
    if (rows > 2) {
      s = packed ? v128.load32_splat(pa, 8) : v128.load32_splat(pa + 2 * aRow);
      c20 = madd(s, b0v, c20); if (nv > 1) c21 = madd(s, b1v, c21); if (nv > 2) c22 = madd(s, b2v, c22); if (nv > 3) c23 = madd(s, b3v, c23);
    }
    if (rows > 3) {
      s = packed ? v128.load32_splat(pa, 12) : v128.load32_splat(pa + 3 * aRow);
      c30 = madd(s, b0v, c30); if (nv > 1) c31 = madd(s, b1v, c31); if (nv > 2) c32 = madd(s, b2v, c32); if (nv > 3) c33 = madd(s, b3v, c33);
    }
    pa += aStep;
    pb += strideB;
  }
  if (nv == 0) {
    storePartial(c0, c00, part);
    if (rows > 1) storePartial(c1, c10, part);
    if (rows > 2) storePartial(c2, c20, part);
    if (rows > 3) storePartial(c3, c30, part);
  } else {
    v128.store(c0, c00); if (nv > 1) v128.store(c0, c01, 16); if (nv > 2) v128.store(c0, c02, 32); if (nv > 3) v128.store(c0, c03, 48);
    if (rows > 1) { v128.store(c1, c10); if (nv > 1) v128.store(c1, c11, 16); if (nv > 2) v128.store(c1, c12, 32); if (nv > 3) v128.store(c1, c13, 48); }
    if (rows > 2) { v128.store(c2, c20); if (nv > 1) v128.store(c2, c21, 16); if (nv > 2) v128.store(c2, c22, 32); if (nv > 3) v128.store(c2, c23, 48); }
    if (rows > 3) { v128.store(c3, c30); if (nv > 1) v128.store(c3, c31, 16); if (nv > 2) v128.store(c3, c32, 32); if (nv > 3) v128.store(c3, c33, 48); }
  }
}

/**
 * Copies B[p0 + p, j .. j + width) for p < kc into a panel of rows of `vecs` v128s
 * (zero-padded past width). width = 4·vecs, or 1..3 with vecs = 1.
 */
@inline function packPanel(dst: usize, b: usize, strideB: usize, kc: i32, width: i32, vecs: i32): void {
  let s = b, d = dst;
  for (let p = 0; p < kc; p++) {
    if (width < 4) {
      v128.store(d, loadPartial(s, width));
    } else {
      v128.store(d, v128.load(s));
      if (vecs > 1) v128.store(d, v128.load(s, 16), 16);
      if (vecs > 2) v128.store(d, v128.load(s, 32), 32);
      if (vecs > 3) v128.store(d, v128.load(s, 48), 48);
    }
    s += strideB;
    d += <usize>vecs << 4;
  }
}

/**
 * Rows [ic, icEnd) of the column tile at column j (nv vectors, or `part` columns when nv = 0).
 * Unpacked, a points at A(ic, p0) and b at B[p0, 0]; packed, a at the A block's pack and
 * panel at free scratch for the B panel.
 */
@inline function axpyColumn(
  c: usize, strideC: usize, a: usize, aRow: usize, aCol: usize, b: usize, strideB: usize,
  kc: i32, load: bool, ic: i32, icEnd: i32, j: i32, nv: i32, part: i32, packed: bool, panel: bool, pan: usize,
): void {
  const cj = c + (<usize>j << 2);
  let bj = b + (<usize>j << 2), sb = strideB;
  if (panel) {
    const vecs = nv == 0 ? 1 : nv;
    packPanel(pan, bj, strideB, kc, nv == 0 ? part : nv << 2, vecs);
    bj = pan;
    sb = <usize>vecs << 4;
  }
  const tileStep: usize = packed ? <usize>kc * (AX_MR << 2) : <usize>AX_MR * aRow;
  let i = ic, ai = a;
  for (; i + AX_MR <= icEnd; i += AX_MR, ai += tileStep) {
    axpyTile(cj + <usize>i * strideC, strideC, ai, aRow, aCol, bj, sb, kc, load, AX_MR, nv, part, packed, panel);
  }
  const left = icEnd - i;
  if (left == 0) return;
  const ci = cj + <usize>i * strideC;
  if (AX_MR > 3 && left == 3) axpyTile(ci, strideC, ai, aRow, aCol, bj, sb, kc, load, 3, nv, part, packed, panel);
  else if (AX_MR > 2 && left == 2) axpyTile(ci, strideC, ai, aRow, aCol, bj, sb, kc, load, 2, nv, part, packed, panel);
  else if (left == 1) axpyTile(ci, strideC, ai, aRow, aCol, bj, sb, kc, load, 1, nv, part, packed, panel);
}

/** The column tiles of one (k block, row block): all n columns, widest tiles first. */
@inline function axpyBlock(
  c: usize, strideC: usize, a: usize, aRow: usize, aCol: usize, b: usize, strideB: usize,
  n: i32, kc: i32, load: bool, ic: i32, icEnd: i32, packed: bool, panel: bool, pan: usize,
): void {
  let j = 0;
  for (; j + 4 * AX_NV <= n; j += 4 * AX_NV) {
    axpyColumn(c, strideC, a, aRow, aCol, b, strideB, kc, load, ic, icEnd, j, AX_NV, 0, packed, panel, pan);
  }
  if (AX_NV > 2 && n - j >= 8) {
    axpyColumn(c, strideC, a, aRow, aCol, b, strideB, kc, load, ic, icEnd, j, 2, 0, packed, panel, pan);
    j += 8;
  }
  if (AX_NV > 1 && n - j >= 4) {
    axpyColumn(c, strideC, a, aRow, aCol, b, strideB, kc, load, ic, icEnd, j, 1, 0, packed, panel, pan);
    j += 4;
  }
  if (j < n) axpyColumn(c, strideC, a, aRow, aCol, b, strideB, kc, load, ic, icEnd, j, 0, n - j, packed, panel, pan);
}

/**
 * Copies A(ic..icEnd, p0..p0+kc) to dst as [row tile][p][row of the tile] (AX_MR floats per p;
 * a short last tile leaves its missing rows unwritten: its tiles never read them).
 * a points at A(0, 0); the reads run along whichever of rows or k is contiguous.
 */
@inline function packA(dst: usize, a: usize, aRow: usize, aCol: usize, ic: i32, icEnd: i32, p0: i32, kc: i32): void {
  const tileBytes = <usize>kc * (AX_MR << 2);
  if (aCol == 4) {
    // nn: A(i, ·) is contiguous along k.
    for (let i = ic; i < icEnd; i++) {
      const r = i - ic;
      let d = dst + <usize>(r / AX_MR) * tileBytes + (<usize>(r % AX_MR) << 2);
      let s = a + <usize>i * aRow + (<usize>p0 << 2);
      for (let p = 0; p < kc; p++, d += AX_MR << 2, s += 4) store<f32>(d, load<f32>(s));
    }
  } else {
    // tn: A(·, p) is contiguous along the rows.
    for (let p = 0; p < kc; p++) {
      const s = a + <usize>(p0 + p) * aCol;
      const d = dst + (<usize>p * (AX_MR << 2));
      for (let i = ic; i < icEnd; i++) {
        const r = i - ic;
        store<f32>(d + <usize>(r / AX_MR) * tileBytes + (<usize>(r % AX_MR) << 2), load<f32>(s + (<usize>i << 2)));
      }
    }
  }
}

/** Bytes of the A block pack for m rows (at most AX_MC, rounded up to AX_MR) and depth k. */
@inline function aPackBytes(m: i32, k: i32): usize {
  const rows = (min(m, AX_MC) + AX_MR - 1) / AX_MR * AX_MR;
  return <usize>rows * <usize>min(k, AX_KC) << 2;
}

/** Scratch bytes for the packed path over m output rows: the A block pack and one B panel. */
@inline export function axpyScratchBytes(m: i32, k: i32): usize {
  return aPackBytes(m, k) + (<usize>min(k, AX_KC) * AX_NV << 4);
}

/** Whether the filter block holding class j is kept (mask: one byte per FILTER_CLASSES classes). */
@inline function kept(mask: usize, j: i32): bool {
  return load<u8>(mask + <usize>(j / FILTER_CLASSES)) != 0;
}

/** The first class ≥ j in a kept block (or end). */
@inline function nextKept(mask: usize, j: i32, end: i32): i32 {
  while (j < end && !kept(mask, j)) j = (j / FILTER_CLASSES + 1) * FILTER_CLASSES;
  return min(j, end);
}

/** The end of the run of kept classes from j (kept), at most `most` long and ≤ end. */
@inline function keptRunEnd(mask: usize, j: i32, end: i32, most: i32): i32 {
  const limit = min(end, j + most);
  let e = j;
  while (e < limit && kept(mask, e)) e = (e / FILTER_CLASSES + 1) * FILTER_CLASSES;
  return min(e, limit);
}

/**
 * See the header. aRow, aCol: byte steps of A along the output rows and along k.
 * gradFilter: with kMask (gemm_nn: k runs over classes), p runs only over the kept class
 * blocks, in kept runs of at most AX_KC (a k block per run); with rowMask (gemm_tn: output
 * rows are classes), only kept rows are computed, in row blocks within kept runs, and the
 * others are zero-filled (or left alone when accumulating). Each element is still
 * accumulated over its p in increasing order with exact stores between runs, so results stay
 * independent of the row or column range; without masks the loops are the unfiltered ones.
 */
@inline export function gemmAxpy(
  c: usize, ldc: i32, a: usize, aRow: usize, aCol: usize, b: usize, ldb: i32,
  n: i32, k: i32, rowBegin: i32, rowEnd: i32, accumulate: i32, kMask: usize, rowMask: usize,
  scratch: usize, scratchBytes: usize,
): void {
  const strideB = <usize>ldb << 2, strideC = <usize>ldc << 2;
  if (rowMask && !accumulate) {
    for (let i = rowBegin; i < rowEnd; i++) if (!kept(rowMask, i)) memory.fill(c + <usize>i * strideC, 0, <usize>n << 2);
  }
  const packed = scratchBytes >= axpyScratchBytes(rowEnd - rowBegin, k);
  const panel = scratch + aPackBytes(rowEnd - rowBegin, k);
  let started = false;
  for (let pc = kMask ? nextKept(kMask, 0, k) : 0; pc < k;) {
    const pcEnd = kMask ? keptRunEnd(kMask, pc, k, AX_KC) : min(k, pc + AX_KC);
    const kc = pcEnd - pc;
    const load = accumulate != 0 || started;
    const bpc = b + <usize>pc * strideB;
    for (let ic = rowMask ? nextKept(rowMask, rowBegin, rowEnd) : rowBegin; ic < rowEnd;) {
      const icEnd = rowMask ? keptRunEnd(rowMask, ic, rowEnd, AX_MC) : min(rowEnd, ic + AX_MC);
      if (packed) {
        packA(scratch, a, aRow, aCol, ic, icEnd, pc, kc);
        // A panel of B pays for its copy only if enough row tiles pass over it.
        if (icEnd - ic >= AX_PANEL_MIN_ROWS) {
          axpyBlock(c, strideC, scratch, 4, AX_MR << 2, bpc, strideB, n, kc, load, ic, icEnd, true, true, panel);
        } else {
          axpyBlock(c, strideC, scratch, 4, AX_MR << 2, bpc, strideB, n, kc, load, ic, icEnd, true, false, 0);
        }
      } else {
        const ablock = a + <usize>ic * aRow + <usize>pc * aCol;
        axpyBlock(c, strideC, ablock, aRow, aCol, bpc, strideB, n, kc, load, ic, icEnd, false, false, 0);
      }
      ic = rowMask ? nextKept(rowMask, icEnd, rowEnd) : icEnd;
    }
    started = true;
    pc = kMask ? nextKept(kMask, pcEnd, k) : pcEnd;
  }
  // No k at all (k = 0, or every class block filtered): C = 0 unless accumulating.
  if (!started && !accumulate) {
    for (let i = rowBegin; i < rowEnd; i++) memory.fill(c + <usize>i * strideC, 0, <usize>n << 2);
  }
}
