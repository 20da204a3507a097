// The main job until the training demo lands: the textbook case, then one timed batch
// of linearCrossEntropy against the float64 reference. Run with `npm start`.
import { init, reference } from '../build/index.js';

const sce = await init();
console.log(`softmax-ce-wasm, build '${sce.info.build}' (engine accepts: ${sce.info.supported.join(', ')})`);

const logits = new Float32Array([3, 1, -1]);
const p = sce.softmax(logits, 1, 3);
const { loss, dlogits } = sce.crossEntropy({ logits, target: new Int32Array([0]), n: 1, c: 3 });
const fmt = (a) => '[' + Array.from(a, (v) => v.toFixed(4)).join(', ') + ']';
console.log(`textbook z = [3, 1, -1], label 0: p = ${fmt(p)}, loss = ${loss.toFixed(8)}, dL/dz = ${fmt(dlogits)}`);

function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const [n, d, c] = [128, 512, 1000];
const rand = random(1);
const x = Float32Array.from({ length: n * d }, () => rand() * 2 - 1);
const w = Float32Array.from({ length: c * d }, () => (rand() * 2 - 1) * 0.05);
const b = Float32Array.from({ length: c }, () => rand() * 0.1);
const target = Int32Array.from({ length: n }, () => Math.floor(rand() * c));
const args = { x, w, b, target, n, d, c };

function median(f, repeats) {
  f(); // warm-up, not counted
  const times = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)];
}
const flops = 6 * n * d * c;
const tWasm = median(() => sce.linearCrossEntropy(args), 9);
const tRef = median(() => reference.linearCrossEntropy(args), 3);
console.log(`linearCrossEntropy with gradients, N=${n} D=${d} C=${c} (median):`);
console.log(`  wasm      ${tWasm.toFixed(1)} ms  ${(flops / tWasm / 1e6).toFixed(2)} GFLOP/s`);
console.log(`  reference ${tRef.toFixed(1)} ms  ${(flops / tRef / 1e6).toFixed(2)} GFLOP/s`);
console.log(`  speed-up  ${(tRef / tWasm).toFixed(1)}×`);
