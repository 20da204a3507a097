/**
 * The core conformance suite for one JavaScript runtime (Node 20/22/24, Deno, Bun):
 * test/engines.test.ts bundles this file into one plain ES module (the package stays out:
 * 'softmax-ce-wasm' is rewritten to the file URL of build/index.js) and runs it with each
 * runtime. It checks, on every build the engine accepts:
 *   - the textbook case (z = [3, 1, −1], label 0 → loss 0.14293163);
 *   - seeded cases of every public function against the float64 reference, and bad inputs
 *     (test/browser/suite.ts, the suite the browser pages run);
 *   - threads: init({ threads: 2 | 3 }) runs on workers (no fallback) and every public
 *     function is bitwise the single-thread result (test/browser/threads.ts's comparison);
 *   - determinism: the simd build's fingerprints equal test/engines/fingerprints.json, on 1,
 *     2 and 3 threads; whether relaxed_madd fuses is recorded.
 * It prints one line `SCE-ENGINE-REPORT {json}` and exits 0, or lists every failure on
 * stderr and exits 1.
 */
import type * as Package from '../../src/index.js';
import { runSuite } from '../browser/suite.js';
import { comparePool, everyFunction, SHAPES } from '../browser/threads.js';
import { determinism, mismatches } from './determinism.js';
import expected from './fingerprints.json';

type Lib = typeof Package;
const g = globalThis as unknown as {
  Deno?: { version: { deno: string; v8: string }; exit(code: number): never };
  Bun?: { version: string };
  process?: { version: string; versions: Record<string, string>; exit(code: number): never; exitCode?: number };
};

function engine(): string {
  if (g.Deno) return `Deno ${g.Deno.version.deno} (V8 ${g.Deno.version.v8})`;
  if (g.Bun) return `Bun ${g.Bun.version} (JavaScriptCore ${g.process?.versions.webkit ?? ''})`.replace(' )', ')');
  return `Node ${g.process?.version} (V8 ${g.process?.versions.v8})`;
}

const failures: string[] = [];
const fail = (what: string) => failures.push(what);

const lib = await import('softmax-ce-wasm' as string) as Lib;
const t0 = performance.now();

// The core suite, each accepted build.
const suite = await runSuite(lib);
for (const b of suite.builds) {
  const want = [0.86681333, 0.11731043, 0.01587624];
  const near = (got: number, v: number) => Math.abs(got - v) <= 5e-8;
  if (!near(b.textbook.loss, 0.14293163)) fail(`${b.build}: textbook loss ${b.textbook.loss}, want 0.14293163`);
  want.forEach((v, j) => {
    if (!near(b.textbook.p[j], v)) fail(`${b.build}: textbook p[${j}] = ${b.textbook.p[j]}, want ${v}`);
    if (!near(b.textbook.dlogits[j], v - (j === 0 ? 1 : 0))) fail(`${b.build}: textbook dz[${j}] = ${b.textbook.dlogits[j]}`);
  });
  for (const c of b.checks) if (!c.ok) fail(`${b.build} ${c.name}: ${c.detail}`);
  if (b.checks.length < 1500) fail(`${b.build}: only ${b.checks.length} reference checks ran`);
  for (const call of b.bad) {
    if (!call.threw) fail(`${b.build} ${call.name}: did not throw`);
    else if (!/^(ArgumentError|RangeError)$/.test(call.errorName) || !new RegExp(call.pattern).test(call.message)
      || !call.message.startsWith('softmax-ce-wasm: ')) {
      fail(`${b.build} ${call.name}: threw ${call.errorName}: ${call.message}; want /${call.pattern}/`);
    }
    for (const c of call.next) if (!c.ok) fail(`${b.build} after ${call.name}: ${c.name}: ${c.detail}`);
  }
  if (b.bad.length < 10) fail(`${b.build}: only ${b.bad.length} bad calls ran`);
}
if (!/init: build must be 'auto', 'simd' or 'relaxed', got "bogus"/.test(suite.badInit.message)) {
  fail(`init({ build: 'bogus' }): ${suite.badInit.message || 'did not reject'}`);
}

// Threads: bitwise the single-thread results, on workers (a fallback to one thread fails).
const threads: { build: string; asked: number; threads: number; workers: number; compared: number }[] = [];
for (const build of suite.builds.map((b) => b.build) as ('simd' | 'relaxed')[]) {
  const single = await lib.init({ build });
  for (const asked of [2, 3]) {
    const p = await lib.init({ build, threads: asked });
    try {
      const label = `${build} threads: ${asked}`;
      if (p.info.threads !== asked || p.info.threadsNote) fail(`${label}: ran on ${p.info.threads} thread(s): ${p.info.threadsNote}`);
      const { promises, same } = await comparePool(p, single, SHAPES, everyFunction);
      if (!promises) fail(`${label}: a method did not return a Promise`);
      for (const c of same) if (!c.ok) fail(`${label} ${c.name}: ${c.detail}`);
      if (same.length < 150) fail(`${label}: only ${same.length} comparisons ran`);
      threads.push({ build, asked, threads: p.info.threads, workers: p.info.workers, compared: same.length });
    } finally {
      p.dispose();
    }
  }
}

// Determinism across engines and thread counts.
const det = await determinism(lib);
for (const m of mismatches(det.simd, expected)) fail(`determinism, simd build: ${m}`);
for (const t of det.threads) {
  if (t.threads !== t.asked) fail(`determinism threads: ${t.asked}: ran on ${t.threads}: ${t.threadsNote}`);
  for (const k of t.differing) fail(`determinism threads: ${t.asked}: ${k} differs from one thread`);
}

const report = {
  engine: engine(),
  builds: suite.builds.map((b) => b.build),
  defaultBuild: (await lib.init()).info.build,
  checks: suite.builds.reduce((s, b) => s + b.checks.length, 0),
  bad: suite.builds.reduce((s, b) => s + b.bad.length, 0),
  threads,
  relaxedFuses: det.relaxedFuses,
  simdFingerprints: det.simd,
  relaxedFingerprints: det.relaxed,
  ms: Math.round(performance.now() - t0),
  failures,
};
console.log(`SCE-ENGINE-REPORT ${JSON.stringify(report)}`);
if (failures.length) {
  console.error(`softmax-ce-wasm conformance FAILED on ${report.engine}: ${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
}
const exit = g.Deno ? g.Deno.exit : g.process!.exit;
exit(failures.length ? 1 : 0);
