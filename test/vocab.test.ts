/**
 * The large-vocabulary options in the WebAssembly kernels (README "Large-vocabulary
 * options"): softcap, zLoss, returnLse, returnAccuracy and gradFilter, on crossEntropy and
 * linearCrossEntropy, against PyTorch's numbers (test/fixtures/torch-vocab.json) and the
 * float64 reference (itself checked by finite differences and the same fixtures in
 * reference-vocab.test.ts), with every other option, chunked, and bitwise the same on 1–3
 * threads. Runs once per build (vitest.config.ts PER_BUILD).
 *
 * Tolerance: WASM_TOL = 1e-5 of each array's largest |value|, the bound the README states for
 * every kernel test (torch.test.ts derives it: each output is off by a few float32 roundings,
 * 2^-24 ≈ 6e-8 relative each). Softcap adds tanh's ≤ 1 ULP (assembly/tanh.ts) and two
 * roundings per capped logit, and the backward factor (1 − t)(1 + t)'s ≤ 3·2^-24
 * (assembly/softcap.ts): a few more units of 2^-24 of the logits, within the same bound.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, reference, type SoftmaxCE, type SoftmaxCEThreaded } from '../src/index.js';
import { instantiate } from '../src/wasm.js';
import { FILTER_CLASSES, LOSS_PARAM_NAMES, LOSS_PARAMS_BYTES } from '../src/kernels.js';
import { blockRows } from '../src/options.js';
import type { LossOptions, Target } from '../src/types.js';
import { randomFloat32, randomLabels, randomProbs, rng, type Rng } from './helpers.js';
import { expectMatch, value, type Num } from './expect-match.js';

const BUILD = (process.env.SCE_BUILD as 'simd' | 'relaxed' | undefined) ?? 'simd';
const WASM_TOL = 1e-5;

interface VocabCase {
  name: string; n: number; c: number; d?: number; targetKind: 'index' | 'probs';
  options: LossOptions & { weight?: number[] };
  logits?: Num[]; x?: number[]; w?: number[]; b?: number[]; target: number[];
  expected: { loss: Num | Num[]; dlogits?: Num[]; dx?: Num[]; dw?: Num[]; db?: Num[]; zLoss?: Num | Num[]; lse?: Num[]; accuracy?: Num };
}
const fixtures: { generator: string; crossEntropy: VocabCase[]; linearCrossEntropy: VocabCase[] } =
  JSON.parse(readFileSync(new URL('./fixtures/torch-vocab.json', import.meta.url), 'utf8'));


const bits = (a: Float32Array | undefined) => (a ? Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)) : a);

/**
 * Whether some row's two largest capped logits lie within `tol` of each other: the float32
 * kernel may then pick the other one as its prediction (the reference and torch decide in
 * float64), so accuracy is compared exactly only without such near-ties.
 */
function nearTie(z: ArrayLike<number>, n: number, c: number, cap: number, tol: number): boolean {
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: c }, (_, k) => (cap ? cap * Math.tanh(z[i * c + k] / cap) : z[i * c + k])).sort((a, b) => b - a);
    if (c > 1 && row[0] - row[1] <= tol * Math.max(1, Math.abs(row[0]))) return true;
  }
  return false;
}

let sce: SoftmaxCE;
const pools: SoftmaxCEThreaded[] = [];
beforeAll(async () => {
  sce = await init({ build: BUILD });
  for (const threads of [2, 3]) pools.push(await init({ build: BUILD, threads }));
});
afterAll(() => pools.forEach((p) => p.dispose()));

describe(`the loss parameter block (${BUILD})`, () => {
  it("src/kernels.ts LOSS_PARAMS has assembly/loss_params.ts's fields at their offsets", async () => {
    const k = await instantiate(BUILD);
    const at = k.heap_base();
    if (k.memory.buffer.byteLength < at + 256) k.memory.grow(1);
    const size = k.loss_params_offsets(at);
    expect(size).toBe(LOSS_PARAMS_BYTES);
    expect(Array.from(new Int32Array(k.memory.buffer, at, LOSS_PARAM_NAMES.length))).toEqual(LOSS_PARAM_NAMES.map((_, i) => 4 * i));
  });
});

describe(`PyTorch: softcap, z-loss, lse, accuracy through the kernels (${BUILD}; ${fixtures.generator})`, () => {
  const args = (k: VocabCase) => ({
    ...k.options, weight: k.options.weight ? Float32Array.from(k.options.weight) : undefined,
    target: (k.targetKind === 'probs' ? Float32Array.from(k.target) : Int32Array.from(k.target)) as Target, n: k.n, c: k.c,
  });
  const extras = (got: { zLoss?: number | Float32Array; lse?: Float32Array; accuracy?: number }, k: VocabCase, z: ArrayLike<number> | null) => {
    const e = k.expected;
    if (e.zLoss !== undefined) expectMatch(got.zLoss, e.zLoss, WASM_TOL, 'zLoss');
    else expect(got.zLoss, 'zLoss').toBeUndefined();
    if (e.lse !== undefined) expectMatch(got.lse, e.lse, WASM_TOL, 'lse');
    if (e.accuracy !== undefined && !(z && nearTie(z, k.n, k.c, k.options.softcap ?? 0, 1e-6))) {
      const want = value(e.accuracy);
      expect(got.accuracy, 'accuracy').toBe(want);
    }
  };
  for (const k of fixtures.crossEntropy) {
    it(`crossEntropy: ${k.name}`, () => {
      const logits = Float32Array.from(k.logits!.map(value));
      const got = sce.crossEntropy({ ...args(k), logits });
      expectMatch(got.loss, k.expected.loss, WASM_TOL, 'loss');
      // An ignored row holding a NaN: torch's dlogits is NaN there (0 − NaN·0), ours 0 by design.
      expectMatch(got.dlogits, k.expected.dlogits!, WASM_TOL, 'dlogits');
      extras(got, k, logits);
    });
  }
  for (const k of fixtures.linearCrossEntropy) {
    it(`linearCrossEntropy: ${k.name}`, () => {
      const x = Float32Array.from(k.x!), w = Float32Array.from(k.w!), b = Float32Array.from(k.b!);
      const got = sce.linearCrossEntropy({ ...args(k), d: k.d!, x, w, b });
      expectMatch(got.loss, k.expected.loss, WASM_TOL, 'loss');
      expectMatch(got.dx, k.expected.dx!, WASM_TOL, 'dx');
      expectMatch(got.dw, k.expected.dw!, WASM_TOL, 'dw');
      expectMatch(got.db, k.expected.db!, WASM_TOL, 'db');
      extras(got, k, reference.linear({ x, w, b, n: k.n, d: k.d!, c: k.c }));
    });
  }
});

// ------------------------------------------------------------------ against the reference

interface Case { n: number; d: number; c: number; kind: 'index' | 'probs'; options: LossOptions & { chunk?: { rows: number }; inputGrad?: boolean } }

/** Shapes 1, primes and sizes off the tiles (4 lanes, 2×16 tiles, 32-class filter blocks, 256 k blocks). */
const SHAPES: [number, number, number][] = [[1, 1, 1], [1, 3, 2], [2, 1, 5], [3, 7, 31], [5, 13, 33], [7, 17, 64], [13, 5, 97], [17, 9, 257], [33, 3, 130]];
const OPTION_SETS: LossOptions[] = [
  { softcap: 2 }, { softcap: 30, zLoss: 1e-4 }, { zLoss: 0.05, labelSmoothing: 0.1 }, { zLoss: 0 },
  { softcap: 1.5, zLoss: 0.01, returnLse: true, returnAccuracy: true, reduction: 'sum' },
  { softcap: 4, returnLse: true, reduction: 'none', labelSmoothing: 0.2 }, { returnAccuracy: true, returnLse: true },
  { zLoss: 1e-3, reduction: 'none', returnAccuracy: true },
];

function data(r: Rng, k: Case) {
  const { n, d, c } = k;
  const x = randomFloat32(r, n * d, 1), w = randomFloat32(r, c * d, 3), b = randomFloat32(r, c, 0.5);
  let target: Target;
  if (k.kind === 'probs') target = randomProbs(r, n, c);
  else {
    const labels = randomLabels(r, n, c);
    if (n > 2) labels[1] = -100; // an ignored row
    target = labels;
  }
  const weight = c > 2 ? Float32Array.from({ length: c }, () => 0.5 + r()) : undefined;
  return { x, w, b, target, weight };
}

function cases(): Case[] {
  const out: Case[] = [];
  let i = 0;
  for (const [n, d, c] of SHAPES) {
    for (const options of OPTION_SETS) {
      const kind = i % 3 === 2 ? 'probs' : 'index';
      const extra: Case['options'] = i % 4 === 1 ? { chunk: { rows: 4 } } : i % 5 === 2 ? { inputGrad: false } : {};
      out.push({ n, d, c, kind, options: { ...options, ...extra } });
      i++;
    }
  }
  return out;
}

describe(`the kernels agree with the float64 reference on every option (${BUILD})`, () => {
  for (const k of cases()) {
    const label = `${k.n}×${k.d}×${k.c} ${k.kind} ${JSON.stringify(k.options)}`;
    it(label, async () => {
      const r = rng(k.n * 1000 + k.c * 7 + k.d);
      const { x, w, b, target, weight } = data(r, k);
      const withWeight = (k.c % 2 === 1 && weight) ? { weight } : {};
      const args = { x, w, b, target, n: k.n, d: k.d, c: k.c, ...k.options, ...withWeight };
      const got = sce.linearCrossEntropy(args), want = reference.linearCrossEntropy(args);
      expectMatch(got.loss, typeof want.loss === 'number' ? want.loss : Array.from(want.loss), WASM_TOL, 'loss');
      if (k.options.inputGrad !== false) expectMatch(got.dx, want.dx!, WASM_TOL, 'dx');
      else expect(got.dx).toBeUndefined();
      expectMatch(got.dw, want.dw!, WASM_TOL, 'dw');
      expectMatch(got.db, want.db!, WASM_TOL, 'db');
      if (k.options.zLoss !== undefined) expectMatch(got.zLoss, typeof want.zLoss === 'number' ? want.zLoss : Array.from(want.zLoss!), WASM_TOL, 'zLoss');
      else expect(got.zLoss).toBeUndefined();
      if (k.options.returnLse) expectMatch(got.lse, want.lse!, WASM_TOL, 'lse');
      else expect(got.lse).toBeUndefined();
      const z = reference.linear({ x, w, b, n: k.n, d: k.d, c: k.c });
      if (k.options.returnAccuracy && !nearTie(z, k.n, k.c, k.options.softcap ?? 0, 1e-5)) expect(got.accuracy).toBe(want.accuracy);

      // crossEntropy on the same logits (rounded to float32), in place and not.
      const logits = Float32Array.from(z);
      const { chunk: _c, inputGrad: _i, ...lossOptions } = k.options;
      const ce = sce.crossEntropy({ logits, target, n: k.n, c: k.c, ...lossOptions, ...withWeight });
      const ceRef = reference.crossEntropy({ logits, target, n: k.n, c: k.c, ...lossOptions, ...withWeight });
      expectMatch(ce.dlogits, ceRef.dlogits!, WASM_TOL, 'dlogits');
      if (k.options.returnLse) expectMatch(ce.lse, ceRef.lse!, WASM_TOL, 'crossEntropy lse');

      // Every thread count gives the same bits.
      for (const p of pools) {
        const t = await p.linearCrossEntropy(args);
        expect(bits(t.dw), `dw, ${p.info.threads} threads`).toEqual(bits(got.dw));
        expect(bits(t.dx)).toEqual(bits(got.dx));
        expect(bits(t.db)).toEqual(bits(got.db));
        expect(t.loss).toEqual(got.loss);
        expect(t.zLoss).toEqual(got.zLoss);
        expect(bits(t.lse)).toEqual(bits(got.lse));
        expect(t.accuracy).toEqual(got.accuracy);
      }
    });
  }

  it('a logits tensor with softcap and grad false is capped in scratch and left unchanged', () => {
    const r = rng(11), n = 5, c = 37;
    const data = randomFloat32(r, n * c, 20), target = randomLabels(r, n, c);
    const t = sce.tensor(data);
    const got = sce.crossEntropy({ logits: t, target, n, c, softcap: 5, grad: false, returnLse: true });
    const want = reference.crossEntropy({ logits: data, target, n, c, softcap: 5, grad: false, returnLse: true });
    expect(bits(t.array())).toEqual(bits(data));
    expectMatch(got.loss, want.loss as number, WASM_TOL, 'loss');
    expectMatch(got.lse, want.lse!, WASM_TOL, 'lse');
    // In place: out.dlogits is the logits tensor, capped then overwritten by the gradient.
    const inPlace = sce.crossEntropy({ logits: t, target, n, c, softcap: 5, out: { dlogits: t } });
    expect(inPlace.dlogits).toBeUndefined();
    expectMatch(t.array(), reference.crossEntropy({ logits: data, target, n, c, softcap: 5 }).dlogits!, WASM_TOL, 'dlogits in place');
    t.free();
  });
});

describe(`a z-loss λ below float32's range (${BUILD})`, () => {
  it('is no z-loss (λ rounds to 0 in the parameter block): zLoss 0, the loss as without it, on the pool too', async () => {
    // The fuzz found this: the kernels skipped the z-loss column while TypeScript read it.
    const r = rng(21), n = 9, d = 4, c = 19;
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), target = randomLabels(r, n, c);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const plain = sce.linearCrossEntropy({ x, w, target, n, d, c, reduction, grad: false });
      for (const api of [sce, ...pools]) {
        // The same call with λ = 1 first leaves nonzero z-losses where the rows' records lie.
        await api.linearCrossEntropy({ x, w, target, n, d, c, reduction, grad: false, zLoss: 1, returnLse: true });
        const tiny = await api.linearCrossEntropy({ x, w, target, n, d, c, reduction, grad: false, zLoss: 1e-300 });
        expect(tiny.loss).toEqual(plain.loss);
        expect(tiny.zLoss).toEqual(reduction === 'none' ? new Float32Array(n) : 0);
      }
    }
  });
});

// ------------------------------------------------------------------ gradFilter

/**
 * A peaked (trained-like) head: each row's label logit far above the rest, so most class
 * blocks hold only |dZ| ≪ ε. `spread` sets the other logits' scale.
 */
function peaked(r: Rng, n: number, d: number, c: number, labelsOver = c) {
  const target = randomLabels(r, n, labelsOver);
  const x = randomFloat32(r, n * d, 1);
  const w = randomFloat32(r, c * d, 0.05);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) w[target[i] * d + j] += 3 * x[i * d + j];
  return { x, w, target };
}

/**
 * An ε·g whose distance to every block's largest |dZ| (of the reference's unfiltered dZ) is
 * at least a factor 1.5: the float32 kernel, whose dZ is within 1e-5 relative plus 2^-100 of
 * the reference's, then decides every block as the reference does.
 */
function clearThreshold(dz: Float64Array, rowsPerBlock: number, n: number, c: number, scale: number): number | null {
  const maxima: number[] = [];
  for (let r0 = 0; r0 < n; r0 += rowsPerBlock)
    for (let k0 = 0; k0 < c; k0 += FILTER_CLASSES) {
      let m = 0;
      for (let i = r0; i < Math.min(n, r0 + rowsPerBlock); i++) for (let k = k0; k < Math.min(c, k0 + FILTER_CLASSES); k++) m = Math.max(m, Math.abs(dz[i * c + k]));
      maxima.push(m);
    }
  const sorted = maxima.filter((m) => m > 0).sort((a, b) => a - b);
  // The widest gap (in ratio) among the blocks' maxima; its geometric middle.
  let best: number | null = null, ratio = 2.25;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] / sorted[i - 1] >= ratio) { ratio = sorted[i] / sorted[i - 1]; best = Math.sqrt(sorted[i] * sorted[i - 1]); }
  }
  return best === null ? null : best / scale;
}

describe(`gradFilter (${BUILD})`, () => {
  const SETS: (LossOptions & { chunk?: { rows: number }; inputGrad?: boolean })[] = [
    {}, { reduction: 'sum' }, { chunk: { rows: 8 } }, { softcap: 6, zLoss: 1e-3 }, { labelSmoothing: 1e-4, inputGrad: false },
    { reduction: 'none', chunk: { rows: 12 }, returnAccuracy: true },
  ];
  for (const [n, d, c] of [[24, 16, 333], [9, 5, 1000], [40, 8, 97]] as const) {
    for (const options of SETS) {
      it(`${n}×${d}×${c} ${JSON.stringify(options)}: the blocks the reference skips, dZ zeroed there, dW dX db of the filtered dZ; bitwise on threads`, async () => {
        const r = rng(n * 31 + c);
        const { x, w, target } = peaked(r, n, d, c, Math.min(c, 60));
        target[2] = -100;
        const base = { x, w, target, n, d, c, ...options };
        const rows = blockRows('test', options.chunk, n, c);
        const plain = reference.linearCrossEntropy(base);
        const logits = Float32Array.from(reference.linear({ x, w, n, d, c }));
        const { chunk: _c, inputGrad: _i, ...lossOptions } = options;
        const dz = reference.crossEntropy({ logits, target, n, c, ...lossOptions }).dlogits!;
        const kept = Array.from(target).filter((y) => y !== -100).length;
        const g = options.reduction === 'sum' || options.reduction === 'none' ? 1 : 1 / kept;
        const eps = clearThreshold(dz, rows, n, c, g);
        expect(eps, 'a threshold clear of every block').not.toBeNull();
        const args = { ...base, gradFilter: eps! };
        const got = sce.linearCrossEntropy(args), want = reference.linearCrossEntropy(args);
        expect(want.skippedBlocks!, 'the data lets blocks be skipped').toBeGreaterThan(0);
        expect(got.blocks).toBe(Math.ceil(n / rows) * Math.ceil(c / FILTER_CLASSES));
        expect(got.skippedBlocks).toBe(want.skippedBlocks);
        if (options.inputGrad !== false) expectMatch(got.dx, want.dx!, WASM_TOL, 'dx');
        expectMatch(got.dw, want.dw!, WASM_TOL, 'dw');
        // The filter changed the gradients by more than the tolerance (so the test sees it)…
        const change = Math.max(...want.dw!.map((v, i) => Math.abs(v - plain.dw![i])));
        expect(change).toBeGreaterThan(0);
        // …and the loss not at all.
        expect(got.loss).toEqual(sce.linearCrossEntropy(base).loss);
        for (const p of pools) {
          const t = await p.linearCrossEntropy(args);
          expect(t.skippedBlocks).toBe(got.skippedBlocks);
          expect(bits(t.dw), `${p.info.threads} threads`).toEqual(bits(got.dw));
          expect(bits(t.dx)).toEqual(bits(got.dx));
        }
        // crossEntropy: the n rows are one row block; skipped blocks of dlogits are 0.
        const ceEps = clearThreshold(dz, n, n, c, g);
        if (ceEps !== null) {
          const ce = sce.crossEntropy({ logits, target, n, c, ...lossOptions, gradFilter: ceEps });
          const ceWant = reference.crossEntropy({ logits, target, n, c, ...lossOptions, gradFilter: ceEps });
          expect(ce.skippedBlocks).toBe(ceWant.skippedBlocks);
          expect(ce.blocks).toBe(Math.ceil(c / FILTER_CLASSES));
          for (let k = 0; k < n * c; k++) if (ceWant.dlogits![k] === 0) expect(ce.dlogits![k], `dlogits[${k}]`).toBe(0);
          expectMatch(ce.dlogits, ceWant.dlogits!, WASM_TOL, 'dlogits');
          const t = await pools[0].crossEntropy({ logits, target, n, c, ...lossOptions, gradFilter: ceEps });
          expect(bits(t.dlogits)).toEqual(bits(ce.dlogits));
        }
      });
    }
  }

  it('skips nothing on flat logits, or when the scale is NaN (kept rows of weight 0) or 0 (every row ignored)', () => {
    const r = rng(3), n = 8, d = 4, c = 100;
    const x = randomFloat32(r, n * d, 0.1), w = randomFloat32(r, c * d, 0.1), target = randomLabels(r, n, c);
    const flat = sce.linearCrossEntropy({ x, w, target, n, d, c, gradFilter: 2 ** -12 });
    expect(flat.skippedBlocks).toBe(0);
    expect(flat.blocks).toBe(Math.ceil(c / 32));
    const weight = new Float32Array(c); // every kept row weighs 0: 'mean' is 0/0
    const nan = sce.linearCrossEntropy({ x, w, target, n, d, c, weight, gradFilter: 1e30 });
    expect(nan.skippedBlocks).toBe(0);
    const ignored = sce.linearCrossEntropy({ x, w, target: new Int32Array(n).fill(-100), n, d, c, gradFilter: 1e30 });
    expect(ignored.skippedBlocks).toBe(0);
    expect(Array.from(ignored.dw!).every((v) => v === 0)).toBe(true);
  });

  it('a huge ε skips every block: dW and dX are 0, db too (the filtered dZ is 0), the loss unchanged', () => {
    const r = rng(4), n = 6, d = 5, c = 70;
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c), target = randomLabels(r, n, c);
    const all = sce.linearCrossEntropy({ x, w, b, target, n, d, c, gradFilter: 1e9 });
    expect(all.skippedBlocks).toBe(all.blocks);
    for (const a of [all.dw!, all.dx!, all.db!]) expect(Array.from(a).every((v) => v === 0)).toBe(true);
    expect(all.loss).toBe(sce.linearCrossEntropy({ x, w, b, target, n, d, c }).loss);
    // Accumulating out tensors are written, not left alone: dW and db are overwritten with 0.
    const dw = sce.tensor(c * d), db = sce.tensor(c);
    dw.write(new Float32Array(c * d).fill(7));
    sce.linearCrossEntropy({ x, w, b, target, n, d, c, gradFilter: 1e9, chunk: { rows: 4 }, out: { dw, db } });
    expect(Array.from(dw.array()).every((v) => v === 0)).toBe(true);
    expect(Array.from(db.array()).every((v) => v === 0)).toBe(true);
    dw.free();
    db.free();
  });

  it('gradFilter 0 is off: no counts, the same bits as without it', () => {
    const r = rng(5), n = 7, d = 3, c = 50;
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), target = randomLabels(r, n, c);
    const off = sce.linearCrossEntropy({ x, w, target, n, d, c, gradFilter: 0 });
    const none = sce.linearCrossEntropy({ x, w, target, n, d, c });
    expect(off.skippedBlocks).toBeUndefined();
    expect(off.blocks).toBeUndefined();
    expect(bits(off.dw)).toEqual(bits(none.dw));
  });
});

describe(`bad values are errors in the API too (${BUILD})`, () => {
  const n = 2, c = 3, logits = new Float32Array(n * c), target = Int32Array.from([0, 1]);
  const bad: [Partial<LossOptions>, RegExp][] = [
    [{ softcap: 0 }, /softcap/], [{ softcap: -1 }, /softcap/], [{ softcap: Infinity }, /softcap/], [{ zLoss: -1 }, /zLoss/],
    [{ zLoss: NaN }, /zLoss/], [{ gradFilter: -1 }, /gradFilter/], [{ gradFilter: 1e-3, grad: false }, /gradFilter.*grad/],
    [{ returnLse: 1 as unknown as boolean }, /returnLse/], [{ returnAccuracy: 'yes' as unknown as boolean }, /returnAccuracy/],
  ];
  for (const [options, message] of bad) {
    it(JSON.stringify(options), async () => {
      expect(() => sce.crossEntropy({ logits, target, n, c, ...options })).toThrow(message);
      expect(() => sce.linearCrossEntropy({ x: new Float32Array(n), w: new Float32Array(c), target, n, d: 1, c, ...options })).toThrow(message);
      await expect(pools[0].crossEntropy({ logits, target, n, c, ...options })).rejects.toThrow(message);
    });
  }
  it('misspelt option names are unknown options', () => {
    for (const name of ['softCap', 'z_loss', 'lse_square_scale', 'returnLSE', 'filterEps', 'return_token_accuracy']) {
      expect(() => sce.crossEntropy({ logits, target, n, c, [name]: 1 } as never)).toThrow(new RegExp(`unknown option '${name}'`));
    }
  });
});

