// Register tiles and cache blocks of the matmul kernels, in one place. Changing a number
// here re-generates every tile and tail of the kernel from the same template (test/gemm.test.ts
// passes for AX_MR × AX_NV of 1×1 to 4×4 and for blocks of one tile); no output element's
// result depends on any of them.
//
// Machine model (measured on the 2-core Zen 3/4 host, V8 in Node 20): V8 uses only the 16
// xmm registers, so a tile's accumulators plus its operands must stay ≤ 15 or it spills
// (6×8, 3×12 and 3×4-dot tiles ran at half speed); L1d 32 KiB, L2 1 MiB per core. From L1,
// with both operands packed, 2×4 dot and 4×8 / 2×16 axpy tiles all reach ≈ 46 GFLOP/s with
// mul+add and ≈ 54 with FMA; the blocks below were within noise of their neighbours.

// gemm_nt (dot-product form: v128 along k, one accumulator per output element).
// The register tile is 2×4 (8 accumulators + 2 A + 1 B vectors); the pack layout follows it.
/** Columns per unpacked block step (a multiple of the tile's 4). */
@inline export const NT_NR: i32 = 4;
/** Floats of B (a block of its rows × k) that every row pair sweeps while it stays in L2. */
@inline export const NT_L2_FLOATS: i32 = 128 * 1024;
/** Floats of A (a block of its row pairs × k) packed once and swept over each group of B. */
@inline export const NT_A_FLOATS: i32 = 64 * 1024;
/** Fewer columns (rows of B) than this run unpacked: at n = 10, 12 unpacked was 10-15% faster. */
@inline export const NT_PACK_MIN_N: i32 = 16;

// gemm_nn / gemm_tn (axpy form: a broadcast element of A times v128 slices of a row of B).
/** Rows of C per axpy tile: 1 to 4. */
@inline export const AX_MR: i32 = 2;
/** v128 columns per axpy tile, 1 to 4 (columns = 4·AX_NV). AX_MR·AX_NV accumulators. */
@inline export const AX_NV: i32 = 4;
/** k block: a KC × 4·AX_NV slice of B stays in L1 while every row tile of the block passes. */
@inline export const AX_KC: i32 = 256;
/** Row block: the MC × KC block of A stays in L2 while the columns of B pass. */
@inline export const AX_MC: i32 = 256;
/** Row blocks with fewer rows read B in place: at 10 rows (dW of 10 classes) 6-15% faster. */
@inline export const AX_PANEL_MIN_ROWS: i32 = 32;

// colsum
/** v128 columns summed at once (independent accumulators). */
@inline export const CS_NV: i32 = 4;

// gradFilter
/**
 * Classes per filter block (grad_filter.ts; src/kernels.ts FILTER_CLASSES): a multiple of 4
 * (whole v128 of dZ) that divides AX_KC (gemm_nn's kept k runs end on block edges). Smaller
 * blocks skip more (a block is kept if any of its entries is) but cut gemm_nn's k runs shorter.
 */
@inline export const FILTER_CLASSES: i32 = 32;
