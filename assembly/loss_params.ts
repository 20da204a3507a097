// The parameter block of the fused loss rows (xent_index.ts, xent_prob.ts): the loss options
// as fields in memory, written once per call by the TypeScript side (src/kernels.ts
// LOSS_PARAMS lists the same fields in the same order, 4 bytes each; test/loss-params.test.ts
// compares the offsets below with it). A new option is a field here and there, not one more
// positional argument of every row kernel.
@unmanaged export class LossParams {
  c: i32;
  ldz: i32;
  ldq: i32;
  weight: usize;
  ignoreIndex: i32;
  smoothing: f32;
  weightSum: f32;
  gradScale: f32;
  grad: i32;
  softcap: f32;
  zLoss: f32;
  zScale: f32;
  accuracy: i32;
  allLse: i32;
}

/** Test-only: writes each field's byte offset (i32, in declaration order) to out; returns the block's size. */
export function loss_params_offsets(out: usize): i32 {
  store<i32>(out, offsetof<LossParams>('c'));
  store<i32>(out, offsetof<LossParams>('ldz'), 4);
  store<i32>(out, offsetof<LossParams>('ldq'), 8);
  store<i32>(out, offsetof<LossParams>('weight'), 12);
  store<i32>(out, offsetof<LossParams>('ignoreIndex'), 16);
  store<i32>(out, offsetof<LossParams>('smoothing'), 20);
  store<i32>(out, offsetof<LossParams>('weightSum'), 24);
  store<i32>(out, offsetof<LossParams>('gradScale'), 28);
  store<i32>(out, offsetof<LossParams>('grad'), 32);
  store<i32>(out, offsetof<LossParams>('softcap'), 36);
  store<i32>(out, offsetof<LossParams>('zLoss'), 40);
  store<i32>(out, offsetof<LossParams>('zScale'), 44);
  store<i32>(out, offsetof<LossParams>('accuracy'), 48);
  store<i32>(out, offsetof<LossParams>('allLse'), 52);
  return <i32>offsetof<LossParams>();
}

/**
 * The per-row record the row kernels write: 4 f64 (src/kernels.ts ROW_RECORD). The loss is
 * always written; lse, zLoss and hit only when `extras` (some option reads them: returnLse,
 * returnAccuracy or a z-loss λ ≠ 0), so a plain call stores 8 bytes a row, as before the options.
 */
@inline export function storeRecord(rows: usize, i: i32, extras: bool, loss: f64, lse: f64, zLoss: f64, hit: f64): void {
  const r = rows + (<usize>i << 5);
  store<f64>(r, loss);
  if (extras) {
    store<f64>(r, lse, 8);
    store<f64>(r, zLoss, 16);
    store<f64>(r, hit, 24);
  }
}

/**
 * lse = m + log s for a row of max m and log s (s = Σ exp(z − m)); a row whose max is ±∞ has
 * lse = m (as torch.logsumexp), where exp(z − m) would make s NaN.
 */
@inline export function logSumExp(m: f32, logS: f64): f64 {
  return isFinite<f32>(m) || isNaN<f32>(m) ? <f64>m + logS : <f64>m;
}
