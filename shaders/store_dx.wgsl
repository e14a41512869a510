// The norms' backward store of one input-gradient element (layernorm.wgsl and rmsnorm.wgsl, after wg_reduce.wgsl;
// their Params and dx binding):
// dx[i] = g, or dx[i] + g when accumulating: dx is read only then (a select would load it either way).
fn store_dx(i: u32, g: f32) {
  if (p.accumulate != 0u) {
    dx[i] += g;
  } else {
    dx[i] = g;
  }
}
