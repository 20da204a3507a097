/**
 * The package on every JavaScript runtime users run it on, besides the Node that runs this
 * file: Node 22 and 24, Deno and Bun, from the npm packages in test/engines/package.json
 * (the root's prepare script installs them on npm ci). Each runs the core conformance
 * script (test/engines/conformance.ts, bundled here into one ES module that imports
 * build/index.js): the textbook case, seeded cases of every function against the float64
 * reference, bad inputs, threads bitwise equal to one thread, and the cross-engine
 * determinism fingerprints of test/engines/fingerprints.json. The Node running vitest
 * runs it too, so the fingerprints are checked there as well.
 *
 * A runtime whose binary is missing (npm ci on another platform, or with SCE_SKIP_ENGINES)
 * is skipped with a warning, except under CI, where it fails.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENGINES = join(ROOT, 'test/engines/node_modules');

interface Runtime {
  name: string;
  /** The command: a binary and the arguments before the script. */
  command: string[];
  /** Builds it accepts, relaxed first (init's order). */
  builds: string[];
  /**
   * Whether its relaxed_madd is a fused multiply-add (the relaxed build's results then
   * differ from the simd build's), as measured: V8 fuses on x86-64 with FMA; JavaScriptCore
   * accepts relaxed SIMD but emits a multiply and an add. A change here is news about the
   * engine, not a bug: update the table and the README.
   */
  fuses: boolean | null;
}

const RUNTIMES: Runtime[] = [
  // Node 20 validates relaxed SIMD only under --experimental-wasm-relaxed-simd; Node ≥ 21 by default.
  Number(process.versions.node.split('.')[0]) >= 21
    ? { name: `Node ${process.version} (this one)`, command: [process.execPath], builds: ['relaxed', 'simd'], fuses: true }
    : { name: `Node ${process.version} (this one)`, command: [process.execPath], builds: ['simd'], fuses: null },
  { name: 'Node 22', command: [join(ENGINES, 'node22/bin/node')], builds: ['relaxed', 'simd'], fuses: true },
  { name: 'Node 24', command: [join(ENGINES, 'node24/bin/node')], builds: ['relaxed', 'simd'], fuses: true },
  // No permission flags: the script only imports local modules, which Deno allows.
  { name: 'Deno', command: [join(ENGINES, '@deno/linux-x64-glibc/deno'), 'run'], builds: ['relaxed', 'simd'], fuses: true },
  { name: 'Bun', command: [join(ENGINES, '@oven/bun-linux-x64/bin/bun')], builds: ['relaxed', 'simd'], fuses: false },
];

const missing = RUNTIMES.filter((r) => !existsSync(r.command[0]));
if (missing.length && !process.env.CI) {
  console.warn(`\n⚠️  test/engines.test.ts: SKIPPING ${missing.map((r) => r.name).join(', ')}: no binary under ` +
    `test/engines/node_modules (npm ci installs them on linux-x64; or run \`npm ci --prefix test/engines\`).\n` +
    '   Under CI (CI set) they fail instead.\n');
}

interface Report {
  engine: string;
  builds: string[];
  defaultBuild: string;
  checks: number;
  bad: number;
  threads: { build: string; asked: number; threads: number; workers: number; compared: number }[];
  relaxedFuses: boolean | null;
  failures: string[];
}

interface Run { code: number | null; stdout: string; stderr: string; report?: Report }

function run(command: string[], script: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    // NODE_OPTIONS could carry a loader of vitest's into the child; Deno's update check
    // would reach for the network.
    const env = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
    delete env.NODE_OPTIONS;
    const child = spawn(command[0], [...command.slice(1), script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('SCE-ENGINE-REPORT '));
      resolve({ code, stdout, stderr, report: line ? JSON.parse(line.slice('SCE-ENGINE-REPORT '.length)) : undefined });
    });
  });
}

let tmp = '';
let script = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sce-engines-'));
  script = join(tmp, 'conformance.mjs');
  const entry = pathToFileURL(join(ROOT, 'build/index.js')).href;
  await build({
    entryPoints: [join(ROOT, 'test/engines/conformance.ts')], bundle: true, platform: 'neutral', format: 'esm',
    target: 'es2022', outfile: script, logLevel: 'warning',
    plugins: [{
      name: 'the-package-as-built',
      setup(b) { b.onResolve({ filter: /^softmax-ce-wasm$/ }, () => ({ path: entry, external: true })); },
    }],
  });
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.each(RUNTIMES)('$name', (runtime) => {
  const absent = !existsSync(runtime.command[0]);
  if (absent && process.env.CI) {
    it('is installed (required under CI)', () => {
      throw new Error(`${runtime.name}: no binary at ${runtime.command[0]}; npm ci runs scripts/engines.mjs to install test/engines`);
    });
    return;
  }

  let result: Run;
  beforeAll(async () => { result = await run(runtime.command, script); }, 120_000);

  it.skipIf(absent)('passes the conformance script: textbook, reference, bad inputs, threads, determinism', () => {
    const said = `${result.stderr.slice(0, 4000)}`;
    expect(result.report, `no report; stderr: ${said}`).toBeDefined();
    expect(result.report!.failures, `${result.report!.engine}`).toEqual([]);
    expect(result.code, said).toBe(0);
  });

  it.skipIf(absent)(`accepts the builds ${runtime.builds.join(', ')} and picks the first by default`, () => {
    const r = result.report!;
    expect([r.builds, r.defaultBuild], r.engine).toEqual([runtime.builds, runtime.builds[0]]);
    // Both builds on each, so neither check can pass by running nothing.
    expect(r.checks).toBeGreaterThanOrEqual(1500 * runtime.builds.length);
    expect(r.threads.map((t) => [t.build, t.threads, t.workers])).toEqual(
      runtime.builds.flatMap((b) => [[b, 2, 1], [b, 3, 2]]));
  });

  it.skipIf(absent)(`relaxed_madd ${runtime.fuses === null ? 'is not available' : runtime.fuses ? 'fuses' : 'does not fuse'}`, () => {
    expect(result.report!.relaxedFuses, result.report!.engine).toBe(runtime.fuses);
  });
});
