// Scaled dot-product attention, workgroup-parallel entries for real GPUs (src/ops/attention.ts is the reference).
// attention.wgsl runs one invocation per row, which leaves a GPU almost idle (B*H*T threads, each T*D serial work);
// here one 64-invocation workgroup owns a row: invocations stride over keys (or queries) for the dot products into a
// workgroup-memory row buffer, fixed-order tree reductions give max/sum/rowsum (deterministic), then invocations
// stride over the head dim for out_i / dq_i / dk_j, so v / k / q rows are read coalesced.
// Params, bindings and helpers come from attention_common.wgsl; results equal attention.wgsl's entries of the same
// names. The row buffer caps T at TMAX
// (the launcher falls back to attention.wgsl past it). Grid: one workgroup per row, row = wid.x + wid.y * nwg.x.

const WG: u32 = 64u;
// 8 KiB of row buffer + the reduction array stay well inside WebGPU's 16 KiB of workgroup memory.
// Keep in sync with WG_MAX_T in src/gpu/kernels/attention.ts.
const TMAX: u32 = 2048u;

var<workgroup> srow: array<f32, TMAX>;

fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

// srow[j] holds exp(s_j - max) (0 for masked keys) for the keys this invocation owns; `part` is its share of the sum.
// Writes the normalised att row (zeros past jend) and out_i.
fn normalise_and_mix(lid: u32, b: u32, h: u32, i: u32, arow: u32, jend: u32, part: f32) {
  let sum = wg_sum(lid, part);
  // sum >= 1 when any key is visible; 0 means every key is masked: the row and its output are zeros, not NaN.
  var inv = 0.0;
  if (sum > 0.0) { inv = 1.0 / sum; }
  for (var j = lid; j < p.T; j += WG) {
    var a = 0.0;
    if (j < jend) {
      a = srow[j] * inv;
      // The mix uses the dropped-out probability; att keeps the probability itself.
      srow[j] = a * drop_factor(arow + j);
    }
    att[arow + j] = a;
  }
  workgroupBarrier();
  let oi = o_at(b, i, h);
  for (var d = lid; d < p.D; d += WG) {
    var vj = v_at(b, 0u, h) + d;
    var acc = 0.0;
    for (var j = 0u; j < jend; j++) {
      acc += srow[j] * v[vj];
      vj += p.v_stride;
    }
    out[oi + d] = acc;
  }
}

@compute @workgroup_size(64)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  let i = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let jend = key_end(i);
  var m = NEG_BIG;
  for (var j = lid; j < jend; j += WG) {
    let s = score(b, h, i, j);
    srow[j] = s;
    m = max(m, s);
  }
  m = wg_max(lid, m);
  var part = 0.0;
  for (var j = lid; j < jend; j += WG) {
    let e = exp(srow[j] - m);
    srow[j] = e;
    part += e;
  }
  normalise_and_mix(lid, b, h, i, r * p.T, jend, part);
}

// As attention_forward, with keys where key_mask[b, j] == 0 masked (probability exactly 0).
@compute @workgroup_size(64)
fn attention_forward_masked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  let i = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let jend = key_end(i);
  var m = NEG_BIG;
  for (var j = lid; j < jend; j += WG) {
    if (key_mask[b * p.T + j] != 0) {
      let s = score(b, h, i, j);
      srow[j] = s;
      m = max(m, s);
    }
  }
  m = wg_max(lid, m);
  var part = 0.0;
  for (var j = lid; j < jend; j += WG) {
    var e = 0.0;
    if (key_mask[b * p.T + j] != 0) { e = exp(srow[j] - m); }
    srow[j] = e;
    part += e;
  }
  normalise_and_mix(lid, b, h, i, r * p.T, jend, part);
}

// Workgroup per query row (b,h,i): rowsum_i = sum_j att_ij datt_ij (kept for the dk pass), then
// dq_i = scale sum_j dpre_ij k_j with dpre_ij = att_ij (datt_ij - rowsum_i). datt is computed once per (i,j) and kept in
// srow; masked entries (att 0) are skipped: exact. With dropout, datt_ij is drop_ij (dout_i . v_j).
@compute @workgroup_size(64)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * p.H * p.T) { return; }
  let i = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let arow = r * p.T;
  let jend = key_end(i);
  var part = 0.0;
  for (var j = lid; j < jend; j += WG) {
    let a = att_in[arow + j];
    var dt = 0.0;
    if (a != 0.0) {
      dt = datt(b, h, i, j) * drop_factor(arow + j);
      part += a * dt;
    }
    srow[j] = dt;
  }
  let rs = wg_sum(lid, part);
  if (lid == 0u) { rowsum[r] = rs; }
  for (var j = lid; j < jend; j += WG) {
    let a = att_in[arow + j];
    srow[j] = select(0.0, p.scale * a * (srow[j] - rs), a != 0.0);
  }
  workgroupBarrier();
  let xi = (b * p.T + i) * p.x_stride + p.x_off + h * p.D;
  for (var d = lid; d < p.D; d += WG) {
    var kj = k_at(b, 0u, h) + d;
    var acc = 0.0;
    for (var j = 0u; j < jend; j++) {
      // srow[j] is the same for the whole workgroup, so the branch does not diverge.
      let g = srow[j];
      if (g != 0.0) { acc += g * k[kj]; }
      kj += p.k_stride;
    }
    dx[xi + d] = acc;
  }
}

// Workgroup per key row (b,kh,j) of kv head kh: dk_j = scale sum_h sum_i dpre^h_ij q^h_i over the query heads h of
// kh's group (in head order), reading rowsum from attention_backward_dq.
@compute @workgroup_size(64)
fn attention_backward_dk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let r = row_of(wid, nwg);
  if (r >= p.B * kv_heads() * p.T) { return; }
  let j = r % p.T;
  let kh = (r / p.T) % kv_heads();
  let b = r / (p.T * kv_heads());
  let i0 = query_start(j);
  let xj = (b * p.T + j) * p.x_stride + p.x_off + kh * p.D;
  for (var h = kh * p.group; h < (kh + 1u) * p.group; h++) {
    let bh = b * p.H + h;
    for (var i = i0 + lid; i < p.T; i += WG) {
      let e = (bh * p.T + i) * p.T + j;
      let a = att_in[e];
      var g = 0.0;
      if (a != 0.0) { g = p.scale * a * (datt(b, h, i, j) * drop_factor(e) - rowsum[bh * p.T + i]); }
      srow[i] = g;
    }
    workgroupBarrier();
    for (var d = lid; d < p.D; d += WG) {
      var qi = q_at(b, i0, h) + d;
      var acc = 0.0;
      for (var i = i0; i < p.T; i++) {
        let g = srow[i];
        if (g != 0.0) { acc += g * q[qi]; }
        qi += p.q_stride;
      }
      // Each invocation owns its d's, so it may read back what it wrote for the previous head.
      dx[xj + d] = select(dx[xj + d] + acc, acc, h == kh * p.group);
    }
    // srow is refilled for the next head only after every invocation has read it.
    workgroupBarrier();
  }
}
