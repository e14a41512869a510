// Shared helpers, prepended to every shader module (src/gpu/shader.ts).
// 1-D kernels are dispatched on a 2-D grid of 64-wide workgroups so that more than 65535 workgroups fit;
// `flat_index` turns the invocation back into one linear index.

const WG1D: u32 = 64u;

fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG1D;
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const INV_SQRT_2: f32 = 0.7071067811865476;
