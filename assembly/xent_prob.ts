// Fused cross-entropy row kernel for probability targets q (m×c, PyTorch semantics).
// With class weights w (1 when weight is 0) and smoothing ε:
//   a_c = w_c·((1−ε)·q_c + ε/c),  S = Σ a_c,  loss_i = Σ a_c·(m − z_c) + S·log s,
//   dz_c = gradScale·(p_c·S − a_c).
// Rows are not renormalised. Same passes and stability argument as xent_index.ts.
import { rowMax, rowExpStoreSum } from './rowops';

@inline function targetMass(q: usize, weight: usize, o: usize, keep: f32, epsOverC: f32): f32 {
  const a = load<f32>(q + o) * keep + epsOverC;
  return weight ? a * load<f32>(weight + o) : a;
}

export function xent_prob_rows_f32(
  dz: usize, z: usize, ldz: i32, q: usize, ldq: i32, weight: usize, loss: usize,
  c: i32, rowBegin: i32, rowEnd: i32, smoothing: f32, gradScale: f32, grad: i32,
): void {
  const rowBytes = <usize>ldz << 2, qBytes = <usize>ldq << 2;
  const keep: f32 = 1 - smoothing, epsOverC: f32 = smoothing / <f32>c;
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * rowBytes, di = dz + <usize>i * rowBytes, qi = q + <usize>i * qBytes;
    const m = rowMax(zi, c);
    let mass: f64 = 0, weighted: f64 = 0;
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      const a = <f64>targetMass(qi, weight, o, keep, epsOverC);
      mass += a;
      weighted += a * <f64>(m - load<f32>(zi + o));
    }
    let s: f64;
    if (grad) {
      s = rowExpStoreSum(di, zi, c, m);
    } else {
      s = 0;
      for (let j = 0; j < c; j++) s += Mathf.exp(load<f32>(zi + (<usize>j << 2)) - m);
    }
    store<f64>(loss + (<usize>i << 3), weighted + mass * Math.log(s));
    if (grad) {
      const pScale = <f32>(mass / s * <f64>gradScale);
      for (let j = 0; j < c; j++) {
        const o = <usize>j << 2;
        store<f32>(di + o, load<f32>(di + o) * pScale - targetMass(qi, weight, o, keep, epsOverC) * gradScale);
      }
    }
  }
}
