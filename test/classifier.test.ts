/** sce.classifier(): training, prediction, serialisation, determinism, lifetimes and argument checks. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, reference, SoftmaxClassifier, type FitOptions, type SoftmaxCE } from '../src/index.js';
import { randomFloat32, rng, type Rng } from './helpers.js';

let sce: SoftmaxCE;
beforeAll(async () => {
  sce = await init({ build: 'simd' });
});

/** n points around C well-separated centres in D dims (margin ≫ noise): linearly separable. */
function blobs(r: Rng, n: number, d: number, c: number) {
  const centres = Array.from({ length: c }, (_, k) => Float32Array.from({ length: d }, (_, j) => (j % c === k ? 4 : 0)));
  const x = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % c;
    for (let j = 0; j < d; j++) x[i * d + j] = centres[y[i]][j] + (r() - 0.5);
  }
  return { x, y };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('training', () => {
  it('reaches 100 % accuracy on a linearly separable set, with every optimizer', () => {
    const { x, y } = blobs(rng(1), 120, 6, 3);
    for (const optimizer of ['sgd', 'momentum', 'adam', 'adamw'] as const) {
      const model = sce.classifier({ inputs: 6, classes: 3, seed: 3 });
      const h = model.fit(x, y, { epochs: 15, batchSize: 16, optimizer, learningRate: optimizer.startsWith('adam') ? 0.05 : 0.1 });
      expect(Array.from(model.predict(x))).toEqual(Array.from(y));
      expect(h.accuracy[h.epochs - 1]).toBe(1);
      expect(h.loss[h.epochs - 1]).toBeLessThan(h.loss[0]);
      expect(model.evaluate(x, y).accuracy).toBe(1);
      model.dispose();
    }
  });

  // End to end against a float64 loop over the reference (the math of the kernels, the
  // batching and the bias included). Float32 vs float64 over 3 epochs of 4 steps on weights
  // of order 0.1–1: each gradient is off by a few float32 ulps (~1e-7) and the 12 updates
  // add up to ≲ 1e-6 (the worst seen is 2.5e-7). We allow 5e-6, room for a gemm that sums
  // in another order or with FMA, while any slip in the plumbing (a wrong row, a missed
  // bias update, a stale view, an off-by-one Adam step) moves weights by ≥ 1e-4.
  const cases: [string, FitOptions][] = [
    ['sgd with weight decay', { optimizer: 'sgd', learningRate: 0.2, weightDecay: 0.01 }],
    ['momentum, nesterov', { optimizer: 'momentum', learningRate: 0.05, momentum: 0.8, nesterov: true }],
    ['momentum, dampening', { optimizer: 'momentum', learningRate: 0.05, dampening: 0.3, weightDecay: 0.001 }],
    ['adam with L2 and label smoothing', { optimizer: 'adam', learningRate: 0.01, weightDecay: 0.01, labelSmoothing: 0.1 }],
    ['adamw with class weights', { optimizer: 'adamw', learningRate: 0.01, weightDecay: 0.1, classWeight: [1, 2, 0.5, 1] }],
    // torch.optim.SGD: momentum 0 keeps no buffer, whatever the dampening.
    ['momentum 0 with dampening (plain SGD)', { optimizer: 'momentum', learningRate: 0.05, momentum: 0, dampening: 0.5 }],
    // torch.optim.SGD takes momentum, dampening and nesterov; so does 'sgd'.
    ['sgd with momentum and dampening', { optimizer: 'sgd', learningRate: 0.05, momentum: 0.7, dampening: 0.2 }],
    ['sgd with nesterov', { optimizer: 'sgd', learningRate: 0.05, momentum: 0.6, nesterov: true }],
    // torch.optim.AdamW's default weight_decay is 1e-2.
    ['adamw with its default weight decay', { optimizer: 'adamw', learningRate: 0.01 }],
    // A class weight of 0 is allowed, as in PyTorch (every batch here holds weighted rows).
    ['class weight 0', { optimizer: 'adam', learningRate: 0.01, classWeight: [1, 0, 2, 1] }],
  ];
  for (const [name, options] of cases) {
    it(`matches a float64 training loop: ${name}`, () => {
      const r = rng(9), n = 50, d = 7, c = 4, batchSize = 16, epochs = 3;
      const x = randomFloat32(r, n * d), y = Int32Array.from({ length: n }, () => Math.floor(r() * c));
      const model = sce.classifier({ inputs: d, classes: c, seed: 5 });
      const W = Float64Array.from(model.weights()), B = new Float64Array(c);
      model.fit(x, y, { ...options, epochs, batchSize, shuffle: false });
      const want = referenceFit(W, B, x, y, { ...options, epochs, batchSize }, d, c);
      const got = [...model.weights(), ...model.bias()];
      want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(5e-6));
      model.dispose();
    });
  }

  it("optimizers that torch makes the same are the same bits: 'sgd' with momentum, momentum 0, adamw's default decay", () => {
    const r = rng(4), n = 40, d = 5, c = 3;
    const x = randomFloat32(r, n * d), y = Int32Array.from({ length: n }, () => Math.floor(r() * c));
    const train = (o: FitOptions) => {
      const model = sce.classifier({ inputs: d, classes: c, seed: 2 });
      model.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, ...o });
      const out = bits(model.weights());
      model.dispose();
      return out;
    };
    const heavy = { learningRate: 0.05, momentum: 0.7, dampening: 0.2 };
    expect(train({ optimizer: 'sgd', ...heavy })).toEqual(train({ optimizer: 'momentum', ...heavy }));
    expect(train({ optimizer: 'sgd', ...heavy })).not.toEqual(train({ optimizer: 'sgd', learningRate: 0.05 }));
    expect(train({ optimizer: 'momentum', learningRate: 0.05, momentum: 0, dampening: 0.5 }))
      .toEqual(train({ optimizer: 'sgd', learningRate: 0.05 }));
    expect(train({ optimizer: 'adamw', learningRate: 0.01 })).toEqual(train({ optimizer: 'adamw', learningRate: 0.01, weightDecay: 1e-2 }));
    expect(train({ optimizer: 'adamw', learningRate: 0.01 })).not.toEqual(train({ optimizer: 'adamw', learningRate: 0.01, weightDecay: 0 }));
  });

  it('a batch whose rows all have class weight 0 gives NaN, as PyTorch and the reference', () => {
    const r = rng(6), n = 8, d = 3, c = 2;
    const x = randomFloat32(r, n * d), y = new Int32Array(n).fill(1), classWeight = new Float32Array([1, 0]);
    const model = sce.classifier({ inputs: d, classes: c, seed: 2 });
    const g = reference.linearCrossEntropy({ x, w: model.weights(), b: model.bias(), target: y, n, d, c, weight: classWeight });
    expect(g.loss).toBeNaN();
    expect(g.dw!.every(Number.isNaN)).toBe(true);
    const losses: number[] = [];
    model.fit(x, y, { epochs: 1, batchSize: n, optimizer: 'sgd', classWeight, onBatch: (b) => { losses.push(b.loss); } });
    expect(losses[0]).toBeNaN();
    expect(model.weights().every(Number.isNaN)).toBe(true);
    model.dispose();
  });

  it('validationSplit holds out the last rows; onBatch sees every step; onEpoch can stop', () => {
    const { x, y } = blobs(rng(2), 100, 4, 2);
    const model = sce.classifier({ inputs: 4, classes: 2, seed: 1 });
    const seen: string[] = [];
    const h = model.fit(x, y, {
      epochs: 5, batchSize: 32, validationSplit: 0.2, optimizer: 'sgd',
      onBatch: ({ epoch, batch, batches, loss }) => {
        expect(Number.isFinite(loss)).toBe(true);
        seen.push(`${epoch}.${batch}/${batches}`);
      },
      onEpoch: ({ epoch }) => epoch < 2, // stop after the third epoch
    });
    // 80 training rows in batches of 32: 32, 32, 16.
    expect(seen).toEqual(['0.0/3', '0.1/3', '0.2/3', '1.0/3', '1.1/3', '1.2/3', '2.0/3', '2.1/3', '2.2/3']);
    expect(h.epochs).toBe(3);
    expect(h.valLoss.length).toBe(3);
    expect(h.ms.every((t) => t >= 0)).toBe(true);
    const val = model.evaluate(x.subarray(80 * 4), y.subarray(80));
    expect(h.valLoss[2]).toBeCloseTo(val.loss, 12);
    expect(h.valAccuracy[2]).toBe(val.accuracy);
    model.dispose();
  });

  it('predictProba rows are softmax probabilities; predict is their argmax', () => {
    const r = rng(4), d = 5, c = 3;
    const model = sce.classifier({ inputs: d, classes: c, seed: 2 });
    const x = randomFloat32(r, 2500 * d, 3); // more rows than one forward chunk (1024)
    const p = model.predictProba(x), labels = model.predict(x), z = model.logits(x);
    const want = reference.softmax(z, 2500, c);
    for (let i = 0; i < 2500; i++) {
      let best = 0, sum = 0;
      for (let k = 0; k < c; k++) {
        sum += p[i * c + k];
        expect(Math.abs(p[i * c + k] - want[i * c + k])).toBeLessThan(1e-6);
        if (p[i * c + k] > p[i * c + best]) best = k;
      }
      expect(sum).toBeCloseTo(1, 5);
      expect(labels[i]).toBe(best);
    }
    model.dispose();
  });
});

describe('determinism and serialisation', () => {
  const { x, y } = blobs(rng(7), 90, 5, 3);
  const options: FitOptions = { epochs: 3, batchSize: 8, optimizer: 'adam', learningRate: 0.01, validationSplit: 0.1 };

  it('two runs with one seed give the same bits (initial weights and shuffles)', () => {
    const run = (seed: number) => {
      const model = sce.classifier({ inputs: 5, classes: 3, seed });
      const h = model.fit(x, y, options);
      const out = { w: bits(model.weights()), b: bits(model.bias()), loss: h.loss, valLoss: h.valLoss };
      model.dispose();
      return out;
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11).w).not.toEqual(run(12).w);
    // A fit seed fixes the shuffles whatever the classifier's PRNG has drawn before.
    const a = sce.classifier({ inputs: 5, classes: 3, seed: 1, init: 'zeros' });
    const b = sce.classifier({ inputs: 5, classes: 3, seed: 2, init: 'zeros' });
    a.fit(x, y, { ...options, seed: 99 });
    b.fit(x, y, { ...options, seed: 99 });
    expect(bits(a.weights())).toEqual(bits(b.weights()));
    a.dispose();
    b.dispose();
  });

  it('toJSON / fromJSON round-trip exactly: bitwise weights, same predictions', () => {
    const model = sce.classifier({ inputs: 5, classes: 3, seed: 4 });
    model.fit(x, y, options);
    const text = JSON.stringify(model);
    const back = SoftmaxClassifier.fromJSON(sce, text);
    const again = SoftmaxClassifier.fromJSON(sce, JSON.parse(text));
    for (const m of [back, again]) {
      expect(bits(m.weights())).toEqual(bits(model.weights()));
      expect(bits(m.bias())).toEqual(bits(model.bias()));
      expect(Array.from(m.predict(x))).toEqual(Array.from(model.predict(x)));
      expect(bits(m.predictProba(x))).toEqual(bits(model.predictProba(x)));
      expect(JSON.stringify(m)).toBe(text);
    }
    const json = model.toJSON();
    expect(json).toMatchObject({ format: 'softmax-ce-wasm/classifier', version: 1, inputs: 5, classes: 3 });
    expect(json.weights.length).toBe(15);
    for (const m of [model, back, again]) m.dispose();
  });
});

describe('lifetimes', () => {
  it('repeated fits do not grow memory; dispose returns the tensors', () => {
    const { x, y } = blobs(rng(8), 200, 16, 4);
    const arena = sce.internals.arena;
    const resident = arena.residentBytes;
    const model = sce.classifier({ inputs: 16, classes: 4, seed: 1 });
    model.fit(x, y, { epochs: 1, batchSize: 24, optimizer: 'adam' });
    const bytes = sce.memoryBytes;
    for (let i = 0; i < 5; i++) model.fit(x, y, { epochs: 2, batchSize: 24, optimizer: 'adam', validationSplit: 0.25 });
    expect(sce.memoryBytes).toBe(bytes);
    expect(arena.residentBytes).toBe(resident + 16 * 4 * 4 + 16); // W and b only: fit frees its own tensors
    model.dispose();
    model.dispose(); // twice is fine
    expect(arena.residentBytes).toBe(resident);
    expect(model.disposed).toBe(true);
    expect(() => model.predict(x)).toThrow(/classifier.predict: the classifier was disposed/);
    expect(() => model.fit(x, y)).toThrow(/disposed/);
  });
});

describe('bad arguments', () => {
  const { x, y } = blobs(rng(3), 20, 4, 2);
  let model: SoftmaxClassifier;
  beforeAll(() => {
    model = sce.classifier({ inputs: 4, classes: 2, seed: 0 });
  });

  it('classifier options', () => {
    expect(() => sce.classifier(undefined as never)).toThrow(/classifier: expected an options object/);
    expect(() => sce.classifier({ inputs: 0, classes: 2 })).toThrow(/classifier: inputs must be a positive integer/);
    expect(() => sce.classifier({ inputs: 3, classes: 1 })).toThrow(/classes must be at least 2/);
    expect(() => sce.classifier({ inputs: 3, classes: 2.5 })).toThrow(/classes must be a positive integer/);
    expect(() => sce.classifier({ inputs: 3, classes: 2, seed: -1 })).toThrow(/seed must be an integer in \[0, 2\^32\)/);
    expect(() => sce.classifier({ inputs: 3, classes: 2, init: 'he' as never })).toThrow(/init must be 'glorot' or 'zeros'/);
  });

  it('fit data and options', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => model.fit(Array.from(x) as never, y), /classifier.fit: x must be a Float32Array/],
      [() => model.fit(x.subarray(1), y), /x must have length labels.length×inputs = 20×4 = 80, got 79/],
      [() => model.fit(x, new Float32Array(20) as never), /labels must be an Int32Array or an array of class indices/],
      [() => model.fit(x, [...y.slice(0, 19), 2]), /labels\[19\] must be a class index in \[0, 2\), got 2/],
      [() => model.fit(x, [...y.slice(0, 19), 0.5]), /labels\[19\] must be a class index/],
      [() => model.fit(x, y, { epochs: 0 }), /epochs must be a positive integer, got 0/],
      [() => model.fit(x, y, { batchSize: 1.5 }), /batchSize must be a positive integer/],
      [() => model.fit(x, y, { optimizer: 'rmsprop' as never }), /optimizer must be one of 'sgd', 'momentum', 'adam', 'adamw', got "rmsprop"/],
      [() => model.fit(x, y, { learningRate: -1 }), /learningRate must be a positive finite number, got -1/],
      [() => model.fit(x, y, { learningRate: NaN }), /learningRate must be a positive finite number/],
      [() => model.fit(x, y, { optimizer: 'momentum', momentum: 1 }), /momentum must be a number in \[0, 1\)/],
      [() => model.fit(x, y, { optimizer: 'momentum', nesterov: true, momentum: 0 }), /nesterov needs momentum > 0/],
      [() => model.fit(x, y, { optimizer: 'sgd', nesterov: true }), /nesterov needs momentum > 0/],
      [() => model.fit(x, y, { betas: [0.9] as never }), /betas must be a pair/],
      [() => model.fit(x, y, { betas: [0.9, 1] }), /betas\[1\] must be a number in \[0, 1\)/],
      [() => model.fit(x, y, { eps: 0 }), /eps must be a positive finite number/],
      [() => model.fit(x, y, { weightDecay: -0.1 }), /weightDecay must be a finite number ≥ 0/],
      [() => model.fit(x, y, { labelSmoothing: 2 }), /labelSmoothing must be a number in \[0, 1\]/],
      [() => model.fit(x, y, { classWeight: [1] }), /classWeight must have length classes = 2, got 1/],
      [() => model.fit(x, y, { classWeight: [1, -1] }), /classWeight\[1\] must be finite and ≥ 0/],
      [() => model.fit(x, y, { classWeight: [1, Infinity] }), /classWeight\[1\] must be finite and ≥ 0/],
      [() => model.fit(x, y, { optimizer: 'adam', momentum: 0.9 }), /momentum is not an option of optimizer 'adam'/],
      [() => model.fit(x, y, { optimizer: 'adamw', nesterov: false }), /nesterov is not an option of optimizer 'adamw'/],
      [() => model.fit(x, y, { optimizer: 'sgd', betas: [0.9, 0.99] }), /betas is not an option of optimizer 'sgd'/],
      [() => model.fit(x, y, { optimizer: 'momentum', eps: 1e-8 }), /eps is not an option of optimizer 'momentum'/],
      [() => model.fit(x, y, { seed: 1.5 }), /seed must be an integer/],
      [() => model.fit(x, y, { shuffle: 'yes' as never }), /shuffle must be a boolean/],
      [() => model.fit(x, y, { validationSplit: 1 }), /validationSplit must be a number in \[0, 1\)/],
      [() => model.fit(x, y, { validationSplit: 0.1, validationData: { x, labels: y } }), /not both/],
      [() => model.fit(x, y, { validationData: { x: x.subarray(4), labels: y } }), /validationData.x must have length/],
      [() => model.fit(x, y, { onEpoch: 3 as never }), /onEpoch must be a function/],
      [() => model.fit(x, y, { learningrate: 0.1 } as never), /unknown option 'learningrate'/],
    ];
    const before = bits(model.weights());
    for (const [f, message] of cases) expect(f).toThrow(message);
    expect(bits(model.weights())).toEqual(before); // a rejected fit trains nothing
  });

  it('predict, evaluate and fromJSON', () => {
    expect(() => model.predict(new Float32Array(7))).toThrow(/classifier.predict: x must hold whole rows of inputs = 4 values, got length 7/);
    expect(() => model.predictProba(new Float64Array(8) as never)).toThrow(/x must be a Float32Array/);
    expect(() => model.evaluate(x, y.subarray(1))).toThrow(/classifier.evaluate: x must have length labels.length×inputs = 19×4/);
    const json = model.toJSON();
    expect(() => SoftmaxClassifier.fromJSON(sce, '{')).toThrow(/json is not valid JSON/);
    expect(() => SoftmaxClassifier.fromJSON(sce, { ...json, format: 'x' } as never)).toThrow(/format 'softmax-ce-wasm\/classifier'/);
    expect(() => SoftmaxClassifier.fromJSON(sce, { ...json, version: 2 } as never)).toThrow(/json.version 2 is not supported/);
    expect(() => SoftmaxClassifier.fromJSON(sce, { ...json, weights: json.weights.slice(1) })).toThrow(/json.weights must be an array of 8 numbers/);
    expect(() => SoftmaxClassifier.fromJSON(sce, { ...json, bias: [0, null] as never })).toThrow(/json.bias\[1\] must be a finite number, got null/);
    expect(() => SoftmaxClassifier.fromJSON(sce, { ...json, bias: [0, 1e300] })).toThrow(/json.bias\[1\] = 1e\+300 overflows float32/);
  });
});

it('smoke: a few hundred MNIST digits', () => {
  // 40 digits per class for training, the next 20 per class for testing (the mnist package's files).
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits');
  const D = 784, perTrain = 40, perTest = 20;
  const train = { x: new Float32Array(10 * perTrain * D), y: new Int32Array(10 * perTrain) };
  const test = { x: new Float32Array(10 * perTest * D), y: new Int32Array(10 * perTest) };
  for (let k = 0; k < 10; k++) {
    const data: number[] = JSON.parse(readFileSync(join(dir, `${k}.json`), 'utf8')).data;
    for (let i = 0; i < perTrain + perTest; i++) {
      const [set, row] = i < perTrain ? [train, k * perTrain + i] : [test, k * perTest + i - perTrain];
      set.x.set(data.slice(i * D, (i + 1) * D), row * D);
      set.y[row] = k;
    }
  }
  const model = sce.classifier({ inputs: D, classes: 10, seed: 1 });
  const h = model.fit(train.x, train.y, { epochs: 10, batchSize: 16, learningRate: 0.003, validationData: { x: test.x, labels: test.y } });
  expect(h.accuracy[9]).toBeGreaterThan(0.95);
  expect(h.valAccuracy[9]).toBeGreaterThan(0.75);
  model.dispose();
});

/** The classifier's training loop in float64 around reference.linearCrossEntropy (no shuffling). */
function referenceFit(W: Float64Array, B: Float64Array, x: Float32Array, y: Int32Array, o: FitOptions, d: number, c: number): number[] {
  const n = y.length, bs = o.batchSize!, lr = o.learningRate!, wd = o.weightDecay ?? (o.optimizer === 'adamw' ? 1e-2 : 0);
  const mu = o.momentum ?? (o.optimizer === 'momentum' ? 0.9 : 0), damp = o.dampening ?? 0, [b1, b2] = o.betas ?? [0.9, 0.999], eps = o.eps ?? 1e-8;
  const params = [W, B], s1 = params.map((p) => new Float64Array(p.length)), s2 = params.map((p) => new Float64Array(p.length));
  const weight = o.classWeight ? Float32Array.from(o.classWeight) : undefined;
  let t = 0;
  for (let epoch = 0; epoch < o.epochs!; epoch++) {
    for (let r0 = 0; r0 < n; r0 += bs) {
      const m = Math.min(bs, n - r0);
      const g = reference.linearCrossEntropy({
        x: x.subarray(r0 * d, (r0 + m) * d), w: Float32Array.from(W), b: Float32Array.from(B), target: y.subarray(r0, r0 + m),
        n: m, d, c, labelSmoothing: o.labelSmoothing, weight,
      });
      t++;
      [g.dw!, g.db!].forEach((grad, q) => {
        const p = params[q], m1 = s1[q], v1 = s2[q];
        for (let i = 0; i < p.length; i++) {
          let gi = grad[i];
          if (o.optimizer === 'adamw') p[i] *= 1 - lr * wd;
          else gi += wd * p[i];
          const sgd = o.optimizer === 'sgd' || o.optimizer === 'momentum';
          if (sgd && mu === 0) {
            p[i] -= lr * gi;
          } else if (sgd) {
            m1[i] = t === 1 ? gi : mu * m1[i] + (1 - damp) * gi;
            p[i] -= lr * (o.nesterov ? gi + mu * m1[i] : m1[i]);
          } else {
            m1[i] = b1 * m1[i] + (1 - b1) * gi;
            v1[i] = b2 * v1[i] + (1 - b2) * gi * gi;
            p[i] -= (lr / (1 - b1 ** t)) * m1[i] / (Math.sqrt(v1[i] / (1 - b2 ** t)) + eps);
          }
        }
      });
    }
  }
  return [...W, ...B];
}
