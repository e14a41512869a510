// Dropout as an op of its own (the model's own dropout): drop_mask.wgsl's mask, the same u32 arithmetic as
// src/ops/dropout.ts, so CPU and GPU masks are bitwise identical and the backward redraws the forward's mask. (The
// adapters drop their input inside their own kernels, adapter.wgsl.)

struct Params {
  n: u32,
  drop_seed: u32,
  drop_threshold: u32,
  drop_scale: f32,
  // Element i draws the mask of element drop_offset + i (a micro-batch's rows inside the whole batch).
  drop_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;  // forward: out; backward: dx (accumulated)
@group(0) @binding(2) var<storage, read> x: array<f32>;          // forward: x; backward: dout

@compute @workgroup_size(64)
fn dropout_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = drop_value(x[i], i);
}

// dx += dout * keep * s
@compute @workgroup_size(64)
fn dropout_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  if (drop_keep(i)) { out[i] = out[i] + x[i] * p.drop_scale; }
}
