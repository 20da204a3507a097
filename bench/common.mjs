// What the bench sections share: seeded inputs, the library snapshot every process of a
// run loads, the results stamp (machine, versions, load), JSON formatting, peak RSS.
import { readFile, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const MiB = 2 ** 20;

/** Seeded inputs of one shape: x in [−1, 1), w in ±0.05, b in [0, 0.1), uniform labels. */
export function makeData({ n, d, c }) {
  let seed = 1;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const x = new Float32Array(n * d), w = new Float32Array(c * d), b = new Float32Array(c), target = new Int32Array(n);
  for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
  for (let i = 0; i < w.length; i++) w[i] = (rand() * 2 - 1) * 0.05;
  for (let i = 0; i < b.length; i++) b[i] = rand() * 0.1;
  for (let i = 0; i < n; i++) target[i] = Math.floor(rand() * c);
  return { x, w, b, target };
}

// ---------------------------------------------------------------- the library under test

/**
 * Another engineer may rebuild build/index.js while a run is in progress (the kernels are
 * being tuned), so the parent copies it once and every process of the run — the timing
 * child, memory probes, threads — loads that copy (env SCE_BENCH_LIB). build/index.js is
 * one self-contained file (the WebAssembly and the worker source are inlined).
 */
export async function snapshotLibrary() {
  await mkdir(`${root}/build/bench`, { recursive: true });
  const file = `${root}/build/bench/lib-snapshot-${process.pid}.js`;
  await copyFile(`${root}/build/index.js`, file);
  return { file, remove: () => rm(file, { force: true }) };
}

/** Path of the library this process measures. */
export const libraryFile = () => process.env.SCE_BENCH_LIB ?? `${root}/build/index.js`;

export const importLibrary = () => import(pathToFileURL(libraryFile()).href);

const sha256 = (file) => {
  try { return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16); } catch { return null; }
};

/** The library's CHUNK_BYTES (linearCrossEntropy's block rule), read from the code that runs. */
export function chunkBytes() {
  const m = readFileSync(libraryFile(), 'utf8').match(/CHUNK_BYTES = (\d+)(?: << (\d+))?;/);
  if (!m) return null;
  return m[2] ? Number(m[1]) * 2 ** Number(m[2]) : Number(m[1]);
}

/** Rows per block of linearCrossEntropy with chunk 'auto' (as src/core.ts blockRows). */
export function autoBlockRows(n, c, bytes = chunkBytes()) {
  if (n * c * 4 <= bytes) return n;
  return Math.max(1, Math.floor(bytes / (c * 4 * 4)) * 4);
}

// ---------------------------------------------------------------- results

/** Indented JSON, number arrays on one line, fractions to 7 significant digits. */
export function toJson(results) {
  const text = JSON.stringify(results, (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(7)) : v), 1);
  return text.replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, list) => `[${list.split(/,\s*/).join(', ')}]`) + '\n';
}

/** Machine, versions, commit and load of a run. `instance`: one of our instances (for its build and threads). */
export async function stamp({ instance, builds = [], loadStart, quick }) {
  const pkg = async (p) => JSON.parse(await readFile(`${root}/${p}`, 'utf8')).version;
  const git = (...args) => {
    try { return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return ''; }
  };
  const dirty = git('status', '--porcelain', '--', 'src', 'assembly', 'scripts', 'asconfig.json') ? '+uncommitted' : '';
  const lib = sha256(libraryFile()), current = sha256(`${root}/build/index.js`);
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    nodeFlags: process.execArgv,
    version: await pkg('package.json'),
    commit: (git('rev-parse', '--short', 'HEAD') || 'unknown') + dirty,
    // sha256 (16 hex) of the build/index.js this run measured, and whether it was rebuilt meanwhile
    library: { sha256: lib, rebuiltDuringRun: Boolean(lib && current && lib !== current) },
    builds,
    threads: instance?.info.threads ?? null,
    defaultBuild: instance?.info.build ?? null,
    tfjs: {
      core: await pkg('node_modules/@tensorflow/tfjs-core/package.json'),
      wasm: await pkg('node_modules/@tensorflow/tfjs-backend-wasm/package.json'),
      cpu: await pkg('node_modules/@tensorflow/tfjs-backend-cpu/package.json'),
      wasmBinary: 'tfjs-backend-wasm-simd.wasm (Node: no threads)',
    },
    loadAverage: { start: loadStart, end: os.loadavg() },
    quick,
  };
}

// ---------------------------------------------------------------- memory

export const rss = () => process.memoryUsage().rss;

/** Linux VmHWM (peak RSS) in bytes, or null. */
export function hwm() {
  try { return Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/)[1]) * 1024; } catch { return null; }
}

/** Resets VmHWM to the current RSS (Linux clear_refs 5); false where that is not possible. */
export function resetHwm() {
  try { writeFileSync('/proc/self/clear_refs', '5'); return true; } catch { return false; }
}

/**
 * Fingerprints (loss and sums of each result) that differ from the oracle's by more than
 * 2e-3 relative: a peer that computes something else. Returns "key a vs b" lines.
 */
export function compareFingerprints(a, b) {
  const bad = [];
  for (const key of Object.keys(a)) {
    if (!(key in b)) continue;
    const err = Math.abs(a[key] - b[key]) / Math.max(Math.abs(b[key]), 1e-12);
    if (!(err <= 2e-3)) bad.push(`${key} ${a[key].toPrecision(6)} vs ${b[key].toPrecision(6)}`);
  }
  return bad;
}

/**
 * Writes a section's results as <name>.json and <name>.md (bench/results when saved, else
 * build/bench), prints the table and returns the folder, relative to the repository.
 */
export async function writeSection(name, results, md, save) {
  const dir = save ? `${root}/bench/results` : `${root}/build/bench`;
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/${name}.json`, toJson(results));
  await writeFile(`${dir}/${name}.md`, md + '\n');
  console.log('\n' + md + '\n');
  return dir.replace(root + '/', '');
}
