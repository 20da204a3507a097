/**
 * The browsers the page tests run in, behind one small interface: Debian's Chromium through
 * playwright-core (test/browser/harness.ts), and Debian's Firefox ESR through puppeteer-core
 * over WebDriver BiDi (no geckodriver, and puppeteer-core never downloads a browser).
 * A page is opened in a fresh context, and everything it reports as wrong is recorded the
 * same way in both.
 */
import { existsSync } from 'node:fs';
import type { Browser as PlaywrightBrowser } from 'playwright-core';
import puppeteer, { type Browser as PuppeteerBrowser } from 'puppeteer-core';
import { CHROMIUM_PATH, chromiumMissing, launchChromium, openPage } from './harness.js';

/** Debian's firefox-esr package (.ci/run installs it); FIREFOX_PATH overrides. */
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export interface DrivenPage {
  /** Console errors and warnings, uncaught exceptions, failed requests and HTTP errors, in order. */
  problems: string[];
  /** Resolves with the first problem, so a page that will never finish fails fast. */
  firstProblem: Promise<string>;
  /** Waits until `globalThis[key]?.done` and returns that value as JSON. */
  waitForGlobal<T>(key: string, timeout: number): Promise<T>;
  close(): Promise<void>;
}

export interface Driver {
  /** The browser's own version string. */
  version: string;
  open(url: string): Promise<DrivenPage>;
  close(): Promise<void>;
}

export interface BrowserKind {
  name: 'Chromium' | 'Firefox';
  path: string;
  /** Why it cannot run here, or null. */
  missing(): string | null;
  launch(): Promise<Driver>;
}

function fromPlaywright(browser: PlaywrightBrowser): Driver {
  return {
    version: browser.version(),
    async open(url) {
      const opened = await openPage(browser, url);
      return {
        problems: opened.problems,
        firstProblem: opened.firstProblem,
        waitForGlobal: async (key, timeout) => {
          const handle = await opened.page.waitForFunction(
            (k) => (globalThis as unknown as Record<string, { done?: boolean } | undefined>)[k]?.done
              && (globalThis as unknown as Record<string, unknown>)[k], key, { timeout });
          return handle.jsonValue() as never;
        },
        close: opened.close,
      };
    },
    close: () => browser.close(),
  };
}

function fromPuppeteer(browser: PuppeteerBrowser, version: string): Driver {
  return {
    version,
    async open(url) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const problems: string[] = [];
      let first: (problem: string) => void = () => {};
      const firstProblem = new Promise<string>((resolve) => { first = resolve; });
      const report = (problem: string) => { problems.push(problem); first(problem); };
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') report(`console.${m.type()}: ${m.text()} (${m.location().url ?? ''})`);
      });
      page.on('pageerror', (e) => report(`uncaught: ${(e as Error).name}: ${(e as Error).message}`));
      page.on('requestfailed', (r) => report(`request failed: ${r.url()} (${r.failure()?.errorText})`));
      page.on('response', (r) => { if (r.status() >= 400) report(`HTTP ${r.status()}: ${r.url()}`); });
      await page.goto(url);
      return {
        problems,
        firstProblem,
        waitForGlobal: async (key, timeout) => {
          await page.waitForFunction(
            (k: string) => Boolean((globalThis as unknown as Record<string, { done?: boolean } | undefined>)[k]?.done),
            { timeout }, key);
          return page.evaluate((k: string) => (globalThis as unknown as Record<string, unknown>)[k], key) as never;
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

export const CHROMIUM: BrowserKind = {
  name: 'Chromium',
  path: CHROMIUM_PATH,
  missing: chromiumMissing,
  launch: async () => fromPlaywright(await launchChromium()),
};

export const FIREFOX: BrowserKind = {
  name: 'Firefox',
  path: FIREFOX_PATH,
  missing: () => (existsSync(FIREFOX_PATH) ? null
    : `no Firefox at ${FIREFOX_PATH} (install it with \`apt-get install firefox-esr\`, or set FIREFOX_PATH)`),
  launch: async () => {
    const browser = await puppeteer.launch({
      browser: 'firefox', executablePath: FIREFOX_PATH, headless: true, timeout: 60_000,
      // Keep Firefox off the network: no update, telemetry or remote-settings requests.
      extraPrefsFirefox: { 'app.update.enabled': false, 'datareporting.policy.dataSubmissionEnabled': false },
    });
    return fromPuppeteer(browser, await browser.version());
  },
};

export const BROWSERS: BrowserKind[] = [CHROMIUM, FIREFOX];
