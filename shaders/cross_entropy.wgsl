// Softmax cross-entropy with an ignore index: one 256-wide workgroup per row, fixed-order tree reductions for the
// row max and sum of exponentials (stable log-sum-exp). Targets outside [0, V) are treated like ignored rows.

struct Params {
  N: u32,
  V: u32,
  ignore_index: i32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;     // (N,V)
@group(0) @binding(2) var<storage, read> targets: array<i32>;    // (N)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // forward: losses(N); backward: dlogits(N,V)
@group(0) @binding(4) var<storage, read_write> valid: array<f32>; // forward only: (N)
@group(0) @binding(5) var<storage, read> dloss: array<f32>;      // backward only: (1)
@group(0) @binding(6) var<storage, read> count: array<f32>;      // backward only: (1)

// (max, log(sum_j exp(x_j - max))): lse = max + the second value. Kept apart so callers form x_j - max first,
// which is exact for x_j near max, instead of cancelling against a large lse. Called by the whole workgroup.
fn row_lse(off: u32, lid: u32) -> vec2<f32> {
  var m = -3.402823e38;
  for (var j = lid; j < p.V; j += WG) { m = max(m, logits[off + j]); }
  let mx = wg_max(lid, m);
  var s = 0.0;
  for (var j = lid; j < p.V; j += WG) { s += exp(logits[off + j] - mx); }
  return vec2<f32>(mx, log(wg_sum(lid, s)));
}

// The row index and target are workgroup-uniform (read-only storage at a uniform index), so an ignored row may
// return before the barriers.
fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn is_ignored(t: i32) -> bool {
  return t == p.ignore_index || u32(t) >= p.V;
}

// losses[n] = lse(logits[n]) - logits[n, t]; valid[n] = 1, or both 0 on an ignored row.
@compute @workgroup_size(256)
fn cross_entropy_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = row_of(wid, nwg);
  if (row >= p.N) { return; }
  let t = targets[row];
  if (is_ignored(t)) {
    if (lid.x == 0u) { out[row] = 0.0; valid[row] = 0.0; }
    return;
  }
  let off = row * p.V;
  let lse = row_lse(off, lid.x);
  if (lid.x == 0u) {
    out[row] = lse.y - (logits[off + u32(t)] - lse.x);
    valid[row] = 1.0;
  }
}

// d loss / d logits[n, j] = (softmax_j - [j == t]) * dloss / count, with softmax_j = exp((x_j - max) - log sum); 0 if ignored.
@compute @workgroup_size(256)
fn cross_entropy_backward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = row_of(wid, nwg);
  if (row >= p.N) { return; }
  let t = targets[row];
  let off = row * p.V;
  if (is_ignored(t)) {
    for (var j = lid.x; j < p.V; j += WG) { out[off + j] = 0.0; }
    return;
  }
  let lse = row_lse(off, lid.x);
  let s = dloss[0] / count[0];
  let tu = u32(t);
  for (var j = lid.x; j < p.V; j += WG) {
    out[off + j] = (exp((logits[off + j] - lse.x) - lse.y) - select(0.0, 1.0, j == tu)) * s;
  }
}

// ---- One invocation per row, no workgroup memory and no barriers: for CPU-emulated adapters (see layernorm.wgsl).
// Same stable log-sum-exp, serial over the row. Grid: grid1d(N).
// The sum runs in blocks of 256 added to a running total: rounding grows with 256 + V/256 terms instead of V, close
// to the tree's accuracy (one long serial f32 sum over GPT-2's 50257 logits was off by 4e-6 relative).
fn row_lse_serial(off: u32) -> vec2<f32> {
  var m = -3.402823e38;
  for (var j = 0u; j < p.V; j++) { m = max(m, logits[off + j]); }
  var s = 0.0;
  for (var j0 = 0u; j0 < p.V; j0 += 256u) {
    var blk = 0.0;
    for (var j = j0; j < min(j0 + 256u, p.V); j++) { blk += exp(logits[off + j] - m); }
    s += blk;
  }
  return vec2<f32>(m, log(s));
}

@compute @workgroup_size(64)
fn cross_entropy_forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_index(gid, nwg);
  if (row >= p.N) { return; }
  let t = targets[row];
  if (is_ignored(t)) {
    out[row] = 0.0;
    valid[row] = 0.0;
    return;
  }
  let off = row * p.V;
  let lse = row_lse_serial(off);
  out[row] = lse.y - (logits[off + u32(t)] - lse.x);
  valid[row] = 1.0;
}

@compute @workgroup_size(64)
fn cross_entropy_backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_index(gid, nwg);
  if (row >= p.N) { return; }
  let t = targets[row];
  let off = row * p.V;
  if (is_ignored(t)) {
    for (var j = 0u; j < p.V; j++) { out[off + j] = 0.0; }
    return;
  }
  let lse = row_lse_serial(off);
  let s = dloss[0] / count[0];
  let tu = u32(t);
  for (var j = 0u; j < p.V; j++) {
    out[off + j] = (exp((logits[off + j] - lse.x) - lse.y) - select(0.0, 1.0, j == tu)) * s;
  }
}
