/**
 * The matmul kernels on their tile and block edges, for each build (SCE_BUILD).
 *
 * Through the public API (sce.linear: gemm_nt; sce.linearCrossEntropy: gemm_nt, gemm_nn,
 * gemm_tn, colsum) against the float64 reference, with test/api.test.ts's rule: every
 * element within 1e-5 of the output's scale (its largest |value|). A float32 dot product of
 * length k is off by about √k·2^-24 of Σ|a·b| (k·2^-24 at worst); k ≤ 600 here, so that is
 * ≤ 2e-6 of the scale even at worst-case accumulation: a 5× margin that a wrong index,
 * a skipped tail or a missing k block (errors of O(scale)) cannot hide in.
 *
 * Tiles (assembly/tiles.ts): gemm_nt 2 rows × 4 columns, k in vectors of 4, packed blocks of
 * NT_A_FLOATS / 2k row pairs of A and NT_L2_FLOATS / 4k groups of 4 rows of B; gemm_nn /
 * gemm_tn 2 rows × 16 columns (tails 8, 4, 1..3), k blocks of 256, row blocks of 256. Sizes below are equal to, divisible by, smaller and larger than
 * each, in every dimension: n (batch) = nt/nn rows and tn depth; d = nt depth and nn/tn
 * columns; c = nt columns, nn depth and tn rows.
 *
 * Then, on the kernels directly: results are bitwise the same for any split of the output
 * rows and with or without scratch (packed or unpacked operands), which a thread pool relies on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, reference, type SoftmaxCE } from '../src/index.js';
import { instantiate, type BuildName, type KernelExports } from '../src/wasm.js';
import { randomFloat32, randomLabels, rng } from './helpers.js';

const BUILD = (process.env.SCE_BUILD as BuildName | undefined) ?? 'simd';
const TOL = 1e-5;

let sce: SoftmaxCE;
beforeAll(async () => {
  sce = await init({ build: BUILD });
});

function expectClose(name: string, got: ArrayLike<number> | undefined, ref: ArrayLike<number> | undefined) {
  expect(got, name).toBeDefined();
  expect(got!.length, `${name} length`).toBe(ref!.length);
  let scale = 0;
  for (let i = 0; i < ref!.length; i++) scale = Math.max(scale, Math.abs(ref![i]));
  let worst = 0, at = -1;
  for (let i = 0; i < ref!.length; i++) {
    const err = Math.abs(got![i] - ref![i]);
    if (!(err <= worst)) { worst = err; at = i; }
  }
  expect(worst, `${name}: worst |error| at [${at}] got ${got![at]} want ${ref![at]}`)
    .toBeLessThanOrEqual(TOL * Math.max(scale, 1e-30));
}

// [n, d, c]
const SHAPES: [number, number, number][] = [
  // small: every dimension 1..5 around the 4-wide vectors and the 2-row tiles
  [1, 1, 1], [2, 4, 4], [3, 5, 3], [1, 3, 5], [5, 2, 7], [4, 8, 2], [2, 1, 9],
  // columns around 16 (nn/tn tile), 8 and 4 tails, and k % 4 for nt
  [3, 15, 16], [2, 16, 17], [5, 17, 15], [6, 31, 8], [7, 33, 12], [2, 47, 1], [3, 48, 6], [4, 49, 33],
  // k blocks of 256 (nn depth c, tn depth n), row blocks of 256 (tn rows c, nn rows n)
  [257, 19, 5], [256, 20, 256], [3, 21, 257], [300, 37, 300], [255, 64, 513], [513, 5, 3],
  // nt blocks: with d = 600 (599), A blocks of 108 rows (NT_A_FLOATS / 2d, in pairs) and B
  // blocks of 216 rows (NT_L2_FLOATS / 4d, in groups of 4); n and c past one block, with tails
  [5, 600, 111], [2, 599, 53], [9, 257, 200], [130, 600, 230], [111, 599, 221],
];

describe(`matmul tile and block edges through the API (${BUILD})`, () => {
  for (const [n, d, c] of SHAPES) {
    it(`n=${n} d=${d} c=${c}`, () => {
      const r = rng(n * 1_000_003 + d * 1009 + c);
      const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d, 0.5), b = randomFloat32(r, c);
      expectClose('linear', sce.linear({ x, w, b, n, d, c }), reference.linear({ x, w, b, n, d, c }));
      const target = randomLabels(r, n, c);
      const got = sce.linearCrossEntropy({ x, w, b, target, n, d, c, reduction: 'sum' });
      const want = reference.linearCrossEntropy({ x, w, b, target, n, d, c, reduction: 'sum' });
      expect(Math.abs((got.loss as number) - (want.loss as number))).toBeLessThanOrEqual(TOL * Math.abs(want.loss as number));
      expectClose('dx', got.dx, want.dx);
      expectClose('dw', got.dw, want.dw);
      expectClose('db', got.db, want.db);
    });
  }
});

describe(`matmul kernels: bitwise the same for any row split, packed or not (${BUILD})`, () => {
  let k: KernelExports;
  beforeAll(async () => {
    k = await instantiate(BUILD);
  });

  /** Runs f(rowBegin, rowEnd, scratch, scratchBytes) over `splits` and returns the output bits. */
  function run(out: number, outLen: number, splits: number[], scratch: number, bytes: number,
    f: (b: number, e: number, s: number, sb: number) => void): Uint32Array {
    new Float32Array(k.memory.buffer, out, outLen).fill(NaN);
    for (let i = 0; i + 1 < splits.length; i++) f(splits[i], splits[i + 1], scratch, bytes);
    return new Uint32Array(k.memory.buffer, out, outLen).slice();
  }

  for (const [m, n, depth] of [[37, 45, 300], [9, 70, 13], [300, 19, 6], [5, 3, 600], [131, 230, 599]] as const) {
    it(`m=${m} n=${n} k=${depth}`, () => {
      const r = rng(m + 7 * n + 31 * depth);
      const floats = 3 * m * n + 2 * (m + n) * depth + 4 * n + (1 << 20) / 4;
      const base = k.heap_base();
      const need = base + 4 * floats;
      if (need > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
      let at = base;
      const put = (data: Float32Array) => {
        const p = at;
        new Float32Array(k.memory.buffer, p, data.length).set(data);
        at += Math.ceil(data.length / 4) * 16;
        return p;
      };
      const a = put(randomFloat32(r, m * depth)), bt = put(randomFloat32(r, n * depth));
      const bias = put(randomFloat32(r, n)), c0 = put(randomFloat32(r, m * n));
      const out = put(new Float32Array(m * n)), scratch = at;
      const splits = [[0, m], [0, 1, m], [0, Math.floor(m / 2), m], [0, 3, 4, m]].filter((s) => s.every((v, i) => i === 0 || v > s[i - 1]));
      const cases: [string, number, (b: number, e: number, s: number, sb: number) => void][] = [
        ['nt', k.gemm_nt_f32_scratch(n, depth), (rb, re, s, sb) => k.gemm_nt_f32(out, n, a, depth, bt, depth, bias, n, depth, rb, re, s, sb)],
        // nn: A m×depth, B depth×n (bt read as depth×n), accumulating onto a copy of c0.
        ['nn', k.gemm_nn_f32_scratch(m, depth), (rb, re, s, sb) => {
          new Float32Array(k.memory.buffer, out + rb * n * 4, (re - rb) * n).set(new Float32Array(k.memory.buffer, c0 + rb * n * 4, (re - rb) * n));
          k.gemm_nn_f32(out, n, a, depth, bt, n, n, depth, rb, re, 1, s, sb);
        }],
        // tn: A depth×m (a read as depth×m), B depth×n.
        ['tn', k.gemm_tn_f32_scratch(m, depth), (rb, re, s, sb) => k.gemm_tn_f32(out, n, a, m, bt, n, n, depth, rb, re, 0, s, sb)],
      ];
      for (const [name, bytes, f] of cases) {
        const first = run(out, m * n, [0, m], 0, 0, f);
        for (const s of splits) {
          for (const sb of [0, bytes]) {
            const bits = run(out, m * n, s, scratch, sb, f);
            expect(Array.from(bits).findIndex((v, i) => v !== first[i]), `${name} split ${s} scratch ${sb}`).toBe(-1);
          }
        }
      }
    });
  }
});
