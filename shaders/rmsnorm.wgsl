// RMSNorm over the last dim D of x(N,D) (src/ops/rmsnorm.ts is the reference): one 128-thread workgroup per row with
// a workgroup-memory tree reduction, any D; one invocation per row (`_rows`) on CPU-emulated adapters. dw reduces over
// rows in a column kernel where each column has 8 lanes summed in fixed order (no atomics).

struct Params {
  N: u32,
  D: u32,
  eps: f32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Forward bindings (launcher order: out, rstd, x, w).
@group(0) @binding(1) var<storage, read_write> f_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> f_rstd: array<f32>;
@group(0) @binding(3) var<storage, read> f_x: array<f32>;
@group(0) @binding(4) var<storage, read> f_w: array<f32>;

// Backward bindings (launcher order: dx, dw, dout, x, w, rstd); each entry point uses a subset.
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;

const WG: u32 = 128u;

// out = x * rstd * w; rstd = 1/sqrt(mean(x^2) + eps) saved per row.
@compute @workgroup_size(128)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let o = row * p.D;
  var ss = 0.0;
  for (var c = lid; c < p.D; c += WG) { ss += f_x[o + c] * f_x[o + c]; }
  let rs = inverseSqrt(wg_sum(lid, ss) / f32(p.D) + p.eps);
  for (var c = lid; c < p.D; c += WG) { f_out[o + c] = f_x[o + c] * rs * f_w[c]; }
  if (lid == 0u) { f_rstd[row] = rs; }
}

// dx (+)= rstd * (dnorm - norm * mean_c(dnorm * norm)), norm = x rstd, dnorm = w dout.
@compute @workgroup_size(128)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let o = row * p.D;
  let rs = rstd[row];
  var a = 0.0;
  for (var c = lid; c < p.D; c += WG) { a += w[c] * dout[o + c] * x[o + c] * rs; }
  let dnn_mean = wg_sum(lid, a) / f32(p.D);
  for (var c = lid; c < p.D; c += WG) {
    let g = (w[c] * dout[o + c] - x[o + c] * rs * dnn_mean) * rs;
    store_dx(o + c, g);
  }
}

// ---- dw: a workgroup owns COLS columns; LANES invocations per column stride over the rows, then lane 0 adds the
// lane partials in lane order.
const COLS: u32 = 32u;
const LANES: u32 = 8u;
var<workgroup> part: array<f32, 256>;

// dw += sum_n dout * norm (d out / d w = norm).
@compute @workgroup_size(32, 8)
fn rmsnorm_backward_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * COLS + lid.x;
  var acc = 0.0;
  if (c < p.D) {
    for (var n = lid.y; n < p.N; n += LANES) { acc += dout[n * p.D + c] * x[n * p.D + c] * rstd[n]; }
  }
  part[lid.y * COLS + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && c < p.D) {
    var t = part[lid.x];
    for (var l = 1u; l < LANES; l++) { t += part[l * COLS + lid.x]; }
    dw[c] += t;
  }
}

// ---- One invocation per row, no workgroup memory and no barriers, for CPU-emulated adapters (ctx.barrierFree).
// Same formulas, serial sums over c. Grid: grid1d(N).
@compute @workgroup_size(64)
fn rmsnorm_forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_index(gid, nwg);
  if (row >= p.N) { return; }
  let o = row * p.D;
  var ss = 0.0;
  for (var c = 0u; c < p.D; c++) { ss += f_x[o + c] * f_x[o + c]; }
  let rs = inverseSqrt(ss / f32(p.D) + p.eps);
  for (var c = 0u; c < p.D; c++) { f_out[o + c] = f_x[o + c] * rs * f_w[c]; }
  f_rstd[row] = rs;
}

@compute @workgroup_size(64)
fn rmsnorm_backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_index(gid, nwg);
  if (row >= p.N) { return; }
  let o = row * p.D;
  let rs = rstd[row];
  var a = 0.0;
  for (var c = 0u; c < p.D; c++) { a += w[c] * dout[o + c] * x[o + c] * rs; }
  let dnn_mean = a / f32(p.D);
  for (var c = 0u; c < p.D; c++) {
    let g = (w[c] * dout[o + c] - x[o + c] * rs * dnn_mean) * rs;
    store_dx(o + c, g);
  }
}
