// Logit soft-capping (Gemma 2): z' = cap·tanh(z/cap), and the factor of its backward,
// dz = dz'·(1 − t²) with t = z'/cap — torch's tanh backward, from the output. Row helpers
// of the fused loss rows (xent_index.ts, xent_prob.ts), on v128.
// Error: z' = cap·tanh(u), u = z/cap rounded once: tanhf4's bound (tanh.ts) plus one rounding
// of u (relative 2^-24, which tanh shrinks: |d tanh/du|·|u| ≤ |tanh u|) and one of the product.
// The backward factor is computed from t = z'/cap (one more rounding) as (1 − t)(1 + t): an
// absolute error ≤ about 3·2^-24 — where the cap saturates (|t| → 1, the factor → 0) that is
// large relative to the factor, but small against the dz' it scales, as in float32 torch.
import { tanhf4, tanhGrad4 } from './tanh';
import { loadPartial, storePartial } from './simd';

/** out[j] = cap·tanh(z[j]/cap) for j < c (out may alias z). */
export function rowSoftcap(out: usize, z: usize, c: i32, cap: f32): void {
  const cv = f32x4.splat(cap), end = <usize>(c & ~3) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(out + o, f32x4.mul(cv, tanhf4(f32x4.div(v128.load(z + o), cv))));
  const t = c & 3;
  if (t) storePartial(out + o, f32x4.mul(cv, tanhf4(f32x4.div(loadPartial(z + o, t), cv))), t);
}

/** The backward factor 1 − t², t = zc/cap, of capped logits zc (lanes). */
@inline export function softcapGrad4(zc: v128, cap: v128): v128 {
  return tanhGrad4(f32x4.div(zc, cap));
}

/** The same for one capped logit (the label's entry), rounded as the lanes are. */
export function softcapGrad1(zc: f32, cap: f32): f32 {
  return f32x4.extract_lane(softcapGrad4(f32x4.splat(zc), f32x4.splat(cap)), 0);
}
