// The machine's WebAssembly SIMD peak, from bench/assembly/simd_peak.ts.
//   buildPeak()    asc compiles it twice (simd; simd + relaxed-simd) into build/bench/
//   measurePeak()  runs each build this engine validates; returns GFLOP/s samples
// The peak is the best sample, not the median: other processes can only slow a
// register-only loop down, so its fastest time slice is the machine's roof.
import { readFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = 'bench/assembly/simd_peak.ts';
const BUILDS = { simd: ['simd'], relaxed: ['simd', 'relaxed-simd'] };
const wasmFile = (build) => `build/bench/simd_peak.${build}.wasm`;

export async function buildPeak() {
  const { default: asc } = await import('assemblyscript/asc'); // only the parent compiles: keep it out of the others' memory
  await mkdir(`${root}/build/bench`, { recursive: true });
  for (const [build, features] of Object.entries(BUILDS)) {
    const out = wasmFile(build);
    const { error, stderr } = await asc.main([
      SOURCE, '--outFile', out, '--textFile', out.replace(/\.wasm$/, '.wat'),
      '--runtime', 'stub', '--optimizeLevel', '3', '--noAssert', '--enable', features.join(','),
      ...(build === 'simd' ? ['--disable', 'relaxed-simd'] : []),
    ], { stdout: process.stdout, stderr: process.stderr, baseDir: root });
    if (error) throw new Error(`asc failed on ${SOURCE} (${build}): ${error.message}\n${stderr}`);
  }
}

/** Whether this engine validates the relaxed-SIMD build of the peak kernel. */
export async function relaxedValidates() {
  return WebAssembly.validate(await readFile(`${root}/${wasmFile('relaxed')}`));
}

/**
 * Measures each build the engine validates: warm-up calls (so V8 tiers the loop up to
 * TurboFan), then samples of about 20 ms each for `seconds`.
 * → { simd: {gflops: number[], best, median}, relaxed?: {...}, peak, peakBuild }
 */
export async function measurePeak({ seconds = 0.6 } = {}) {
  const result = {};
  for (const build of Object.keys(BUILDS)) {
    const bytes = await readFile(`${root}/${wasmFile(build)}`);
    if (!WebAssembly.validate(bytes)) {
      result[build] = { skipped: 'this engine does not validate it' };
      continue;
    }
    const { instance } = await WebAssembly.instantiate(bytes);
    // Two kernels, the roof is the better: 10 register chains, and the 2×4 tile with loads
    // (in the chains the mul+add build is latency-bound: its mul sits on the chain).
    const kernels = {
      'chains': [instance.exports.peak_f32x4_10, instance.exports.FLOPS_PER_STEP.value],
      '2×4 tile': [instance.exports.peak_tile_2x4, instance.exports.TILE_FLOPS_PER_STEP.value],
    };
    const byKernel = {};
    for (const [name, [run, flopsPerStep]] of Object.entries(kernels)) {
      for (let i = 0; i < 200; i++) run(2000, 1.5);
      let steps = 1e5;
      for (;;) { // calibrate: one sample ≈ 20 ms
        const t0 = performance.now();
        run(steps, 1.5);
        const ms = performance.now() - t0;
        if (ms >= 5) { steps = Math.max(1, Math.round(steps * 20 / ms)); break; }
        steps *= 4;
      }
      const gflops = [];
      const end = performance.now() + (seconds / 2) * 1000;
      while (gflops.length < 15 || performance.now() < end) {
        const t0 = performance.now();
        run(steps, 1.5);
        gflops.push((steps * flopsPerStep) / ((performance.now() - t0) * 1e6));
      }
      byKernel[name] = { stepsPerSample: steps, gflops, best: Math.max(...gflops) };
    }
    const [kernel, top] = Object.entries(byKernel).reduce((a, b) => (b[1].best > a[1].best ? b : a));
    const sorted = [...top.gflops].sort((a, b) => a - b);
    result[build] = {
      instruction: `${build === 'relaxed' ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add'} (${kernel})`,
      kernel, kernels: Object.fromEntries(Object.entries(byKernel).map(([k, v]) => [k, v.best])),
      stepsPerSample: top.stepsPerSample, gflops: top.gflops,
      best: sorted[sorted.length - 1], median: sorted[sorted.length >> 1],
    };
  }
  return withPeak(result);
}

/** Two measurements as one: the samples of both, best and median over all of them. */
export function mergePeaks(a, b) {
  const result = {};
  for (const build of Object.keys(BUILDS)) {
    if (!a[build]?.gflops) { result[build] = a[build]; continue; }
    const gflops = [...a[build].gflops, ...b[build].gflops];
    const sorted = [...gflops].sort((x, y) => x - y);
    result[build] = { ...a[build], gflops, best: sorted[sorted.length - 1], median: sorted[sorted.length >> 1],
      bestBefore: a[build].best, bestAfter: b[build].best };
  }
  return withPeak(result);
}

function withPeak(result) {
  const measured = Object.entries(result).filter(([, r]) => r?.best);
  const [peakBuild, top] = measured.reduce((a, b) => (b[1].best > a[1].best ? b : a));
  return { ...result, peak: top.best, peakBuild };
}
