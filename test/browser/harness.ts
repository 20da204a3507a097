/**
 * Node-side helpers of the browser tests: find and launch the system Chromium through
 * playwright-core, serve a directory as-is on 127.0.0.1, and open a page while
 * collecting everything it complains about.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { preview } from 'vite';

/** Debian's chromium package (.ci/run installs it); CHROMIUM_PATH overrides. No browser downloads. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null
    : `no Chromium at ${CHROMIUM_PATH} (install it with \`apt-get install chromium\`, or set CHROMIUM_PATH)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
      '--disable-quic', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

export interface StaticServer {
  /** http://127.0.0.1:<port>, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Headers that make a document cross-origin isolated (SharedArrayBuffer, so wasm threads). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

/** By default a page is served cross-origin isolated when its URL asks: `page.html?coi`. */
const isolateOnQuery = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').searchParams.has('coi');

/**
 * Serves `dir` exactly as stored (Vite's preview server: static files through sirv, no
 * transforms, no HTML fallback, 404 for anything missing) on 127.0.0.1, a free port.
 * Cross-origin isolation is switched per request by `isolate` (default: a `coi` query
 * parameter on the page URL); every response also carries Cross-Origin-Resource-Policy
 * same-origin, so the page's own scripts load under COEP require-corp. `headers` adds
 * headers per request (the Content-Security-Policy tests).
 */
export async function serveStatic(dir: string, isolate = isolateOnQuery,
  headers?: (req: IncomingMessage) => Record<string, string>): Promise<StaticServer> {
  const server = await preview({
    root: dirname(dir), // preview serves build.outDir; Vite warns when that is the root itself
    configFile: false,
    envDir: false,
    logLevel: 'warn',
    appType: 'custom',
    build: { outDir: dir },
    preview: {
      host: '127.0.0.1',
      port: 0,
      strictPort: true,
      headers: { 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' },
    },
    plugins: [{
      name: 'per-page-isolation',
      configurePreviewServer(server) {
        server.middlewares.use((req, res, next) => {
          if (isolate(req)) for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
          for (const [name, value] of Object.entries(headers?.(req) ?? {})) res.setHeader(name, value);
          next();
        });
      },
    }],
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error(`vite preview of ${dir} is not listening`);
  return { url: url.replace(/\/$/, ''), close: () => server.close() };
}

export interface OpenedPage {
  page: Page;
  /** Console errors and warnings, uncaught exceptions, failed requests and HTTP errors, in order. */
  problems: string[];
  /** Resolves with the first problem, so a page that will never finish fails fast. */
  firstProblem: Promise<string>;
  /** Closes the page and its context. */
  close(): Promise<void>;
}

/** Opens `url` in a fresh context (of `viewport`, default 1280×720), recording everything the page reports as wrong. */
export async function openPage(browser: Browser, url: string, viewport?: { width: number; height: number }): Promise<OpenedPage> {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  const problems: string[] = [];
  let first: (problem: string) => void = () => {};
  const firstProblem = new Promise<string>((resolve) => { first = resolve; });
  const report = (problem: string) => {
    problems.push(problem);
    first(problem);
  };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') report(`console.${m.type()}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => report(`uncaught: ${e.name}: ${e.message}`));
  page.on('requestfailed', (r) => report(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => { if (r.status() >= 400) report(`HTTP ${r.status()}: ${r.url()}`); });
  await page.goto(url);
  return { page, problems, firstProblem, close: () => context.close() };
}
