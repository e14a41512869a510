// The operand scale of the f16-arithmetic matmul (matmul.wgsl with T = f16; src/gpu/kernels/matmul.ts): opA(a) is
// staged as f16(a * s) with s = 2^(12 - ceil(log2(max |a|))), so its largest magnitude lands in (2^11, 2^12] and
// values down to 2^-26 of it stay normal f16 numbers, and the sums are multiplied by alpha / s. Unscaled, f16 would
// round the upstream gradients of a backward pass (about 1/tokens in size) to subnormals or 0. The 4x headroom
// under 65504 leaves room for products with weights up to 16 in magnitude. max |a| comes as A_PARTS partial maxima
// (reduce.wgsl absmax_forward); when it is 0 or not finite, s = 1.

const A_PARTS: u32 = {{A_PARTS}}u;
@group(0) @binding(5) var<storage, read> a_absmax: array<f32>;

fn a_scale() -> f32 {
  var m = 0.0;
  for (var i = 0u; i < A_PARTS; i++) { m = max(m, a_absmax[i]); }
  if (!(m > 0.0) || m > 3.0e38) { return 1.0; }
  return exp2(clamp(12.0 - ceil(log2(m)), -100.0, 100.0));
}
