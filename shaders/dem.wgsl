// DEM regulariser gradient and value (see src/ops/dem.ts). One invocation per component vector: the R0 rows of A and
// the R0 columns of B of one module; each loops over its d entries twice (mean, then variance and gradient).
// Values go to a per-vector partial buffer; the launcher sums them with the reduce kernel (deterministic).

struct Params {
  inF: u32,
  outF: u32,
  R0: u32,
  offA: u32,
  offB: u32,
  partialOffset: u32,
  coef: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(64)
fn dem_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let v = gid.x;
  if (v >= 2u * p.R0) { return; }
  var start: u32;
  var stride: u32;
  var d: u32;
  if (v < p.R0) { start = p.offA + v * p.inF; stride = 1u; d = p.inF; }
  else { start = p.offB + (v - p.R0); stride = p.R0; d = p.outF; }
  var mean = 0.0;
  for (var k = 0u; k < d; k++) { mean += theta[start + k * stride]; }
  mean /= f32(d);
  var ss = 0.0;
  let g = p.coef * 2.0 / f32(d - 1u);
  for (var k = 0u; k < d; k++) {
    let diff = theta[start + k * stride] - mean;
    ss += diff * diff;
    grad[start + k * stride] += g * diff;
  }
  partial[p.partialOffset + v] = p.coef * ss / f32(d - 1u);
}
