/**
 * No silent surprises (issue 13): every public call rejects options it does not know, on
 * the WASM API, the pool and the reference alike; the reference takes inputGrad; the
 * weight-0 'mean' with label smoothing is NaN as in PyTorch; init() rejects unknown options,
 * types a variable of InitOptions, and with maxMemory fails a call that cannot grow memory
 * with a RangeError that leaves everything as it was.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, reference, type SoftmaxCE, type SoftmaxCEThreaded } from '../src/index.js';
import { randomFloat32, randomLabels, rng } from './helpers.js';

let sce: SoftmaxCE;
let pool: SoftmaxCEThreaded;
beforeAll(async () => {
  sce = await init({ build: 'simd' });
  pool = await init({ build: 'simd', threads: 2 });
});
afterAll(() => pool.dispose());

const n = 4, d = 3, c = 5, r = rng(13);
const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
const target = randomLabels(r, n, c), logits = randomFloat32(r, n * c, 3);

describe('unknown options are rejected, not ignored', () => {
  // PyTorch spellings and near-misses that used to change the result without a word.
  const lce = { x, w, b, target, n, d, c };
  const ce = { logits, target, n, c };
  const cases: [string, Record<string, unknown>, string][] = [
    ['linearCrossEntropy', { ...lce, label_smoothing: 0.5 }, 'label_smoothing'],
    ['linearCrossEntropy', { ...lce, reduce: 'sum' }, 'reduce'],
    ['linearCrossEntropy', { ...lce, weights: new Float32Array(c) }, 'weights'],
    ['linearCrossEntropy', { ...lce, ignore_index: 1 }, 'ignore_index'],
    ['crossEntropy', { ...ce, label_smoothing: 0.5 }, 'label_smoothing'],
    ['crossEntropy', { ...ce, chunk: true }, 'chunk'],
    ['linear', { x, w, b, n, d, c, bias: b }, 'bias'],
    ['linear', { x, w, n, d, c, target }, 'target'],
  ];
  for (const [fn, args, key] of cases) {
    it(`${fn}({ ${key} }) throws on the API, the pool and the reference`, async () => {
      const message = new RegExp(`${fn}: unknown option '${key}'`);
      const call = (api: Record<string, (a: unknown) => unknown>) => api[fn](args);
      expect(() => call(sce as never)).toThrow(message);
      await expect(call(pool as never) as Promise<unknown>).rejects.toThrow(message);
      expect(() => call(reference as never)).toThrow(message);
    });
  }

  it("out: { dW } (a typo for dw) throws instead of returning dw and leaving the tensor untouched", async () => {
    const dW = sce.tensor(c * d);
    expect(() => sce.linearCrossEntropy({ x, w, target, n, d, c, out: { dW } as never })).toThrow(/unknown out key 'dW' \(known: dx, dw, db\)/);
    expect(() => sce.crossEntropy({ logits, target, n, c, out: { dz: dW } as never })).toThrow(/unknown out key 'dz' \(known: dlogits\)/);
    expect(() => sce.linearCrossEntropy({ x, w, target, n, d, c, out: 3 as never })).toThrow(/out must be an object of tensors, got number/);
    const pdW = pool.tensor(c * d);
    await expect(pool.linearCrossEntropy({ x, w, target, n, d, c, out: { dW: pdW } as never })).rejects.toThrow(/unknown out key 'dW'/);
    expect(() => reference.linearCrossEntropy({ x, w, target, n, d, c, out: {} })).toThrow(/unknown option 'out'/);
    expect(Array.from(dW.read()).every((v) => v === 0)).toBe(true);
    dW.free();
    pdW.free();
  });

  it('an out tensor the call would never write throws (grad false, inputGrad false, db without b)', async () => {
    const t = sce.tensor(n * d), tw = sce.tensor(c * d), tb = sce.tensor(c), tz = sce.tensor(n * c);
    const cases: [() => unknown, RegExp][] = [
      [() => sce.linearCrossEntropy({ x, w, b, target, n, d, c, grad: false, out: { dw: tw } }), /out\.dw would never be written: grad is false/],
      [() => sce.linearCrossEntropy({ x, w, b, target, n, d, c, grad: false, out: { db: tb } }), /out\.db would never be written: grad is false/],
      [() => sce.linearCrossEntropy({ x, w, b, target, n, d, c, inputGrad: false, out: { dx: t } }), /out\.dx would never be written: inputGrad is false/],
      [() => sce.linearCrossEntropy({ x, w, target, n, d, c, out: { db: tb } }), /out\.db would never be written: no b is given/],
      [() => sce.crossEntropy({ logits, target, n, c, grad: false, out: { dlogits: tz } }), /out\.dlogits would never be written: grad is false/],
    ];
    for (const [f, message] of cases) expect(f).toThrow(message);
    const ptw = pool.tensor(c * d);
    await expect(pool.linearCrossEntropy({ x, w, b, target, n, d, c, grad: false, out: { dw: ptw } })).rejects.toThrow(/out\.dw would never be written/);
    // Written outs still work: the same calls with grad on fill them.
    sce.linearCrossEntropy({ x, w, b, target, n, d, c, out: { dw: tw, db: tb } });
    expect(Array.from(tw.read()).some((v) => v !== 0)).toBe(true);
    for (const u of [t, tw, tb, tz, ptw]) u.free();
  });

  it('chunk takes { rows } and nothing else, on both sides', () => {
    for (const api of [sce, reference] as const) {
      expect(() => api.linearCrossEntropy({ x, w, target, n, d, c, chunk: { rows: 2, row: 1 } as never })).toThrow(/unknown chunk key 'row'/);
      expect(() => api.linearCrossEntropy({ x, w, target, n, d, c, chunk: { rows: 0 } })).toThrow(/chunk must be 'auto', true, false or \{ rows/);
    }
  });

  it('classifier() rejects unknown options (fit already did)', () => {
    expect(() => sce.classifier({ inputs: 3, classes: 2, seeds: 1 } as never)).toThrow(/classifier: unknown option 'seeds'/);
    expect(() => sce.classifier({ inputs: 3, classes: 2, learningRate: 0.1 } as never)).toThrow(/unknown option 'learningRate'/);
  });

  it("init({ thread: 4 }) throws instead of giving one thread", async () => {
    await expect(init({ thread: 4 } as never)).rejects.toThrow(/init: unknown option 'thread' \(known: build, threads, callerComputes, maxMemory\)/);
    await expect(init(null as never)).rejects.toThrow(/init: options must be an object/);
  });
});

describe('the reference takes the API arguments with the same meaning', () => {
  it('inputGrad: false leaves dx out, and the rest is unchanged', () => {
    const all = reference.linearCrossEntropy({ x, w, b, target, n, d, c });
    const some = reference.linearCrossEntropy({ x, w, b, target, n, d, c, inputGrad: false });
    expect(some.dx).toBeUndefined();
    expect(some.loss).toBe(all.loss);
    expect(Array.from(some.dw!)).toEqual(Array.from(all.dw!));
    expect(Array.from(some.db!)).toEqual(Array.from(all.db!));
    expect(Object.keys(some).sort()).toEqual(Object.keys(sce.linearCrossEntropy({ x, w, b, target, n, d, c, inputGrad: false })).sort());
    expect(() => reference.linearCrossEntropy({ x, w, target, n, d, c, inputGrad: 0 as never })).toThrow(/inputGrad must be a boolean/);
  });
});

describe("'mean' when every kept row has class weight 0", () => {
  // PyTorch's nll term is 0/0 = NaN; with label smoothing the smoothing term is positive/0,
  // and NaN + ∞ is NaN, never +Infinity.
  const weight = new Float32Array([0, 0, 1, 1, 1]);
  const zeroTarget = new Int32Array([0, 1, -100, 0]);
  for (const labelSmoothing of [0, 0.1, 1]) {
    it(`labelSmoothing ${labelSmoothing}: loss NaN and NaN gradients on kept rows, as the reference`, () => {
      const args = { x, w, b, target: zeroTarget, n, d, c, weight, labelSmoothing };
      const want = reference.linearCrossEntropy(args);
      const got = sce.linearCrossEntropy(args);
      expect(want.loss).toBeNaN();
      expect(got.loss).toBeNaN();
      const ce = sce.crossEntropy({ logits, target: zeroTarget, n, c, weight, labelSmoothing });
      expect(ce.loss).toBeNaN();
      // Kept rows 0, 1, 3: NaN; the ignored row 2: 0.
      const rows = Array.from({ length: n }, (_, i) => Array.from(ce.dlogits!.subarray(i * c, (i + 1) * c)));
      expect(rows.map((row) => row.every(Number.isNaN))).toEqual([true, true, false, true]);
      expect(rows[2].every((v) => v === 0)).toBe(true);
      expect(got.dw!.every(Number.isNaN)).toBe(want.dw!.every(Number.isNaN));
    });
  }
});

describe('init({ maxMemory })', () => {
  it('is validated', async () => {
    for (const bad of [-1, 1.5, 65537, 65536, 2 ** 32 + 65536, '1MB']) {
      await expect(init({ maxMemory: bad as never })).rejects.toThrow(/init: maxMemory must be a whole number of 64 KiB pages/);
    }
  });

  for (const threads of [undefined, 2] as const) {
    it(`a call that cannot grow memory fails with a RangeError; nothing is lost; a smaller call works (threads ${threads ?? 'none'})`, async () => {
      const api = await init({ build: 'simd', maxMemory: 4 << 20, ...(threads ? { threads } : {}) } as never) as SoftmaxCE | SoftmaxCEThreaded;
      try {
        const kept = api.tensor(randomFloat32(rng(1), 1000));
        const before = kept.read();
        const rows = 1 << 18; // 262144×4 float32: 4 MiB of x alone, past the 4 MiB maximum
        const big1 = { x: new Float32Array(rows * 4), w: new Float32Array(4), target: new Int32Array(rows), n: rows, d: 4, c: 1 };
        await expect((async () => api.linearCrossEntropy(big1))()).rejects.toThrow(RangeError);
        await expect((async () => api.linearCrossEntropy(big1))()).rejects.toThrow(/could not grow WebAssembly memory/);
        expect(() => api.tensor(2 << 20)).toThrow(RangeError);
        expect(Array.from(kept.read())).toEqual(Array.from(before));
        const small = await api.linearCrossEntropy({ x, w, b, target, n, d, c });
        expect(small.loss).toBe(sce.linearCrossEntropy({ x, w, b, target, n, d, c }).loss);
        expect(api.memoryBytes).toBeLessThanOrEqual(4 << 20);
        kept.free();
      } finally {
        (api as SoftmaxCEThreaded).dispose?.();
      }
    });
  }
});

describe('types', () => {
  it('init(options) compiles with a variable of type InitOptions (an overload for either instance)', () => {
    const file = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'init-options-type.ts');
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler, skipLibCheck: true, types: ['node'], lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((dg) => ts.flattenDiagnosticMessageText(dg.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });
});
