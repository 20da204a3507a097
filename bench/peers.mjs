// The implementations the bench compares, all in one process. Each peer is
//   { id, label, family, load(ctx), setup(shape, data, ctx) → { step?, forward?, matmul?,
//     memoryBytes?, dispose } }
// where step / forward / matmul run one call synchronously and return its results
// (arrays, as the caller of a library gets them). Every peer gets the same Float32Array
// inputs; peers that keep data elsewhere (tfjs tensors, resident tensors) say so.
//
// Ops: step    = linear + cross-entropy + gradients dx, dw, db   (6·N·D·C flops)
//      forward = linear + cross-entropy, loss only                (2·N·D·C flops)
//      matmul  = Z = X·Wᵀ (n = d = c = 512)                       (2·N·D·C flops)
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { importLibrary } from './common.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- softmax-ce-wasm

async function loadOurs(ctx) {
  if (ctx.sce) return;
  const lib = await importLibrary(); // build/index.js, or the run's copy of it (common.mjs)
  ctx.reference = lib.reference;
  const auto = await lib.init({ build: 'auto' });
  ctx.autoBuild = auto.info.build;
  ctx.sce = { [auto.info.build]: auto };
  // single thread: no `threads` option, so init() gives the one-thread instance
  for (const build of auto.info.supported.filter((b) => b === 'relaxed' || b === 'simd')) ctx.sce[build] ??= await lib.init({ build });
}

/** Our library with arrays in and arrays out: every call copies x, w, b in and results out. */
function ours(build) {
  return {
    id: `ours-${build}`, label: `ours ${build}`, family: 'ours', build,
    async load(ctx) {
      await loadOurs(ctx);
      return ctx.sce[build] ? null : `this engine does not accept the '${build}' build`;
    },
    setup({ n, d, c }, { x, w, b, target }, ctx) {
      const sce = ctx.sce[build];
      const args = { x, w, b, target, n, d, c };
      const fwd = { ...args, grad: false };
      const mm = { x, w, n, d, c };
      return {
        step: () => sce.linearCrossEntropy(args),
        forward: () => sce.linearCrossEntropy(fwd),
        matmul: () => ({ z: sce.linear(mm) }),
        memoryBytes: () => sce.memoryBytes,
        dispose() {},
      };
    },
  };
}

/**
 * Our library with resident tensors: x, w, b live in WebAssembly memory and the
 * gradients go to `out` tensors, so a training step copies nothing but the targets.
 * Shares the instance (and so the memory) of the copy peer of the same build.
 */
function resident(build) {
  return {
    id: `ours-${build}-resident`, label: `ours ${build} · resident`, family: 'ours', build, resident: true,
    async load(ctx) {
      await loadOurs(ctx);
      if (!ctx.sce[build]) return `this engine does not accept the '${build}' build`;
      return typeof ctx.sce[build].tensor === 'function' ? null : 'sce.tensor() is not in this version';
    },
    setup({ n, d, c }, { x, w, b, target }, ctx) {
      const sce = ctx.sce[build];
      const t = {
        x: sce.tensor(x), w: sce.tensor(w), b: sce.tensor(b),
        dx: sce.tensor(n * d), dw: sce.tensor(c * d), db: sce.tensor(c), z: sce.tensor(n * c),
      };
      const args = { x: t.x, w: t.w, b: t.b, target, n, d, c, out: { dx: t.dx, dw: t.dw, db: t.db } };
      const fwd = { x: t.x, w: t.w, b: t.b, target, n, d, c, grad: false };
      const mm = { x: t.x, w: t.w, n, d, c, out: t.z };
      return {
        step: () => sce.linearCrossEntropy(args),
        forward: () => sce.linearCrossEntropy(fwd),
        matmul: () => { sce.linear(mm); },
        // Untimed: what the timed call left in the out tensors, for the cross-check.
        results: { step: () => ({ dx: t.dx.read(), dw: t.dw.read(), db: t.db.read() }), matmul: () => ({ z: t.z.read() }) },
        memoryBytes: () => sce.memoryBytes,
        dispose() { for (const v of Object.values(t)) v.free(); },
      };
    },
  };
}

// ---------------------------------------------------------------- float64 reference

const reference = {
  id: 'reference', label: 'reference (TS f64)', family: 'reference',
  async load(ctx) { await loadOurs(ctx); return null; },
  setup({ n, d, c }, { x, w, b, target }, ctx) {
    const ref = ctx.reference;
    const args = { x, w, b, target, n, d, c };
    const fwd = { ...args, grad: false };
    const mm = { x, w, n, d, c };
    return {
      step: () => ref.linearCrossEntropy(args),
      forward: () => ref.linearCrossEntropy(fwd),
      matmul: () => ({ z: ref.linear(mm) }),
      dispose() {},
    };
  },
};

// ---------------------------------------------------------------- TensorFlow.js

/**
 * tfjs-core's Node build registers no gradients (the union package @tensorflow/tfjs does
 * that), and its ESM build does not load in Node; so bench/run.mjs bundles
 * bench/tfjs-entry.mjs with esbuild into build/bench/tfjs.cjs: one tfjs-core with every
 * gradient, the cpu backend and the wasm backend.
 */
export async function loadTf(ctx, { threads = 1 } = {}) {
  if (ctx.tf) return ctx.tf;
  const tf = require(path.join(root, 'build/bench/tfjs.cjs'));
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  tf.setWasmPaths(dist + path.sep); // a file path: Node reads the .wasm from the package's dist
  // Node gets the single-threaded SIMD binary whatever is asked (bench/threads.mjs asks for 2
  // and reports what it got: tf.getThreadsCount()); by default be explicit about 1.
  tf.setThreadsCount(threads);
  tf.enableProdMode(); // tfjs' own advice for speed; it also silences the banner about tfjs-node
  for (const name of ['wasm', 'cpu']) if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to start`);
  ctx.tf = tf;
  return tf;
}

/**
 * One-hot float32 labels. Not tf.oneHot(…, 'float32'): the wasm backend's OneHot ignores
 * the dtype and writes int32 bits (1 reads as 1.4e-45), so cast an int32 one-hot instead.
 */
const oneHot = (tf, target, c) => tf.cast(tf.oneHot(tf.tensor1d(target, 'int32'), c), 'float32');

/** Data of a tensor outside any tf.tidy: returning typed arrays from tidy makes tfjs walk them element by element. */
const read = (t) => t.dataSync();

/**
 * tfjs written the idiomatic way: inputs uploaded from the same Float32Arrays each call,
 * logits = matMul(x, w, false, true) + b, tf.losses.softmaxCrossEntropy, gradients with
 * tf.valueAndGrads, results read back with dataSync (arrays out, as ours), all
 * intermediates disposed by tf.tidy.
 */
function tfjs(backend) {
  return {
    id: `tfjs-${backend}`, label: `tfjs-${backend}`, family: 'tfjs', backend,
    async load(ctx) { await loadTf(ctx); return null; },
    setup({ n, d, c }, { x, w, b, target }, ctx) {
      const tf = ctx.tf;
      const inputs = () => [tf.tensor2d(x, [n, d]), tf.tensor2d(w, [c, d]), tf.tensor1d(b)];
      const labels = () => oneHot(tf, target, c);
      const loss = (xs, ws, bs) => tf.losses.softmaxCrossEntropy(labels(), tf.add(tf.matMul(xs, ws, false, true), bs));
      const valueAndGrads = tf.valueAndGrads(loss);
      const out = (tensors) => {
        const arrays = tensors.map(read);
        tf.dispose(tensors);
        return arrays;
      };
      return {
        prepare: () => (tf.getBackend() === backend ? null : tf.setBackend(backend)),
        // Alternating tfjs backends between runs slows both (measured: tfjs-cpu forward
        // 6 → 20 ms on 256×784×10), so tfjs-cpu runs in a lane of its own (measure.mjs).
        lane: backend === 'cpu' ? 'tfjs-cpu' : 'main',
        step() {
          const [l, dx, dw, db] = out(tf.tidy(() => {
            const { value, grads } = valueAndGrads(inputs());
            return [value, ...grads];
          }));
          return { loss: l[0], dx, dw, db };
        },
        forward() {
          const [l] = out([tf.tidy(() => loss(...inputs()))]);
          return { loss: l[0] };
        },
        matmul() {
          const [z] = out([tf.tidy(() => {
            const [xs, ws] = inputs();
            return tf.matMul(xs, ws, false, true);
          })]);
          return { z };
        },
        memoryBytes: backend === 'wasm' ? () => tf.findBackend('wasm').wasm.HEAPU8.byteLength : undefined,
        liveTensors: () => tf.memory().numTensors,
        dispose() {},
      };
    },
  };
}

/**
 * tfjs-wasm written to reach XNNPACK: its BatchMatMul calls XNNPACK only when neither
 * operand is transposed and falls back to a scalar blocked loop otherwise, and autodiff
 * of matMul(x, w, false, true) produces a transposed product. So this peer transposes
 * explicitly (tf.transpose, a copy) and writes the backward by hand:
 *   z = x·transpose(w) + b, dz = (softmax(z) − y)/N, dx = dz·w, dw = transpose(dz)·x, db = Σ dz.
 */
const tfjsXnn = {
  id: 'tfjs-wasm-xnn', label: 'tfjs-wasm · XNNPACK', family: 'tfjs', backend: 'wasm',
  async load(ctx) { await loadTf(ctx); return null; },
  setup({ n, d, c }, { x, w, b, target }, ctx) {
    const tf = ctx.tf;
    const inputs = () => [tf.tensor2d(x, [n, d]), tf.tensor2d(w, [c, d]), tf.tensor1d(b)];
    const labels = () => oneHot(tf, target, c);
    const forward = (xs, ws, bs, y) => {
      const z = tf.add(tf.matMul(xs, tf.transpose(ws)), bs);
      const logp = tf.sub(z, tf.logSumExp(z, 1, true));
      return { logp, loss: tf.neg(tf.div(tf.sum(tf.mul(y, logp)), n)) };
    };
    const out = (tensors) => {
      const arrays = tensors.map(read);
      tf.dispose(tensors);
      return arrays;
    };
    return {
      prepare: () => (tf.getBackend() === 'wasm' ? null : tf.setBackend('wasm')),
      step() {
        const [l, dx, dw, db] = out(tf.tidy(() => {
          const [xs, ws, bs] = inputs();
          const y = labels();
          const { logp, loss } = forward(xs, ws, bs, y);
          const dz = tf.div(tf.sub(tf.exp(logp), y), n);
          return [loss, tf.matMul(dz, ws), tf.matMul(tf.transpose(dz), xs), tf.sum(dz, 0)];
        }));
        return { loss: l[0], dx, dw, db };
      },
      forward() {
        const [l] = out([tf.tidy(() => forward(...inputs(), labels()).loss)]);
        return { loss: l[0] };
      },
      matmul() {
        const [z] = out([tf.tidy(() => {
          const [xs, ws] = inputs();
          return tf.matMul(xs, tf.transpose(ws));
        })]);
        return { z };
      },
      memoryBytes: () => tf.findBackend('wasm').wasm.HEAPU8.byteLength,
      liveTensors: () => tf.memory().numTensors,
      dispose() {},
    };
  },
};

/** Every peer, in table order. Copy and resident rows of each of our builds come first. */
export const PEERS = [
  ours('relaxed'), resident('relaxed'), ours('simd'), resident('simd'),
  reference, tfjs('wasm'), tfjsXnn, tfjs('cpu'),
];

/** Peer groups by name for --peers. */
export const PEER_GROUPS = {
  ours: ['ours-relaxed', 'ours-simd'],
  resident: ['ours-relaxed-resident', 'ours-simd-resident'],
  reference: ['reference'],
  tfjs: ['tfjs-wasm', 'tfjs-wasm-xnn', 'tfjs-cpu'],
};
