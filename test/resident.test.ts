/** Resident tensors: the no-copy path gives the same bits as the copying path, and its lifetimes hold. */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, Tensor, type SoftmaxCE } from '../src/index.js';
import { randomFloat32, randomLabels, rng } from './helpers.js';

let sce: SoftmaxCE;
beforeAll(async () => {
  sce = await init({ build: 'simd' });
});

const same = (a: Float32Array | undefined, b: Float32Array | undefined) => {
  expect(a).toBeDefined();
  expect(Array.from(a!)).toEqual(Array.from(b!));
};

describe('tensors', () => {
  it('write, read, array view, free', () => {
    const t = sce.tensor(5);
    expect(t).toBeInstanceOf(Tensor);
    expect(Array.from(t.read())).toEqual([0, 0, 0, 0, 0]);
    t.write([1, 2], 3);
    expect(Array.from(t.array())).toEqual([0, 0, 0, 1, 2]);
    const copy = t.read();
    t.write([9]);
    expect(copy[0]).toBe(0);
    expect(() => t.write([1, 2, 3], 4)).toThrow(/do not fit in a tensor of length 5/);
    t.free();
    expect(t.freed).toBe(true);
    expect(() => t.read()).toThrow(/freed/);
    expect(() => sce.tensor(0)).toThrow(/positive integer length/);
  });

  it('a freed block is reused: alloc/free cycles do not grow memory', () => {
    const keep = sce.tensor(100);
    const cycle = (order: 'lifo' | 'fifo') => {
      const a = sce.tensor(50_000), b = sce.tensor(7);
      if (order === 'lifo') { b.free(); a.free(); } else { a.free(); b.free(); }
    };
    // Two freed neighbours merge into one block: a tensor of their combined size takes
    // their place instead of going on top.
    const a = sce.tensor(1000), b = sce.tensor(1000), top = sce.tensor(4);
    const at = a.ptr;
    a.free();
    b.free();
    const merged = sce.tensor(2000);
    expect(merged.ptr).toBe(at);
    merged.free();
    top.free();
    cycle('lifo'); // the first cycle may grow memory once
    const bytes = sce.memoryBytes;
    for (let i = 0; i < 1000; i++) cycle(i % 2 ? 'lifo' : 'fifo');
    expect(sce.memoryBytes).toBe(bytes);
    expect(keep.read().length).toBe(100);
    keep.free();
  });
});

describe('resident linearCrossEntropy', () => {
  const n = 13, d = 21, c = 10, r = rng(21);
  const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
  const target = randomLabels(r, n, c);

  it('tensors in, tensors out: the same bits as arrays in and out', () => {
    const want = sce.linearCrossEntropy({ x, w, b, target, n, d, c, labelSmoothing: 0.1 });
    const tx = sce.tensor(x), tw = sce.tensor(w), tb = sce.tensor(b);
    const dx = sce.tensor(n * d), dw = sce.tensor(c * d), db = sce.tensor(c);
    const got = sce.linearCrossEntropy({ x: tx, w: tw, b: tb, target, n, d, c, labelSmoothing: 0.1, out: { dx, dw, db } });
    expect(got.loss).toBe(want.loss);
    expect(got.dx ?? got.dw ?? got.db).toBeUndefined();
    same(dx.read(), want.dx);
    same(dw.read(), want.dw);
    same(db.read(), want.db);
    // Mixed: tensors in, arrays out.
    const mixed = sce.linearCrossEntropy({ x: tx, w, b: tb, target, n, d, c, labelSmoothing: 0.1 });
    same(mixed.dw, want.dw);
    same(sce.linear({ x: tx, w: tw, b: tb, n, d, c }), sce.linear({ x, w, b, n, d, c }));
    for (const t of [tx, tw, tb, dx, dw, db]) t.free();
  });

  it('a training loop of 10,000 resident steps does not grow memory', () => {
    const tx = sce.tensor(x), tw = sce.tensor(w), tb = sce.tensor(b);
    const dx = sce.tensor(n * d), dw = sce.tensor(c * d), db = sce.tensor(c);
    const args = { x: tx, w: tw, b: tb, target, n, d, c, out: { dx, dw, db } };
    const first = sce.linearCrossEntropy(args).loss;
    const bytes = sce.memoryBytes;
    for (let i = 0; i < 10_000; i++) sce.linearCrossEntropy(args);
    expect(sce.memoryBytes).toBe(bytes);
    expect(sce.linearCrossEntropy(args).loss).toBe(first);
    for (const t of [tx, tw, tb, dx, dw, db]) t.free();
  });

  it('rejects freed, foreign, misshapen and aliased tensors', async () => {
    const other = await init({ build: 'simd' });
    const tx = sce.tensor(x), dw = sce.tensor(c * d), foreign = other.tensor(x), short = sce.tensor(3);
    expect(() => sce.linearCrossEntropy({ x: foreign, w, target, n, d, c })).toThrow(/x is a tensor of another instance/);
    expect(() => sce.linearCrossEntropy({ x: short, w, target, n, d, c })).toThrow(/x must have length n×d = 273, got a tensor of 3/);
    expect(() => sce.linearCrossEntropy({ x: tx, w, target, n, d, c, out: { dx: tx } })).toThrow(/out.dx must not be an input tensor/);
    expect(() => sce.linearCrossEntropy({ x, w, target, n, d, c, out: { dw: new Float32Array(c * d) as never } })).toThrow(/out.dw must be a Tensor/);
    const dx2 = sce.tensor(n * d);
    // One tensor for two outputs of the same length (n = c here, so dx and dw both hold
    // c×d values): only distinct() can reject it, not a length check.
    const sq = { x: randomFloat32(r, c * d), w, b, target: randomLabels(r, c, c), n: c, d, c };
    const both = sce.tensor(c * d);
    expect(() => sce.linearCrossEntropy({ ...sq, out: { dx: both, dw: both } })).toThrow(/out.dx and out.dw must be different tensors/);
    both.free();
    short.free();
    expect(() => sce.softmax(short, 1, 3)).toThrow(/logits is a tensor that was freed/);
    const ok = sce.linearCrossEntropy({ x: tx, w, target, n, d, c, out: { dw } });
    same(dw.read(), sce.linearCrossEntropy({ x, w, target, n, d, c }).dw);
    expect(ok.dx).toBeDefined();
    for (const t of [tx, dw, dx2]) t.free();
  });
});

describe('resident crossEntropy and softmax', () => {
  const n = 5, c = 7, r = rng(5);
  const logits = randomFloat32(r, n * c, 4), target = randomLabels(r, n, c);

  it('logits tensor, out.dlogits separate or in place', () => {
    const want = sce.crossEntropy({ logits, target, n, c });
    const tz = sce.tensor(logits), dz = sce.tensor(n * c);
    const a = sce.crossEntropy({ logits: tz, target, n, c });
    expect(a.loss).toBe(want.loss);
    same(a.dlogits, want.dlogits);
    same(tz.read(), logits); // a logits tensor is only read
    const b = sce.crossEntropy({ logits: tz, target, n, c, out: { dlogits: dz } });
    expect(b.dlogits).toBeUndefined();
    same(dz.read(), want.dlogits);
    sce.crossEntropy({ logits: tz, target, n, c, out: { dlogits: tz } });
    same(tz.read(), want.dlogits); // in place
    same(sce.softmax(sce.tensor(logits), n, c), sce.softmax(logits, n, c));
    tz.free();
    dz.free();
  });

  it('linear into an out tensor returns a view of it', () => {
    const d = 3, x = randomFloat32(r, n * d), w = randomFloat32(r, c * d);
    const out = sce.tensor(n * c);
    // n×d = n×c when d = c: an out tensor that is also x would be read while written.
    const sq = sce.tensor(n * c);
    expect(() => sce.linear({ x: sq, w: randomFloat32(r, c * c), n, d: c, c, out: sq })).toThrow(/out must not be an input tensor/);
    sq.free();
    const view = sce.linear({ x, w, n, d, c, out });
    same(view, sce.linear({ x, w, n, d, c }));
    expect(view.buffer).toBe(out.array().buffer);
    out.free();
  });
});
