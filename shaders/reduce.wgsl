// Full reductions to one value per workgroup: out[w] (+)= sum of x (or x^2), or max |x|, over workgroup w's
// grid-strided share.
// Each invocation adds its share in order, then a fixed tree in workgroup memory: the result is deterministic.
// One workgroup gives the whole sum; more give partials that a second one-workgroup pass adds (src/gpu/kernels/reduce.ts).

struct Params {
  n: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

const WG: u32 = 256u;
var<workgroup> part: array<f32, 256>;

fn reduce(lid: u32, wid: u32, nwg: u32, square: bool) {
  var s = 0.0;
  for (var i = wid * WG + lid; i < p.n; i += nwg * WG) {
    let v = x[i];
    s += select(v, v * v, square);
  }
  part[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h /= 2u) {
    if (lid < h) { part[lid] += part[lid + h]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    store_out(wid, part[0]);
  }
}

@compute @workgroup_size(256)
fn sum_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>) {
  reduce(lid.x, wid.x, nwg.x, false);
}

@compute @workgroup_size(256)
fn sum_squares_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>) {
  reduce(lid.x, wid.x, nwg.x, true);
}

// out[w] = max |x| over workgroup w's grid-strided share (no accumulate): the partial maxima from which the
// f16-arithmetic matmul scales its operand (shaders/matmul_f16.wgsl). A workgroup with no elements writes 0.
@compute @workgroup_size(256)
fn absmax_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>) {
  var m = 0.0;
  for (var i = wid.x * WG + lid.x; i < p.n; i += nwg.x * WG) { m = max(m, abs(x[i])); }
  part[lid.x] = m;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h /= 2u) {
    if (lid.x < h) { part[lid.x] = max(part[lid.x], part[lid.x + h]); }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[wid.x] = part[0]; }
}
