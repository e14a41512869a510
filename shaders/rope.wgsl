// Rotary embeddings, HF rotate_half layout (src/ops/rope.ts is the reference): one invocation per channel pair
// (b, t, h, i < D/2) rotates x[i] and x[i + D/2] of head h by the table's angle for position pos_offset + t. The table
// (positions, D) holds rows [cos(D/2) | sin(D/2)]. sign = 1 rotates (forward), -1 rotates back (backward).

struct Params {
  B: u32, T: u32, H: u32, D: u32,
  stride: u32, offset: u32,
  pos_offset: u32,
  sign: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Out of place (launcher order: out, x, table); channels of out outside the view are untouched.
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
// In place (launcher order: io, -, table): one buffer read and written by the same invocation.
@group(0) @binding(1) var<storage, read_write> io: array<f32>;

// Element index of channel i of the pair n's head, and the table index of its cos; sin is D/2 further.
struct Pair { at: u32, cos_at: u32, }

fn pair_of(n: u32) -> Pair {
  let half = p.D / 2u;
  let i = n % half;
  let h = (n / half) % p.H;
  let bt = n / (half * p.H);
  let t = bt % p.T;
  return Pair(bt * p.stride + p.offset + h * p.D + i, (p.pos_offset + t) * p.D + i);
}

@compute @workgroup_size(64)
fn rope_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = flat_index(gid, nwg);
  if (n >= p.B * p.T * p.H * (p.D / 2u)) { return; }
  let q = pair_of(n);
  let half = p.D / 2u;
  let c = table[q.cos_at];
  let s = p.sign * table[q.cos_at + half];
  let x1 = x[q.at];
  let x2 = x[q.at + half];
  out[q.at] = x1 * c - x2 * s;
  out[q.at + half] = x2 * c + x1 * s;
}

@compute @workgroup_size(64)
fn rope_apply_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = flat_index(gid, nwg);
  if (n >= p.B * p.T * p.H * (p.D / 2u)) { return; }
  let q = pair_of(n);
  let half = p.D / 2u;
  let c = table[q.cos_at];
  let s = p.sign * table[q.cos_at + half];
  let x1 = io[q.at];
  let x2 = io[q.at + half];
  io[q.at] = x1 * c - x2 * s;
  io[q.at + half] = x2 * c + x1 * s;
}
