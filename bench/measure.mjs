// Timing: warm-up excluded, medians, every cell time-boxed, peers interleaved.
//
// A cell is one implementation on one shape and op. The cells of a shape and op run
// together, lane by lane. In a lane each cell warms up (untimed runs until 0.3 s have
// passed, at least one), then the cells take samples in rounds — one run of every
// unfinished cell per round — so a burst of load from another process lands on all of
// them rather than on one. A cell stops when it has its samples (≥ minSamples, and
// ≥ minTime of them), hits maxSamples, or when one more run would pass its time box (it
// keeps at least one sample). Cells that would disturb the others when interleaved get
// a lane of their own (tfjs-cpu: switching tfjs backends between runs slows both).
// A cell whose first run already exceeds its time box (the reference and tfjs-cpu on
// 64×768×32000: 10–25 s a run) keeps that run as its one sample when the same
// implementation and op already ran on a smaller shape in this process — its code is
// compiled by then — and the table marks it (runs = 1†). Otherwise the first run is a
// warm-up as always.
// With runsPerTurn k > 1 (the threads section), a round takes k runs of each cell in a
// row, each a sample: steps back to back, as a training loop runs them (a thread pool's
// workers then find their caches and cores as the last step left them), while the cells
// still rotate under the same load.
// A run that returns a Promise (SoftmaxCEThreaded) is timed until it settles.
// No GC is forced between samples: a forced full GC before each run made tfjs-cpu 5–10×
// slower (V8 then shrinks the heap and collects inside the timed run); collecting
// garbage is part of a JS implementation's cost.

export const TIMING = {
  full: { warmMs: 300, minSamples: 5, minMs: 1000, maxSamples: 200, budgetMs: 10_000 },
  quick: { warmMs: 150, minSamples: 3, minMs: 300, maxSamples: 40, budgetMs: 3_000 },
};

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times the cells of one shape and op.
 * cells: [{ key, run: () => result, prepare?: () => Promise|null, check?: (result) => void, lane?: string,
 *           jitWarm?: boolean (this implementation and op already ran on another shape) }]
 * → Map key → { samples: ms[], warmups, warmMs, medianMs, minMs, totalMs, stop, singleRun }
 */
export async function timeCells(cells, t, onDone = () => {}) {
  const lanes = [...new Set(cells.map((c) => c.lane ?? 'main'))];
  const state = new Map();
  for (const lane of lanes) await timeLane(cells.filter((c) => (c.lane ?? 'main') === lane), t, state, onDone);
  return new Map(cells.map((c) => [c.key, finish(state.get(c.key))]));
}

async function timeLane(cells, t, state, onDone) {
  for (const cell of cells) {
    const s = { samples: [], warmups: 0, warmMs: 0, totalMs: 0, last: 0, stop: null, singleRun: false };
    state.set(cell.key, s);
    try {
      while (s.warmups === 0 || s.warmMs < t.warmMs) {
        await cell.prepare?.();
        const t0 = performance.now();
        let result = cell.run();
        if (isPromise(result)) result = await result;
        s.last = performance.now() - t0;
        if (s.warmups === 0) cell.check?.(result);
        if (s.warmups === 0 && cell.jitWarm && s.last > t.budgetMs) {
          s.samples.push(s.last);
          s.totalMs = s.last;
          s.singleRun = true;
          s.stop = 'single run over the time box, no separate warm-up';
          onDone(cell.key, finish(s));
          break;
        }
        s.warmups++;
        s.warmMs += s.last;
      }
      if (!s.singleRun) s.totalMs = s.warmMs;
    } catch (error) {
      s.stop = `error: ${error.message}`;
      onDone(cell.key, finish(s));
    }
  }
  let active = cells.filter((c) => !state.get(c.key).stop);
  while (active.length) {
    for (const cell of active) {
      const s = state.get(cell.key);
      for (let run = 0; run < (t.runsPerTurn ?? 1) && !s.stop; run++) {
        try {
          await cell.prepare?.();
          const t0 = performance.now();
          const result = cell.run();
          if (isPromise(result)) await result;
          s.last = performance.now() - t0;
        } catch (error) {
          s.stop = `error: ${error.message}`;
          onDone(cell.key, finish(s));
          break;
        }
        s.samples.push(s.last);
        s.totalMs += s.last;
        const sampled = s.totalMs - s.warmMs;
        if (s.samples.length >= t.maxSamples) s.stop = 'max samples';
        else if (s.samples.length >= t.minSamples && sampled >= t.minMs) s.stop = 'enough samples';
        else if (s.totalMs + s.last > t.budgetMs) s.stop = 'time box';
        if (s.stop) onDone(cell.key, finish(s));
      }
    }
    active = active.filter((c) => !state.get(c.key).stop);
  }
}

/** Cells may return a Promise (the thread pool's methods): it is awaited inside the timed run. A plain result is not awaited. */
const isPromise = (value) => typeof value?.then === 'function';

function finish(s) {
  return {
    samples: s.samples,
    warmups: s.warmups,
    warmMs: s.warmMs,
    totalMs: s.totalMs,
    medianMs: s.samples.length ? median(s.samples) : null,
    minMs: s.samples.length ? Math.min(...s.samples) : null,
    stop: s.stop,
    singleRun: s.singleRun,
  };
}
