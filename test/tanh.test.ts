/**
 * The kernels' SIMD tanh (assembly/tanh.ts, tanhf4) against Math.tanh, through the test-only
 * export tanh_f32, on both builds. The bound asserted is the one stated in tanh.ts's header:
 * ≤ 1 ULP of the float32 result (so within one float32 of Math.tanh rounded to float32), over
 * every float32 in [0, 20] at a stride of 61 bit patterns, every float32 within 2^16 bit
 * patterns of the 0.55 switch point and of the saturation to 1 (≈ 9.01), and the special
 * values; the negatives of all of them give the negated results bit for bit; |t| ≤ 1; and the
 * simd and relaxed builds agree bit for bit (tanh.ts uses no madd). Math.tanh is a double
 * result, far more accurate than a float32 ULP.
 *
 * This file runs in the 'simd' project only (vitest.config.ts); on an engine without relaxed
 * SIMD by default (Node 20) the relaxed build runs in a child Node with
 * --experimental-wasm-relaxed-simd, through the package's init({ build: 'relaxed' }).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { instantiate, supports, type KernelExports } from '../src/wasm.js';

/** The bound stated in assembly/tanh.ts's header. */
const BOUND_ULP = 1;

/** The float32 ULP at |v| (subnormal spacing below 2^-126). */
function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  return 2 ** (e - 23);
}

const f32Bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

/** The float32 inputs ≥ 0 (and NaN): the strided sweep, the two windows, the special values. */
function inputs(): Float32Array {
  const special = [0, 2 ** -149, 2 ** -140, 2 ** -126 - 2 ** -149, 2 ** -126, 1e-30, 1e-10, 2 ** -12, 1e-3, 0.1, 0.5,
    0.5493061, 0.55, 0.6, 1, 2, 3, 8, 9, 9.010913, 9.1, 10, 10.5, 15, 20, 88, 100, 1e10, 1e30, 3.4028235e38,
    Infinity, NaN];
  const top = f32Bits(20), stride = 61;
  const windows = [f32Bits(0.55), f32Bits(9.010913)];
  const n = Math.floor(top / stride) + 1;
  const bits = new Uint32Array(n + windows.length * (2 << 16) + special.length);
  let j = 0;
  for (let i = 0; i < n; i++) bits[j++] = i * stride;
  for (const w of windows) for (let d = -(1 << 16); d < 1 << 16; d++) bits[j++] = w + d;
  const out = new Float32Array(bits.buffer);
  for (const v of special) out[j++] = v;
  return out;
}

/** tanh_f32 over xs in this process's instance. */
function wasmTanh(k: KernelExports, xs: Float32Array): Float32Array {
  const base = k.heap_base(), bytes = xs.length * 4;
  const need = base + 2 * bytes + 64;
  if (need > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const px = base, pout = base + bytes;
  new Float32Array(k.memory.buffer, px, xs.length).set(xs);
  k.tanh_f32(pout, px, xs.length);
  return new Float32Array(k.memory.buffer, pout, xs.length).slice();
}

/** tanh_f32 over xs on the relaxed build, in a child Node when this engine needs the flag. */
async function relaxedTanh(xs: Float32Array): Promise<Float32Array> {
  if (supports('relaxed')) return wasmTanh(await instantiate('relaxed'), xs);
  const dir = mkdtempSync(join(tmpdir(), 'sce-tanh-'));
  try {
    writeFileSync(join(dir, 'x.bin'), new Uint8Array(xs.buffer, xs.byteOffset, xs.byteLength));
    const lib = pathToFileURL(join(import.meta.dirname, '../build/index.js')).href;
    const script = `
      import { readFileSync, writeFileSync } from 'node:fs';
      const { init } = await import(${JSON.stringify(lib)});
      const s = await init({ build: 'relaxed' });
      if (s.info.build !== 'relaxed') throw new Error('got build ' + s.info.build);
      const b = readFileSync(process.argv[1]);
      const x = s.tensor(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
      const out = s.tensor(x.length);
      s.internals.kernels.tanh_f32(out.ptr, x.ptr, x.length);
      writeFileSync(process.argv[2], out.read());`;
    execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script,
      join(dir, 'x.bin'), join(dir, 'out.bin')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const b = readFileSync(join(dir, 'out.bin'));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SIMD tanh (simd and relaxed builds)', () => {
  const xs = inputs();
  const neg = xs.map((v) => -v);
  let kSimd: KernelExports, simd: Float32Array, simdNeg: Float32Array, relaxed: Float32Array, relaxedNeg: Float32Array;

  beforeAll(async () => {
    kSimd = await instantiate('simd');
    simd = wasmTanh(kSimd, xs);
    simdNeg = wasmTanh(kSimd, neg);
    const both = new Float32Array(2 * xs.length);
    both.set(xs);
    both.set(neg, xs.length);
    const r = await relaxedTanh(both);
    relaxed = r.subarray(0, xs.length);
    relaxedNeg = r.subarray(xs.length);
  });

  it(`dense sweep of [0, 20]: ≤ ${BOUND_ULP} ULP on both builds, within one float32 of Math.tanh rounded`, () => {
    for (const [name, got] of [['simd', simd], ['relaxed', relaxed]] as const) {
      let worst = 0, at = 0, worstSmall = 0, worstLarge = 0;
      for (let i = 0; i < xs.length; i++) {
        const x = xs[i];
        if (Number.isNaN(x)) continue;
        const want = Math.tanh(x), u = Math.abs(got[i] - want) / ulp32(want);
        if (u > worst) { worst = u; at = x; }
        if (x < Math.fround(0.55)) worstSmall = Math.max(worstSmall, u);
        else worstLarge = Math.max(worstLarge, u);
        // Faithful rounding: the result is the float32 nearest tanh x or its neighbour.
        const ulpsFromRounded = Math.abs(got[i] - Math.fround(want)) / ulp32(Math.fround(want));
        if (ulpsFromRounded > 1) expect.fail(`${name}: tanh(${x}) = ${got[i]}, Math.tanh rounded ${Math.fround(want)}`);
      }
      console.log(`tanh ${name}: ${xs.length} inputs, max ${worst.toFixed(4)} ULP at x = ${at} ` +
        `(below 0.55: ${worstSmall.toFixed(4)}, from 0.55 on: ${worstLarge.toFixed(4)})`);
      expect(worst, `${name}: worst at x = ${at}`).toBeLessThanOrEqual(BOUND_ULP);
    }
  });

  it('odd symmetry bit for bit, |t| ≤ 1, and the special values', () => {
    const bits = new Uint32Array(simd.buffer), negBits = new Uint32Array(simdNeg.buffer);
    for (let i = 0; i < xs.length; i++) {
      if (Number.isNaN(xs[i])) continue;
      if (negBits[i] !== ((bits[i] ^ 0x80000000) >>> 0)) {
        expect.fail(`tanh(−${xs[i]}) = ${simdNeg[i]}, tanh(${xs[i]}) = ${simd[i]}`);
      }
      if (!(Math.abs(simd[i]) <= 1)) expect.fail(`|tanh(${xs[i]})| = ${Math.abs(simd[i])} > 1`);
    }
    const at = (x: number) => wasmTanh(kSimd, new Float32Array([x]))[0];
    expect(Object.is(at(0), 0)).toBe(true);
    expect(Object.is(at(-0), -0)).toBe(true);
    expect(at(Infinity)).toBe(1);
    expect(at(-Infinity)).toBe(-1);
    expect(at(NaN)).toBeNaN();
    expect(at(-NaN)).toBeNaN();
    // Subnormals and tiny values: tanh x = x exactly.
    for (const x of [2 ** -149, -(2 ** -149), 2 ** -130, 1e-30, -1e-20, 2 ** -13]) expect(at(x)).toBe(Math.fround(x));
    // From where tanh rounds to 1 (≈ 9.01) on, exactly ±1.
    for (const x of [9.1, 10, 10.5, 20, 1e10, 3.4028235e38]) {
      expect(at(x)).toBe(1);
      expect(at(-x)).toBe(-1);
    }
  });

  it('the simd and relaxed builds give the same bits (plain mul/add, no madd)', () => {
    const a = new Uint32Array(simd.buffer), b = new Uint32Array(relaxed.slice().buffer);
    const an = new Uint32Array(simdNeg.buffer), bn = new Uint32Array(relaxedNeg.slice().buffer);
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] || an[i] !== bn[i]) differ++;
    expect(differ).toBe(0);
  });

  it('every length\'s tail (1, 2, 3 lanes after whole vectors) gives the same values', () => {
    const x = new Float32Array([0.1, -0.7, 2.5, -9.5, 0.549, 0.551, -0, 30, NaN, -3]);
    const full = wasmTanh(kSimd, x);
    for (let len = 1; len <= x.length; len++) {
      const part = wasmTanh(kSimd, x.subarray(0, len));
      for (let i = 0; i < len; i++) expect(Object.is(part[i], full[i])).toBe(true);
    }
  });
});
