// Bench section "engines": the same work on every JavaScript runtime test/engines installs
// (Node 22 and 24, Deno, Bun) and the Node running the bench — the resident training step
// 128×512×1000 on each build the engine accepts, on 1 and 2 threads, and the 512³ matmul on
// one thread — beside that engine's own measured WebAssembly SIMD peak (bench/peak.mjs), so
// the table shows each engine's share of its own roof.
//
// Each engine is one long-lived process (bench/engines-child.mjs) that keeps its instances
// and tensors warm. The engines take turns: the peaks are measured one engine at a time,
// every cell warms up (seconds of untimed runs) one engine at a time, and then each round
// times a turn of every cell on every engine (runsPerTurn runs back to back, each a sample),
// engine order rotating per round, so load from elsewhere on the machine lands on all of them. Medians; GFLOP/s counts 6·n·d·c per
// step and 2·n·d·c per matmul. The peak is the best sample of two measurements (before and
// after the cells), as in the main section.
//
// Flags: --quick (shorter warm-up, fewer samples). Deno: SCE_DENO_V8_FLAGS adds
// --v8-flags=… to its command (used to look for why its simd build was slower).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { median } from './measure.mjs';
import { mergePeaks } from './peak.mjs';
import { root, stamp, writeSection } from './common.mjs';

const ENGINES = `${root}/test/engines/node_modules`;

function runtimes() {
  const deno = [`${ENGINES}/@deno/linux-x64-glibc/deno`, 'run', '-A'];
  if (process.env.SCE_DENO_V8_FLAGS) deno.push(`--v8-flags=${process.env.SCE_DENO_V8_FLAGS}`);
  return [
    // The bench's own Node, without the relaxed flag run.mjs gives its timing child on Node 20.
    { id: 'node', command: [process.execPath] },
    { id: 'node22', command: [`${ENGINES}/node22/bin/node`] },
    { id: 'node24', command: [`${ENGINES}/node24/bin/node`] },
    { id: 'deno', command: deno },
    { id: 'bun', command: [`${ENGINES}/@oven/bun-linux-x64/bin/bun`] },
  ];
}

/** A child engine and a request → reply function over its line protocol. */
function start(runtime) {
  const [bin, ...args] = runtime.command;
  const child = spawn(bin, [...args, `${root}/bench/engines-child.mjs`], {
    stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' },
  });
  let buffered = '';
  const waiting = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const reply = JSON.parse(line);
      const w = waiting.shift();
      if (reply.error) w.reject(new Error(`${runtime.id}: ${reply.error}`));
      else w.resolve(reply);
    }
  });
  child.on('exit', (code) => { for (const w of waiting.splice(0)) w.reject(new Error(`${runtime.id} exited with ${code}`)); });
  const ask = (req) => new Promise((resolve, reject) => {
    waiting.push({ resolve, reject });
    child.stdin.write(JSON.stringify(req) + '\n');
  });
  return { ...runtime, child, ask };
}

const FLOPS = { step: 6 * 128 * 512 * 1000, matmul: 2 * 512 ** 3 };
const gflops = (cell, ms) => FLOPS[cell.split('-')[0]] / (ms * 1e6);

export async function engines({ quick = false, save = false } = {}) {
  // A turn is a few runs back to back (each a sample), as a training loop runs steps: a
  // single run after another engine's turn pays for that engine's caches and a pool's wake-up.
  const t = quick ? { warmMs: 500, samples: 9, runsPerTurn: 3, peakSeconds: 0.3 } : { warmMs: 3000, samples: 40, runsPerTurn: 5, peakSeconds: 0.6 };
  const loadStart = os.loadavg();
  const all = runtimes();
  const present = all.filter((r) => existsSync(r.command[0]));
  const absent = all.filter((r) => !present.includes(r));
  if (absent.length) console.log(`engines: skipping ${absent.map((r) => r.id).join(', ')} (not installed: npm ci --prefix test/engines)`);

  const kids = present.map(start);
  try {
    const info = {};
    for (const k of kids) {
      info[k.id] = await k.ask({ op: 'hello', seconds: t.peakSeconds });
      console.log(`engines: ${info[k.id].engine}: builds ${info[k.id].builds.join(', ')}; peak ${info[k.id].peak.peak.toFixed(1)} GFLOP/s`);
    }
    const cellsOf = (id) => info[id].builds.flatMap((b) => [`step-${b}-1t`, `step-${b}-2t`, `matmul-${b}-1t`]);
    const threadsRan = {};
    for (const k of kids) {
      for (const cell of cellsOf(k.id)) threadsRan[`${k.id} ${cell}`] = (await k.ask({ op: 'warm', cell, ms: t.warmMs })).threads;
    }
    const samples = {};
    for (let round = 0; round < t.samples / t.runsPerTurn; round++) {
      const order = kids.map((_, i) => kids[(i + round) % kids.length]);
      for (const k of order) {
        for (const cell of cellsOf(k.id)) {
          const { ms } = await k.ask({ op: 'time', cell, runs: t.runsPerTurn });
          (samples[`${k.id} ${cell}`] ??= []).push(...ms);
        }
      }
    }
    for (const k of kids) info[k.id].peak = mergePeaks(info[k.id].peak, (await k.ask({ op: 'peak', seconds: t.peakSeconds })).peak);

    const rows = kids.map((k) => {
      const { engine, builds, peak } = info[k.id];
      const cells = Object.fromEntries(cellsOf(k.id).map((cell) => {
        const ms = median(samples[`${k.id} ${cell}`]);
        const g = gflops(cell, ms);
        // The share of the roof of the instruction the build uses: relaxed_madd's for relaxed.
        const roof = (cell.includes('-relaxed-') ? peak.relaxed?.best : peak.simd?.best) ?? peak.peak;
        return [cell, { medianMs: ms, gflops: g, ofPeak: g / roof, ofPeakThreads: g / (roof * Number(cell.at(-2))),
          threads: threadsRan[`${k.id} ${cell}`], samples: samples[`${k.id} ${cell}`] }];
      }));
      return { id: k.id, engine, builds, peak: { simd: peak.simd?.best, relaxed: peak.relaxed?.best ?? null }, cells };
    });
    for (const k of kids) await k.ask({ op: 'bye' }).catch(() => {});

    const fmt = (c) => (c ? `${c.gflops.toFixed(1)} (${Math.round(100 * c.ofPeakThreads)}%)` : '—');
    const lines = [
      `Engines: resident training step 128×512×1000 and 512³ matmul, GFLOP/s (share of the engine's own ${''}SIMD peak × threads), medians of ${t.samples} after ${t.warmMs / 1000} s warm-up, engines taking turns${quick ? ' (--quick)' : ''}`,
      '',
      '| engine | builds | peak simd / relaxed | step simd 1t | step simd 2t | step relaxed 1t | step relaxed 2t | matmul simd | matmul relaxed |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.engine} | ${r.builds.join(', ')} | ${r.peak.simd.toFixed(1)} / ${r.peak.relaxed?.toFixed(1) ?? '—'} | ` +
        ['step-simd-1t', 'step-simd-2t', 'step-relaxed-1t', 'step-relaxed-2t', 'matmul-simd-1t', 'matmul-relaxed-1t'].map((c) => fmt(r.cells[c])).join(' | ') + ' |'),
    ];
    const results = { stamp: await stamp({ loadStart, quick }), timing: t, engines: rows };
    const dir = await writeSection('engines', results, lines.join('\n'), save);
    console.log(`engines: wrote ${dir}/engines.json and .md`);
    return results;
  } finally {
    for (const k of kids) k.child.kill();
  }
}
