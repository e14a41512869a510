// Operand b of the tiled matmul as f32 vec4s: one 16-byte load per 4 elements. Taken only for an f32 b when every
// b4_at(i) has i a multiple of 4 (matmulRules.ts matmulVectorLoadsFor); an f16 weight reads its words through
// matmul_b.wgsl.
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;

fn b_at(i: u32) -> f32 { return b[i >> 2u][i & 3u]; }
fn b4_at(i: u32) -> vec4<f32> { return b[i >> 2u]; }
