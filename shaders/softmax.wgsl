// Softmax over the last dim of x(rows,cols): one 128-thread workgroup per row with workgroup-memory tree reductions
// (max, then sum of exponentials), any cols. The backward is y * (dy - sum(dy * y)) per row.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Forward bindings (out, x).
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
// Backward bindings (dx, y, dy).
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

const WG: u32 = 128u;

@compute @workgroup_size(128)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let o = row * p.cols;
  // Largest finite f32 rather than -inf: idle invocations contribute it, and max() needs no special case for them.
  var m = -3.4028234e38;
  for (var c = lid; c < p.cols; c += WG) { m = max(m, x[o + c]); }
  let mx = wg_max(lid, m);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += exp(x[o + c] - mx); }
  let inv = 1.0 / wg_sum(lid, s);
  for (var c = lid; c < p.cols; c += WG) { out[o + c] = exp(x[o + c] - mx) * inv; }
}

// dx_j = y_j (dy_j - sum_i dy_i y_i), from dy_i/dx_j = y_i (delta_ij - y_j).
@compute @workgroup_size(128)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let o = row * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += dy[o + c] * y[o + c]; }
  let ydy = wg_sum(lid, s);
  for (var c = lid; c < p.cols; c += WG) { dx[o + c] = y[o + c] * (dy[o + c] - ydy); }
}
