// Softmax cross-entropy of a chunk of rows whose logits come in vocabulary parts (the LM head in row chunks and, for
// a head split across buffers, vocabulary ranges). Per row an online log-sum-exp state (max m, sum s of exp(x - m),
// target logit) is folded over the parts; then the loss, then each part's logits are overwritten by their gradient.
// Rows are chunk rows r; their targets and losses sit at row_start + r of the whole batch. Targets outside [0, V)
// are treated like ignored rows.

struct Params {
  rows: u32,
  // This part's width and first vocabulary id.
  vp: u32,
  v_start: u32,
  row_start: u32,
  V: u32,
  ignore_index: i32,
  // 1 on the first part: the state starts from this part instead of folding into the previous one.
  first: u32,
  // ce_valid only: rows of the whole batch.
  N: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>; // (rows, vp); ce_grad overwrites it in place
@group(0) @binding(2) var<storage, read> targets: array<i32>;      // (N)
@group(0) @binding(3) var<storage, read_write> state: array<f32>;  // (rows, 4): m, s, target logit, unused
@group(0) @binding(4) var<storage, read_write> losses: array<f32>; // (N)
@group(0) @binding(5) var<storage, read> dloss: array<f32>;        // (1)
@group(0) @binding(6) var<storage, read> count: array<f32>;        // (1)
@group(0) @binding(7) var<storage, read_write> valid: array<f32>;  // (N)

fn is_ignored(t: i32) -> bool {
  return t == p.ignore_index || u32(t) >= p.V;
}

fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Folds this part's (max, sum of exp(x - max)) into the row's state; the part holding the target stores its logit.
fn fold(r: u32, t: i32, pm: f32, ps: f32) {
  let o = r * 4u;
  if (p.first != 0u) {
    state[o] = pm;
    state[o + 1u] = ps;
    state[o + 2u] = 0.0;
  } else {
    let m = state[o];
    let mx = max(m, pm);
    state[o] = mx;
    state[o + 1u] = state[o + 1u] * exp(m - mx) + ps * exp(pm - mx);
  }
  let j = u32(t) - p.v_start;
  if (u32(t) >= p.v_start && j < p.vp) { state[o + 2u] = logits[r * p.vp + j]; }
}

// valid[n] = 1 where targets[n] is a class, else 0. Grid: grid1d(N).
@compute @workgroup_size(64)
fn ce_valid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = flat_index(gid, nwg);
  if (n >= p.N) { return; }
  valid[n] = select(1.0, 0.0, is_ignored(targets[n]));
}

// One workgroup per chunk row. Grid: rowGrid(rows).
@compute @workgroup_size(256)
fn ce_stats(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; }
  let t = targets[p.row_start + r];
  if (is_ignored(t)) { return; }
  let off = r * p.vp;
  var m = -3.402823e38;
  for (var j = lid.x; j < p.vp; j += WG) { m = max(m, logits[off + j]); }
  let pm = wg_max(lid.x, m);
  var s = 0.0;
  for (var j = lid.x; j < p.vp; j += WG) { s += exp(logits[off + j] - pm); }
  let ps = wg_sum(lid.x, s);
  if (lid.x == 0u) { fold(r, t, pm, ps); }
}

// losses[row_start + r] = log s - (target logit - m), 0 on an ignored row. Grid: grid1d(rows).
@compute @workgroup_size(64)
fn ce_loss(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.rows) { return; }
  let t = targets[p.row_start + r];
  var l = 0.0;
  if (!is_ignored(t)) { l = log(state[r * 4u + 1u]) - (state[r * 4u + 2u] - state[r * 4u]); }
  losses[p.row_start + r] = l;
}

// logits[r, j] := (softmax_j - [v_start + j == t]) * dloss / count; 0 on an ignored row. Grid: rowGrid(rows).
@compute @workgroup_size(256)
fn ce_grad(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; }
  grad_row(r, lid.x, WG);
}

fn grad_row(r: u32, first: u32, step: u32) {
  let t = targets[p.row_start + r];
  let off = r * p.vp;
  if (is_ignored(t)) {
    for (var j = first; j < p.vp; j += step) { logits[off + j] = 0.0; }
    return;
  }
  let m = state[r * 4u];
  let ls = log(state[r * 4u + 1u]);
  let sc = dloss[0] / count[0];
  let tj = u32(t) - p.v_start;
  for (var j = first; j < p.vp; j += step) {
    logits[off + j] = (exp((logits[off + j] - m) - ls) - select(0.0, 1.0, j == tj)) * sc;
  }
}

// ---- One invocation per row, no workgroup memory and no barriers: for CPU-emulated adapters (see cross_entropy.wgsl).
// The sum runs in blocks of 256 added to a running total, close to the tree's rounding. Grid: grid1d(rows).
@compute @workgroup_size(64)
fn ce_stats_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.rows) { return; }
  let t = targets[p.row_start + r];
  if (is_ignored(t)) { return; }
  let off = r * p.vp;
  var m = -3.402823e38;
  for (var j = 0u; j < p.vp; j++) { m = max(m, logits[off + j]); }
  var s = 0.0;
  for (var j0 = 0u; j0 < p.vp; j0 += 256u) {
    var blk = 0.0;
    for (var j = j0; j < min(j0 + 256u, p.vp); j++) { blk += exp(logits[off + j] - m); }
    s += blk;
  }
  fold(r, t, m, s);
}

@compute @workgroup_size(64)
fn ce_grad_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.rows) { return; }
  grad_row(r, 0u, 1u);
}
