/**
 * The in-page half of test/browser.test.ts. It runs inside Chromium, against whatever
 * `softmax-ce-wasm` the page resolved (an import map, a Vite build, the Vite dev server),
 * and publishes a JSON report on `window.__sce` for the test to assert on in vitest.
 *
 * test/browser.test.ts bundles this file (with ../helpers.ts, for the same seeded RNG as
 * the Node tests) into a plain ES module, suite.js; the package itself is not bundled in:
 * each page imports it and passes it to `publish`.
 *
 * Tolerance, as test/api.test.ts: float32 kernels against the float64 reference, every
 * element within 1e-5 of the output's scale (its largest |reference value|); scalar losses
 * within 1e-5 relative. The reasoning is written at the head of test/api.test.ts.
 */
import type * as Package from '../../src/index.js';
import type { SoftmaxCE } from '../../src/index.js';
import { CASES, SHAPES, makeCase, randomFloat32, rng, type Rng } from '../helpers.js';

type Lib = Pick<typeof Package, 'init' | 'reference'>;
type Sce = SoftmaxCE;

const TOL = 1e-5;

/** One comparison against the reference; `detail` says where it is worst. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** A call that must be rejected: its message must match `pattern` (it names the argument). */
export interface BadCall {
  name: string;
  pattern: string;
  threw: boolean;
  errorName: string;
  message: string;
  /** The valid call made right after, against the reference. */
  next: Check[];
}

export interface BuildReport {
  build: string;
  supported: string[];
  textbook: { p: number[]; loss: number; dlogits: number[] };
  checks: Check[];
  bad: BadCall[];
}

export interface Report {
  userAgent: string;
  crossOriginIsolated: boolean;
  hasSharedArrayBuffer: boolean;
  /** One entry per build this engine accepts (relaxed SIMD and SIMD on a current Chromium). */
  builds: BuildReport[];
  /** init() with a build name that does not exist. */
  badInit: { message: string };
  ms: number;
}

declare global {
  // eslint-disable-next-line no-var
  var __sce: { done: true; report?: Report; error?: string } | undefined;
}

function scaleOf(ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return m;
}

function close(name: string, got: ArrayLike<number> | undefined, ref: ArrayLike<number> | undefined): Check {
  if (!got || !ref) return { name, ok: false, detail: `got ${got ? 'an array' : got}, reference ${ref ? 'an array' : ref}` };
  if (got.length !== ref.length) return { name, ok: false, detail: `length ${got.length}, reference ${ref.length}` };
  const bound = TOL * Math.max(scaleOf(ref), 1e-30);
  let worst = 0, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= worst)) { worst = err; at = i; } // NaN counts as worst
  }
  const ok = worst <= bound;
  return { name, ok, detail: ok ? `worst ${worst.toExponential(2)} ≤ ${bound.toExponential(2)}` :
    `worst |error| ${worst} > ${bound} at [${at}]: got ${got[at]}, want ${ref[at]}` };
}

function lossClose(name: string, got: number | Float32Array, ref: number | Float64Array): Check {
  if (typeof ref !== 'number') {
    if (!(got instanceof Float32Array)) return { name, ok: false, detail: `want a Float32Array, got ${typeof got}` };
    return close(name, got, ref);
  }
  if (typeof got !== 'number') return { name, ok: false, detail: `want a number, got ${Object.prototype.toString.call(got)}` };
  if (Number.isNaN(ref)) return { name, ok: Number.isNaN(got), detail: `got ${got}, want NaN` };
  const bound = TOL * Math.max(Math.abs(ref), 1e-6);
  return { name, ok: Math.abs(got - ref) <= bound, detail: `got ${got}, want ${ref} (± ${bound.toExponential(2)})` };
}

function absent(name: string, v: unknown): Check {
  return { name, ok: v === undefined, detail: v === undefined ? 'absent' : `want undefined, got ${Object.prototype.toString.call(v)}` };
}


/** Seeded random cases of every public function against the float64 reference. */
function randomChecks(sce: Sce, reference: Lib['reference']): Check[] {
  const checks: Check[] = [];
  for (const [n, d, c] of SHAPES) {
    const r = rng(n * 7919 + d * 31 + c);
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
    const at = `${n}×${d}×${c}`;
    checks.push(close(`linear ${at}`, sce.linear({ x, w, b, n, d, c }), reference.linear({ x, w, b, n, d, c })));
    checks.push(close(`linear without b ${at}`, sce.linear({ x, w, n, d, c }), reference.linear({ x, w, n, d, c })));
    const z = randomFloat32(r, n * c, 8);
    checks.push(close(`softmax ${n}×${c}`, sce.softmax(z, n, c), reference.softmax(z, n, c)));
    checks.push(close(`logSoftmax ${n}×${c}`, sce.logSoftmax(z, n, c), reference.logSoftmax(z, n, c)));
  }
  for (const k of CASES) {
    const label = `${k.reduction} ${k.weighted ? 'weighted' : 'unweighted'} ε=${k.smoothing} ${k.targets}${k.grad ? '' : ' no-grad'}`;
    for (const [n, d, c] of SHAPES.filter(([n, , c]) => n * c <= 4000)) {
      const r = rng(n * 131 + c * 7 + d);
      const options = makeCase(r, n, c, k);
      const at = `${label} ${n}×${d}×${c}`;
      const logits = randomFloat32(r, n * c, 6);
      const got = sce.crossEntropy({ logits, n, c, ...options });
      const want = reference.crossEntropy({ logits, n, c, ...options });
      checks.push(lossClose(`crossEntropy loss ${at}`, got.loss, want.loss));
      checks.push(k.grad ? close(`crossEntropy dlogits ${at}`, got.dlogits, want.dlogits) : absent(`crossEntropy dlogits ${at}`, got.dlogits));

      const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d, 0.5), b = randomFloat32(r, c);
      const lg = sce.linearCrossEntropy({ x, w, b, n, d, c, ...options });
      const lw = reference.linearCrossEntropy({ x, w, b, n, d, c, ...options });
      checks.push(lossClose(`linearCrossEntropy loss ${at}`, lg.loss, lw.loss));
      for (const g of ['dx', 'dw', 'db'] as const) {
        const name = `linearCrossEntropy ${g} ${at}`;
        checks.push(k.grad ? close(name, lg[g], lw[g]) : absent(name, lg[g]));
      }
    }
  }
  // Hostile logits: a naive exp overflows on [90, 100] and on ±1e30.
  const n = 4, c = 37, target = new Int32Array([0, 5, 17, 36]);
  const hostile: [string, (r: Rng, j: number) => number][] = [
    ['in [90, 100]', (r) => 90 + 10 * r()], ['±1e30', (_r, j) => (j % 2 ? 1e30 : -1e30)],
  ];
  for (const [name, gen] of hostile) {
    const r = rng(99);
    const logits = Float32Array.from({ length: n * c }, (_, k) => gen(r, k % c));
    const got = sce.crossEntropy({ logits, target, n, c }), want = reference.crossEntropy({ logits, target, n, c });
    checks.push(lossClose(`crossEntropy loss, logits ${name}`, got.loss, want.loss));
    checks.push(close(`crossEntropy dlogits, logits ${name}`, got.dlogits, want.dlogits));
    checks.push(close(`softmax, logits ${name}`, sce.softmax(logits, n, c), reference.softmax(logits, n, c)));
  }
  return checks;
}

/** Bad arguments of each function; after each, a valid call must still be right. */
function badCalls(sce: Sce, reference: Lib['reference']): BadCall[] {
  const n = 2, d = 3, c = 4, r = rng(11);
  const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d), b = randomFloat32(r, c);
  const logits = randomFloat32(r, n * c), target = new Int32Array([1, 3]);
  const good = { x, w, b, target, n, d, c };
  const table: [string, () => unknown, RegExp][] = [
    ['linearCrossEntropy: x too short', () => sce.linearCrossEntropy({ ...good, x: x.subarray(1) }), /linearCrossEntropy: x must have length n×d = 6, got 5/],
    ['linearCrossEntropy: x a plain array', () => sce.linearCrossEntropy({ ...good, x: Array.from(x) as never }), /x must be a Float32Array/],
    ['linearCrossEntropy: w wrong length', () => sce.linearCrossEntropy({ ...good, w: new Float32Array(5) }), /w must have length c×d = 12/],
    ['linearCrossEntropy: n zero', () => sce.linearCrossEntropy({ ...good, n: 0 }), /n must be a positive integer/],
    ['linearCrossEntropy: label out of range', () => sce.linearCrossEntropy({ ...good, target: new Int32Array([1, 4]) }), /target\[1\] = 4 is outside \[0, c\)/],
    ['linearCrossEntropy: weight negative', () => sce.linearCrossEntropy({ ...good, weight: new Float32Array([1, -1, 1, 1]) }), /weight must be finite and ≥ 0, got weight\[1\] = -1/],
    ['linearCrossEntropy: unknown reduction', () => sce.linearCrossEntropy({ ...good, reduction: 'avg' as never }), /reduction must be 'mean', 'sum' or 'none', got "avg"/],
    ['linearCrossEntropy: labelSmoothing > 1', () => sce.linearCrossEntropy({ ...good, labelSmoothing: 1.1 }), /labelSmoothing must be a number in \[0, 1\]/],
    ['crossEntropy: logits too short', () => sce.crossEntropy({ logits: logits.subarray(1), target, n, c }), /crossEntropy: logits must have length n×c = 8/],
    ['crossEntropy: null arguments', () => sce.crossEntropy(null as never), /crossEntropy: expected an arguments object/],
    ['softmax: n too large for the logits', () => sce.softmax(logits, 3, c), /softmax: logits must have length n×c = 12/],
    ['logSoftmax: c zero', () => sce.logSoftmax(logits, n, 0), /logSoftmax: c must be a positive integer/],
    ['linear: w too short', () => sce.linear({ x, w: w.subarray(2), n, d, c }), /linear: w must have length c×d = 12/],
    ['linearCrossEntropy: unknown option', () => sce.linearCrossEntropy({ ...good, label_smoothing: 0.1 } as never), /linearCrossEntropy: unknown option 'label_smoothing'/],
    ['linear: past the 4 GiB address space', () => sce.linear({ x: good.x, w: good.w, b: good.b, c: good.c, n: 65536, d: 65536 }), /linear: .*4 GiB/],
    ['reference.crossEntropy: label out of range', () => reference.crossEntropy({ logits, target: new Int32Array([0, 9]), n, c }), /target\[1\] = 9/],
  ];
  return table.map(([name, call, re]) => {
    let threw = false, errorName = '', message = '';
    try {
      call();
    } catch (e) {
      threw = true;
      errorName = (e as Error)?.name ?? typeof e;
      message = String((e as Error)?.message ?? e);
    }
    const ok = sce.linearCrossEntropy(good), ref = reference.linearCrossEntropy(good);
    const next = [lossClose('next loss', ok.loss, ref.loss), close('next dw', ok.dw, ref.dw), close('next db', ok.db, ref.db),
      close('next softmax', sce.softmax(logits, n, c), reference.softmax(logits, n, c))];
    return { name, pattern: re.source, threw, errorName, message, next };
  });
}

export async function runSuite({ init, reference }: Lib): Promise<Report> {
  const t0 = performance.now();
  const first = await init();
  const builds: BuildReport[] = [];
  for (const build of first.info.supported) {
    const sce = build === first.info.build ? first : await init({ build });
    const logits = new Float32Array([3, 1, -1]);
    const p = sce.softmax(logits, 1, 3);
    const { loss, dlogits } = sce.crossEntropy({ logits, target: new Int32Array([0]), n: 1, c: 3 });
    builds.push({
      build: sce.info.build,
      supported: [...sce.info.supported],
      textbook: { p: Array.from(p), loss: loss as number, dlogits: Array.from(dlogits!) },
      checks: randomChecks(sce, reference),
      bad: badCalls(sce, reference),
    });
  }
  let badInit = '';
  await init({ build: 'bogus' as never }).catch((e: Error) => { badInit = e.message; });
  return {
    // Node 20 has no navigator (test/engines runs this suite there too).
    userAgent: globalThis.navigator?.userAgent ?? `Node ${globalThis.process?.version}`,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hasSharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    builds,
    badInit: { message: badInit },
    ms: performance.now() - t0,
  };
}

/** Runs the suite and leaves its report (or the error) on `window.__sce`. */
export function publish(lib: Lib): Promise<void> {
  return runSuite(lib).then(
    (report) => { globalThis.__sce = { done: true, report }; },
    (e: unknown) => { globalThis.__sce = { done: true, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }; },
  );
}
