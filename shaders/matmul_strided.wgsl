// The strided batched variant of matmul.wgsl (src/gpu/kernels/matmulStrided.ts): each operand is read or
// written at a row stride (lda, ldb, ldc: elements between consecutive rows of the stored matrix) and batch entry z
// splits into (z / heads, z % heads), so operand x of entry z starts at
// x_base + (z / heads) * x_s1 + ((z % heads) / x_group) * x_s2. Attention reads heads as column blocks of (B,T,C)
// buffers this way (x_s2 = D), and grouped-query attention has H / KVH query heads share a kv head (x_group).
// The same bindings as matmul_common.wgsl (a and b from matmul_a.wgsl and matmul_b.wgsl); inserted after common.wgsl
// by the launcher.

struct Params {
  M: u32,
  K: u32,
  N: u32,
  trans_a: u32,
  trans_b: u32,
  accumulate: u32,
  alpha: f32,
  lda: u32,
  ldb: u32,
  ldc: u32,
  heads: u32,
  a_base0: u32, a_s1: u32, a_s2: u32, a_group: u32,
  b_base0: u32, b_s1: u32, b_s2: u32, b_group: u32,
  out_base0: u32, out_s1: u32, out_s2: u32, out_group: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

fn a_scale() -> f32 { return 1.0; }

fn split_off(z: u32, base0: u32, s1: u32, s2: u32, group: u32) -> u32 {
  return base0 + (z / p.heads) * s1 + ((z % p.heads) / group) * s2;
}
fn a_base(z: u32) -> u32 { return split_off(z, p.a_base0, p.a_s1, p.a_s2, p.a_group); }
fn b_base(z: u32) -> u32 { return split_off(z, p.b_base0, p.b_s1, p.b_s2, p.b_group); }
fn out_base(z: u32) -> u32 { return split_off(z, p.out_base0, p.out_s1, p.out_s2, p.out_group); }
fn a_ld() -> u32 { return p.lda; }
fn b_ld() -> u32 { return p.ldb; }
fn out_ld() -> u32 { return p.ldc; }
// Never split: grid z is the batch entry, summing all of k.
fn split_count() -> u32 { return 1u; }
fn entry_of(wz: u32) -> u32 { return wz; }
fn k_range(wz: u32) -> vec2<u32> { return vec2<u32>(0u, p.K); }
