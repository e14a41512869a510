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
@group(0) @binding(2) var<storage, read> a: array<f32>;
// b is f32 (B_ELEM f32), or with {{B_F16}} a frozen f16 weight (B_ELEM u32): two IEEE halves per word, element i in
// the low half when i is even (little-endian order). Read it through b_at only (the bitcasts are identities where the
// element type already matches, so the f32 path reads b exactly as before).
@group(0) @binding(3) var<storage, read> b: array<{{B_ELEM}}>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// Element i of b as f32: unpack2x16float needs no device feature, and every product and sum stays f32.
fn b_at(i: u32) -> f32 {
  if ({{B_F16}}) {
    // The half moved into the low bits by a shift, not a dynamic index into the unpacked vec2 (which compilers may
    // lower through per-invocation memory).
    let w = bitcast<u32>(b[i >> 1u]);
    return unpack2x16float(select(w, w >> 16u, (i & 1u) != 0u)).x;
  }
  return bitcast<f32>(b[i]);
}

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
