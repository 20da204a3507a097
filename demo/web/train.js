// The demo's training, in a module Web Worker. classifier.fit() runs all its epochs in one
// synchronous call (the Adam moments live for the whole fit), so it runs here, off the main
// thread, and reports every batch and epoch by message; the page only draws.
//
// Messages in:  { type: 'train', pkg, digits, options }  — pkg: the package's URL, resolved
//               by the page through its import map (workers do not read import maps);
//               digits: the bytes of build/demo/digits.bin (see demo/web/digits.mjs).
// Messages out: { type: 'start', build, train, test }, { type: 'batch', epoch, batch, batches, loss },
//               { type: 'epoch', ...EpochInfo, model }  (model: classifier.toJSON()),
//               { type: 'done', ms }, { type: 'error', message }.

let sce = null;

/** build/demo/digits.bin → Float32 pixels in [0, 1] and Int32 labels, split into train and test. */
function decode(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== 'DGT1') throw new Error(`digits.bin: bad magic ${JSON.stringify(magic)}`);
  const [count, height, width, trainCount] = [4, 8, 12, 16].map((at) => view.getUint32(at, true));
  const d = height * width, labels = new Uint8Array(buffer, 20, count), pixels = new Uint8Array(buffer, 20 + count, count * d);
  const part = (from, to) => {
    const x = new Float32Array((to - from) * d);
    for (let i = 0; i < x.length; i++) x[i] = pixels[from * d + i] / 255;
    return { x, labels: Int32Array.from(labels.subarray(from, to)) };
  };
  return { d, train: part(0, trainCount), test: part(trainCount, count) };
}

async function train({ pkg, digits, options }) {
  const { init } = await import(pkg);
  sce ??= await init();
  const { d, train, test } = decode(digits);
  postMessage({ type: 'start', build: sce.info.build, train: train.labels.length, test: test.labels.length });
  const model = sce.classifier({ inputs: d, classes: 10, seed: options.seed });
  const t0 = performance.now();
  try {
    model.fit(train.x, train.labels, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      optimizer: 'adam',
      learningRate: options.learningRate,
      seed: options.seed,
      validationData: { x: test.x, labels: test.labels },
      onBatch: (info) => postMessage({ type: 'batch', ...info }),
      onEpoch: (info) => postMessage({ type: 'epoch', ...info, model: model.toJSON() }),
    });
  } finally {
    model.dispose();
  }
  postMessage({ type: 'done', ms: performance.now() - t0 });
}

self.onmessage = ({ data }) => {
  if (data.type !== 'train') return;
  train(data).catch((e) => postMessage({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }));
};
