// AdamW step (torch.optim.AdamW, decoupled weight decay) and the clip_grad_norm_ factor.
// Bias corrections come precomputed from the CPU (they depend only on the step count), so the kernel is elementwise.

struct Params {
  n: u32,
  beta1: f32,
  beta2: f32,
  // 1 - beta computed in f64 on the CPU as torch does: in f32, 1 - f32(0.999) is off by 1.3e-5 relative.
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
  decay: f32,      // 1 - lr * weight_decay
  step_size: f32,  // lr / (1 - beta1^t)
  bc2_sqrt: f32,   // sqrt(1 - beta2^t)
  max_norm: f32,   // clip_scale only
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>; // clip_scale: scale(1)
@group(0) @binding(2) var<storage, read> grad: array<f32>;        // clip_scale: sumsq(1)
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> grad_scale: array<f32>;  // (1): the clip factor, read on-device

// The "forward" of the optimiser: one update of every element (there is no backward).
@compute @workgroup_size(64)
fn adamw_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  // A negative factor marks a step whose gradients were not finite: skip it, leaving params and moments as they were.
  if (i >= p.n || grad_scale[0] < 0.0) { return; }
  let g = grad[i] * grad_scale[0];
  let mi = p.beta1 * m[i] + p.one_minus_beta1 * g;
  let vi = p.beta2 * v[i] + p.one_minus_beta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * p.decay - p.step_size * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
}

// scale = min(1, max_norm / (sqrt(sumsq) + 1e-6)); one invocation, so the step needs no readback.
// A NaN or infinite sum of squares yields -1, which adamw_forward reads as "skip this step". The exponent-bits test
// is used because x != x may be folded away by shader compilers.
@compute @workgroup_size(1)
fn clip_scale_forward() {
  let bits = bitcast<u32>(grad[0]);
  if ((bits & 0x7f800000u) == 0x7f800000u) {
    param[0] = -1.0;
    return;
  }
  param[0] = min(1.0, p.max_norm / (sqrt(grad[0]) + 1e-6));
}
