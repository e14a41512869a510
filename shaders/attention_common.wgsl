// Shared by attention.wgsl (one invocation per row) and attention_wg.wgsl (one workgroup per row): the Params
// struct, the bindings (forward and backward entries alias slots), index helpers and the two dot products. Inserted
// after common.wgsl by the launcher (ShaderSource.prelude).

struct Params {
  B: u32, T: u32, H: u32, D: u32,
  q_stride: u32, q_off: u32,
  k_stride: u32, k_off: u32,
  v_stride: u32, v_off: u32,
  causal: u32,
  scale: f32,
  // The view the backward entry writes (dq, dk or dv): row stride and start channel in dx.
  x_stride: u32, x_off: u32,
  // Query heads per key/value head (H / KVH; 1 without grouped-query attention).
  group: u32,
  // Dropout on the probabilities (threshold 0: none): drop_mask.wgsl's mask of att's flat entries.
  drop_seed: u32, drop_threshold: u32, drop_scale: f32,
  // Entry e draws the mask of entry drop_offset + e (a micro-batch's rows inside the whole batch).
  drop_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// q, k, v may be one fused qkv buffer: every entry binds them read-only.
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
// Forward only.
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> att: array<f32>;
@group(0) @binding(6) var<storage, read> key_mask: array<i32>;
// Backward only (no entry point uses both sets, so the binding numbers may repeat).
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> rowsum: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read> att_in: array<f32>;

// A finite stand-in for -inf: WGSL does not promise IEEE infinities at run time.
const NEG_BIG: f32 = -3.0e38;

fn q_at(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.q_stride + p.q_off + h * p.D; }
// k_at and v_at take the query head h and address its kv head h / group.
fn k_at(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.k_stride + p.k_off + (h / p.group) * p.D; }
fn v_at(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.v_stride + p.v_off + (h / p.group) * p.D; }
fn kv_heads() -> u32 { return p.H / p.group; }
fn o_at(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.H * p.D + h * p.D; }

// Keys [0, key_end(i)) are visible to query i before the key mask.
fn key_end(i: u32) -> u32 { return select(p.T, i + 1u, p.causal != 0u); }
// First query that can see key j.
fn query_start(j: u32) -> u32 { return select(0u, j, p.causal != 0u); }

fn score(b: u32, h: u32, i: u32, j: u32) -> f32 {
  let qi = q_at(b, i, h);
  let kj = k_at(b, j, h);
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) { s += q[qi + d] * k[kj + d]; }
  return s * p.scale;
}

// datt_ij = dout_i . v_j
fn datt(b: u32, h: u32, i: u32, j: u32) -> f32 {
  let oi = o_at(b, i, h);
  let vj = v_at(b, j, h);
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) { s += dout[oi + d] * v[vj + d]; }
  return s;
}
