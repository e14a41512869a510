// The dropout mask of src/ops/dropout.ts, shared by every kernel that drops (dropout.wgsl, the attention kernels, the
// adapter's input): element e is kept when the top 24 bits of a counter-based hash of (seed, drop_offset + e) reach
// drop_threshold (round(p * 2^24); 0: no dropout), and a kept element is scaled by drop_scale = 1/(1-p). Nothing is
// stored between forward and backward: the backward redraws the forward's mask. The including kernel's Params has the
// fields drop_seed, drop_threshold, drop_scale and drop_offset.

// PCG output hash (Jarzynski & Olano 2020); u32 multiplication wraps as Math.imul does.
fn drop_pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn drop_keep(e: u32) -> bool {
  let hv = drop_pcg(drop_pcg(e + p.drop_offset) ^ drop_pcg(p.drop_seed));
  return (hv >> 8u) >= p.drop_threshold;
}

// The dropout factor of element e: 0 or 1/(1-p); exactly 1 without dropout.
fn drop_factor(e: u32) -> f32 {
  if (p.drop_threshold == 0u) { return 1.0; }
  return select(0.0, p.drop_scale, drop_keep(e));
}

// x dropped as element e: x * drop_scale where kept, 0 where dropped (not x * 0, which is NaN for an infinite x); x
// itself without dropout. Bitwise what dropout_forward writes.
fn drop_value(x: f32, e: u32) -> f32 {
  if (p.drop_threshold == 0u) { return x; }
  return select(0.0, x * p.drop_scale, drop_keep(e));
}
