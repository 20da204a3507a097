// Writes a numeric CSV for the cli bench and the memory test: `features` columns x0… and a
// column 'label' of `classes` classes, rows drawn around one random centre per class (a
// learnable problem, not linearly separable: centres at distance ~3σ). Written in blocks
// through a stream, so generating a 1 GB file takes little memory. Seeded (mulberry32).
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
// The package's own PRNG (npm run bench builds build/ first).
import { mulberry32 } from '../build/index.js';

/** Writes about `bytes` bytes of CSV to `path`; resolves to the number of data rows. */
export async function writeCsv(path, { bytes, features = 50, classes = 10, seed = 1 }) {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: classes }, () => Array.from({ length: features }, () => gauss() * 0.45));
  const out = createWriteStream(path);
  const header = [...Array.from({ length: features }, (_, j) => `x${j}`), 'label'].join(',') + '\n';
  out.write(header);
  let written = header.length, rows = 0;
  while (written < bytes) {
    const lines = [];
    for (let i = 0; i < 2000; i++) {
      const k = Math.floor(random() * classes), c = centres[k];
      const cells = new Array(features + 1);
      for (let j = 0; j < features; j++) cells[j] = (c[j] + gauss()).toFixed(5);
      cells[features] = `c${k}`;
      lines.push(cells.join(','));
    }
    const text = lines.join('\n') + '\n';
    written += text.length;
    rows += lines.length;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const [path, mb] = process.argv.slice(2);
  const rows = await writeCsv(path, { bytes: Number(mb) * 1e6 });
  console.log(`wrote ${path}: ${rows} rows`);
}
