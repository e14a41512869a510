// The f32 tiled matmul stages its operands as they are (matmul_f16.wgsl scales them for f16).
fn a_scale() -> f32 { return 1.0; }
