// One engine's side of the bench section "engines" (bench/engines.mjs): runs under Node,
// Deno or Bun, keeps its instances warm, and answers the parent's requests on stdin, one
// JSON line each, with one JSON line on stdout:
//   { op: 'hello' }                          → engine, builds, peak (bench/peak.mjs, best sample)
//   { op: 'warm', cell, ms }                 → runs the cell untimed for ms
//   { op: 'time', cell, runs }               → { ms: [...] } the time of each of `runs` runs
//   { op: 'peak', seconds }                  → the SIMD peak again (the parent merges it)
//   { op: 'bye' }                            → disposes and exits
// A cell is `${op}-${build}-${threads}t`, op 'step' (the resident training step: x, W, b and
// the gradients are tensors, as bench/peers.mjs's resident peer) or 'matmul' (512³, Z = X·Wᵀ
// into a tensor). The parent makes the engines take turns, so this file only times.
import { pathToFileURL } from 'node:url';
import { libraryFile, makeData } from './common.mjs';
import { measurePeak } from './peak.mjs';

// The library snapshot the parent took (SCE_BENCH_LIB), so a rebuild meanwhile changes nothing.
const lib = await import(pathToFileURL(libraryFile()).href);
const g = globalThis;
const engine = g.Deno ? `Deno ${g.Deno.version.deno} (V8 ${g.Deno.version.v8})`
  : g.Bun ? `Bun ${g.Bun.version} (JavaScriptCore)` : `Node ${process.version} (V8 ${process.versions.v8})`;

const SHAPES = { step: { n: 128, d: 512, c: 1000 }, matmul: { n: 512, d: 512, c: 512 } };
const first = await lib.init();
const builds = [...first.info.supported];
const cells = new Map();

async function cell(key) {
  if (cells.has(key)) return cells.get(key);
  const [op, build, t] = key.split('-');
  const threads = Number(t.replace('t', ''));
  const sce = threads === 1 ? await lib.init({ build }) : await lib.init({ build, threads });
  const { n, d, c } = SHAPES[op];
  const { x, w, b, target } = makeData({ n, d, c });
  const T = { x: sce.tensor(x), w: sce.tensor(w), b: sce.tensor(b) };
  let run;
  if (op === 'step') {
    const out = { dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c) };
    const args = { x: T.x, w: T.w, b: T.b, target, n, d, c, out };
    run = () => sce.linearCrossEntropy(args);
  } else {
    const args = { x: T.x, w: T.w, n, d, c, out: sce.tensor(n * c) };
    run = () => sce.linear(args);
  }
  const entry = { sce, run, threads: sce.info.threads };
  cells.set(key, entry);
  return entry;
}

async function once(run) {
  const r = run();
  if (r && typeof r.then === 'function') await r;
}

async function handle(req) {
  switch (req.op) {
    case 'hello': return { engine, builds, defaultBuild: first.info.build, peak: await measurePeak({ seconds: req.seconds ?? 0.6 }) };
    case 'peak': return { peak: await measurePeak({ seconds: req.seconds ?? 0.6 }) };
    case 'warm': {
      const { run, threads } = await cell(req.cell);
      const end = performance.now() + req.ms;
      let runs = 0;
      do { await once(run); runs++; } while (performance.now() < end);
      return { runs, threads };
    }
    case 'time': {
      const { run } = await cell(req.cell);
      const ms = [];
      for (let i = 0; i < req.runs; i++) {
        const t0 = performance.now();
        await once(run);
        ms.push(performance.now() - t0);
      }
      return { ms };
    }
    case 'bye':
      for (const { sce } of cells.values()) sce.dispose?.();
      return { bye: true };
    default: throw new Error(`unknown op ${req.op}`);
  }
}

// Line protocol over stdin (process.stdin exists in Node, Deno 2 and Bun).
let buffered = '';
let queue = Promise.resolve();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (!line.trim()) continue;
    const req = JSON.parse(line);
    queue = queue.then(() => handle(req)).then(
      (res) => {
        process.stdout.write(JSON.stringify(res) + '\n');
        if (req.op === 'bye') process.exit(0);
      },
      (e) => process.stdout.write(JSON.stringify({ error: String(e?.stack ?? e) }) + '\n'),
    );
  }
});
