/**
 * The demo page of `npm run demo:web` (demo/web/) in headless Chromium, served as that
 * script serves it (demo/web/serve.mjs: the repository through Vite's preview server,
 * cross-origin isolated), with the digits file it reads written by demo/web/digits.mjs.
 *
 * The page trains softmax regression on 8,000 handwritten digits in a Web Worker (10
 * epochs of Adam, seeded, so every run is the same) and draws the loss and accuracy after
 * each batch and epoch and its guesses for 64 test digits. The test waits for training
 * to end, then checks: no page error, console error or warning, or failed request; the
 * page is cross-origin isolated; ten epochs and all their batches were reported; the
 * training loss fell; the accuracy on the 2,000 held-out digits reached the 0.90 target;
 * the grid shows 64 digits with a guess each. It saves a screenshot in test-output/.
 *
 * Without Chromium the test warns and skips, except under CI, where it fails (as
 * test/browser.test.ts).
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ES modules of the demo, without type declarations
import { writeDigits } from '../demo/web/digits.mjs';
// @ts-expect-error -- plain ES modules of the demo, without type declarations
import { serveDemo } from '../demo/web/serve.mjs';
import { chromiumMissing, launchChromium, openPage } from './browser/harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCREENSHOT = join(ROOT, 'test-output/demo-web.png');
/** Training takes a few seconds; this bounds a page that hangs. */
const TRAIN_TIMEOUT = 60_000;

interface Epoch { epoch: number; loss: number; accuracy: number; valLoss: number; valAccuracy: number; ms: number }
interface DemoState {
  state: 'loading' | 'training' | 'done' | 'error';
  build: string | null;
  crossOriginIsolated: boolean;
  runs: number;
  epochs: Epoch[];
  batches: number;
  grid: { shown: number; wrong: number } | null;
  ms: number | null;
  error: string | null;
}

const missing = chromiumMissing();
if (missing && !process.env.CI) console.warn(`\n⚠️  test/demo.test.ts: SKIPPING the demo page test: ${missing}.\n`);

describe('the demo page (npm run demo:web)', () => {
  if (missing && process.env.CI) {
    it('has Chromium to run in (required under CI)', () => {
      throw new Error(`test/demo.test.ts under CI: ${missing}`);
    });
  }

  describe.skipIf(missing !== null)('in headless Chromium', () => {
    let browser: Browser | undefined;
    let server: { url: string; close(): Promise<void> } | undefined;
    let demo: DemoState | undefined;
    let problems: string[] = [];
    let grid: { digits: number; guesses: string[]; wrongCells: number } | undefined;
    let error: string | undefined;

    beforeAll(async () => {
      const launching = launchChromium();
      launching.catch(() => {});
      await writeDigits();
      const served: { url: string; close(): Promise<void> } = await serveDemo({ port: 0 });
      server = served;
      browser = await launching;
      const opened = await openPage(browser, served.url, { width: 1240, height: 940 });
      problems = opened.problems;
      try {
        const finished = opened.page.waitForFunction(() => {
          const d = (globalThis as unknown as { __demo?: DemoState }).__demo;
          return (d?.state === 'done' || d?.state === 'error') && d;
        }, null, { timeout: TRAIN_TIMEOUT, polling: 100 });
        const complained = opened.firstProblem.then((p) => { throw new Error(`the page reported: ${p}`); });
        complained.catch(() => {});
        demo = await (await Promise.race([finished, complained])).jsonValue() as DemoState;
        // What a reader sees in the grid: a canvas and a guess in each cell.
        grid = await opened.page.evaluate(() => ({
          digits: document.querySelectorAll('#grid .cell canvas').length,
          guesses: Array.from(document.querySelectorAll('#grid .cell .guess'), (e) => e.textContent ?? ''),
          wrongCells: document.querySelectorAll('#grid .cell.wrong').length,
        }));
        await mkdir(join(ROOT, 'test-output'), { recursive: true });
        await opened.page.screenshot({ path: SCREENSHOT, fullPage: true });
      } catch (e) {
        error = `${(e as Error).message}; the page said: ${problems.join(' | ') || 'nothing'}`;
      } finally {
        await opened.close();
      }
    }, TRAIN_TIMEOUT + 30_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    const got = (): DemoState => {
      expect(error, 'the demo page').toBeUndefined();
      expect(demo?.error ?? null, 'the page\'s own error').toBeNull();
      return demo!;
    };

    it('loads and trains with no page error, console error or warning, or failed request; cross-origin isolated', () => {
      expect(problems).toEqual([]);
      const d = got();
      expect(d.state).toBe('done');
      expect(d.crossOriginIsolated).toBe(true);
      expect(d.build).toMatch(/^(relaxed|simd)$/);
    });

    it('reports all 10 epochs and their 1,250 batches; the training loss falls', () => {
      const d = got();
      expect(d.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(d.batches).toBe(10 * Math.ceil(8000 / 64));
      const losses = d.epochs.map((e) => e.loss);
      expect(losses[9]).toBeLessThan(losses[0]);
      for (const e of d.epochs) {
        for (const v of [e.loss, e.valLoss]) expect(v).toBeGreaterThan(0);
        for (const v of [e.accuracy, e.valAccuracy]) expect(v).toBeLessThanOrEqual(1);
      }
    });

    it('reaches the target: at least 90 % of the 2,000 held-out test digits right', () => {
      const last = got().epochs.at(-1)!;
      expect(last.valAccuracy).toBeGreaterThanOrEqual(0.9);
    });

    it('shows 64 test digits, each with a guess; the wrong ones are marked', () => {
      const d = got();
      expect(grid!.digits).toBe(64);
      expect(grid!.guesses).toHaveLength(64);
      for (const g of grid!.guesses) expect(g).toMatch(/^\d( \(\d\))?$/); // "7", or "7 (2)" when the true label is 2
      const wrong = grid!.guesses.filter((g) => g.includes('(')).length;
      expect(grid!.wrongCells).toBe(wrong);
      expect(d.grid).toEqual({ shown: 64, wrong });
      expect(wrong).toBeLessThan(64 * 0.25); // at ≥ 90 % overall, a quarter wrong in 64 would be far off
    });

    it(`saves a screenshot: ${SCREENSHOT.slice(ROOT.length)}`, async () => {
      got();
      expect((await stat(SCREENSHOT)).size).toBeGreaterThan(10_000);
    });
  });
});
