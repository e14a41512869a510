// Scaled dot-product attention (src/ops/attention.ts is the reference). Forward: one invocation per (b,h,i) query row.
// Backward: three dispatches, each with ONE writable gradient binding `dx`, because dq, dk and dv may be views of one
// dqkv buffer (binding it read_write twice in a dispatch is invalid). Forward and backward entries alias binding slots
// (declared in attention_common.wgsl, with the index helpers and dot products).

// att[arow + j] holds exp(s_j - max) for visible keys and 0 for masked ones; normalises it and writes
// out_i = sum_j att_ij drop_ij v_j (att keeps the probabilities before dropout).
fn normalise_and_mix(b: u32, h: u32, i: u32, arow: u32, jend: u32, sum: f32) {
  // sum >= 1 when any key is visible; 0 means every key is masked: the row and its output are zeros, not NaN.
  var inv = 0.0;
  if (sum > 0.0) { inv = 1.0 / sum; }
  for (var j = 0u; j < jend; j++) { att[arow + j] *= inv; }
  for (var j = jend; j < p.T; j++) { att[arow + j] = 0.0; }
  let oi = o_at(b, i, h);
  for (var d = 0u; d < p.D; d++) {
    var acc = 0.0;
    for (var j = 0u; j < jend; j++) { acc += att[arow + j] * drop_factor(arow + j) * v[v_at(b, j, h) + d]; }
    out[oi + d] = acc;
  }
}

@compute @workgroup_size(64)
fn attention_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  let i = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let arow = r * p.T;
  let jend = key_end(i);
  var m = NEG_BIG;
  for (var j = 0u; j < jend; j++) {
    let s = score(b, h, i, j);
    att[arow + j] = s;
    m = max(m, s);
  }
  var sum = 0.0;
  for (var j = 0u; j < jend; j++) {
    let e = exp(att[arow + j] - m);
    att[arow + j] = e;
    sum += e;
  }
  normalise_and_mix(b, h, i, arow, jend, sum);
}

// As attention_forward, with keys where key_mask[b, j] == 0 masked (probability exactly 0).
@compute @workgroup_size(64)
fn attention_forward_masked(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  let i = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let arow = r * p.T;
  let jend = key_end(i);
  var m = NEG_BIG;
  for (var j = 0u; j < jend; j++) {
    if (key_mask[b * p.T + j] != 0) {
      let s = score(b, h, i, j);
      att[arow + j] = s;
      m = max(m, s);
    }
  }
  var sum = 0.0;
  for (var j = 0u; j < jend; j++) {
    var e = 0.0;
    if (key_mask[b * p.T + j] != 0) { e = exp(att[arow + j] - m); }
    att[arow + j] = e;
    sum += e;
  }
  normalise_and_mix(b, h, i, arow, jend, sum);
}


// With dropout on the probabilities, datt_ij below stands for drop_ij (dout_i . v_j).
// One invocation per query row (b,h,i): rowsum_i = sum_j att_ij datt_ij (kept for the dk pass), then
// dq_i = scale sum_j dpre_ij k_j with dpre_ij = att_ij (datt_ij - rowsum_i). Masked entries (att 0) are skipped: exact.
@compute @workgroup_size(64)
fn attention_backward_dq(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  let i = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let arow = r * p.T;
  let jend = key_end(i);
  var rs = 0.0;
  for (var j = 0u; j < jend; j++) {
    let a = att_in[arow + j];
    if (a != 0.0) { rs += a * datt(b, h, i, j) * drop_factor(arow + j); }
  }
  rowsum[r] = rs;
  let xi = (b * p.T + i) * p.x_stride + p.x_off + h * p.D;
  for (var d = 0u; d < p.D; d++) { dx[xi + d] = 0.0; }
  for (var j = 0u; j < jend; j++) {
    let a = att_in[arow + j];
    if (a == 0.0) { continue; }
    let g = p.scale * a * (datt(b, h, i, j) * drop_factor(arow + j) - rs);
    let kj = k_at(b, j, h);
    for (var d = 0u; d < p.D; d++) { dx[xi + d] += g * k[kj + d]; }
  }
}

// One invocation per key row (b,kh,j) of kv head kh: dk_j = scale sum_h sum_i dpre^h_ij q^h_i over the query heads h
// of kh's group, reading rowsum from attention_backward_dq.
@compute @workgroup_size(64)
fn attention_backward_dk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.B * kv_heads() * p.T) { return; }
  let j = r % p.T;
  let kh = (r / p.T) % kv_heads();
  let b = r / (p.T * kv_heads());
  let xj = (b * p.T + j) * p.x_stride + p.x_off + kh * p.D;
  for (var d = 0u; d < p.D; d++) { dx[xj + d] = 0.0; }
  for (var h = kh * p.group; h < (kh + 1u) * p.group; h++) {
    let bh = b * p.H + h;
    for (var i = query_start(j); i < p.T; i++) {
      let e = (bh * p.T + i) * p.T + j;
      let a = att_in[e];
      if (a == 0.0) { continue; }
      let g = p.scale * a * (datt(b, h, i, j) * drop_factor(e) - rowsum[bh * p.T + i]);
      let qi = q_at(b, i, h);
      for (var d = 0u; d < p.D; d++) { dx[xj + d] += g * q[qi + d]; }
    }
  }
}

// One invocation per element (b,j,c) of dv (c < KVH*D): dv_j = sum_h sum_i att^h_ij drop^h_ij dout^h_i over the
// query heads h of c's kv head.
@compute @workgroup_size(64)
fn attention_backward_dv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = flat_index(gid, nwg);
  let C = p.H * p.D;
  let KV = kv_heads() * p.D;
  if (n >= p.B * p.T * KV) { return; }
  let c = n % KV;
  let j = (n / KV) % p.T;
  let b = n / (KV * p.T);
  let kh = c / p.D;
  let d = c % p.D;
  var acc = 0.0;
  for (var h = kh * p.group; h < (kh + 1u) * p.group; h++) {
    for (var i = query_start(j); i < p.T; i++) {
      let e = (((b * p.H + h) * p.T + i) * p.T) + j;
      acc += att_in[e] * drop_factor(e) * dout[(b * p.T + i) * C + h * p.D + d];
    }
  }
  dx[(b * p.T + j) * p.x_stride + p.x_off + c] = acc;
}
