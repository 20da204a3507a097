// Plain SGD, torch.optim.SGD with momentum 0 (weight decay as PyTorch's L2 term):
//   g = grad + weightDecay·param;   param −= lr·g        for i in [0, len)
// Float32 throughout, one rounding per operation and no FMA, so the v128 body and the
// scalar tail give the same bits for an element wherever it falls, and the 'simd' and
// 'relaxed' builds agree bit for bit. Error per step ≤ 3 roundings (≤ 3u·(|p| + lr·|g|),
// u = 2^-24) against the update done in float64 on the same float32 inputs.
// param and grad are distinct buffers of len floats (the arena aligns them to 16 bytes).

export function sgd_update_f32(param: usize, grad: usize, len: i32, lr: f32, weightDecay: f32): void {
  const vlr = f32x4.splat(lr), vwd = f32x4.splat(weightDecay);
  const body = <usize>(len & ~3) << 2, end = <usize>len << 2;
  let o: usize = 0;
  for (; o < body; o += 16) {
    const p = v128.load(param + o);
    const g = f32x4.add(v128.load(grad + o), f32x4.mul(vwd, p));
    v128.store(param + o, f32x4.sub(p, f32x4.mul(vlr, g)));
  }
  for (; o < end; o += 4) {
    const p = load<f32>(param + o);
    const g = load<f32>(grad + o) + weightDecay * p;
    store<f32>(param + o, p - lr * g);
  }
}
