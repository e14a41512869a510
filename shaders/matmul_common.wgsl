// Shared by matmul.wgsl (tiled, for GPUs) and matmul_flat.wgsl (barrier-free, for CPU emulation): one Params struct
// and one set of bindings, so the launcher passes the same params and buffers to either. Inserted after common.wgsl
// by the launcher (ShaderSource.prelude).

struct Params {
  M: u32,
  K: u32,
  N: u32,
  trans_a: u32,
  trans_b: u32,
  // Elements between batch entries of a, b (0 for a broadcast b) and out.
  stride_a: u32,
  stride_b: u32,
  stride_out: u32,
  accumulate: u32,
  alpha: f32,
  // Split K (matmul.ts): the tiled kernel's grid z is entry * splits + split, each split sums k in
  // [split * k_split, min(K, (split + 1) * k_split)) into its own partial (out is then the partials' scratch). 1 and K
  // without.
  splits: u32,
  k_split: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
// a (binding 2) and b (binding 3) are declared by an operand file after this one: matmul_a.wgsl or matmul_a_vec4.wgsl,
// matmul_b.wgsl or matmul_b_vec4.wgsl (matmul.ts picks them), which read them through a_at/a4_at and b_at/b4_at.
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// The dense layout: batch entry z of a, b and out starts z strides in; a row of the stored a is K wide (M when
// transposed), of the stored b N wide (K when transposed), of out N wide.
fn a_base(z: u32) -> u32 { return z * p.stride_a; }
fn b_base(z: u32) -> u32 { return z * p.stride_b; }
fn out_base(z: u32) -> u32 { return z * p.stride_out; }
fn a_ld() -> u32 { return select(p.K, p.M, p.trans_a != 0u); }
fn b_ld() -> u32 { return select(p.N, p.K, p.trans_b != 0u); }
fn out_ld() -> u32 { return p.N; }
// Grid z of the tiled kernel: the batch entry it computes and the range of k it sums (split K; see Params).
fn split_count() -> u32 { return p.splits; }
fn entry_of(wz: u32) -> u32 { return wz / p.splits; }
fn k_range(wz: u32) -> vec2<u32> {
  let k0 = (wz % p.splits) * p.k_split;
  return vec2<u32>(k0, min(p.K, k0 + p.k_split));
}
