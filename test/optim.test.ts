/**
 * Optimizer kernels against their PyTorch update formulas, run in float64 on the same
 * float32 starting values, step by step. Sizes cover the v128 tile (4): 1, 3, 4, 5, 8,
 * 13, 64 and a prime past several tiles (97).
 *
 * Tolerance: every kernel op rounds once to float32 (u = 2^-24 ≈ 6e-8). A step has at
 * most ~10 ops, and state errors carry over, so after S = 6 steps the float32 result
 * sits within ~S·10·u·scale ≈ 3.6e-6·scale of float64, with scale = 1 + |value|; we
 * assert 5e-6·scale (the worst error seen is ≈ 3e-7·scale). Adam divides by √v̂ + ε;
 * gradients are kept ≥ 0.05 in magnitude so the quotient is well conditioned.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, type SoftmaxCE, type Tensor } from '../src/index.js';
import type { KernelExports } from '../src/wasm.js';
import { randomFloat32, rng, type Rng } from './helpers.js';

let sce: SoftmaxCE;
let k: KernelExports;
beforeAll(async () => {
  sce = await init({ build: 'simd' });
  k = sce.internals.kernels;
});

const SIZES = [1, 3, 4, 5, 8, 13, 64, 97];
const STEPS = 6;
const TOL = 5e-6;

/** Gradients with |g| in [0.05, 1): well conditioned for Adam's division. */
function gradients(r: Rng, len: number): Float32Array {
  const g = randomFloat32(r, len);
  for (let i = 0; i < len; i++) g[i] = Math.fround(Math.sign(g[i] || 1) * (0.05 + 0.95 * Math.abs(g[i])));
  return g;
}

function close(got: Float32Array, want: Float64Array, what: string) {
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]), bound = TOL * (1 + Math.abs(want[i]));
    if (!(err <= bound)) expect.fail(`${what}[${i}] = ${got[i]}, float64 ${want[i]} (error ${err} > ${bound})`);
  }
}

/** Runs a kernel over STEPS steps with fresh gradients each step, against the float64 update. */
function check(
  seed: number, len: number, buffers: number,
  kernel: (p: Tensor, g: Tensor, state: Tensor[], step: number) => void,
  reference: (p: Float64Array, g: Float32Array, state: Float64Array[], step: number) => void,
) {
  const r = rng(seed);
  const p0 = randomFloat32(r, len, 2);
  const p = sce.tensor(p0), g = sce.tensor(len);
  const state = Array.from({ length: buffers }, () => sce.tensor(len));
  const pRef = Float64Array.from(p0), stateRef = state.map(() => new Float64Array(len));
  const guard = sce.tensor(4); // the next block: a kernel writing past len would show here
  guard.write([7, 7, 7, 7]);
  for (let step = 1; step <= STEPS; step++) {
    const grad = gradients(r, len);
    g.write(grad);
    kernel(p, g, state, step);
    reference(pRef, grad, stateRef, step);
    close(p.read(), pRef, `param (len ${len}, step ${step})`);
    state.forEach((s, j) => close(s.read(), stateRef[j], `state ${j} (len ${len}, step ${step})`));
  }
  expect(Array.from(guard.read())).toEqual([7, 7, 7, 7]);
  expect(Array.from(g.read()).every((v, i) => v === gradientsAgain(seed, len, i))).toBe(true);
  for (const t of [p, g, guard, ...state]) t.free();
}

/** The last step's gradient again: the kernels must leave grad untouched. */
function gradientsAgain(seed: number, len: number, i: number): number {
  const r = rng(seed);
  randomFloat32(r, len, 2);
  let g = new Float32Array(0);
  for (let s = 0; s < STEPS; s++) g = gradients(r, len);
  return g[i];
}

describe('sgd_update_f32 (torch.optim.SGD, momentum 0)', () => {
  for (const [lr, wd] of [[0.1, 0], [0.05, 0.01]] as const) {
    it(`lr ${lr}, weight decay ${wd}`, () => {
      for (const len of SIZES) {
        check(len, len, 0,
          (p, g) => k.sgd_update_f32(p.ptr, g.ptr, len, lr, wd),
          (p, g) => {
            for (let i = 0; i < len; i++) p[i] -= Math.fround(lr) * (g[i] + Math.fround(wd) * p[i]);
          });
      }
    });
  }
});

describe('sgd_momentum_update_f32 (torch.optim.SGD with momentum)', () => {
  const cases = [
    { mu: 0.9, damp: 0, wd: 0, nesterov: false },
    { mu: 0.9, damp: 0.1, wd: 0.01, nesterov: false },
    { mu: 0.8, damp: 0, wd: 0.001, nesterov: true },
  ];
  for (const { mu, damp, wd, nesterov } of cases) {
    it(`momentum ${mu}, dampening ${damp}, weight decay ${wd}, nesterov ${nesterov}`, () => {
      const lr = 0.05, f = Math.fround;
      for (const len of SIZES) {
        check(100 + len, len, 1,
          (p, g, [vel], step) => k.sgd_momentum_update_f32(p.ptr, g.ptr, vel.ptr, len, lr, mu, damp, wd, nesterov ? 1 : 0, step === 1 ? 1 : 0),
          (p, g, [vel], step) => {
            for (let i = 0; i < len; i++) {
              const d = g[i] + f(wd) * p[i];
              vel[i] = step === 1 ? d : f(mu) * vel[i] + (1 - f(damp)) * d;
              p[i] -= f(lr) * (nesterov ? d + f(mu) * vel[i] : vel[i]);
            }
          });
      }
    });
  }

  it('the first step copies the gradient into the velocity even with dampening (as PyTorch)', () => {
    const p = sce.tensor([1, 2, 3, 4, 5]), g = sce.tensor([0.5, -0.25, 1, 2, -4]), vel = sce.tensor(5);
    k.sgd_momentum_update_f32(p.ptr, g.ptr, vel.ptr, 5, 1, 0.9, 0.5, 0, 0, 1);
    expect(Array.from(vel.read())).toEqual([0.5, -0.25, 1, 2, -4]);
    expect(Array.from(p.read())).toEqual([0.5, 2.25, 2, 2, 9]);
    for (const t of [p, g, vel]) t.free();
  });
});

describe('adam_update_f32 / adamw_update_f32 (torch.optim.Adam / AdamW)', () => {
  const cases = [
    { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false },
    { lr: 0.001, b1: 0.8, b2: 0.99, eps: 1e-6, wd: 0.01, decoupled: false },
    { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.05, decoupled: true },
  ];
  for (const { lr, b1, b2, eps, wd, decoupled } of cases) {
    it(`${decoupled ? 'AdamW' : 'Adam'} lr ${lr}, betas (${b1}, ${b2}), eps ${eps}, weight decay ${wd}`, () => {
      const f = Math.fround;
      for (const len of SIZES) {
        const kernel = decoupled ? k.adamw_update_f32 : k.adam_update_f32;
        check(200 + len, len, 2,
          (p, g, [m, v], step) => kernel(p.ptr, g.ptr, m.ptr, v.ptr, len, lr, b1, b2, eps, wd, step),
          (p, g, [m, v], t) => {
            const [B1, B2, LR, WD, EPS] = [f(b1), f(b2), f(lr), f(wd), f(eps)];
            for (let i = 0; i < len; i++) {
              let grad = g[i];
              if (decoupled) p[i] *= 1 - LR * WD;
              else grad += WD * p[i];
              m[i] = B1 * m[i] + (1 - B1) * grad;
              v[i] = B2 * v[i] + (1 - B2) * grad * grad;
              const mHat = m[i] / (1 - B1 ** t), vHat = v[i] / (1 - B2 ** t);
              p[i] -= LR * mHat / (Math.sqrt(vHat) + EPS);
            }
          });
      }
    });
  }

  it('the first Adam step moves every parameter by about lr·sign(g)', () => {
    // m̂ = g and v̂ = g² at t = 1, so the step is lr·g/(|g| + ε).
    const p = sce.tensor(9), g = sce.tensor([1, -2, 3, -4, 5, -6, 7, -8, 0.5]), m = sce.tensor(9), v = sce.tensor(9);
    k.adam_update_f32(p.ptr, g.ptr, m.ptr, v.ptr, 9, 0.01, 0.9, 0.999, 1e-8, 0, 1);
    for (const [i, x] of Array.from(p.read()).entries()) expect(x).toBeCloseTo(i % 2 ? 0.01 : -0.01, 6);
    for (const t of [p, g, m, v]) t.free();
  });

  // Issue 11: moments that decay into the subnormals stick there (0.9·k·2^-149 rounds back to
  // k·2^-149) and cost x86 assists every step; Adam stores them flushed. 1e-25 gradients would
  // square below 2^-126 (an underflowing product): they enter v as 0.
  it('moments never hold a subnormal: decaying to zero, and with gradients of 1e-25', () => {
    const len = 7; // a v128 and a scalar tail of 3
    for (const kernel of ['adam_update_f32', 'adamw_update_f32'] as const) {
      const p = sce.tensor(new Float32Array(len).fill(0.5)), g = sce.tensor(new Float32Array(len).fill(1e-3));
      const m = sce.tensor(len), v = sce.tensor(len);
      const subnormal = (a: Float32Array) => a.some((x) => x !== 0 && Math.abs(x) < 2 ** -126);
      let t = 1;
      k[kernel](p.ptr, g.ptr, m.ptr, v.ptr, len, 0.01, 0.9, 0.999, 1e-8, 0, t++);
      g.write(new Float32Array(len)); // the gradient vanishes: m decays by 0.9, v by 0.999 a step
      let sawTinyM = false;
      for (; t < 1200; t++) {
        k[kernel](p.ptr, g.ptr, m.ptr, v.ptr, len, 0.01, 0.9, 0.999, 1e-8, 0, t);
        const mm = m.read();
        expect(subnormal(mm), `${kernel} m at step ${t}`).toBe(false);
        expect(subnormal(v.read()), `${kernel} v at step ${t}`).toBe(false);
        sawTinyM ||= mm[0] !== 0 && mm[0] < 1e-36; // it did pass close to the limit: the test can fail
      }
      expect(sawTinyM).toBe(true);
      expect(Array.from(m.read())).toEqual(new Array(len).fill(0)); // 0.9^1200·1e-4 is far below 2^-126
      // gradients of 1e-25: g² = 1e-50 enters v as 0; m follows g (normal)
      g.write(new Float32Array(len).fill(1e-25));
      v.write(new Float32Array(len));
      for (let s = 0; s < 50; s++) k[kernel](p.ptr, g.ptr, m.ptr, v.ptr, len, 0.01, 0.9, 0.999, 1e-8, 0, t++);
      expect(Array.from(v.read())).toEqual(new Array(len).fill(0));
      expect(m.read().every((x) => x > 9e-26 && x < 1e-25)).toBe(true);
      expect(p.read().every(Number.isFinite)).toBe(true);
      for (const x of [p, g, m, v]) x.free();
    }
  });

  it('vector body and scalar tail give the same bits for the same element', () => {
    // 5 equal elements: four in one v128, the fifth in the tail.
    const run = (kernel: 'adam_update_f32' | 'adamw_update_f32') => {
      const p = sce.tensor(new Float32Array(5).fill(0.3)), g = sce.tensor(new Float32Array(5).fill(-0.7));
      const m = sce.tensor(5), v = sce.tensor(5);
      for (let t = 1; t <= 3; t++) k[kernel](p.ptr, g.ptr, m.ptr, v.ptr, 5, 0.01, 0.9, 0.999, 1e-8, 0.1, t);
      const out = [p, m, v].map((x) => Array.from(x.read()));
      for (const x of [p, g, m, v]) x.free();
      return out;
    };
    for (const name of ['adam_update_f32', 'adamw_update_f32'] as const) {
      for (const row of run(name)) expect(new Set(row).size).toBe(1);
    }
    const p = sce.tensor(new Float32Array(7).fill(1.5)), g = sce.tensor(new Float32Array(7).fill(0.1)), vel = sce.tensor(7);
    for (let t = 1; t <= 3; t++) k.sgd_momentum_update_f32(p.ptr, g.ptr, vel.ptr, 7, 0.1, 0.9, 0, 0.01, 1, t === 1 ? 1 : 0);
    expect(new Set(p.read()).size).toBe(1);
    k.sgd_update_f32(p.ptr, g.ptr, 7, 0.1, 0.01);
    expect(new Set(p.read()).size).toBe(1);
    for (const x of [p, g, vel]) x.free();
  });
});

it('the simd and relaxed builds give the same bits (no FMA in the updates)', async () => {
  const builds = (['simd', 'relaxed'] as const).filter((b) => sce.info.supported.includes(b));
  const results = [];
  for (const build of builds) {
    const s = await init({ build }), kk = s.internals.kernels, r = rng(5);
    const p = s.tensor(randomFloat32(r, 37)), g = s.tensor(gradients(r, 37)), m = s.tensor(37), v = s.tensor(37);
    for (let t = 1; t <= 4; t++) kk.adam_update_f32(p.ptr, g.ptr, m.ptr, v.ptr, 37, 0.01, 0.9, 0.999, 1e-8, 0.01, t);
    results.push(Array.from(p.read()));
  }
  for (const r of results) expect(r).toEqual(results[0]);
});
