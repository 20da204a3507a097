// Output of a bench run: the one table (markdown, so README can quote it as is) and
// the speed-up chart (hand-written SVG). Both read the results object that
// bench/run.mjs also writes as JSON.

const MiB = 1024 * 1024;

const SHAPE_LABEL = (cell) => (cell.op === 'matmul' ? `${cell.n}³` : `${cell.n}×${cell.d}×${cell.c}`);

function sig(x, digits = 3) {
  if (x == null || !Number.isFinite(x)) return '–';
  if (x >= 10 ** digits) return Math.round(x).toString();
  return Number(x.toPrecision(digits)).toString();
}

const ratio = (x) => (x == null ? '' : `${x >= 10 ? Math.round(x) : sig(x, 2)}×`);

/** The cells of one shape and op, keyed by peer id, in table order. */
export function groups(results) {
  const out = [];
  for (const cell of results.cells) {
    let g = out.find((x) => x.shape === cell.shape && x.op === cell.op);
    if (!g) out.push((g = { shape: cell.shape, op: cell.op, label: SHAPE_LABEL(cell), cells: new Map() }));
    g.cells.set(cell.peer, cell);
  }
  return out;
}

/** Median time of ours (the default build, arrays in and out) in that group. */
const baseline = (results, g) => g.cells.get(results.baseline)?.medianMs ?? null;

export function table(results) {
  const { peak } = results;
  const head = ['shape N×D×C', 'op', 'implementation', 'median ms', 'runs', 'GFLOP/s', '% SIMD peak',
    `${results.baselineLabel} ×`, 'resident ×', 'peak RSS MiB (Δ step)', 'wasm MiB'];
  const rows = [];
  for (const g of groups(results)) {
    const base = baseline(results, g);
    let first = true;
    for (const cell of g.cells.values()) {
      const mem = g.op === 'step' ? results.memory.find((m) => m.shape === g.shape && m.peer === cell.peer) : null;
      const unprobed = g.op === 'step' && results.notProbed?.some((m) => m.shape === g.shape && m.peer === cell.peer);
      let residentGain = '';
      if (cell.resident) {
        const copy = g.cells.get(cell.peer.replace(/-resident$/, ''));
        if (copy?.medianMs && cell.medianMs) residentGain = ratio(copy.medianMs / cell.medianMs);
      }
      rows.push([
        first ? g.label : '', first ? g.op : '', cell.label,
        cell.medianMs == null ? (cell.stop ?? '–') : sig(cell.medianMs),
        cell.samples.length + (cell.singleRun ? '†' : cell.samples.length < results.timing.minSamples ? '*' : ''),
        sig(cell.gflops), cell.pctPeak == null ? '–' : `${sig(cell.pctPeak, 2)} %`,
        base && cell.medianMs ? ratio(cell.medianMs / base) : '',
        residentGain,
        mem?.peakRss ? `${sig(mem.peakRss / MiB)} (+${sig(Math.max(0, mem.peakRss - mem.dataRss) / MiB)})` : unprobed ? '‡' : '',
        mem?.wasmBytes ? sig(mem.wasmBytes / MiB) : '',
      ]);
      first = false;
    }
  }
  const right = new Set([3, 4, 5, 6, 7, 8, 9, 10]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (right.has(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const m = results.meta;
  const peakLine = ['relaxed', 'simd'].filter((b) => peak[b]?.best)
    .map((b) => `${peak[b].instruction} ${sig(peak[b].best)} GFLOP/s`).join(', ');
  return [
    `softmax-ce-wasm ${m.version} (${m.commit}) — ${m.cpu}, ${m.cores} cores, Node ${m.node} (V8 ${m.v8}), ` +
      `tfjs ${m.tfjs.core}, single thread, ${m.date}${m.quick ? ', QUICK run' : ''}`,
    `WebAssembly SIMD peak (best sample of 10 f32x4 register chains and of a 2×4 tile on L1 data): ${peakLine}; % SIMD peak is of ${sig(peak.peak)} GFLOP/s.`,
    `"${results.baselineLabel} ×" = how many times faster ${results.baselineLabel} (arrays in, arrays out) is than the row; ` +
      `"resident ×" = resident tensors vs arrays, same build. Step = linear + CE + dx, dw, db (6·N·D·C flops); ` +
      `forward = loss only (2·N·D·C); matmul = X·Wᵀ.`,
    '',
    line(head), rule, ...rows.map(line),
    '',
    `* fewer than ${results.timing.minSamples} timed runs: the cell hit its ${results.timing.budgetMs / 1000} s time box (warm-up excluded). ` +
      `† one run longer than the time box, no separate warm-up (its code was already compiled on the smaller shapes).`,
    `Peak RSS: one process per implementation and shape, Linux VmHWM from the moment the inputs exist through 1–2 steps; ` +
      `Δ = above the process with its inputs. wasm MiB = WebAssembly memory after the steps. ` +
      `‡ not probed: one step takes over 10 s (\`--memory\` probes it).`,
  ].join('\n');
}

// ---------------------------------------------------------------- SVG

const COLORS = { reference: '#7f7f7f', 'tfjs-wasm': '#1f77b4', 'tfjs-wasm-xnn': '#17becf', 'tfjs-cpu': '#ff7f0e' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Bars of ours' speed-up over each peer, per shape and op, on a log axis centred on 1×. */
export function svg(results) {
  const peers = Object.keys(COLORS).filter((p) => results.cells.some((c) => c.peer === p && c.medianMs));
  const gs = groups(results).map((g) => ({
    ...g,
    bars: peers.map((p) => {
      const base = baseline(results, g), cell = g.cells.get(p);
      return { peer: p, label: cell?.label ?? p, value: base && cell?.medianMs ? cell.medianMs / base : null };
    }),
  }));
  const values = gs.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v);
  const lo = Math.min(0.5, ...values.map((v) => v / 1.5)), hi = Math.max(2, ...values.map((v) => v * 1.5));
  const W = 960, left = 190, right = 40, top = 78, barH = 14, gap = 4, groupGap = 18;
  const x = (v) => left + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (W - left - right);
  const groupH = peers.length * (barH + gap) - gap;
  const H = top + gs.length * (groupH + groupGap) + 60;
  const m = results.meta;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="600">` +
    `softmax-ce-wasm (${esc(results.baselineLabel)}) speed-up over each peer — right of 1× = ours faster</text>`);
  out.push(`<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(`${m.cpu}, ${m.cores} cores, Node ${m.node}, ` +
    `single thread, median of timed runs, ${m.date.slice(0, 10)}${m.quick ? ' (quick run)' : ''}`)}</text>`);
  // legend
  let lx = left;
  for (const p of peers) {
    const label = gs[0].bars.find((b) => b.peer === p)?.label ?? p;
    out.push(`<rect x="${lx}" y="52" width="12" height="12" fill="${COLORS[p]}"/>` +
      `<text x="${lx + 16}" y="62">${esc(label)}</text>`);
    lx += 24 + label.length * 7;
  }
  // ticks on a 1-2-5 log grid
  const yAxis = top + gs.length * (groupH + groupGap) - groupGap + 8;
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const f of [1, 2, 5]) {
      const v = f * 10 ** e;
      if (v < lo || v > hi) continue;
      const xv = x(v).toFixed(1);
      out.push(`<line x1="${xv}" y1="${top - 6}" x2="${xv}" y2="${yAxis}" stroke="${v === 1 ? '#000' : '#e3e3e3'}" ` +
        `stroke-width="${v === 1 ? 1.5 : 1}"/>`);
      out.push(`<text x="${xv}" y="${yAxis + 14}" text-anchor="middle" fill="#333">${sig(v)}×</text>`);
    }
  }
  out.push(`<text x="${(left + W - right) / 2}" y="${yAxis + 32}" text-anchor="middle" fill="#333">` +
    `peer time ÷ ours time (log scale)</text>`);
  gs.forEach((g, i) => {
    const y0 = top + i * (groupH + groupGap);
    out.push(`<text x="${left - 10}" y="${y0 + groupH / 2 - 2}" text-anchor="end" font-weight="600">${esc(g.label)}</text>`);
    out.push(`<text x="${left - 10}" y="${y0 + groupH / 2 + 12}" text-anchor="end" fill="#555">${esc(g.op)}</text>`);
    g.bars.forEach((b, j) => {
      const y = y0 + j * (barH + gap);
      if (!b.value) {
        out.push(`<text x="${x(1) + 4}" y="${y + barH - 3}" fill="#999" font-size="11">${esc(b.label)}: not run</text>`);
        return;
      }
      const x1 = Math.min(x(1), x(b.value)), w = Math.abs(x(b.value) - x(1));
      out.push(`<rect x="${x1.toFixed(1)}" y="${y}" width="${Math.max(w, 1).toFixed(1)}" height="${barH}" fill="${COLORS[b.peer]}">` +
        `<title>${esc(`${b.label}: ${sig(b.value)}×`)}</title></rect>`);
      const tx = b.value >= 1 ? x(b.value) + 4 : x(b.value) - 4;
      out.push(`<text x="${tx.toFixed(1)}" y="${y + barH - 3}" text-anchor="${b.value >= 1 ? 'start' : 'end'}" ` +
        `font-size="11">${ratio(b.value)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
