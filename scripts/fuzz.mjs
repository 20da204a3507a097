// npm run fuzz -- [--runs 100000] [--seed S] [--path P] [--build simd|relaxed|both]
//
// Runs the property tests of test/property.test.ts (API against the float64 reference,
// pools bitwise against the sync API, invalid calls rejected everywhere) with `runs` cases
// per property. The seed is printed first; on a failure fast-check prints the seed and the
// path of the shrunk counterexample: `--seed S --path P` replays exactly that case. `--build`
// picks the WebAssembly build (vitest.config.ts's projects; default simd, both runs the two in turn).
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' }, seed: { type: 'string' }, path: { type: 'string' }, build: { type: 'string', default: 'simd' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`fuzz: --runs must be a positive integer, got ${values.runs}`);
const seed = values.seed !== undefined ? Number(values.seed) : (Math.random() * 2 ** 31) | 0;
if (!Number.isInteger(seed)) throw new Error(`fuzz: --seed must be an integer, got ${values.seed}`);
if (!['simd', 'relaxed', 'both'].includes(values.build)) throw new Error(`fuzz: --build must be simd, relaxed or both, got ${values.build}`);
const projects = values.build === 'both' ? [] : ['--project', values.build];
console.log(`fuzz: ${runs} runs per property, seed ${seed} (replay: npm run fuzz -- --runs ${runs} --seed ${seed})`);

const env = { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed) };
if (values.path) env.FUZZ_PATH = values.path;
const started = Date.now();
const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/property.test.ts', ...projects],
  { stdio: 'inherit', env });
child.on('exit', (code, signal) => {
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  console.log(code === 0
    ? `fuzz: passed, ${runs} runs per property (3 properties), build ${values.build}, seed ${seed}, ${minutes} min`
    : `fuzz: FAILED (exit ${code ?? signal}) after ${minutes} min; seed ${seed} — the counterexample's seed and path are above`);
  process.exit(code ?? 1);
});
