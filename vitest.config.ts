import { defineConfig } from 'vitest/config';

// Test files that check the kernels and so run once per WebAssembly build: they read
// SCE_BUILD ('simd' | 'relaxed') and init({ build }) with it. Every other file runs once.
const PER_BUILD = ['test/api.test.ts', 'test/gemm.test.ts', 'test/exp.test.ts', 'test/vocab.test.ts', 'test/property.test.ts'];

/**
 * Whether this engine validates relaxed SIMD without a flag (Node ≥ 21): a module whose one
 * function returns f32x4.relaxed_madd of three v128 constants.
 */
function engineHasRelaxedSimd(): boolean {
  const zeros = new Array(16).fill(0);
  const v128Const = [0xfd, 0x0c, ...zeros];
  const body = [0x00, ...v128Const, ...v128Const, ...v128Const, 0xfd, 0x85, 0x02, 0x0b];
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () → v128
    0x03, 0x02, 0x01, 0x00, // one function of that type
    0x0a, body.length + 2, 0x01, body.length, ...body, // its code
  ]);
  return WebAssembly.validate(bytes);
}

// On Node 20 the relaxed build validates only under this V8 flag. V8 flags cannot be set in
// worker threads or NODE_OPTIONS, so that project runs in forked child processes with execArgv.
const relaxedExecArgv = engineHasRelaxedSimd() ? [] : ['--experimental-wasm-relaxed-simd'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'simd', include: ['test/**/*.test.ts'], env: { SCE_BUILD: 'simd' } },
      },
      {
        extends: true,
        test: {
          name: 'relaxed', include: PER_BUILD, env: { SCE_BUILD: 'relaxed' },
          pool: 'forks', execArgv: relaxedExecArgv,
        },
      },
    ],
  },
});
