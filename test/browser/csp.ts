/**
 * The in-page half of the Content-Security-Policy tests in test/browser.test.ts: init() and
 * init({ threads: 2 }) under whatever policy the page was served with, and a report on
 * `window.__sceCsp`: what each did, its error or note, and whether the pool's results are
 * bitwise the single-thread API's.
 */
// @ts-expect-error: the page imports the package's bundle by URL (esbuild leaves it external).
import { init as initUntyped } from '/build/index.js';
import type * as Package from '../../src/index.js';
import { randomFloat32, rng } from '../helpers.js';

const init = initUntyped as typeof Package.init;

export interface CspReport {
  single: { build?: string; loss?: number; error?: string };
  threads: { threads?: number; workers?: number; threadsNote?: string | null; sameBits?: boolean; error?: string };
}

declare global {
  // eslint-disable-next-line no-var
  var __sceCsp: { done: true; report?: CspReport; error?: string } | undefined;
}

const describeError = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

async function run(): Promise<CspReport> {
  const report: CspReport = { single: {}, threads: {} };
  try {
    const sce = await init();
    const { loss } = sce.crossEntropy({ logits: new Float32Array([3, 1, -1]), target: [0], n: 1, c: 3 });
    report.single = { build: sce.info.build, loss: loss as number };
  } catch (e) {
    report.single = { error: describeError(e) };
  }
  try {
    const p = await init({ threads: 2 });
    const n = 37, d = 50, c = 101, r = rng(7);
    const x = randomFloat32(r, n * d), w = randomFloat32(r, c * d);
    const got = await p.linear({ x, w, n, d, c });
    const want = (await init()).linear({ x, w, n, d, c });
    const a = new Uint32Array(got.buffer), b = new Uint32Array(want.buffer);
    report.threads = { threads: p.info.threads, workers: p.info.workers, threadsNote: p.info.threadsNote ?? null,
      sameBits: a.length === b.length && a.every((v, i) => v === b[i]) };
    p.dispose();
  } catch (e) {
    report.threads = { error: describeError(e) };
  }
  return report;
}

run().then(
  (report) => { globalThis.__sceCsp = { done: true, report }; },
  (e: unknown) => { globalThis.__sceCsp = { done: true, error: describeError(e) }; },
);
