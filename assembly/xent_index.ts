// Fused cross-entropy row kernel for class-index targets (PyTorch semantics).
// For rows [rowBegin, rowEnd) of the m×c logits z, with label y, class weights w
// (w = 1 when weight is 0), smoothing ε and W = Σ_c w_c:
//   target mass  a_c = (1−ε)·w_y·[c = y] + (ε/c)·w_c,   S = Σ a_c = (1−ε)·w_y + (ε/c)·W
//   loss_i       = Σ a_c·(lse − z_c) = (1−ε)·w_y·((m − z_y) + log s) + (ε/c)·(Σ w_c·(m − z_c) + W·log s)
//   dz_c         = gradScale·(p_c·S − a_c)
// with m = max z, s = Σ exp(z − m): every term is ≥ 0 and no exp overflows, so the loss is
// accurate for any finite logits (never m + log s − z_y, which cancels near |z| ≈ 1e4).
// Rows labelled ignoreIndex get loss 0 and dz 0. Passes: max; exp-store-sum (with the
// smoothing sum); scale into dz. loss is written as f64 per row; dz may alias z.
import { rowMax, rowExpStoreSum } from './rowops';

export function xent_index_rows_f32(
  dz: usize, z: usize, ldz: i32, labels: usize, weight: usize, loss: usize,
  c: i32, rowBegin: i32, rowEnd: i32, ignoreIndex: i32,
  smoothing: f32, weightSum: f32, gradScale: f32, grad: i32,
): void {
  const rowBytes = <usize>ldz << 2;
  const eps = <f64>smoothing, epsOverC = eps / <f64>c;
  for (let i = rowBegin; i < rowEnd; i++) {
    const zi = z + <usize>i * rowBytes, di = dz + <usize>i * rowBytes;
    const y = load<i32>(labels + (<usize>i << 2));
    if (y == ignoreIndex) {
      store<f64>(loss + (<usize>i << 3), 0);
      if (grad) memory.fill(di, 0, <usize>c << 2);
      continue;
    }
    const zy = load<f32>(zi + (<usize>y << 2));
    const wy: f64 = weight ? <f64>load<f32>(weight + (<usize>y << 2)) : 1.0;
    const m = rowMax(zi, c);

    // Σ w_c·(m − z_c) is read before the exp pass may overwrite z (dz aliases z).
    let smoothSum: f64 = 0;
    if (smoothing != 0) {
      for (let j = 0; j < c; j++) {
        const wj: f64 = weight ? <f64>load<f32>(weight + (<usize>j << 2)) : 1.0;
        smoothSum += wj * <f64>(m - load<f32>(zi + (<usize>j << 2)));
      }
    }
    let s: f64;
    if (grad) {
      s = rowExpStoreSum(di, zi, c, m);
    } else {
      s = 0;
      for (let j = 0; j < c; j++) s += Mathf.exp(load<f32>(zi + (<usize>j << 2)) - m);
    }
    const logS = Math.log(s);
    store<f64>(loss + (<usize>i << 3),
      (1 - eps) * wy * (<f64>(m - zy) + logS) + epsOverC * (smoothSum + <f64>weightSum * logS));

    if (grad) {
      const ey = <f64>load<f32>(di + (<usize>y << 2));
      const mass = (1 - eps) * wy + epsOverC * <f64>weightSum;
      const pScale = <f32>(mass / s * <f64>gradScale);
      const smoothScale = <f32>(epsOverC * <f64>gradScale);
      if (smoothing != 0) {
        for (let j = 0; j < c; j++) {
          const o = <usize>j << 2;
          const wj: f32 = weight ? load<f32>(weight + o) : 1;
          store<f32>(di + o, load<f32>(di + o) * pScale - smoothScale * wj);
        }
      } else {
        for (let j = 0; j < c; j++) {
          const o = <usize>j << 2;
          store<f32>(di + o, load<f32>(di + o) * pScale);
        }
      }
      // At the label, p_y·S − a_y = (ε/c)·(W·p_y − w_y) − (1−ε)·w_y·(1 − p_y): computing
      // 1 − p_y as (s − e_y)/s avoids the cancellation of p_y − 1 when p_y → 1, which in
      // float32 would leave an absolute error of 2^-24·w_y in a gradient that is ≪ w_y.
      const py = ey / s;
      store<f32>(di + (<usize>y << 2), <f32>(<f64>gradScale *
        (epsOverC * (<f64>weightSum * py - wy) - (1 - eps) * wy * ((s - ey) / s))));
    }
  }
}
