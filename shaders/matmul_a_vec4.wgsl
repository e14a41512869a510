// Operand a of the tiled matmul as vec4s: one 16-byte load per 4 elements. Taken only when every a4_at(i) has i a
// multiple of 4 (matmulRules.ts matmulVectorLoadsFor: the stored rows' length and the batch stride are multiples of 4).
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;

fn a_at(i: u32) -> f32 { return a[i >> 2u][i & 3u]; }
fn a4_at(i: u32) -> vec4<f32> { return a[i >> 2u]; }
