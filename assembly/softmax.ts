// Row-wise softmax and log-softmax of an m×c matrix, for rows [rowBegin, rowEnd).
// Max-subtracted, so finite for any finite logits: softmax = exp(z − m) / s,
// log-softmax = (z − m) − log s with s = Σ exp(z − m) ∈ [1, c].
// Error: a few float32 ULP per element (exp < 1 ULP, one division or subtraction).
// out may alias z.
import { rowMax, rowExpStoreSum, rowScale } from './rowops';

export function softmax_rows_f32(out: usize, ldo: i32, z: usize, ldz: i32, c: i32, rowBegin: i32, rowEnd: i32): void {
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * (<usize>ldz << 2), oi = out + <usize>i * (<usize>ldo << 2);
    const m = rowMax(zi, c);
    const s = rowExpStoreSum(oi, zi, c, m);
    rowScale(oi, oi, c, <f32>(1.0 / s));
  }
}

export function log_softmax_rows_f32(out: usize, ldo: i32, z: usize, ldz: i32, c: i32, rowBegin: i32, rowEnd: i32): void {
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * (<usize>ldz << 2), oi = out + <usize>i * (<usize>ldo << 2);
    const m = rowMax(zi, c);
    let s: f64 = 0;
    for (let j = 0; j < c; j++) s += Mathf.exp(load<f32>(zi + (<usize>j << 2)) - m);
    const logS = <f32>Math.log(s);
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(oi + o, (load<f32>(zi + o) - m) - logS);
    }
  }
}
