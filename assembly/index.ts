// The exported surface of the WebAssembly module: numbers only (pointers, sizes,
// strides). Buffers are laid out by the TypeScript side above heap_base().
// One source, two builds (asconfig.json): 'simd' and 'relaxed' (relaxed-SIMD FMA through
// simd.ts's madd); the export names are the same in both, the build is the ISA variant.
// Register tiles (tiles.ts): gemm_nt 2×4 dot-product tile; gemm_nn and gemm_tn 2×16 axpy tile.
export { gemm_nt_f32, gemm_nt_f32_scratch } from './gemm_nt';
export { gemm_nn_f32, gemm_nn_f32_scratch } from './gemm_nn';
export { gemm_tn_f32, gemm_tn_f32_scratch } from './gemm_tn';
export { colsum_f32 } from './colsum';
export { softmax_rows_f32, log_softmax_rows_f32 } from './softmax';
export { xent_index_rows_f32 } from './xent_index';
export { xent_prob_rows_f32 } from './xent_prob';
export { exp_f32 } from './exp'; // test-only: test/exp.test.ts checks expf4 against Math.exp
export { tanh_f32 } from './tanh'; // test-only: test/tanh.test.ts

/** First byte the TypeScript arena may use (after static data), 16-byte aligned. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~15;
}

// Optimizer updates (training): one kernel per file, elementwise over a parameter buffer.
export { sgd_update_f32 } from './sgd';
export { sgd_momentum_update_f32 } from './momentum';
export { adam_update_f32, adamw_update_f32 } from './adam';
