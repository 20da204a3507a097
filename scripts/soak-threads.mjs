// The randomized concurrency check of the threaded instance (test/concurrency.ts), for
// longer than `npm test` runs it: seeded sequences on the built package, over 2–4 threads
// with and without the calling thread computing, until the time is up. On a difference it
// prints the seed and configuration, which replay it exactly, and exits with code 1.
//
//   npm run soak:threads -- [--seconds 120] [--seed 1] [--steps 400]
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { transform } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' }, steps: { type: 'string', default: '400' } },
});
const seconds = Number(values.seconds), firstSeed = Number(values.seed), steps = Number(values.steps);

// The generator is TypeScript that imports only types: stripping them is all it needs.
const source = await readFile(join(root, 'test/concurrency.ts'), 'utf8');
const { code } = await transform(source, { loader: 'ts', format: 'esm' });
const file = join(await mkdtemp(join(tmpdir(), 'sce-soak-')), 'concurrency.mjs');
await writeFile(file, code);
const { runSequence } = await import(pathToFileURL(file).href);
const { init, mulberry32 } = await import(pathToFileURL(join(root, 'build/index.js')).href);

const single = await init({ build: 'simd' });
const configs = [];
for (const threads of [2, 3, 4]) for (const callerComputes of [true, false]) configs.push({ threads, callerComputes });
const pools = await Promise.all(configs.map((c) => init({ build: 'simd', ...c })));

const until = Date.now() + seconds * 1000, totals = { sequences: 0, calls: 0, tensors: 0, writes: 0, frees: 0, refills: 0, rejected: 0 };
let seed = firstSeed;
while (Date.now() < until) {
  const i = seed % configs.length, config = configs[i];
  try {
    const report = await runSequence(pools[i], single, mulberry32(seed), steps);
    totals.sequences++;
    for (const [k, v] of Object.entries(report)) totals[k] += v;
  } catch (e) {
    console.error(`soak:threads: FAILED at seed ${seed} (threads ${config.threads}, callerComputes ${config.callerComputes}, steps ${steps}):`);
    console.error(e);
    console.error(`replay: npm run soak:threads -- --seed ${seed} --steps ${steps} --seconds 1`);
    process.exit(1);
  }
  seed++;
}
pools.forEach((p) => p.dispose());
console.log(`soak:threads: ${totals.sequences} sequences (seeds ${firstSeed}–${seed - 1}, ${steps} steps each) in ${seconds} s, ` +
  `all bitwise equal to the synchronous API: ${totals.calls} calls, ${totals.rejected} rejected, ${totals.tensors} tensors, ` +
  `${totals.writes} writes, ${totals.frees} frees, ${totals.refills} refills`);
