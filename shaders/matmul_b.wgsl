// Operand b of the matmul kernels: f32 (B_ELEM f32), or with {{B_F16}} a frozen f16 weight (B_ELEM u32): two IEEE
// halves per word, element i in the low half when i is even (little-endian order). Read it through b_at/b4_at
// only (the bitcasts are identities where the element type already matches, so the f32 path reads b as it is).
@group(0) @binding(3) var<storage, read> b: array<{{B_ELEM}}>;

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

// Elements i..i+3: for an f16 weight two words (i even), else four f32 loads (matmul_b_vec4.wgsl reads one vec4).
fn b4_at(i: u32) -> vec4<f32> {
  if ({{B_F16}}) {
    let w = i >> 1u;
    return vec4<f32>(unpack2x16float(bitcast<u32>(b[w])), unpack2x16float(bitcast<u32>(b[w + 1u])));
  }
  return vec4<f32>(bitcast<f32>(b[i]), bitcast<f32>(b[i + 1u]), bitcast<f32>(b[i + 2u]), bitcast<f32>(b[i + 3u]));
}
