// Row primitives shared by the softmax and cross-entropy kernels (XNNPACK's rmax and
// raddstoreexpminusmax). Scalar here; each states its accuracy.

// max over z[0..c). f32.max propagates NaN, so a NaN logit makes the row NaN (as PyTorch).
@inline export function rowMax(z: usize, c: i32): f32 {
  let m = load<f32>(z);
  for (let j = 1; j < c; j++) m = max<f32>(m, load<f32>(z + (<usize>j << 2)));
  return m;
}

// out[j] = exp(z[j] − m) and returns Σ out[j] accumulated in f64 (out may alias z).
// Mathf.exp is correctly rounded to < 1 ULP; z − m ≤ 0, so no term overflows and the
// sum is in [1, c]: the f64 accumulator keeps it exact to float32 for any c.
@inline export function rowExpStoreSum(out: usize, z: usize, c: i32, m: f32): f64 {
  let s: f64 = 0;
  for (let j = 0; j < c; j++) {
    const o = <usize>j << 2;
    const e = Mathf.exp(load<f32>(z + o) - m);
    store<f32>(out + o, e);
    s += e;
  }
  return s;
}

// out[j] = v[j] · k (out may alias v).
@inline export function rowScale(out: usize, v: usize, c: i32, k: f32): void {
  for (let j = 0; j < c; j++) {
    const o = <usize>j << 2;
    store<f32>(out + o, load<f32>(v + o) * k);
  }
}
