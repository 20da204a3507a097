/**
 * PyTorch's own numbers (test/fixtures/torch.json, made by make-torch-fixtures.py with
 * torch in float64 from float32 inputs): F.cross_entropy and its autograd gradients over
 * reductions, weights, smoothing, ignored rows and probability targets, the edges (0/0,
 * ±∞ and NaN logits, extreme logits), F.linear + cross_entropy, and torch.optim steps.
 * The reference must agree to float64 rounding; the WASM kernels to their float32 rounding.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, reference, SoftmaxClassifier, type FitOptions, type SoftmaxCE } from '../src/index.js';
import type { LossOptions } from '../src/types.js';
import { expectMatch, value, type Num } from './expect-match.js';

interface LossCase {
  name: string; n: number; c: number; d?: number; options: LossOptions & { weight?: number[] }; targetKind: 'index' | 'probs';
  logits?: Num[]; x?: number[]; w?: number[]; b?: number[]; target: number[];
  expected: { loss: Num | Num[]; dlogits?: Num[]; dx?: Num[]; dw?: Num[]; db?: Num[] };
}
interface OptimCase {
  name: string; optimizer: 'sgd' | 'adam' | 'adamw'; steps: number; n: number; d: number; c: number;
  torchOptions: { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weight_decay?: number; betas?: [number, number]; eps?: number };
  x: number[]; labels: number[]; w0: number[]; b0: number[]; classWeight: number[] | null; labelSmoothing: number;
  expected: { w: Num[]; b: Num[] };
}
const fixtures: { crossEntropy: LossCase[]; linearCrossEntropy: LossCase[]; optim: OptimCase[] } =
  JSON.parse(readFileSync(new URL('./fixtures/torch.json', import.meta.url), 'utf8'));



function args(k: LossCase) {
  const target = k.targetKind === 'probs' ? Float32Array.from(k.target) : Int32Array.from(k.target);
  const options = { ...k.options, weight: k.options.weight ? Float32Array.from(k.options.weight) : undefined };
  return { ...options, target, n: k.n, c: k.c };
}

// The reference computes in float64 from the same float32 inputs as torch: only the order
// of float64 operations differs (≈ 1e-16 relative per operation; 1e-12 leaves room for the
// sums over up to 33 classes and 17 rows, and is far below any semantic slip).
const REF_TOL = 1e-12;
// The kernels round each logit (a dot product of d ≤ 13 terms) and p, e^z, the loss terms to
// float32: a few units of 2^-24 ≈ 6e-8 of each output's scale; |z| up to 1e4 makes m − z
// exact but rounds the loss to 2^-24·1e4 ≈ 6e-4 absolute of a 1e4 loss: still 6e-8 relative.
// 1e-5 of the scale is the bound the README states for every kernel test.
const WASM_TOL = 1e-5;

let sce: SoftmaxCE;
beforeAll(async () => {
  sce = await init({ build: (process.env.SCE_BUILD as 'simd' | 'relaxed' | undefined) ?? 'simd' });
});

describe('F.cross_entropy (torch fixtures)', () => {
  for (const k of fixtures.crossEntropy) {
    it(k.name, () => {
      const a = { ...args(k), logits: Float32Array.from(k.logits!.map(value)) };
      const ref = reference.crossEntropy(a);
      expectMatch(ref.loss, k.expected.loss, REF_TOL, 'reference loss');
      expectMatch(ref.dlogits, k.expected.dlogits!, REF_TOL, 'reference dlogits');
      const got = sce.crossEntropy(a);
      expectMatch(got.loss, k.expected.loss, WASM_TOL, 'wasm loss');
      expectMatch(got.dlogits, k.expected.dlogits!, WASM_TOL, 'wasm dlogits');
    });
  }
});

describe('F.linear + F.cross_entropy (torch fixtures)', () => {
  for (const k of fixtures.linearCrossEntropy) {
    it(k.name, () => {
      const a = { ...args(k), d: k.d!, x: Float32Array.from(k.x!), w: Float32Array.from(k.w!), b: Float32Array.from(k.b!) };
      for (const [who, got, tol] of [['reference', reference.linearCrossEntropy(a), REF_TOL], ['wasm', sce.linearCrossEntropy(a), WASM_TOL]] as const) {
        expectMatch(got.loss, k.expected.loss, tol, `${who} loss`);
        expectMatch(got.dx, k.expected.dx!, tol, `${who} dx`);
        expectMatch(got.dw, k.expected.dw!, tol, `${who} dw`);
        expectMatch(got.db, k.expected.db!, tol, `${who} db`);
      }
    });
  }
});

describe('torch.optim steps: classifier.fit on one batch (torch fixtures)', () => {
  // Float32 weights of order 0.5 after 4 steps, each gradient off by a few float32 ulps:
  // ≲ 1e-6 absolute (the float64-loop test in classifier.test.ts argues the same bound).
  // A wrong default (AdamW's decay), a kept momentum buffer or an ignored option moves the
  // weights by ≥ 1e-4.
  const TOL = 5e-6;
  for (const k of fixtures.optim) {
    it(k.name, () => {
      const o = k.torchOptions;
      const options: FitOptions = {
        optimizer: k.optimizer, learningRate: o.lr, epochs: k.steps, batchSize: k.n, shuffle: false,
        labelSmoothing: k.labelSmoothing,
      };
      if (o.momentum !== undefined) options.momentum = o.momentum;
      if (o.dampening !== undefined) options.dampening = o.dampening;
      if (o.nesterov !== undefined) options.nesterov = o.nesterov;
      if (o.weight_decay !== undefined) options.weightDecay = o.weight_decay;
      if (o.betas !== undefined) options.betas = o.betas;
      if (o.eps !== undefined) options.eps = o.eps;
      if (k.classWeight) options.classWeight = k.classWeight;
      const model = SoftmaxClassifier.fromJSON(sce, {
        format: 'softmax-ce-wasm/classifier', version: 1, inputs: k.d, classes: k.c, weights: k.w0, bias: k.b0,
      });
      model.fit(Float32Array.from(k.x), Int32Array.from(k.labels), options);
      expectMatch(model.weights(), k.expected.w, TOL, 'w');
      expectMatch(model.bias(), k.expected.b, TOL, 'b');
      model.dispose();
    });
  }
});
