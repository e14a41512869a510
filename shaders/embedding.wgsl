// Embedding gather (forward) and deterministic scatter-add (backward, no atomics).
// Out-of-range ids touch no memory: the forward writes a zero row, the backward skips the position.
// W may be one row-range part of a larger matrix: ids v_start .. v_start + V - 1 are its rows 0 .. V - 1.

struct Params {
  N: u32,
  C: u32,
  V: u32,
  // Backward: vocabulary id v belongs to workgroup row v % chunks, so every dW cell has exactly one writer.
  // Forward: 1 writes a zero row for ids outside the part (the first part), 0 leaves those rows alone.
  chunks: u32,
  v_start: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // forward: out(N,C); backward: dW(V,C)
@group(0) @binding(2) var<storage, read> ids: array<i32>;       // (N)
// forward: W(V,C); backward: dout(N,C). f32 (SRC_ELEM f32), or with {{W_F16}} (forward only) a frozen f16 weight
// (SRC_ELEM u32) packed two halves per word, element i in the low half when i is even. Read through src_at only.
@group(0) @binding(3) var<storage, read> src: array<{{SRC_ELEM}}>;

fn src_at(i: u32) -> f32 {
  if ({{W_F16}}) { return unpack2x16float(bitcast<u32>(src[i >> 1u]))[i & 1u]; }
  return bitcast<f32>(src[i]);
}

@compute @workgroup_size(64)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= p.N * p.C) { return; }
  let n = i / p.C;
  let c = i - n * p.C;
  // u32() of a negative i32 reinterprets the bits, so one compare rejects both ends of the range.
  let v = u32(ids[n]) - p.v_start;
  if (v < p.V) { out[i] = src_at(v * p.C + c); } else if (p.chunks != 0u) { out[i] = 0.0; }
}

const TILE: u32 = 256u;
const NO_ID: u32 = 0xffffffffu;
var<workgroup> tile: array<u32, 256>;

// Invocation (c, k) owns dW[v, c] for every v with v % chunks == k and walks all N positions in increasing n,
// adding dout[n, c] where ids[n] == v: the same summation order as the CPU reference, so results are bitwise equal.
// Cost: O(N*C) adds and O(N*C*chunks) id compares (the ids come through workgroup memory, filtered per tile).
@compute @workgroup_size(64)
fn embedding_backward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x * 64u + lid.x;
  let k = wid.y;
  for (var base = 0u; base < p.N; base += TILE) {
    for (var j = lid.x; j < TILE; j += 64u) {
      var v = NO_ID;
      if (base + j < p.N) {
        let id = u32(ids[base + j]) - p.v_start;
        if (id < p.V && id % p.chunks == k) { v = id; }
      }
      tile[j] = v;
    }
    workgroupBarrier();
    if (c < p.C) {
      let count = min(TILE, p.N - base);
      for (var j = 0u; j < count; j++) {
        let v = tile[j];
        if (v != NO_ID) {
          let o = v * p.C + c;
          out[o] = out[o] + src_at((base + j) * p.C + c);
        }
      }
    }
    workgroupBarrier();
  }
}
