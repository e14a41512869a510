// SwiGLU forward and backward over n elements (src/ops/swiglu.ts is the reference): out = silu(gate) * up.

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Forward bindings (launcher order: out, gate, up).
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> f_gate: array<f32>;
@group(0) @binding(3) var<storage, read> f_up: array<f32>;
// Backward bindings (launcher order: dgate, dup, dout, gate, up).
@group(0) @binding(1) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(2) var<storage, read_write> dup: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> gate: array<f32>;
@group(0) @binding(5) var<storage, read> up: array<f32>;

// sigmoid(x) without overflow: exp only ever sees -|x|.
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  let r = 1.0 / (1.0 + e);
  return select(e * r, r, x >= 0.0);
}

@compute @workgroup_size(64)
fn swiglu_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  let x = f_gate[i];
  out[i] = x * sigmoid(x) * f_up[i];
}

// dgate = dout * up * s (1 + x (1 - s)), dup = dout * x * s with s = sigmoid(x), x = gate; both overwritten.
@compute @workgroup_size(64)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  let x = gate[i];
  let s = sigmoid(x);
  let d = dout[i];
  dgate[i] = d * up[i] * s * (1.0 + x * (1.0 - s));
  dup[i] = d * x * s;
}
