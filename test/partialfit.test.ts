/**
 * classifier.partialFit: the persistent optimizer that the streaming command line trains
 * with. fit is a loop of the same steps, so partialFit on fit's batches must give fit's
 * weights bit for bit; the state must persist between calls and be freed by resetOptimizer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, type SoftmaxCE } from '../src/index.js';
import { randomFloat32, rng } from './helpers.js';

let sce: SoftmaxCE;
beforeAll(async () => {
  sce = await init({ build: 'simd' });
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('partialFit', () => {
  for (const optimizer of ['sgd', 'momentum', 'adam', 'adamw'] as const) {
    it(`steps on fit's batches give fit's weights bit for bit: ${optimizer}`, () => {
      const r = rng(3), n = 50, d = 7, c = 4, batchSize = 16, epochs = 3;
      const x = randomFloat32(r, n * d), y = Int32Array.from({ length: n }, () => Math.floor(r() * c));
      const options = { optimizer, learningRate: 0.05, weightDecay: 0.01, labelSmoothing: 0.1 };
      const a = sce.classifier({ inputs: d, classes: c, seed: 5 });
      const b = sce.classifier({ inputs: d, classes: c, seed: 5 });
      a.fit(x, y, { ...options, epochs, batchSize, shuffle: false });
      const losses: number[] = [];
      for (let e = 0; e < epochs; e++) {
        for (let r0 = 0; r0 < n; r0 += batchSize) {
          const r1 = Math.min(n, r0 + batchSize);
          // Options only on the first call: later calls continue the same optimizer.
          losses.push(b.partialFit(x.subarray(r0 * d, r1 * d), y.subarray(r0, r1), e === 0 && r0 === 0 ? options : {}));
        }
      }
      expect(bits(b.weights())).toEqual(bits(a.weights()));
      expect(bits(b.bias())).toEqual(bits(a.bias()));
      expect(losses.every(Number.isFinite)).toBe(true);
      a.dispose();
      b.dispose();
    });
  }

  it('the optimizer state persists (a reset changes the result) and is freed by resetOptimizer and dispose', () => {
    const r = rng(4), d = 5, c = 3, m = 20;
    const x = randomFloat32(r, m * d), y = Int32Array.from({ length: m }, (_, i) => i % c);
    const run = (reset: boolean) => {
      const model = sce.classifier({ inputs: d, classes: c, seed: 1 });
      model.partialFit(x, y, { optimizer: 'adam', learningRate: 0.1 });
      if (reset) model.resetOptimizer();
      model.partialFit(x, y, { optimizer: 'adam', learningRate: 0.1 });
      const w = model.weights();
      model.dispose();
      return bits(w);
    };
    // Adam's second step differs from a fresh first step (moments and bias correction).
    expect(run(false)).not.toEqual(run(true));

    const model = sce.classifier({ inputs: d, classes: c, seed: 1 });
    const arena = sce.internals.arena, before = arena.residentBytes;
    for (let i = 0; i < 100; i++) model.partialFit(x.subarray(0, (1 + (i % 3)) * d), y.subarray(0, 1 + (i % 3)), i === 0 ? { optimizer: 'adam' } : {});
    // dW, db and Adam's two moments of each (64 + 16 bytes, 16-aligned, four times), and at
    // most two batch tensors (of 5, 10 or 15 floats: ≤ 64 bytes each) though three sizes came.
    const state = 4 * (64 + 16);
    expect(arena.residentBytes).toBeGreaterThan(before + state);
    expect(arena.residentBytes).toBeLessThanOrEqual(before + state + 2 * 64);
    model.resetOptimizer();
    expect(arena.residentBytes).toBe(before);
    model.partialFit(x, y);
    model.dispose();
  });

  it('rejects changed options, unknown options and bad batches by name', () => {
    const model = sce.classifier({ inputs: 2, classes: 2, seed: 1 });
    const x = new Float32Array([1, 2, 3, 4]), y = new Int32Array([0, 1]);
    model.partialFit(x, y, { optimizer: 'sgd', learningRate: 0.1 });
    model.partialFit(x, y, { optimizer: 'sgd', learningRate: 0.1 }); // the same: accepted
    expect(() => model.partialFit(x, y, { learningRate: 0.2 })).toThrow(/partialFit: .*differ.*resetOptimizer/);
    expect(() => model.partialFit(x, y, { epochs: 2 } as never)).toThrow(/partialFit: unknown option 'epochs'/);
    expect(() => model.partialFit(x, new Int32Array([0, 2]))).toThrow(/partialFit: labels\[1\] must be a class index/);
    expect(() => model.partialFit(new Float32Array(3), y)).toThrow(/partialFit: x must have length/);
    model.dispose();
    expect(() => model.partialFit(x, y)).toThrow(/disposed/);
  });
});

describe('decayBias', () => {
  it('false keeps weight decay off b: with zero inputs (W stays 0) b moves as without decay; true decays it', () => {
    // x = 0 makes dW = 0, so W stays 0 and b sees only its own gradient and its own decay.
    const d = 3, c = 3, m = 6, x = new Float32Array(m * d), y = new Int32Array([0, 0, 0, 0, 1, 2]);
    const run = (options: { weightDecay: number; decayBias?: boolean }) => {
      const model = sce.classifier({ inputs: d, classes: c, init: 'zeros', seed: 1 });
      for (let i = 0; i < 5; i++) model.partialFit(x, y, i === 0 ? { optimizer: 'sgd', learningRate: 0.5, ...options } : {});
      const b = model.bias();
      model.dispose();
      return bits(b);
    };
    expect(run({ weightDecay: 0.3, decayBias: false })).toEqual(run({ weightDecay: 0 }));
    expect(run({ weightDecay: 0.3, decayBias: true })).not.toEqual(run({ weightDecay: 0 }));
    expect(run({ weightDecay: 0.3 })).toEqual(run({ weightDecay: 0.3, decayBias: true })); // the default
  });
});
