// Adam and AdamW, torch.optim.Adam / torch.optim.AdamW semantics (amsgrad off), step t ≥ 1:
//   Adam:  g = grad + weightDecay·param          (L2 term added to the gradient)
//   AdamW: g = grad; param ·= 1 − lr·weightDecay  (decoupled decay, before the update)
//   m = m + (1 − β1)·(g − m)                      (PyTorch's lerp form of β1·m + (1 − β1)·g)
//   v = β2·v + (1 − β2)·g²
//   param −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// The bias corrections are computed once per call in float64 and rounded to float32;
// the element loop is float32 with one rounding per operation and no FMA (√ and ÷ are
// correctly rounded in v128 and scalar alike), so body and tail agree bit for bit and
// both builds agree. Error per step ≈ 10 roundings of the update against float64.
// m and v start zero-filled; the caller counts t and keeps it across calls.

@inline function adamStep(
  param: usize, grad: usize, m: usize, v: usize, len: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, step: i32, decoupled: bool,
): void {
  const t = <f64>step;
  const stepSize = <f32>(<f64>lr / (1 - Math.pow(<f64>beta1, t)));
  const bc2Sqrt = <f32>Math.sqrt(1 - Math.pow(<f64>beta2, t));
  const decay: f32 = decoupled ? <f32>1 - lr * weightDecay : 1;
  const l2: f32 = decoupled ? 0 : weightDecay;
  const oneMinusB1: f32 = <f32>1 - beta1, oneMinusB2: f32 = <f32>1 - beta2;
  const vl2 = f32x4.splat(l2), vdecay = f32x4.splat(decay), vb2 = f32x4.splat(beta2);
  const va = f32x4.splat(oneMinusB1), vb = f32x4.splat(oneMinusB2);
  const vstep = f32x4.splat(stepSize), vbc2 = f32x4.splat(bc2Sqrt), veps = f32x4.splat(eps);
  const body = <usize>(len & ~3) << 2, end = <usize>len << 2;
  let o: usize = 0;
  for (; o < body; o += 16) {
    let p = v128.load(param + o);
    let g = v128.load(grad + o);
    if (decoupled) p = f32x4.mul(p, vdecay);
    else g = f32x4.add(g, f32x4.mul(vl2, p));
    const m0 = v128.load(m + o);
    const m1 = f32x4.add(m0, f32x4.mul(va, f32x4.sub(g, m0)));
    const v1 = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vb, f32x4.mul(g, g)));
    v128.store(m + o, m1);
    v128.store(v + o, v1);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(v1), vbc2), veps);
    v128.store(param + o, f32x4.sub(p, f32x4.mul(vstep, f32x4.div(m1, denom))));
  }
  for (; o < end; o += 4) {
    let p = load<f32>(param + o);
    let g = load<f32>(grad + o);
    if (decoupled) p = p * decay;
    else g = g + l2 * p;
    const m0 = load<f32>(m + o);
    const m1 = m0 + oneMinusB1 * (g - m0);
    const v1 = beta2 * load<f32>(v + o) + oneMinusB2 * (g * g);
    store<f32>(m + o, m1);
    store<f32>(v + o, v1);
    const denom = Mathf.sqrt(v1) / bc2Sqrt + eps;
    store<f32>(param + o, p - stepSize * (m1 / denom));
  }
}

/** torch.optim.Adam: weightDecay is the L2 term added to the gradient. */
export function adam_update_f32(
  param: usize, grad: usize, m: usize, v: usize, len: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, step: i32,
): void {
  adamStep(param, grad, m, v, len, lr, beta1, beta2, eps, weightDecay, step, false);
}

/** torch.optim.AdamW: weightDecay decays the parameter directly (decoupled). */
export function adamw_update_f32(
  param: usize, grad: usize, m: usize, v: usize, len: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, step: i32,
): void {
  adamStep(param, grad, m, v, len, lr, beta1, beta2, eps, weightDecay, step, true);
}
