/**
 * The model file `train` writes and `predict` reads: JSON with the classifier's weights, the
 * class names, the feature names and the normalisation. Reading checks everything predict
 * relies on, so that a damaged or hand-edited file stops with a message instead of giving
 * predictions of garbage: shapes, finite weights, unique class and feature names, finite
 * means and finite positive standard deviations.
 */
import type { ClassifierJSON } from '../index.js';
import { CliError } from './errors.js';
import { openSource } from './read/open.js';

export interface ModelFile {
  format: 'softmax-ce-wasm/model';
  version: 1;
  label: string;
  features: string[];
  /** Class names, in the order of the classifier's classes. */
  classes: string[];
  /** Per-feature standardisation x' = (x − mean) / std, or null. */
  normalization: { mean: number[]; std: number[] } | null;
  classifier: ClassifierJSON;
  training: Record<string, unknown>;
}

const MAX_MODEL_BYTES = 1 << 30;

export async function readModel(file: string): Promise<ModelFile> {
  const source = await openSource(file, 'model file');
  if (source.bytes > MAX_MODEL_BYTES) throw new CliError(`${file}: ${source.bytes} bytes is too large for a model file`);
  const parts: string[] = [];
  for await (const chunk of source.text()) parts.push(chunk);
  const text = parts.join('').replace(/^\uFEFF/, '');
  let m: ModelFile;
  try {
    m = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new CliError(`${file}: the model file is damaged: ${what}`);
  };
  if (m === null || typeof m !== 'object' || m.format !== 'softmax-ce-wasm/model') {
    throw new CliError(`${file}: not a model file of softmax-ce-wasm (written by 'softmax-ce-wasm train')`);
  }
  if (m.version !== 1) bad(`version ${JSON.stringify(m.version)} is not 1`);
  if (typeof m.label !== 'string') bad('label must be a string');
  const names = (key: 'features' | 'classes', min: number) => {
    const v = m[key];
    if (!Array.isArray(v) || v.length < min) bad(`${key} must be an array of at least ${min} names`);
    const seen = new Set<string>();
    v.forEach((s, i) => {
      if (typeof s !== 'string' || s === '') bad(`${key}[${i}] must be a non-empty string, got ${JSON.stringify(s)}`);
      if (seen.has(s)) bad(`${key} names '${s}' twice`);
      seen.add(s);
    });
  };
  names('features', 1);
  names('classes', 2);
  if (m.features.includes(m.label)) bad(`the label '${m.label}' is also a feature`);
  const d = m.features.length, c = m.classes.length;
  const n = m.normalization;
  if (n !== null) {
    if (typeof n !== 'object' || n === undefined) bad('normalization must be an object { mean, std } or null');
    for (const key of ['mean', 'std'] as const) {
      const v = n[key];
      if (!Array.isArray(v) || v.length !== d) bad(`normalization.${key} must hold ${d} numbers, one per feature`);
      v.forEach((x, j) => {
        if (typeof x !== 'number' || !Number.isFinite(x)) bad(`normalization.${key}[${j}] (feature '${m.features[j]}') must be a finite number, got ${JSON.stringify(x)}`);
        if (key === 'std' && !(x > 0)) bad(`normalization.std[${j}] (feature '${m.features[j]}') must be > 0, got ${x}`);
      });
    }
  }
  const k = m.classifier;
  if (k === null || typeof k !== 'object') bad('classifier must be an object');
  if (k.inputs !== d || k.classes !== c) {
    bad(`the classifier has ${JSON.stringify(k.inputs)} inputs and ${JSON.stringify(k.classes)} classes, but the file lists ${d} features and ${c} classes`);
  }
  return m;
}
