// Dropout on the adapter input: keep element i when the top 24 bits of a counter-based hash of (seed, i) reach the
// threshold t = round(p * 2^24); kept elements are scaled by s = 1/(1-p). The hash is the same u32 arithmetic as
// src/ops/dropout.ts, so CPU and GPU masks are bitwise identical and the backward redraws the forward's mask.

struct Params {
  n: u32,
  seed: u32,
  threshold: u32,
  s: f32,
  // Element i draws the mask of element offset + i (a micro-batch's rows inside the whole batch).
  offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;  // forward: out; backward: dx (accumulated)
@group(0) @binding(2) var<storage, read> x: array<f32>;          // forward: x; backward: dout

// PCG output hash (Jarzynski & Olano 2020); u32 multiplication wraps as Math.imul does.
fn pcg_hash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn keep(i: u32) -> bool {
  let h = pcg_hash(pcg_hash(i + p.offset) ^ pcg_hash(p.seed));
  return (h >> 8u) >= p.threshold;
}

@compute @workgroup_size(64)
fn dropout_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = select(0.0, x[i] * p.s, keep(i));
}

// dx += dout * keep * s
@compute @workgroup_size(64)
fn dropout_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  if (keep(i)) { out[i] = out[i] + x[i] * p.s; }
}
