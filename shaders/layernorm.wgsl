// LayerNorm over the last dim C of x(N,C): one 128-thread workgroup per row with a workgroup-memory tree reduction,
// any C. The backward's dw/db reduce over rows in a second kernel where each column has 8 lanes summed in fixed order.

struct Params {
  N: u32,
  C: u32,
  eps: f32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Forward bindings (launcher order: out, mean, rstd, x, w, b).
@group(0) @binding(1) var<storage, read_write> f_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> f_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> f_rstd: array<f32>;
@group(0) @binding(4) var<storage, read> f_x: array<f32>;
@group(0) @binding(5) var<storage, read> f_w: array<f32>;
@group(0) @binding(6) var<storage, read> f_b: array<f32>;

// Backward bindings (launcher order: dx, dw, db, dout, x, w, mean, rstd); each entry point uses a subset.
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<storage, read_write> db: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> w: array<f32>;
@group(0) @binding(7) var<storage, read> mean: array<f32>;
@group(0) @binding(8) var<storage, read> rstd: array<f32>;

const WG: u32 = 128u;

// out = (x - mean) * rstd * w + b; mean, rstd (N) saved. Variance in a second pass over the row, as the CPU reference.
@compute @workgroup_size(128)
fn layernorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let o = row * p.C;
  var s = 0.0;
  for (var c = lid; c < p.C; c += WG) { s += f_x[o + c]; }
  let m = wg_sum(lid, s) / f32(p.C);
  var v = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let d = f_x[o + c] - m;
    v += d * d;
  }
  let rs = inverseSqrt(wg_sum(lid, v) / f32(p.C) + p.eps);
  for (var c = lid; c < p.C; c += WG) { f_out[o + c] = (f_x[o + c] - m) * rs * f_w[c] + f_b[c]; }
  if (lid == 0u) {
    f_mean[row] = m;
    f_rstd[row] = rs;
  }
}

// dx (+)= rstd * (dnorm - mean_c(dnorm) - norm * mean_c(dnorm * norm)), norm = (x - mean) rstd, dnorm = w dout.
@compute @workgroup_size(128)
fn layernorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let o = row * p.C;
  let m = mean[row];
  let rs = rstd[row];
  var a = 0.0;
  var b = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let dn = w[c] * dout[o + c];
    a += dn;
    b += dn * (x[o + c] - m) * rs;
  }
  let dn_mean = wg_sum(lid, a) / f32(p.C);
  let dnn_mean = wg_sum(lid, b) / f32(p.C);
  for (var c = lid; c < p.C; c += WG) {
    let norm = (x[o + c] - m) * rs;
    let g = (w[c] * dout[o + c] - dn_mean - norm * dnn_mean) * rs;
    store_dx(o + c, g);
  }
}

// ---- dw/db: a workgroup owns COLS columns; LANES invocations per column stride over the rows, then lane 0 adds the
// lane partials in lane order. No atomics, so the result does not depend on scheduling.
const COLS: u32 = 32u;
const LANES: u32 = 8u;
var<workgroup> part: array<vec2<f32>, 256>;

// Lane 0 of each column gets (sum_n dout * norm, sum_n dout); other lanes get partials they must ignore.
fn lanes_total(lid: vec3<u32>, v: vec2<f32>) -> vec2<f32> {
  part[lid.y * COLS + lid.x] = v;
  workgroupBarrier();
  var t = part[lid.x];
  for (var l = 1u; l < LANES; l++) { t += part[l * COLS + lid.x]; }
  return t;
}

fn dw_db_partial(c: u32, lane: u32) -> vec2<f32> {
  var acc = vec2<f32>(0.0);
  if (c < p.C) {
    for (var n = lane; n < p.N; n += LANES) {
      let d = dout[n * p.C + c];
      // d out / d w = norm, d out / d b = 1
      acc += vec2<f32>(d * (x[n * p.C + c] - mean[n]) * rstd[n], d);
    }
  }
  return acc;
}

@compute @workgroup_size(32, 8)
fn layernorm_backward_dwdb(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * COLS + lid.x;
  let t = lanes_total(lid, dw_db_partial(c, lid.y));
  if (lid.y == 0u && c < p.C) {
    dw[c] += t.x;
    db[c] += t.y;
  }
}

@compute @workgroup_size(32, 8)
fn layernorm_backward_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * COLS + lid.x;
  let t = lanes_total(lid, dw_db_partial(c, lid.y));
  if (lid.y == 0u && c < p.C) { dw[c] += t.x; }
}

// db alone needs only dout (x, mean and rstd are not bound).
@compute @workgroup_size(32, 8)
fn layernorm_backward_db(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * COLS + lid.x;
  var s = 0.0;
  if (c < p.C) {
    for (var n = lid.y; n < p.N; n += LANES) { s += dout[n * p.C + c]; }
  }
  let t = lanes_total(lid, vec2<f32>(0.0, s));
  if (lid.y == 0u && c < p.C) { db[c] += t.y; }
}

// ---- One invocation per row, no workgroup memory and no barriers: for CPU-emulated adapters (SwiftShader), where a
// barrier suspends and resumes every invocation of the group and the 128-wide tree above costs more than the row's
// arithmetic. Same formulas, serial sums over c. Grid: grid1d(N).
@compute @workgroup_size(64)
fn layernorm_forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_index(gid, nwg);
  if (row >= p.N) { return; }
  let o = row * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += f_x[o + c]; }
  let m = s / f32(p.C);
  var v = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let d = f_x[o + c] - m;
    v += d * d;
  }
  let rs = inverseSqrt(v / f32(p.C) + p.eps);
  for (var c = 0u; c < p.C; c++) { f_out[o + c] = (f_x[o + c] - m) * rs * f_w[c] + f_b[c]; }
  f_mean[row] = m;
  f_rstd[row] = rs;
}

@compute @workgroup_size(64)
fn layernorm_backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_index(gid, nwg);
  if (row >= p.N) { return; }
  let o = row * p.C;
  let m = mean[row];
  let rs = rstd[row];
  var a = 0.0;
  var b = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let dn = w[c] * dout[o + c];
    a += dn;
    b += dn * (x[o + c] - m) * rs;
  }
  let dn_mean = a / f32(p.C);
  let dnn_mean = b / f32(p.C);
  for (var c = 0u; c < p.C; c++) {
    let norm = (x[o + c] - m) * rs;
    let g = (w[c] * dout[o + c] - dn_mean - norm * dnn_mean) * rs;
    store_dx(o + c, g);
  }
}
