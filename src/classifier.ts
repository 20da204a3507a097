/**
 * Softmax regression (a linear layer + softmax cross-entropy) trained in WebAssembly:
 *
 *   const model = sce.classifier({ inputs: 784, classes: 10, seed: 1 });
 *   const history = model.fit(x, labels, { epochs: 5, optimizer: 'adam', learningRate: 0.01 });
 *   const predicted = model.predict(xTest);          // Int32Array of class indices
 *   const json = JSON.stringify(model);              // and SoftmaxClassifier.fromJSON(sce, json)
 *   model.dispose();
 *
 * The parameters W (classes×inputs) and b, their gradients and the optimizer state are
 * resident tensors: a training step copies only its batch of x into WebAssembly memory,
 * runs `linearCrossEntropy` with `out` gradient tensors, then one update kernel per
 * parameter (assembly/sgd.ts, momentum.ts, adam.ts). Nothing of W crosses the boundary.
 */
import type { SoftmaxCE } from './api.js';
import { SoftmaxCEThreaded } from './threaded.js';
import type { Tensor } from './tensor.js';
import type { LinearCrossEntropyArgs } from './types.js';
import { checkKnown, KNOWN } from './options.js';
import { ArgumentError, checkFloat32, checkSize } from './validate.js';

/**
 * 'sgd' (torch.optim.SGD: momentum 0 unless given), 'momentum' (the same with momentum 0.9 by default), 'adam'
 * (torch.optim.Adam: weight decay is the L2 term added to the gradient) or 'adamw'
 * (torch.optim.AdamW: decoupled weight decay).
 */
export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'adamw';

export interface ClassifierOptions {
  /** Features per sample, D. */
  inputs: number;
  /** Number of classes, C (≥ 2). */
  classes: number;
  /**
   * Seed of the classifier's PRNG (mulberry32): it draws the initial weights and, unless
   * fit() gets its own seed, the shuffles. Default: a random seed.
   */
  seed?: number;
  /**
   * 'glorot' (default): W uniform in ±√(6 / (D + C)), b = 0 (Glorot/Xavier uniform, as
   * Keras' Dense). 'zeros': W = 0, b = 0 — fine too, since softmax regression is convex.
   */
  init?: 'glorot' | 'zeros';
}

/** Labels: class indices in [0, classes). */
export type Labels = Int32Array | readonly number[];

export interface BatchInfo {
  /** Epoch index, from 0. */
  epoch: number;
  /** Batch index within the epoch, from 0. */
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** The batch's mean loss as trained on (with label smoothing and class weights). */
  loss: number;
}

export interface EpochInfo {
  /** Epoch index, from 0. */
  epoch: number;
  epochs: number;
  /** Mean cross-entropy over the training rows, with the weights at the end of the epoch. */
  loss: number;
  /** Accuracy over the training rows, at the end of the epoch. */
  accuracy: number;
  /** The same over the validation rows (with validation data). */
  valLoss?: number;
  valAccuracy?: number;
  /** Milliseconds of the epoch: its training steps and the metrics above. */
  ms: number;
}

export interface FitOptions {
  /** Passes over the data (default 10). */
  epochs?: number;
  /** Rows per step (default 32); the last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Default 0.1 for 'sgd', 0.01 for 'momentum', 0.001 for 'adam' and 'adamw' (PyTorch's Adam default). */
  learningRate?: number;
  /** Default 'adam'. */
  optimizer?: OptimizerName;
  /**
   * 'sgd' and 'momentum': the momentum factor μ in [0, 1) (default 0 for 'sgd', as
   * torch.optim.SGD, and 0.9 for 'momentum'). 'sgd' with μ > 0 is the same optimizer as
   * 'momentum'; μ = 0 is plain SGD for both (no buffer, as PyTorch). Rejected by Adam.
   */
  momentum?: number;
  /** 'sgd'/'momentum': dampening in [0, 1] (default 0), as torch.optim.SGD. Rejected by Adam. */
  dampening?: number;
  /** 'sgd'/'momentum': Nesterov momentum (default false). Rejected by Adam. */
  nesterov?: boolean;
  /** 'adam'/'adamw': (β1, β2) in [0, 1) (default [0.9, 0.999]). Rejected by SGD. */
  betas?: readonly [number, number];
  /** 'adam'/'adamw': ε > 0 added to √v̂ (default 1e-8). Rejected by SGD. */
  eps?: number;
  /**
   * Weight decay ≥ 0 on W and b, as `torch.optim.X(model.parameters(), weight_decay=…)`:
   * an L2 term added to the gradient, except 'adamw' (decoupled). Default as torch: 0,
   * and 1e-2 for 'adamw' (torch.optim.AdamW's default) — pass 0 for AdamW without decay.
   */
  weightDecay?: number;
  /**
   * Whether weightDecay applies to b as well as W (default true, as PyTorch with all of
   * `model.parameters()`); false leaves the bias unpenalised, as scikit-learn's
   * LogisticRegression leaves its intercept.
   */
  decayBias?: boolean;
  /** Label smoothing ε in [0, 1] of the training loss (default 0). */
  labelSmoothing?: number;
  /**
   * Class weights of the training loss, length C, finite and ≥ 0 (PyTorch's `weight`).
   * As in PyTorch, a batch whose rows all have weight 0 has a 'mean' loss of 0/0: NaN,
   * and its NaN gradients make the weights NaN.
   */
  classWeight?: Float32Array | readonly number[];
  /** Seed of the shuffles of this fit (default: the classifier's PRNG continues). */
  seed?: number;
  /** Shuffle the training rows before each epoch (default true). */
  shuffle?: boolean;
  /** Rows to report validation loss and accuracy on after each epoch. */
  validationData?: { x: Float32Array; labels: Labels };
  /**
   * Or hold out this fraction in [0, 1) of the rows for validation: the last rows, before
   * any shuffling (as Keras). Not together with validationData.
   */
  validationSplit?: number;
  /** Called after every step. */
  onBatch?: (info: BatchInfo) => void;
  /** Called after every epoch; return false to stop training. */
  onEpoch?: (info: EpochInfo) => void | boolean;
}

/** Per-epoch metrics of a fit (validation arrays are empty without validation data). */
export interface FitHistory {
  /** Epochs run (fewer than asked when onEpoch stopped training). */
  epochs: number;
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  ms: number[];
}

/**
 * The optimizer and the training loss of partialFit (the same options as fit's): they are
 * fixed when the optimizer state is created, at the first partialFit after construction or
 * resetOptimizer().
 */
export type StepOptions = Pick<FitOptions, 'optimizer' | 'learningRate' | 'momentum' | 'dampening' | 'nesterov' | 'betas'
  | 'eps' | 'weightDecay' | 'decayBias' | 'labelSmoothing' | 'classWeight'>;

/** Optimizer settings and loss options after their checks. */
interface Settings {
  /** The update kernel: 'sgd' and 'momentum' alike run plain SGD when μ = 0 (no buffer, as torch.optim.SGD). */
  kind: OptimizerName;
  optimizer: OptimizerName; lr: number; mu: number; dampening: number; nesterov: boolean; beta1: number; beta2: number;
  eps: number; weightDecay: number; biasDecay: number; labelSmoothing: number; classWeight: Float32Array | null;
}

/**
 * The persistent optimizer: gradient tensors, the optimizer's state tensors (zero-filled
 * when made; momentum buffers, Adam moments), its step count `t` (Adam's bias correction)
 * and the resident batch tensors of the batch sizes in use.
 */
interface Trainer {
  settings: Settings;
  /** The settings as text, to tell whether a later partialFit asks for the same ones. */
  key: string;
  dW: Tensor;
  dB: Tensor;
  state: Tensor[];
  t: number;
  batches: Map<number, LinearCrossEntropyArgs>;
  owned: Tensor[];
}

/** The JSON form of a classifier (`JSON.stringify(model)` or `model.toJSON()`). */
export interface ClassifierJSON {
  format: 'softmax-ce-wasm/classifier';
  version: 1;
  inputs: number;
  classes: number;
  /** W, classes×inputs row-major: float32 values as numbers (exact through JSON). */
  weights: number[];
  /** b, length classes. */
  bias: number[];
}

const FIT_OPTIONS = new Set([
  'epochs', 'batchSize', 'learningRate', 'optimizer', 'momentum', 'dampening', 'nesterov', 'betas', 'eps',
  'weightDecay', 'decayBias', 'labelSmoothing', 'classWeight', 'seed', 'shuffle', 'validationData', 'validationSplit',
  'onBatch', 'onEpoch',
]);
const STEP_OPTIONS = new Set(['optimizer', 'learningRate', 'momentum', 'dampening', 'nesterov', 'betas', 'eps',
  'weightDecay', 'decayBias', 'labelSmoothing', 'classWeight']);
const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'adam', 'adamw'];
const DEFAULT_LR: Record<OptimizerName, number> = { sgd: 0.1, momentum: 0.01, adam: 0.001, adamw: 0.001 };
/** torch.optim's weight_decay defaults: AdamW decays by default, the others do not. */
const DEFAULT_WEIGHT_DECAY: Record<OptimizerName, number> = { sgd: 0, momentum: 0, adam: 0, adamw: 1e-2 };
/** Options that only one family of optimizers takes; the other family rejects them rather than ignore them. */
const SGD_ONLY = ['momentum', 'dampening', 'nesterov'] as const, ADAM_ONLY = ['betas', 'eps'] as const;
/** Rows per forward chunk of predict/evaluate: bounds the scratch memory of one call. */
const CHUNK_ROWS = 1024;

/**
 * mulberry32: a 32-bit-state PRNG (not cryptographic). Equal seeds give equal sequences,
 * which is all determinism needs here; returns uniform numbers in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const describe = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? `Array(${v.length})` : ArrayBuffer.isView(v) ? v.constructor.name
    : typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v === 'string' ? JSON.stringify(v) : typeof v;

function checkNumber(fn: string, name: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !ok(v)) throw new ArgumentError(fn, `${name} must be ${what}, got ${describe(v)}`);
  return v;
}

function checkSeed(fn: string, name: string, v: unknown): number {
  return checkNumber(fn, name, v, (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32, 'an integer in [0, 2^32)');
}

/** Labels as an Int32Array of n indices in [0, c) (the caller's Int32Array itself when it is one). */
function checkLabels(fn: string, name: string, v: unknown, c: number): Int32Array {
  if (!(v instanceof Int32Array) && !Array.isArray(v)) {
    throw new ArgumentError(fn, `${name} must be an Int32Array or an array of class indices, got ${describe(v)}`);
  }
  if (v.length === 0) throw new ArgumentError(fn, `${name} is empty`);
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw new ArgumentError(fn, `${name}[${i}] must be a class index in [0, ${c}), got ${describe(y)}`);
    }
  }
  return v instanceof Int32Array ? v : Int32Array.from(v);
}

/** x as a Float32Array of rows×D whose row count comes from the labels (or from x itself). */
function checkRows(fn: string, name: string, x: unknown, d: number, rows: number | null): number {
  if (!(x instanceof Float32Array)) {
    throw new ArgumentError(fn, `${name} must be a Float32Array of rows×inputs values, got ${describe(x)}`);
  }
  if (rows !== null) {
    checkFloat32(fn, name, x, rows * d, `labels.length×inputs = ${rows}×${d}`);
    return rows;
  }
  if (x.length === 0 || x.length % d !== 0) {
    throw new ArgumentError(fn, `${name} must hold whole rows of inputs = ${d} values, got length ${x.length}`);
  }
  return x.length / d;
}

/** Mean cross-entropy (float64 log-sum-exp) and accuracy of logits rows against labels; sums, for chunks. */
const settingsKey = (s: Settings) => JSON.stringify({ ...s, classWeight: s.classWeight && Array.from(s.classWeight) });

export class SoftmaxClassifier {
  /** Features per sample, D. */
  readonly inputs: number;
  /** Number of classes, C. */
  readonly classes: number;
  readonly #sce: SoftmaxCE;
  #w: Tensor | null;
  #b: Tensor | null;
  readonly #random: () => number;
  #optim: Trainer | null = null;

  /** Made by `sce.classifier(options)` or `SoftmaxClassifier.fromJSON(sce, json)`. */
  constructor(sce: SoftmaxCE, options: ClassifierOptions) {
    const fn = 'classifier';
    // Training uses each method's result at once; a threaded instance returns Promises, so
    // it would read losses and probabilities that do not exist yet (NaN, zeros): say so.
    if (sce instanceof SoftmaxCEThreaded) {
      throw new TypeError('softmax-ce-wasm: SoftmaxClassifier: a threaded instance (init({ threads })) cannot train a classifier; ' +
        'use a synchronous one, init()');
    }
    if (options === null || typeof options !== 'object') throw new ArgumentError(fn, 'expected an options object { inputs, classes }');
    checkKnown(fn, options, KNOWN.classifier);
    this.inputs = checkSize(fn, 'inputs', options.inputs);
    this.classes = checkSize(fn, 'classes', options.classes);
    if (this.classes < 2) throw new ArgumentError(fn, `classes must be at least 2, got ${this.classes}`);
    const seed = options.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkSeed(fn, 'seed', options.seed);
    const init = options.init ?? 'glorot';
    if (init !== 'glorot' && init !== 'zeros') throw new ArgumentError(fn, `init must be 'glorot' or 'zeros', got ${describe(init)}`);
    this.#sce = sce;
    this.#random = mulberry32(seed);
    const d = this.inputs, c = this.classes;
    const w = new Float32Array(c * d);
    if (init === 'glorot') {
      const limit = Math.sqrt(6 / (d + c));
      for (let i = 0; i < w.length; i++) w[i] = (2 * this.#random() - 1) * limit;
    }
    this.#w = sce.tensor(w);
    try {
      this.#b = sce.tensor(c);
    } catch (error) {
      this.#w.free();
      throw error;
    }
  }

  /** A classifier with the weights of `json` (an object from toJSON, or its JSON text). */
  static fromJSON(sce: SoftmaxCE, json: ClassifierJSON | string): SoftmaxClassifier {
    const fn = 'SoftmaxClassifier.fromJSON';
    let data: unknown = json;
    if (typeof json === 'string') {
      try {
        data = JSON.parse(json);
      } catch (error) {
        throw new ArgumentError(fn, `json is not valid JSON (${(error as Error).message})`);
      }
    }
    const o = data as Partial<ClassifierJSON> | null;
    if (o === null || typeof o !== 'object' || o.format !== 'softmax-ce-wasm/classifier') {
      throw new ArgumentError(fn, `json must be an object with format 'softmax-ce-wasm/classifier' (from classifier.toJSON())`);
    }
    if (o.version !== 1) throw new ArgumentError(fn, `json.version ${describe(o.version)} is not supported (expected 1)`);
    const d = checkSize(fn, 'json.inputs', o.inputs), c = checkSize(fn, 'json.classes', o.classes);
    const values = (name: string, v: unknown, length: number) => {
      if (!Array.isArray(v) || v.length !== length) {
        throw new ArgumentError(fn, `${name} must be an array of ${length} numbers, got ${describe(v)}`);
      }
      const out = new Float32Array(length);
      for (let i = 0; i < length; i++) {
        if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) throw new ArgumentError(fn, `${name}[${i}] must be a finite number, got ${describe(v[i])}`);
        out[i] = v[i];
        if (!Number.isFinite(out[i])) throw new ArgumentError(fn, `${name}[${i}] = ${v[i]} overflows float32`);
      }
      return out;
    };
    const w = values('json.weights', o.weights, c * d), b = values('json.bias', o.bias, c);
    const model = new SoftmaxClassifier(sce, { inputs: d, classes: c, seed: 0, init: 'zeros' });
    model.#live('fromJSON').w.write(w);
    model.#b!.write(b);
    return model;
  }

  /** Whether dispose() was called. */
  get disposed(): boolean {
    return this.#w === null;
  }

  /** A copy of W (classes×inputs, row-major). */
  weights(): Float32Array {
    return this.#live('weights').w.read();
  }

  /** A copy of b (length classes). */
  bias(): Float32Array {
    return this.#live('bias').b.read();
  }

  /**
   * Trains on x (n×inputs, row-major) and labels (n class indices) with mini-batch
   * gradient descent; returns per-epoch metrics. The weights carry over between fit()
   * calls; the optimizer state (momentum, Adam moments and step count) starts fresh, and
   * fit ends any state partialFit was keeping (resetOptimizer()).
   */
  fit(x: Float32Array, labels: Labels, options: FitOptions = {}): FitHistory {
    const fn = 'classifier.fit';
    this.#live(fn);
    const d = this.inputs, c = this.classes;
    if (options === null || typeof options !== 'object') throw new ArgumentError(fn, 'options must be an object');
    for (const key of Object.keys(options)) {
      if (!FIT_OPTIONS.has(key)) throw new ArgumentError(fn, `unknown option '${key}' (known: ${[...FIT_OPTIONS].join(', ')})`);
    }
    const allLabels = checkLabels(fn, 'labels', labels, c);
    const total = checkRows(fn, 'x', x, d, allLabels.length);

    const epochs = checkNumber(fn, 'epochs', options.epochs ?? 10, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    const batchSize = checkNumber(fn, 'batchSize', options.batchSize ?? 32, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    const settings = this.#settings(fn, options);
    const random = options.seed === undefined ? this.#random : mulberry32(checkSeed(fn, 'seed', options.seed));
    const shuffle = options.shuffle ?? true;
    if (typeof shuffle !== 'boolean') throw new ArgumentError(fn, `shuffle must be a boolean, got ${describe(shuffle)}`);
    for (const name of ['onBatch', 'onEpoch'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') {
        throw new ArgumentError(fn, `${name} must be a function, got ${describe(options[name])}`);
      }
    }

    // Training rows [0, n) and validation rows: given, split off the end, or none.
    let n = total;
    let valX: Float32Array | null = null, valY: Int32Array | null = null;
    if (options.validationData !== undefined && options.validationSplit !== undefined) {
      throw new ArgumentError(fn, 'give validationData or validationSplit, not both');
    }
    if (options.validationData !== undefined) {
      const v = options.validationData;
      if (v === null || typeof v !== 'object') throw new ArgumentError(fn, 'validationData must be an object { x, labels }');
      valY = checkLabels(fn, 'validationData.labels', v.labels, c);
      checkRows(fn, 'validationData.x', v.x, d, valY.length);
      valX = v.x;
    } else if (options.validationSplit !== undefined) {
      const split = checkNumber(fn, 'validationSplit', options.validationSplit, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
      const held = Math.floor(total * split);
      if (held > 0) {
        n = total - held;
        if (n < 1) throw new ArgumentError(fn, `validationSplit ${split} leaves no training rows`);
        valX = x.subarray(n * d);
        valY = allLabels.subarray(n);
      }
    }
    const trainY = allLabels.subarray(0, n);

    const full = Math.min(batchSize, n), batches = Math.ceil(n / full), rest = n - (batches - 1) * full;
    const history: FitHistory = { epochs: 0, loss: [], accuracy: [], valLoss: [], valAccuracy: [], ms: [] };
    // fit is a loop of the steps partialFit takes, on an optimizer that starts fresh here and
    // is freed at the end (as before partialFit existed: fit never continues another's state).
    this.resetOptimizer();
    try {
      const trainer = this.#trainer(fn, settings);
      const fullStep = this.#batchArgs(trainer, full), restStep = rest === full ? fullStep : this.#batchArgs(trainer, rest);
      const memory = this.#sce.internals.kernels.memory;
      const order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      let fullView = (fullStep.x as Tensor).array(), restView = (restStep.x as Tensor).array();
      for (let epoch = 0; epoch < epochs; epoch++) {
        const t0 = performance.now();
        if (shuffle) {
          // Fisher–Yates with the seeded PRNG: the same seed gives the same batches.
          for (let i = n - 1; i > 0; i--) {
            const j = Math.floor(random() * (i + 1));
            const tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
          }
        }
        for (let batch = 0; batch < batches; batch++) {
          const last = batch === batches - 1, args = last ? restStep : fullStep;
          const m = args.n, yb = args.target as Int32Array;
          // Gather the batch rows straight into the resident x tensor, through a cached
          // view: a memory.grow in any call detaches older views, so re-make them then.
          if (fullView.buffer !== memory.buffer) {
            fullView = (fullStep.x as Tensor).array();
            restView = (restStep.x as Tensor).array();
          }
          const xv = last ? restView : fullView;
          const r0 = batch * full;
          for (let i = 0; i < m; i++) {
            const row = order[r0 + i], src = row * d, dst = i * d;
            for (let j = 0; j < d; j++) xv[dst + j] = x[src + j];
            yb[i] = trainY[row];
          }
          const loss = this.#step(trainer, args);
          options.onBatch?.({ epoch, batch, batches, loss });
        }
        const train = this.#score(x.subarray(0, n * d), trainY, n);
        const info: EpochInfo = { epoch, epochs, loss: train.loss, accuracy: train.accuracy, ms: 0 };
        history.loss.push(train.loss);
        history.accuracy.push(train.accuracy);
        if (valX && valY) {
          const val = this.#score(valX, valY, valY.length);
          info.valLoss = val.loss;
          info.valAccuracy = val.accuracy;
          history.valLoss.push(val.loss);
          history.valAccuracy.push(val.accuracy);
        }
        info.ms = performance.now() - t0;
        history.ms.push(info.ms);
        history.epochs++;
        if (options.onEpoch?.(info) === false) break;
      }
    } finally {
      this.resetOptimizer();
    }
    return history;
  }

  /**
   * One optimizer step on a batch: x (m×inputs) and m labels; returns the batch's mean loss
   * as trained on (before the step). The optimizer state persists between calls — momentum,
   * Adam moments and step count — so a stream of batches trains as fit does on the same
   * batches (fit is a loop of these steps). `options` fix the optimizer at the first call
   * (or the first after resetOptimizer()); later calls may omit them, and must not change them.
   */
  partialFit(x: Float32Array, labels: Labels, options: StepOptions = {}): number {
    const fn = 'classifier.partialFit';
    this.#live(fn);
    if (options === null || typeof options !== 'object') throw new ArgumentError(fn, 'options must be an object');
    for (const key of Object.keys(options)) {
      if (!STEP_OPTIONS.has(key)) throw new ArgumentError(fn, `unknown option '${key}' (known: ${[...STEP_OPTIONS].join(', ')})`);
    }
    const y = checkLabels(fn, 'labels', labels, this.classes);
    const m = checkRows(fn, 'x', x, this.inputs, y.length);
    let trainer = this.#optim;
    if (!trainer || Object.keys(options).length > 0) {
      const settings = this.#settings(fn, options);
      if (trainer && trainer.key !== settingsKey(settings)) {
        throw new ArgumentError(fn, 'the options differ from those the optimizer was made with; call resetOptimizer() first');
      }
      trainer ??= this.#trainer(fn, settings);
    }
    const args = this.#batchArgs(trainer, m);
    (args.x as Tensor).write(x);
    (args.target as Int32Array).set(y);
    return this.#step(trainer, args);
  }

  /** Frees the optimizer state of partialFit; the next partialFit starts a fresh one. */
  resetOptimizer(): void {
    if (!this.#optim) return;
    for (const t of this.#optim.owned) t.free();
    for (const args of this.#optim.batches.values()) (args.x as Tensor).free();
    this.#optim = null;
  }

  /** Checks the optimizer and loss options (fit's and partialFit's) and fills in defaults. */
  #settings(fn: string, options: StepOptions): Settings {
    const c = this.classes;
    const optimizer = options.optimizer ?? 'adam';
    if (!OPTIMIZERS.includes(optimizer)) {
      throw new ArgumentError(fn, `optimizer must be one of ${OPTIMIZERS.map((o) => `'${o}'`).join(', ')}, got ${describe(optimizer)}`);
    }
    const lr = checkNumber(fn, 'learningRate', options.learningRate ?? DEFAULT_LR[optimizer], (v) => v > 0 && v < Infinity, 'a positive finite number');
    const adam = optimizer === 'adam' || optimizer === 'adamw';
    for (const name of adam ? SGD_ONLY : ADAM_ONLY) {
      if (options[name] !== undefined) throw new ArgumentError(fn, `${name} is not an option of optimizer '${optimizer}'`);
    }
    const mu = checkNumber(fn, 'momentum', options.momentum ?? (optimizer === 'momentum' ? 0.9 : 0), (v) => v >= 0 && v < 1, 'a number in [0, 1)');
    const dampening = checkNumber(fn, 'dampening', options.dampening ?? 0, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
    const nesterov = options.nesterov ?? false;
    if (typeof nesterov !== 'boolean') throw new ArgumentError(fn, `nesterov must be a boolean, got ${describe(nesterov)}`);
    if (nesterov && (mu <= 0 || dampening !== 0)) throw new ArgumentError(fn, 'nesterov needs momentum > 0 and dampening 0 (as PyTorch)');
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new ArgumentError(fn, `betas must be a pair [β1, β2], got ${describe(betas)}`);
    const beta1 = checkNumber(fn, 'betas[0]', betas[0], (v) => v >= 0 && v < 1, 'a number in [0, 1)');
    const beta2 = checkNumber(fn, 'betas[1]', betas[1], (v) => v >= 0 && v < 1, 'a number in [0, 1)');
    const eps = checkNumber(fn, 'eps', options.eps ?? 1e-8, (v) => v > 0 && v < Infinity, 'a positive finite number');
    const weightDecay = checkNumber(fn, 'weightDecay', options.weightDecay ?? DEFAULT_WEIGHT_DECAY[optimizer], (v) => v >= 0 && v < Infinity, 'a finite number ≥ 0');
    const labelSmoothing = checkNumber(fn, 'labelSmoothing', options.labelSmoothing ?? 0, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
    let classWeight: Float32Array | null = null;
    if (options.classWeight != null) {
      const cw = options.classWeight;
      if (!(cw instanceof Float32Array) && !Array.isArray(cw)) {
        throw new ArgumentError(fn, `classWeight must be a Float32Array or an array of ${c} numbers, got ${describe(cw)}`);
      }
      if (cw.length !== c) throw new ArgumentError(fn, `classWeight must have length classes = ${c}, got ${cw.length}`);
      classWeight = Float32Array.from(cw);
      classWeight.forEach((v, j) => {
        // ≥ 0 as PyTorch: a batch of only zero-weight rows is then 0/0 (NaN), as there.
        if (!(v >= 0 && v < Infinity)) throw new ArgumentError(fn, `classWeight[${j}] must be finite and ≥ 0, got ${describe(cw[j])}`);
      });
    }
    const decayBias = options.decayBias ?? true;
    if (typeof decayBias !== 'boolean') throw new ArgumentError(fn, `decayBias must be a boolean, got ${describe(decayBias)}`);
    const biasDecay = decayBias ? weightDecay : 0;
    // SGD keeps a momentum buffer only when μ ≠ 0 (torch.optim.SGD): with μ = 0 and
    // dampening > 0 a buffer would scale every step after the first by (1 − dampening).
    const kind: OptimizerName = adam ? optimizer : mu !== 0 ? 'momentum' : 'sgd';
    return { kind, optimizer, lr, mu, dampening, nesterov, beta1, beta2, eps, weightDecay, biasDecay, labelSmoothing, classWeight };
  }

  /** Makes the persistent optimizer: gradient and state tensors, zero-filled. */
  #trainer(fn: string, settings: Settings): Trainer {
    const sce = this.#sce, d = this.inputs, c = this.classes, kind = settings.kind;
    this.#live(fn);
    const owned: Tensor[] = [];
    const tensor = (length: number) => {
      const t = sce.tensor(length);
      owned.push(t);
      return t;
    };
    try {
      const dW = tensor(c * d), dB = tensor(c);
      const state = kind === 'sgd' ? [] : kind === 'momentum' ? [tensor(c * d), tensor(c)]
        : [tensor(c * d), tensor(c * d), tensor(c), tensor(c)];
      this.#optim = { settings, key: settingsKey(settings), dW, dB, state, t: 0, batches: new Map(), owned };
      return this.#optim;
    } catch (error) {
      for (const t of owned) t.free();
      throw error;
    }
  }

  /**
   * The linearCrossEntropy arguments of an m-row batch: a resident x tensor and a target
   * array, made once per batch size. A stream has at most two sizes (full batches and the
   * last); beyond that, the older ones are freed so that memory stays bounded.
   */
  #batchArgs(trainer: Trainer, m: number): LinearCrossEntropyArgs {
    let args = trainer.batches.get(m);
    if (args) return args;
    if (trainer.batches.size >= 2) {
      for (const old of trainer.batches.values()) (old.x as Tensor).free();
      trainer.batches.clear();
    }
    const { w: W, b: B } = this.#live('classifier');
    const d = this.inputs, c = this.classes, s = trainer.settings;
    // The inputs need no gradient: inputGrad false skips dx, a third of the backward.
    args = {
      x: this.#sce.tensor(m * d), w: W, b: B, target: new Int32Array(m), n: m, d, c,
      labelSmoothing: s.labelSmoothing, weight: s.classWeight, inputGrad: false, out: { dw: trainer.dW, db: trainer.dB },
    };
    trainer.batches.set(m, args);
    return args;
  }

  /** One step: the loss and gradients of the batch in `args`, then one update kernel per parameter. */
  #step(trainer: Trainer, args: LinearCrossEntropyArgs): number {
    const { w: W, b: B } = this.#live('classifier');
    const k = this.#sce.internals.kernels, d = this.inputs, c = this.classes;
    const { kind, optimizer, lr, mu, dampening, nesterov, beta1, beta2, eps, weightDecay, biasDecay } = trainer.settings;
    const { dW, dB, state } = trainer;
    const { loss } = this.#sce.linearCrossEntropy(args);
    const t = ++trainer.t;
    if (kind === 'sgd') {
      k.sgd_update_f32(W.ptr, dW.ptr, c * d, lr, weightDecay);
      k.sgd_update_f32(B.ptr, dB.ptr, c, lr, biasDecay);
    } else if (kind === 'momentum') {
      const first = t === 1 ? 1 : 0, nest = nesterov ? 1 : 0;
      k.sgd_momentum_update_f32(W.ptr, dW.ptr, state[0].ptr, c * d, lr, mu, dampening, weightDecay, nest, first);
      k.sgd_momentum_update_f32(B.ptr, dB.ptr, state[1].ptr, c, lr, mu, dampening, biasDecay, nest, first);
    } else {
      const kernel = optimizer === 'adam' ? k.adam_update_f32 : k.adamw_update_f32;
      kernel(W.ptr, dW.ptr, state[0].ptr, state[1].ptr, c * d, lr, beta1, beta2, eps, weightDecay, t);
      kernel(B.ptr, dB.ptr, state[2].ptr, state[3].ptr, c, lr, beta1, beta2, eps, biasDecay, t);
    }
    return loss as number;
  }

  /** Logits Z = X·Wᵀ + b of x (n×inputs) → n×classes (a copy). */
  logits(x: Float32Array): Float32Array {
    const fn = 'classifier.logits';
    this.#live(fn);
    const n = checkRows(fn, 'x', x, this.inputs, null);
    const c = this.classes, out = new Float32Array(n * c);
    this.#chunks(x, n, (z, r0) => out.set(z, r0 * c));
    return out;
  }

  /** The most probable class of each row of x (n×inputs): n indices (ties: the lowest index). */
  predict(x: Float32Array): Int32Array {
    const fn = 'classifier.predict';
    this.#live(fn);
    const n = checkRows(fn, 'x', x, this.inputs, null);
    const c = this.classes, out = new Int32Array(n);
    this.#chunks(x, n, (z, r0, m) => {
      for (let i = 0; i < m; i++) {
        let best = 0;
        for (let j = 1; j < c; j++) if (z[i * c + j] > z[i * c + best]) best = j;
        out[r0 + i] = best;
      }
    });
    return out;
  }

  /** Class probabilities softmax(X·Wᵀ + b): n×classes, each row sums to 1. */
  predictProba(x: Float32Array): Float32Array {
    const fn = 'classifier.predictProba';
    this.#live(fn);
    const n = checkRows(fn, 'x', x, this.inputs, null);
    const c = this.classes, out = new Float32Array(n * c);
    this.#chunks(x, n, (z, r0, m) => out.set(this.#sce.softmax(z, m, c), r0 * c));
    return out;
  }

  /** Mean cross-entropy (no smoothing, no class weights) and accuracy on x and labels. */
  evaluate(x: Float32Array, labels: Labels): { loss: number; accuracy: number } {
    const fn = 'classifier.evaluate';
    this.#live(fn);
    const y = checkLabels(fn, 'labels', labels, this.classes);
    const n = checkRows(fn, 'x', x, this.inputs, y.length);
    return this.#score(x, y, n);
  }

  /** The weights as plain numbers; `SoftmaxClassifier.fromJSON(sce, json)` restores them bit for bit. */
  toJSON(): ClassifierJSON {
    const { w, b } = this.#live('toJSON');
    return {
      format: 'softmax-ce-wasm/classifier', version: 1, inputs: this.inputs, classes: this.classes,
      weights: Array.from(w.array()), bias: Array.from(b.array()),
    };
  }

  /** Frees the weight tensors; the classifier cannot be used afterwards. Safe to call twice. */
  dispose(): void {
    this.resetOptimizer();
    this.#w?.free();
    this.#b?.free();
    this.#w = this.#b = null;
  }

  #live(fn: string): { w: Tensor; b: Tensor } {
    if (!this.#w || !this.#b) throw new ArgumentError(fn, 'the classifier was disposed');
    return { w: this.#w, b: this.#b };
  }

  /** Logits of x in chunks of CHUNK_ROWS rows, each handed to `each` (a fresh array per chunk). */
  #chunks(x: Float32Array, n: number, each: (z: Float32Array, r0: number, m: number) => void): void {
    const { w, b } = this.#live('classifier');
    const d = this.inputs, c = this.classes;
    for (let r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - r0);
      each(this.#sce.linear({ x: x.subarray(r0 * d, (r0 + m) * d), w, b, n: m, d, c }), r0, m);
    }
  }

  /**
   * Mean loss and accuracy in one pass of the kernels per chunk of rows: linearCrossEntropy
   * without gradients, its accuracy counted by the row kernel (returnAccuracy; ties go to the
   * lowest class, as predict()) rather than from logits copied out and scanned in JavaScript.
   */
  #score(x: Float32Array, y: Int32Array, n: number): { loss: number; accuracy: number } {
    const { w, b } = this.#live('classifier');
    const d = this.inputs, c = this.classes;
    let loss = 0, hits = 0;
    for (let r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - r0);
      const r = this.#sce.linearCrossEntropy({
        x: x.subarray(r0 * d, (r0 + m) * d), w, b, target: y.subarray(r0, r0 + m), n: m, d, c,
        grad: false, reduction: 'sum', returnAccuracy: true,
      });
      loss += r.loss as number;
      // accuracy = hits / m (every label is a class: none ignored), so this is the count exactly.
      hits += Math.round(r.accuracy! * m);
    }
    return { loss: loss / n, accuracy: hits / n };
  }
}
