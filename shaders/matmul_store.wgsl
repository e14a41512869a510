// Every matmul kernel's store of one output element (after the Params and bindings of matmul_common.wgsl or
// matmul_strided.wgsl): out[o] = x, or out[o] + x when accumulating. out is read only then; a select of 0 or out[o]
// would load it on every store.
fn store_out(o: u32, x: f32) {
  if (p.accumulate != 0u) {
    out[o] += x;
  } else {
    out[o] = x;
  }
}
