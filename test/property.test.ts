/**
 * Property tests over random calls (test/property.ts): the synchronous API against the
 * float64 reference within the float32 rounding bound, pools bitwise equal to the sync API,
 * and invalid calls rejected everywhere. `npm test` runs a few thousand cases; `npm run fuzz
 * -- --runs N --seed S` runs this file with FUZZ_RUNS and FUZZ_SEED (fast-check prints the
 * seed and path of any failure: pass them back to replay it).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type SoftmaxCE, type SoftmaxCEThreaded } from '../src/index.js';
import { bounds, callSpec, compare, free, materialize, MUTATIONS, run, sameBits, type CallSpec } from './property.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 0);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Runs of each property: as asked by the fuzz, else a share of a few thousand for `npm test`. */
const runs = (share: number) => (RUNS > 0 ? RUNS : share);
const PATH = process.env.FUZZ_PATH;
const params = (share: number) => ({ numRuns: runs(share), seed: SEED, path: PATH });
const TIMEOUT = RUNS > 0 ? 24 * 3600_000 : 120_000;

/** The build under test (vitest.config.ts runs this file once per build). */
const BUILD = (process.env.SCE_BUILD as 'simd' | 'relaxed' | undefined) ?? 'simd';

let sce: SoftmaxCE;
const pools: SoftmaxCEThreaded[] = [];
beforeAll(async () => {
  sce = await init({ build: BUILD });
  // 1–3 threads, with the calling thread computing a share (Node's default) and without.
  for (const [threads, callerComputes] of [[1, true], [2, true], [3, false]] as const) {
    pools.push(await init({ build: BUILD, threads, callerComputes }));
  }
  if (RUNS > 0) console.log(`fuzz (${BUILD}): ${RUNS} runs per property, seed ${SEED ?? '(random: printed on failure)'}`);
});
afterAll(() => {
  for (const p of pools) p.dispose();
});

describe('properties', () => {
  it('the sync API agrees with the float64 reference within the float32 rounding bound', async () => {
    await fc.assert(fc.asyncProperty(callSpec, async (s) => {
      const mine = materialize(s, sce), theirs = materialize(s, null);
      try {
        const got = await run(s, sce, mine), want = await run(s, null, theirs);
        const problem = compare(got, want, bounds(s));
        if (problem) throw new Error(`${s.fn}: ${problem}`);
      } finally {
        free(mine);
      }
    }), params(1500));
  }, TIMEOUT);

  it('a pool gives bitwise the results of the sync API', async () => {
    await fc.assert(fc.asyncProperty(callSpec, fc.integer({ min: 0, max: 2 }), async (s, which) => {
      const pool = pools[which];
      const mine = materialize(s, sce), theirs = materialize(s, pool);
      try {
        const problem = sameBits(await run(s, pool, theirs), await run(s, sce, mine));
        if (problem) throw new Error(`${s.fn} on ${pool.info.threads} threads: ${problem}`);
      } finally {
        free(mine);
        free(theirs);
      }
    }), params(800));
  }, TIMEOUT);

  it('an invalid call throws on the sync API, the pool and the reference, and changes no tensor', async () => {
    const mutation = fc.constantFrom(...MUTATIONS);
    const invalid = fc.tuple(callSpec, mutation, fc.integer({ min: 0, max: 2 }))
      .filter(([s, m]) => m.fns.includes(s.fn));
    await fc.assert(fc.asyncProperty(invalid, async ([s0, m, which]) => {
      const s: CallSpec = { ...s0, grad: true };
      const places: [string, SoftmaxCE | SoftmaxCEThreaded | null][] = [['sync', sce], [`pool of ${pools[which].info.threads}`, pools[which]]];
      if (m.where === 'both') places.push(['reference', null]);
      for (const [where, api] of places) {
        const made = materialize(s, api);
        try {
          m.apply(made.args, s);
          const before = made.tensors.map((t) => Array.from(t.read()));
          let threw: unknown = null;
          try {
            await run(s, api, made);
          } catch (e) {
            threw = e;
          }
          if (!(threw instanceof TypeError || threw instanceof RangeError)) {
            throw new Error(`${s.fn} with ${m.name}: the ${where} call did not throw an ArgumentError or RangeError (${String(threw)})`);
          }
          if (m.expect && !m.expect.test(String((threw as Error).message))) {
            throw new Error(`${s.fn} with ${m.name}: the ${where} call threw "${(threw as Error).message}", not ${m.expect}`);
          }
          made.tensors.forEach((t, k) => expect(Array.from(t.read()), `${where}: a rejected call changed a tensor`).toEqual(before[k]));
        } finally {
          free(made);
        }
      }
    }), params(800));
  }, TIMEOUT);
});
