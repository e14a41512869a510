// The store of one output element for every kernel with an `out` binding and an `accumulate` flag in its Params (the
// matmuls after matmul_common.wgsl or matmul_strided.wgsl, gelu.wgsl, reduce.wgsl): out[o] = x, or out[o] + x when
// accumulating. out is read only then; a select of 0 or out[o] would load it on every store.
fn store_out(o: u32, x: f32) {
  if (p.accumulate != 0u) {
    out[o] += x;
  } else {
    out[o] = x;
  }
}
