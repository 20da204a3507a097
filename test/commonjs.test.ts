/**
 * The package from CommonJS, as npm installs it. Its "require" export (cjs/index.cjs)
 * hands require() the one ES module, which Node ≥ 20.19 and ≥ 22.12 can require (it has no
 * top-level await): tested on this Node and on Node 22 and 24 (test/engines). Where
 * require(esm) is off (Node with --no-experimental-require-module, as Node before those
 * versions behaves) the error says what to do. And the packed tarball passes
 * @arethetypeswrong/cli (types resolve for import and require) and publint, offline.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENGINES = join(ROOT, 'test/engines/node_modules');

const NODES: [string, string][] = [
  [`Node ${process.version} (this one)`, process.execPath],
  ['Node 22', join(ENGINES, 'node22/bin/node')],
  ['Node 24', join(ENGINES, 'node24/bin/node')],
];

// A CommonJS program: require by name, the textbook case, and whether import() gives the
// same module (require(esm) returns its namespace: one instance, no dual-package state).
const PROGRAM = `
const sce = require('softmax-ce-wasm');
sce.init().then(async (api) => {
  const { loss } = api.crossEntropy({ logits: new Float32Array([3, 1, -1]), target: [0], n: 1, c: 3 });
  const imported = await import('softmax-ce-wasm');
  console.log(JSON.stringify({ loss, build: api.info.build, sameModule: imported.init === sce.init,
    exports: Object.keys(sce).filter((k) => k !== '__esModule' && k !== 'module.exports').sort() }));
});
`;

let tmp = '', tarball = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sce-cjs-'));
  // The tarball npm would publish (prepare skips the engines on pack), unpacked where npm installs it.
  await run('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: ROOT });
  tarball = join(tmp, (await readdir(tmp)).find((f) => f.endsWith('.tgz'))!);
  const installed = join(tmp, 'app/node_modules/softmax-ce-wasm');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  await writeFile(join(tmp, 'app/main.cjs'), PROGRAM);
}, 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.each(NODES)('require() on %s', (name, node) => {
  const absent = !existsSync(node);
  if (absent && process.env.CI) {
    it('is installed (required under CI)', () => { throw new Error(`${name}: no binary at ${node}`); });
    return;
  }

  it.skipIf(absent)('require(\'softmax-ce-wasm\') gives the package: the same module import() gives', async () => {
    const { stdout } = await run(node, ['main.cjs'], { cwd: join(tmp, 'app') });
    const got = JSON.parse(stdout);
    expect(got.loss).toBeCloseTo(0.14293163, 7);
    expect(got.sameModule).toBe(true);
    expect(got.exports).toEqual(['ArgumentError', 'SoftmaxCE', 'SoftmaxCEThreaded', 'SoftmaxClassifier', 'Tensor',
      'init', 'mulberry32', 'reference']);
  });

  it.skipIf(absent)('with require(esm) off, the error says which Node versions require it and what to use instead', async () => {
    const failed = await run(node, ['--no-experimental-require-module', 'main.cjs'], { cwd: join(tmp, 'app') })
      .then(() => null, (e: { code: number; stderr: string }) => e);
    expect(failed, 'require() succeeded with --no-experimental-require-module').not.toBeNull();
    expect(failed!.stderr).toMatch(/softmax-ce-wasm is an ES module: require\(\) of it needs Node ≥ 20\.19 or ≥ 22\.12/);
    expect(failed!.stderr).toMatch(/await import\('softmax-ce-wasm'\)/);
  });
});

describe('the packed tarball', () => {
  it('passes @arethetypeswrong/cli: types resolve for node10, node16 from CJS and ESM, and bundlers', async () => {
    // Exits non-zero on any problem; --format json for a readable failure.
    const result = await run(join(ROOT, 'node_modules/.bin/attw'), [tarball, '--format', 'json'], { cwd: ROOT })
      .then((r) => ({ ok: true, out: r.stdout }), (e: { stdout: string }) => ({ ok: false, out: e.stdout }));
    const problems = JSON.parse(result.out).analysis?.problems ?? [];
    expect(problems).toEqual([]);
    expect(result.ok).toBe(true);
  }, 60_000);

  it('passes publint --strict (warnings count)', async () => {
    const result = await run(join(ROOT, 'node_modules/.bin/publint'), ['run', tarball, '--strict'], { cwd: ROOT })
      .then((r) => ({ ok: true, out: r.stdout }), (e: { stdout: string; stderr: string }) => ({ ok: false, out: e.stdout + e.stderr }));
    expect(result.out).toMatch(/All good!/);
    expect(result.ok).toBe(true);
  }, 60_000);
});
