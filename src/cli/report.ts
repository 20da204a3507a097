/** The report `train` prints on stdout: the data, the run, the scores and a table per class. */

export interface Scores {
  train: { loss: number; hits: number; rows: number };
  test: { loss: number; hits: number; rows: number };
  testCorrect: number[];
}

export interface TrainReport {
  label: string; classes: string[]; d: number; rows: number; nTrain: number; nTest: number;
  optimizer: string; lr: number; finalLr: number; batchSize: number; epochs: number; maxEpochs: number; weightDecay: number; seed: number;
  format: string; bytes: number; parseMs: number; trainMs: number; epochMs: number[];
  train: { loss: number; accuracy: number }; test: { loss: number; accuracy: number } | null;
  trainCounts: number[]; testCounts: number[]; testCorrect: number[]; out: string; cache: string | null;
}

const f4 = (v: number) => v.toFixed(4);
const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v < 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(0)} ms`);
const size = (bytes: number) => (bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`);

export function printTrainReport(print: (line: string) => void, r: TrainReport): void {
  const c = r.classes.length;
  print(`softmax regression: ${r.d} feature${r.d === 1 ? '' : 's'} → ${c} classes, label '${r.label}'`);
  print(`data: ${r.rows} rows (${r.nTrain} train, ${r.nTest} test, stratified), ${r.format}, ` +
    `${size(r.bytes)} read in ${ms(r.parseMs)} (${(r.bytes / 1e3 / Math.max(1, r.parseMs)).toFixed(1)} MB/s)`);
  const stopped = r.epochs < r.maxEpochs ? `stopped after ${r.epochs} epochs (no further improvement)` : `${r.epochs} epochs`;
  const median = [...r.epochMs].sort((a, b) => a - b)[r.epochMs.length >> 1] ?? 0;
  print(`training: ${r.optimizer} lr ${r.lr}${r.finalLr !== r.lr ? ` (to ${r.finalLr})` : ''}, batch ${r.batchSize}, ` +
    `L2 ${Number(r.weightDecay.toPrecision(4))}, seed ${r.seed}; ${stopped}, ${ms(r.trainMs)} (${ms(median)} per epoch)`);
  print(`train: loss ${f4(r.train.loss)}  accuracy ${f4(r.train.accuracy)}`);
  if (r.test) print(`test:  loss ${f4(r.test.loss)}  accuracy ${f4(r.test.accuracy)}`);
  const width = Math.max(5, ...r.classes.map((s) => s.length));
  print(`${'class'.padEnd(width)}  train   test  test correct`);
  for (let k = 0; k < c; k++) {
    print(`${r.classes[k].padEnd(width)}  ${String(r.trainCounts[k]).padStart(5)}  ${String(r.testCounts[k]).padStart(5)}  ${String(r.testCorrect[k]).padStart(12)}`);
  }
  print(`wrote ${r.out}${r.cache ? `; kept the cache ${r.cache}` : ''}`);
}
