// The row kernels of attention as batched matmuls (src/gpu/kernels/attention.ts, path 'matmul'): the products
// q k^T, p v, p^T dout, dout v^T, ds k and ds^T q run on the strided tiled matmul; these entries do the per-row
// softmax work in between. One 64-invocation workgroup per row r = (b*H + h)*T + i of a (B,H,T,T) buffer; invocation
// lid owns the entries j = lid, lid + 64, ... of its row (so it may read back what it wrote without a barrier), and
// the row reductions are the fixed-order trees of wg_reduce.wgsl (deterministic). Grid: rowGrid, row = wid.x +
// wid.y * nwg.x. Params and bindings: attention_common.wgsl (att holds the scores, then the probabilities; out is the
// scratch of dropped probabilities; in the backward dx is the scratch of dP, then dS, and att_in the probabilities).

const WG: u32 = 64u;

fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

// Sets the scores of keys with key_mask[b, j] == 0 to NEG_BIG, which softmax_row treats as masked.
fn mask_keys(lid: u32, r: u32) {
  let b = r / (p.T * p.H);
  let arow = r * p.T;
  for (var j = lid; j < key_end(r % p.T); j += WG) {
    if (key_mask[b * p.T + j] == 0) { att[arow + j] = NEG_BIG; }
  }
}

// att row r: scores (scale already applied) -> probabilities; keys past key_end and scores equal to NEG_BIG get
// exactly 0, and a row with every key masked is all zeros (not 0/0).
fn softmax_row(lid: u32, r: u32) {
  let arow = r * p.T;
  let jend = key_end(r % p.T);
  var m = NEG_BIG;
  for (var j = lid; j < jend; j += WG) { m = max(m, att[arow + j]); }
  m = wg_max(lid, m);
  var part = 0.0;
  for (var j = lid; j < jend; j += WG) {
    let s = att[arow + j];
    if (s != NEG_BIG) { part += exp(s - m); }
  }
  let sum = wg_sum(lid, part);
  var inv = 0.0;
  if (sum > 0.0) { inv = 1.0 / sum; }
  for (var j = lid; j < p.T; j += WG) {
    var a = 0.0;
    let s = att[arow + j];
    if (j < jend && s != NEG_BIG) { a = exp(s - m) * inv; }
    att[arow + j] = a;
  }
}

// out row r = att row r times the dropout factors: the probabilities the mix uses.
fn drop_row(lid: u32, r: u32) {
  let arow = r * p.T;
  for (var j = lid; j < p.T; j += WG) { out[arow + j] = att[arow + j] * drop_factor(arow + j); }
}

@compute @workgroup_size(64)
fn attention_softmax_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  softmax_row(lid, r);
}

@compute @workgroup_size(64)
fn attention_softmax_rows_masked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                 @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  mask_keys(lid, r);
  softmax_row(lid, r);
}

@compute @workgroup_size(64)
fn attention_softmax_rows_drop(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                               @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  softmax_row(lid, r);
  drop_row(lid, r);
}

@compute @workgroup_size(64)
fn attention_softmax_rows_masked_drop(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                      @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  mask_keys(lid, r);
  softmax_row(lid, r);
  drop_row(lid, r);
}

// dx[e] = att_in[e] * drop_factor(e) over the whole (B,H,T,T) buffer: the mix's probabilities again, for dv. Grid:
// grid1d, one invocation per entry.
@compute @workgroup_size(64)
fn attention_drop_probs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = flat_index(gid, nwg);
  if (e >= p.B * p.H * p.T * p.T) { return; }
  dx[e] = att_in[e] * drop_factor(e);
}

// dx row r: dP (dout_i . v_j, the gradient of the dropped probabilities) -> dS = scale * a_ij (g_ij - sum_j' a_ij' g_ij')
// with g_ij = dP_ij * drop_ij and a = att_in, the softmax backward of src/ops/attention.ts; masked entries (a == 0) and
// keys past key_end get 0.
@compute @workgroup_size(64)
fn attention_softmax_backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                   @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  let arow = r * p.T;
  let jend = key_end(r % p.T);
  var part = 0.0;
  for (var j = lid; j < jend; j += WG) {
    let a = att_in[arow + j];
    if (a != 0.0) { part += a * dx[arow + j] * drop_factor(arow + j); }
  }
  let rs = wg_sum(lid, part);
  for (var j = lid; j < p.T; j += WG) {
    let a = att_in[arow + j];
    var g = 0.0;
    if (j < jend && a != 0.0) { g = p.scale * a * (dx[arow + j] * drop_factor(arow + j) - rs); }
    dx[arow + j] = g;
  }
}
