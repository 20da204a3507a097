/**
 * A randomized concurrency check of the threaded instance: a seeded sequence of calls
 * made without awaiting them, interleaved with tensor allocation, writes and frees and with
 * the caller's buffers refilled between calls, replayed step by step on the synchronous
 * API. Every call's result, and at the end every live tensor, must be bitwise the same.
 *
 * It imports nothing at run time (types only), so that test/concurrency.test.ts runs it
 * on src/ and scripts/soak-threads.mjs on the built package for as long as it is asked.
 */
import type { SoftmaxCE, SoftmaxCEThreaded, Tensor } from '../src/index.js';

type Random = () => number;

/** A tensor of each instance, holding the same values (the threaded one once its queue has run). */
interface Pair {
  t: Tensor;
  s: Tensor;
}

/** The caller's arrays for one shape, reused (and refilled) across calls. */
interface Buffers {
  n: number;
  d: number;
  c: number;
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  logits: Float32Array;
  probs: Float32Array;
  labels: Int32Array;
  weight: Float32Array;
}

export interface SequenceReport {
  calls: number;
  tensors: number;
  writes: number;
  frees: number;
  refills: number;
  rejected: number;
}

const int = (random: Random, lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

function fill(random: Random, a: Float32Array, scale: number): void {
  for (let i = 0; i < a.length; i++) a[i] = (2 * random() - 1) * scale;
}

function refill(random: Random, s: Buffers): void {
  fill(random, s.x, 1);
  fill(random, s.w, 1);
  fill(random, s.b, 1);
  fill(random, s.logits, 6);
  for (let i = 0; i < s.n; i++) {
    let sum = 0;
    for (let k = 0; k < s.c; k++) sum += s.probs[i * s.c + k] = random() + 1e-3;
    for (let k = 0; k < s.c; k++) s.probs[i * s.c + k] /= sum;
    s.labels[i] = Math.floor(random() * s.c);
  }
  for (let k = 0; k < s.c; k++) s.weight[k] = 0.1 + 2 * random();
}

function buffers(random: Random, n: number, d: number, c: number): Buffers {
  const s: Buffers = {
    n, d, c, x: new Float32Array(n * d), w: new Float32Array(c * d), b: new Float32Array(c), logits: new Float32Array(n * c),
    probs: new Float32Array(n * c), labels: new Int32Array(n), weight: new Float32Array(c),
  };
  refill(random, s);
  return s;
}

/** Bits of a result, so that NaN and −0 compare exactly. */
function bits(v: unknown): unknown {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v;
  if (v instanceof Float32Array) return Array.from(new Uint32Array(v.slice().buffer));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bits(x)]));
  return v;
}

/**
 * Runs `steps` random operations on both instances (which must be fresh or hold no tensors
 * the sequence does not know) and checks them; throws an Error naming the step on the
 * first difference. Returns what it did.
 */
export async function runSequence(threaded: SoftmaxCEThreaded, single: SoftmaxCE, random: Random, steps: number): Promise<SequenceReport> {
  const report: SequenceReport = { calls: 0, tensors: 0, writes: 0, frees: 0, refills: 0, rejected: 0 };
  // Three shapes a sequence: one of at least 16 classes (the packed gemm), row counts that
  // split unevenly over threads.
  const shapes = [
    buffers(random, int(random, 1, 40), int(random, 1, 48), int(random, 16, 48)),
    buffers(random, int(random, 1, 24), int(random, 1, 24), int(random, 2, 15)),
    buffers(random, int(random, 1, 64), int(random, 1, 32), int(random, 2, 40)),
  ];
  const pairs: Pair[] = [];
  const checks: Promise<void>[] = [];
  let failure: Error | null = null;
  const expectSame = (step: number, what: string, got: unknown, want: unknown) => {
    const a = JSON.stringify(bits(got)), b = JSON.stringify(bits(want));
    if (a !== b && !failure) failure = new Error(`step ${step}: ${what}: threaded ${a.slice(0, 200)} ≠ synchronous ${b.slice(0, 200)}`);
  };
  const lengths = () => shapes.flatMap((s) => [s.n * s.d, s.c * s.d, s.c, s.n * s.c]);
  /** A live pair of this length, not in `avoid`, picked with probability p (else null: use an array). */
  const pick = (length: number, p: number, avoid: Pair[] = []): Pair | null => {
    if (random() >= p) return null;
    const fit = pairs.filter((q) => q.t.length === length && !avoid.includes(q));
    return fit.length ? fit[Math.floor(random() * fit.length)] : null;
  };
  const side = (q: Pair | null, array: Float32Array, which: 't' | 's') => (q ? q[which] : array);

  for (let step = 0; step < steps && !failure; step++) {
    const r = random();
    const s = shapes[Math.floor(random() * shapes.length)];
    const { n, d, c } = s;
    if (r < 0.5) {
      report.calls++;
      const method = Math.floor(random() * 5);
      if (method === 0) {
        const x = pick(n * d, 0.3), w = pick(c * d, 0.3, [x!]), b = random() < 0.5 ? pick(c, 0.3, [x!, w!]) : null;
        const useB = b !== null || random() < 0.5;
        const out = pick(n * c, 0.3, [x!, w!, b!]);
        const args = (k: 't' | 's') => ({
          x: side(x, s.x, k), w: side(w, s.w, k), b: useB ? side(b, s.b, k) : undefined, n, d, c, out: out ? out[k] : undefined,
        });
        const promise = threaded.linear(args('t') as never);
        const want = single.linear(args('s') as never).slice();
        checks.push(promise.then((got) => expectSame(step, 'linear', got, want)));
      } else if (method === 1 || method === 2) {
        const z = pick(n * c, 0.3);
        const log = method === 2;
        const promise = log ? threaded.logSoftmax(side(z, s.logits, 't'), n, c) : threaded.softmax(side(z, s.logits, 't'), n, c);
        const want = log ? single.logSoftmax(side(z, s.logits, 's'), n, c) : single.softmax(side(z, s.logits, 's'), n, c);
        checks.push(promise.then((got) => expectSame(step, log ? 'logSoftmax' : 'softmax', got, want)));
      } else if (method === 3) {
        const z = pick(n * c, 0.3);
        // out.dlogits may be the logits tensor itself.
        const out = z && random() < 0.3 ? z : pick(n * c, 0.3, [z!]);
        const probs = random() < 0.4, weighted = !probs && random() < 0.5;
        const reduction = (['mean', 'sum', 'none'] as const)[Math.floor(random() * 3)];
        const labelSmoothing = random() < 0.3 ? 0.1 : 0;
        // One object per instance, drawn before either call (a draw inside would differ).
        const args = (k: 't' | 's') => ({
          logits: side(z, s.logits, k), target: probs ? s.probs : s.labels, n, c, reduction,
          weight: weighted ? s.weight : undefined, labelSmoothing, out: out ? { dlogits: out[k] } : undefined,
        });
        const promise = threaded.crossEntropy(args('t'));
        const want = single.crossEntropy(args('s'));
        checks.push(promise.then((got) => expectSame(step, 'crossEntropy', got, want)));
      } else {
        const x = pick(n * d, 0.3), w = pick(c * d, 0.3, [x!]), b = random() < 0.7 ? pick(c, 0.3, [x!, w!]) : null;
        const useB = b !== null || random() < 0.6;
        const inputs = [x!, w!, b!];
        const dx = pick(n * d, 0.2, inputs), dw = pick(c * d, 0.3, [...inputs, dx!]), db = useB ? pick(c, 0.3, [...inputs, dx!, dw!]) : null;
        const probs = random() < 0.4;
        const chunk = random() < 0.3 ? { rows: int(random, 1, 8) } : undefined;
        const weighted = !probs && random() < 0.3;
        const args = (k: 't' | 's') => ({
          x: side(x, s.x, k), w: side(w, s.w, k), b: useB ? side(b, s.b, k) : undefined, target: probs ? s.probs : s.labels, n, d, c,
          weight: weighted ? s.weight : undefined, chunk,
          out: { dx: dx?.[k], dw: dw?.[k], db: db?.[k] },
        });
        const promise = threaded.linearCrossEntropy(args('t'));
        const want = single.linearCrossEntropy(args('s'));
        checks.push(promise.then((got) => expectSame(step, 'linearCrossEntropy', got, want)));
      }
    } else if (r < 0.53) {
      // A call with a bad argument: rejected at once with the synchronous API's error, leaving no state.
      report.rejected++;
      let want = '';
      try {
        single.softmax(s.logits.subarray(1), n, c);
      } catch (e) {
        want = (e as Error).message;
      }
      checks.push(threaded.softmax(s.logits.subarray(1), n, c).then(
        () => expectSame(step, 'bad softmax', 'resolved', want),
        (e: Error) => expectSame(step, 'bad softmax', e.message, want)));
    } else if (r < 0.68) {
      report.refills++;
      refill(random, s);
    } else if (r < 0.78) {
      report.tensors++;
      const all = lengths(), length = all[Math.floor(random() * all.length)];
      if (random() < 0.5) {
        pairs.push({ t: threaded.tensor(length), s: single.tensor(length) });
      } else {
        const data = new Float32Array(length);
        fill(random, data, 2);
        pairs.push({ t: threaded.tensor(data), s: single.tensor(data) });
        data.fill(0); // the tensors hold copies
      }
    } else if (r < 0.88 && pairs.length) {
      report.writes++;
      const q = pairs[Math.floor(random() * pairs.length)];
      const offset = int(random, 0, q.t.length - 1), data = new Float32Array(int(random, 1, q.t.length - offset));
      fill(random, data, 2);
      q.t.write(data, offset);
      q.s.write(data, offset);
      data.fill(NaN); // a write copies its source when made
    } else if (r < 0.95 && pairs.length) {
      report.frees++;
      const [q] = pairs.splice(Math.floor(random() * pairs.length), 1);
      q.t.free();
      q.s.free();
    } else {
      await Promise.all(checks.splice(0));
    }
  }
  await Promise.all(checks);
  // Reading a tensor is not ordered with the queue: every call and write above has ended.
  await threaded.softmax(new Float32Array(1), 1, 1);
  for (const [i, q] of pairs.entries()) expectSame(steps, `tensor ${i} of length ${q.t.length}`, q.t.read(), q.s.read());
  for (const q of pairs) {
    q.t.free();
    q.s.free();
  }
  if (failure) throw failure;
  return report;
}
