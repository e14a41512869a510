// DEM regulariser gradient and value (see src/ops/dem.ts) for every adapted module of a set in one dispatch. One
// invocation per component vector: workgroup row y is module y (its slot from the set's slot table, ops/adapter.ts
// adapterSlotTable), its invocations x the R0 rows of A and the R0 columns of B; each loops over its d entries twice
// (mean, then variance and gradient). Values go to a per-vector partial buffer (module m's at m * 2 * R0); the
// launcher sums them with the reduce kernel (deterministic).

struct Params {
  R0: u32,
  coef: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<storage, read> slot_table: array<i32>;

// Fields of a slot table row: inF, outF, offA, offB, offC.
const SLOT_FIELDS: u32 = 5u;

@compute @workgroup_size(64)
fn dem_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let v = gid.x;
  let m = gid.y;
  if (v >= 2u * p.R0) { return; }
  let r = m * SLOT_FIELDS;
  let in_f = u32(slot_table[r]);
  let out_f = u32(slot_table[r + 1u]);
  var start: u32;
  var stride: u32;
  var d: u32;
  if (v < p.R0) { start = u32(slot_table[r + 2u]) + v * in_f; stride = 1u; d = in_f; }
  else { start = u32(slot_table[r + 3u]) + (v - p.R0); stride = p.R0; d = out_f; }
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
  partial[m * 2u * p.R0 + v] = p.coef * ss / f32(d - 1u);
}
