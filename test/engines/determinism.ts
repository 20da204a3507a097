/**
 * The cross-engine determinism cases: a fixed set of calls whose results, as bits, must be
 * the same on every engine (V8 in Node, Deno and Chromium; JavaScriptCore in Bun;
 * SpiderMonkey in Firefox) and for every thread count, on the simd build. Each case is
 * reduced to a fingerprint (FNV-1a over the 32-bit patterns of its float32 outputs and the
 * 64-bit patterns of its number losses); test/engines/fingerprints.json holds the expected
 * ones, and every engine and browser checks against that one file.
 *
 * Why the simd build: it has no operation whose rounding the engine may choose, so its
 * bits are fixed by the WebAssembly spec. The relaxed build's f32x4.relaxed_madd may be
 * fused (one rounding) or not (two), engine by engine; `fuses` finds out which, on a gemm
 * where a fused multiply-add rounds differently somewhere.
 *
 * Inputs come from mulberry32 (integer arithmetic and one exact division), so they are the
 * same bits everywhere; nothing here calls a Math function whose last bit an engine may
 * choose (Math.exp, Math.log…).
 */
import type * as Package from '../../src/index.js';
import type { SoftmaxCE, SoftmaxCEThreaded } from '../../src/index.js';
import { randomFloat32, randomLabels, randomProbs, rng } from '../helpers.js';

type Lib = Pick<typeof Package, 'init'>;
type Value = number | Float32Array | undefined;
type Api = SoftmaxCE | SoftmaxCEThreaded;

/** FNV-1a, 32-bit, over 32-bit words: float32 bit patterns, and a float64 as its two halves. */
export function fingerprint(values: Value[]): string {
  let h = 0x811c9dc5;
  const mix = (word: number) => {
    for (let s = 0; s < 32; s += 8) h = Math.imul(h ^ ((word >>> s) & 0xff), 0x01000193);
  };
  const f64 = new Float64Array(1), f64w = new Uint32Array(f64.buffer);
  for (const v of values) {
    if (v === undefined) { mix(0xdeadbeef); continue; }
    if (typeof v === 'number') {
      f64[0] = v;
      mix(f64w[0]); mix(f64w[1]);
      continue;
    }
    mix(v.length);
    const words = new Uint32Array(v.buffer, v.byteOffset, v.length);
    for (let i = 0; i < words.length; i++) mix(words[i]);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Each case: a name and the calls whose results it fingerprints (awaited, so it runs on a pool too). */
type Case = [string, (s: Api) => Promise<Value[]>];

function cases(): Case[] {
  const list: Case[] = [];
  // Shapes past every tile and block edge of the gemms (2×4, 2×16 tiles, k blocks of 256),
  // one long enough in c for the row kernel's tails, and the MNIST and a vocabulary-like head.
  const shapes: [number, number, number][] = [[37, 50, 101], [130, 65, 10], [64, 300, 1000], [32, 784, 10]];
  for (const [n, d, c] of shapes) {
    const r = rng(n * 100_003 + d * 1009 + c);
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d, 0.2), b = randomFloat32(r, c);
    const logits = randomFloat32(r, n * c, 8), probs = randomProbs(r, n, c), labels = randomLabels(r, n, c);
    const weight = Float32Array.from({ length: c }, () => 0.5 + r());
    const at = `${n}×${d}×${c}`;
    list.push([`linear ${at}`, async (s) => [await s.linear({ x, w, b, n, d, c })]]);
    list.push([`softmax, logSoftmax ${n}×${c}`, async (s) => [await s.softmax(logits, n, c), await s.logSoftmax(logits, n, c)]]);
    list.push([`crossEntropy labels, weight, ε=0.1 ${n}×${c}`, async (s) => {
      const { loss, dlogits } = await s.crossEntropy({ logits, target: labels, n, c, weight, labelSmoothing: 0.1 });
      return [loss as number, dlogits];
    }]);
    list.push([`crossEntropy probabilities, none ${n}×${c}`, async (s) => {
      const { loss, dlogits } = await s.crossEntropy({ logits, target: probs, n, c, reduction: 'none' });
      return [loss as Float32Array, dlogits];
    }]);
    list.push([`linearCrossEntropy labels ${at}`, async (s) => {
      const g = await s.linearCrossEntropy({ x, w, b, target: labels, n, d, c });
      return [g.loss as number, g.dx, g.dw, g.db];
    }]);
    list.push([`linearCrossEntropy probabilities, sum, chunk { rows: 8 } ${at}`, async (s) => {
      const g = await s.linearCrossEntropy({ x, w, b, target: probs, n, d, c, reduction: 'sum', chunk: { rows: 8 } });
      return [g.loss as number, g.dx, g.dw, g.db];
    }]);
    // The large-vocabulary options (added after the cases above, whose fingerprints predate
    // them and so show the plain path unchanged): tanh, the z-loss, lse, accuracy, the filter.
    list.push([`crossEntropy labels, softcap 5, zLoss 1e-3, lse, accuracy, none ${n}×${c}`, async (s) => {
      const g = await s.crossEntropy({ logits, target: labels, n, c, softcap: 5, zLoss: 1e-3, returnLse: true, returnAccuracy: true, reduction: 'none' });
      return [g.loss as Float32Array, g.dlogits, g.zLoss as Float32Array, g.lse, g.accuracy];
    }]);
    list.push([`linearCrossEntropy probabilities, softcap 2, zLoss 1e-2, ε=0.1 ${at}`, async (s) => {
      const g = await s.linearCrossEntropy({ x, w, b, target: probs, n, d, c, softcap: 2, zLoss: 1e-2, labelSmoothing: 0.1, returnLse: true });
      return [g.loss as number, g.zLoss as number, g.lse, g.dx, g.dw, g.db];
    }]);
    list.push([`linearCrossEntropy labels, gradFilter 2^-9, chunk { rows: 8 } ${at}`, async (s) => {
      const g = await s.linearCrossEntropy({ x, w, b, target: labels, n, d, c, gradFilter: 2 ** -9, chunk: { rows: 8 } });
      return [g.loss as number, g.skippedBlocks, g.dx, g.dw, g.db];
    }]);
  }
  // Hostile logits: exp's range reduction at both ends, and ±1e30 (every exp but one underflows).
  const n = 4, c = 37, target = new Int32Array([0, 5, 17, 36]);
  const r = rng(99);
  const hot = Float32Array.from({ length: n * c }, () => 90 + 10 * r());
  const huge = Float32Array.from({ length: n * c }, (_, k) => (k % 2 ? 1e30 : -1e30));
  for (const [name, logits] of [['in [90, 100]', hot], ['±1e30', huge]] as const) {
    list.push([`crossEntropy, logits ${name}`, async (s) => {
      const { loss, dlogits } = await s.crossEntropy({ logits, target, n, c });
      return [loss as number, dlogits, await s.softmax(logits, n, c)];
    }]);
  }
  return list;
}

export type Fingerprints = Record<string, string>;

/** Every case on `s`, fingerprinted. */
export async function fingerprints(s: Api): Promise<Fingerprints> {
  const out: Fingerprints = {};
  for (const [name, run] of cases()) out[name] = fingerprint(await run(s));
  return out;
}

/**
 * A 33×257×67 gemm (Z = X·Wᵀ, 257 products per element): with a fused multiply-add some
 * element almost surely rounds differently from a multiply then an add, so a relaxed build
 * whose result equals the simd build's did not fuse.
 */
export async function fmaProbe(s: Api): Promise<string> {
  const n = 33, d = 257, c = 67, r = rng(4242);
  const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d);
  return fingerprint([await s.linear({ x, w, n, d, c })]);
}

export interface DeterminismReport {
  /** The engine's builds ('relaxed' first where accepted). */
  supported: string[];
  /** Fingerprints on the simd build, one thread. */
  simd: Fingerprints;
  /** Per thread count asked (where threads ran): cases whose fingerprint differs from the one-thread run. */
  threads: { asked: number; threads: number; threadsNote: string | null; differing: string[] }[];
  /** Only where the engine accepts the relaxed build: whether its relaxed_madd fused (its gemm differs from simd's). */
  relaxedFuses: boolean | null;
  /** Where the engine accepts the relaxed build: its fingerprints (for the record; engines may differ). */
  relaxed: Fingerprints | null;
}

/**
 * The determinism cases on this engine: simd on one thread, then on pools of 2 and 3
 * threads (compared with the one-thread run; where the engine or page has no threads the
 * pool falls back and says so), and the relaxed build's FMA probe.
 */
export async function determinism({ init }: Lib, threadCounts: number[] = [2, 3]): Promise<DeterminismReport> {
  const simd = await init({ build: 'simd' });
  const one = await fingerprints(simd);
  const threads: DeterminismReport['threads'] = [];
  for (const asked of threadCounts) {
    const p = await init({ build: 'simd', threads: asked });
    try {
      const got = await fingerprints(p);
      threads.push({ asked, threads: p.info.threads, threadsNote: p.info.threadsNote ?? null,
        differing: Object.keys(one).filter((k) => got[k] !== one[k]) });
    } finally {
      p.dispose();
    }
  }
  const supported = [...simd.info.supported];
  let relaxedFuses: boolean | null = null, relaxed: Fingerprints | null = null;
  if (supported.includes('relaxed')) {
    const rx = await init({ build: 'relaxed' });
    relaxedFuses = (await fmaProbe(rx)) !== (await fmaProbe(simd));
    relaxed = await fingerprints(rx);
  }
  return { supported, simd: one, threads, relaxedFuses, relaxed };
}

/** Names of the cases whose fingerprint is not the expected one (missing or extra count too). */
export function mismatches(got: Fingerprints, want: Fingerprints): string[] {
  const names = new Set([...Object.keys(got), ...Object.keys(want)]);
  return [...names].filter((k) => got[k] !== want[k]).map((k) => `${k}: got ${got[k] ?? 'nothing'}, want ${want[k] ?? 'nothing'}`);
}
