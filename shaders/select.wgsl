// Importance bookkeeping and global pruning: the score EMA, the k-th smallest score (one workgroup, exact rank
// counting, so the threshold is deterministic and independent of any sort), and the threshold/frozen masks.

struct Params {
  n: u32,
  k: u32,
  offset: u32,
  beta: f32,
  one_minus_beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;    // ema: out; kth: out(1); masks: target
@group(0) @binding(2) var<storage, read> x: array<f32>;            // ema, kth
@group(0) @binding(2) var<storage, read> mask_in: array<f32>;      // apply_mask
@group(0) @binding(3) var<storage, read_write> mask: array<f32>;   // threshold_mask
@group(0) @binding(4) var<storage, read> scores: array<f32>;       // threshold_mask
@group(0) @binding(5) var<storage, read> thr: array<f32>;          // threshold_mask: (1)

@compute @workgroup_size(64)
fn ema_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.beta * out[i] + p.one_minus_beta * x[i];
}

// The element of rank k-1 under the strict total order (value, index) is the k-th smallest; exactly one invocation
// finds it, so there is one write and no race. O(n^2 / 256) per lane: fine for the few thousand scores of a model.
@compute @workgroup_size(256)
fn kth_smallest_forward(@builtin(local_invocation_id) lid: vec3<u32>) {
  for (var i = lid.x; i < p.n; i += 256u) {
    let xi = x[i];
    var rank = 0u;
    for (var j = 0u; j < p.n; j++) {
      let xj = x[j];
      rank += select(0u, 1u, xj < xi || (xj == xi && j < i));
    }
    if (rank == p.k - 1u) { out[0] = xi; }
  }
}

@compute @workgroup_size(64)
fn threshold_mask_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  let m = select(1.0, 0.0, scores[i] <= thr[0]);
  mask[i] = m;
  out[p.offset + i] *= m;
}

@compute @workgroup_size(64)
fn apply_mask_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  out[p.offset + i] *= mask_in[i];
}
