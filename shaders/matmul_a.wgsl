// Operand a of the matmul kernels as f32 elements (matmul_common.wgsl). a_at(i): element i. a4_at(i): elements
// i..i+3, read one by one (matmul_a_vec4.wgsl reads them as one vec4 where the layout allows).
@group(0) @binding(2) var<storage, read> a: array<f32>;

fn a_at(i: u32) -> f32 { return a[i]; }
fn a4_at(i: u32) -> vec4<f32> { return vec4<f32>(a[i], a[i + 1u], a[i + 2u], a[i + 3u]); }
