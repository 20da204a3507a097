/**
 * The package in a real browser (headless Chromium through playwright-core), the three
 * ways a web page gets it:
 *   1. no bundler — a static server, an import map 'softmax-ce-wasm' → /build/index.js
 *      (the package's "." export), a <script type="module">; nothing is transformed;
 *   2. `vite build` of an app that imports 'softmax-ce-wasm', served statically;
 *   3. the Vite dev server on the same app (dependency pre-bundling, then ESM as served).
 * Route 1 runs a second time cross-origin isolated (COOP/COEP switched on for that page by
 * `?coi`, see serveStatic in test/browser/harness.ts), as pages with wasm threads will be.
 * Each page runs test/browser/suite.ts: the textbook case, seeded random cases of every
 * public function against `reference` in the page (tolerance as test/api.test.ts), and bad
 * inputs; it leaves a report on window.__sce that the tests below assert on. Any console
 * error or warning, uncaught exception or failed request in a page fails its route.
 *
 * The app is staged in a temporary directory that depends on a copy of the package as npm
 * would install it (package.json and its "files"), so Vite resolves it through the exports map.
 *
 * Without Chromium (see test/browser/harness.ts) the browser tests warn and skip, except
 * under CI, where they fail.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { build as viteBuild, createLogger, createServer, type Logger, type ViteDevServer } from 'vite';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium, openPage, serveStatic, type StaticServer } from './browser/harness.js';
import type { Report } from './browser/suite.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'test/browser');
const PKG = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
/** What `import 'softmax-ce-wasm'` resolves to inside the package. */
const ENTRY: string = PKG.exports['.'].import;
const PAGE_TIMEOUT = 30_000;

const missing = chromiumMissing();
if (missing && !process.env.CI) {
  console.warn(`\n⚠️  test/browser.test.ts: SKIPPING every browser test: ${missing}.\n` +
    '   Under CI (CI set) they fail instead.\n');
}

describe('the bundle in browsers', () => {
  it('imports nothing: no Node built-in, no file to fetch (esbuild for platform browser)', async () => {
    // esbuild parses every static import, import() and require() of a literal, and refuses
    // node:* and bare built-ins for the browser platform, so this fails on any. (Node-only
    // code reached through a runtime guard, such as globalThis.process?.getBuiltinModule,
    // is not an import; the pages below run the bundle to show it stays unreached there.)
    const result = await esbuild({
      entryPoints: [join(ROOT, ENTRY)], bundle: true, platform: 'browser', format: 'esm',
      write: false, metafile: true, logLevel: 'silent', absWorkingDir: ROOT,
    });
    const inputs = result.metafile!.inputs;
    expect(Object.keys(inputs)).toEqual([ENTRY.replace(/^\.\//, '')]);
    expect(Object.values(inputs).flatMap((i) => i.imports)).toEqual([]);
  });

  if (missing && process.env.CI) {
    it('has Chromium to run in (required under CI)', () => {
      throw new Error(`test/browser.test.ts under CI: ${missing}`);
    });
  }
});

/** A logger that keeps what Vite warns about, so the test can show and check it. */
function recordingLogger(into: string[]): Logger {
  const logger = createLogger('warn');
  return {
    ...logger,
    warn: (msg) => { into.push(msg); },
    warnOnce: (msg) => { into.push(msg); },
    error: (msg) => { into.push(msg); },
  };
}

describe.skipIf(missing !== null)('in headless Chromium', () => {
  let tmp = '';
  let browser: Browser | undefined;
  let site: StaticServer | undefined;
  let dev: ViteDevServer | undefined;
  const viteWarnings: string[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'sce-browser-'));
    const app = join(tmp, 'app'), siteDir = join(tmp, 'site');
    const browserLaunch = launchChromium();
    browserLaunch.catch(() => {});

    // The in-page suite as one plain ES module (it does not contain the package).
    await esbuild({
      entryPoints: [join(FIXTURES, 'suite.ts')], bundle: true, platform: 'browser', format: 'esm',
      target: 'es2022', outfile: join(siteDir, 'suite.js'), logLevel: 'warning',
    });
    // Route 1: the page and the package's entry, at the URL the import map names.
    await cp(join(FIXTURES, 'importmap.html'), join(siteDir, 'importmap.html'));
    await cp(join(ROOT, ENTRY), join(siteDir, 'build/index.js'));

    // Route 2: an app depending on the package as npm installs it (package.json + "files").
    const installed = join(app, 'node_modules', PKG.name);
    for (const file of ['package.json', ...PKG.files as string[]]) {
      if (existsSync(join(ROOT, file))) await cp(join(ROOT, file), join(installed, file), { recursive: true });
    }
    await mkdir(app, { recursive: true });
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'sce-browser-app', private: true, type: 'module' }));
    await cp(join(FIXTURES, 'vite-app'), app, { recursive: true });
    await cp(join(siteDir, 'suite.js'), join(app, 'suite.js'));
    await viteBuild({
      root: app, configFile: false, envDir: false, base: '/vite/', logLevel: 'warn',
      customLogger: recordingLogger(viteWarnings), cacheDir: join(tmp, 'vite-cache'),
      build: { outDir: join(siteDir, 'vite'), emptyOutDir: true },
    });

    site = await serveStatic(siteDir);
    dev = await createServer({
      root: app, configFile: false, envDir: false, logLevel: 'warn',
      customLogger: recordingLogger(viteWarnings), cacheDir: join(tmp, 'vite-cache'),
      server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
    });
    await dev.listen();
    browser = await browserLaunch;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await dev?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('Vite builds and serves the app without warnings', () => {
    expect(viteWarnings).toEqual([]);
  });

  const routes: [string, () => string][] = [
    ['no bundler: import map on a static server', () => `${site!.url}/importmap.html`],
    ['vite build, served statically', () => `${site!.url}/vite/index.html`],
    ['Vite dev server', () => dev!.resolvedUrls!.local[0]],
    ['no bundler, cross-origin isolated (COOP/COEP on)', () => `${site!.url}/importmap.html?coi`],
  ];

  describe.each(routes)('%s', (route, url) => {
    let report: Report | undefined;
    let error: string | undefined;
    let problems: string[] = [];

    beforeAll(async () => {
      const opened = await openPage(browser!, url());
      problems = opened.problems;
      // The report, or a failure soon after the page's first complaint (a module that fails
      // to load never reports), or after PAGE_TIMEOUT.
      const finished = opened.page.waitForFunction(() => globalThis.__sce?.done && globalThis.__sce, null,
        { timeout: PAGE_TIMEOUT }).then((handle) => handle.jsonValue() as Promise<{ report?: Report; error?: string }>);
      finished.catch(() => {});
      const complained = opened.firstProblem.then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000)); // let the page finish if it can, and say more
        throw new Error('the page reported a problem');
      });
      complained.catch(() => {});
      try {
        ({ report, error } = await Promise.race([finished, complained]));
      } catch (e) {
        error = `no report from ${url()}: ${(e as Error).message}; the page said: ${problems.join(' | ') || 'nothing'}`;
      } finally {
        await opened.close();
      }
    }, PAGE_TIMEOUT + 10_000);

    const got = (): Report => {
      expect(error, 'the suite in the page').toBeUndefined();
      expect(report).toBeDefined();
      return report!;
    };

    it('loads and runs with no page error, console error or warning, or failed request', () => {
      expect(problems).toEqual([]);
      const r = got();
      expect(r.userAgent).toMatch(/Chrome\//);
      expect(r.crossOriginIsolated).toBe(route.includes('cross-origin isolated'));
      if (r.crossOriginIsolated) expect(r.hasSharedArrayBuffer).toBe(true);
      // A current Chromium takes both builds; the suite ran each (relaxed SIMD first: 'auto').
      expect(r.builds.map((b) => b.build)).toEqual(['relaxed', 'simd']);
    });

    it('textbook case: z = [3, 1, −1], label 0', () => {
      for (const b of got().builds) {
        const want = [0.86681333, 0.11731043, 0.01587624];
        want.forEach((v, j) => expect(b.textbook.p[j], `${b.build} p[${j}]`).toBeCloseTo(v, 7));
        expect(b.textbook.loss, `${b.build} loss`).toBeCloseTo(0.14293163, 7);
        want.forEach((v, j) => expect(b.textbook.dlogits[j], `${b.build} dz[${j}]`).toBeCloseTo(v - (j === 0 ? 1 : 0), 7));
      }
    });

    it('every public function matches the float64 reference on seeded random cases', () => {
      for (const b of got().builds) {
        const failed = b.checks.filter((c) => !c.ok).map((c) => `${b.build} ${c.name}: ${c.detail}`);
        expect(failed).toEqual([]);
        for (const fn of ['linear ', 'softmax ', 'logSoftmax ', 'crossEntropy ', 'linearCrossEntropy ']) {
          expect(b.checks.filter((c) => c.name.startsWith(fn)).length, `${b.build} checks of ${fn}`).toBeGreaterThan(10);
        }
        expect(b.checks.length).toBeGreaterThan(1500);
      }
    });

    it('bad inputs throw errors that name the argument; the next valid call is correct', () => {
      const r = got();
      for (const b of r.builds) {
        expect(b.bad.length).toBeGreaterThan(10);
        for (const call of b.bad) {
          expect(call.threw, `${b.build} ${call.name} throws`).toBe(true);
          expect(call.errorName, `${b.build} ${call.name}`).toMatch(/^(ArgumentError|RangeError)$/);
          expect(call.message, `${b.build} ${call.name}`).toMatch(new RegExp(call.pattern));
          expect(call.message, `${b.build} ${call.name}`).toMatch(/^softmax-ce-wasm: /);
          const failed = call.next.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
          expect(failed, `${b.build} after ${call.name}`).toEqual([]);
        }
      }
      expect(r.badInit.message).toMatch(/init: build must be 'auto', 'simd' or 'relaxed', got "bogus"/);
    });
  });
});
