// `npm run demo:web`: serves the repository as-is on 127.0.0.1 (Vite's preview server, as
// test/browser/harness.ts: static files, no transforms) with the headers that make a page
// cross-origin isolated, and prints the demo's URL. The page is demo/web/index.html; it
// imports the package from /build/index.js and fetches /build/demo/digits.bin (both made by
// `npm run demo:web` before this runs: npm run build, node demo/web/digits.mjs).
//
//   node demo/web/serve.mjs [--port 4173]      (the next free port when that one is taken)
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { preview } from 'vite';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEMO_PATH = '/demo/web/';
/** All the page needs; everything else in the repository (.git, node_modules, src) is a 404. */
const SERVED = [DEMO_PATH, '/build/index.js', '/build/demo/'];

/** Starts the server; `port` 0 takes any free port. Resolves with the demo's URL and close(). */
export async function serveDemo({ port = 4173 } = {}) {
  const server = await preview({
    root: dirname(ROOT), // preview serves build.outDir; Vite warns when that is the root itself
    configFile: false,
    envDir: false,
    logLevel: 'warn',
    appType: 'custom',
    build: { outDir: ROOT },
    preview: {
      host: '127.0.0.1',
      port,
      strictPort: port === 0,
      headers: {
        // Cross-origin isolated (SharedArrayBuffer, so wasm threads), and same-origin
        // resources allowed under COEP require-corp.
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
        'Cache-Control': 'no-store',
      },
    },
    plugins: [{
      name: 'only-the-demo',
      configurePreviewServer(server) {
        server.middlewares.use((req, res, next) => {
          const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
          if (path === DEMO_PATH) req.url = `${DEMO_PATH}index.html`; // sirv has no directory index here
          if (SERVED.some((p) => path === p || (p.endsWith('/') && path.startsWith(p))) && !path.includes('/.')) return next();
          res.statusCode = 404;
          res.end('not part of the demo');
        });
      },
    }],
  });
  const base = server.resolvedUrls?.local[0];
  if (!base) throw new Error('vite preview of the demo is not listening');
  return { url: new URL(DEMO_PATH, base).href, close: () => server.close() };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '4173' } } });
  const { url } = await serveDemo({ port: Number(values.port) });
  console.log(`softmax-ce-wasm demo: ${url}  (Ctrl+C to stop)`);
}
