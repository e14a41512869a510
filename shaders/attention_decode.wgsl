// KV-cache decoding (src/ops/attentionDecode.ts is the reference). Query t of row (b, h) sits at position pos + t and
// attends to cached keys 0..pos+t of kv head h / group; the caches are (B, Tmax, KVH*D). Both attention entries use an
// online softmax over the keys (running max m, running sum l, the output rescaled by exp(m_old - m_new) when the max
// grows), so no row buffer bounds the number of keys:
// - attention_decode_forward: one invocation per (b, h, t) row, accumulating in `out` (CPU-emulated adapters, where
//   barriers are costly);
// - attention_decode_wg: one 64-wide workgroup per row (real GPUs): each tile of 64 keys is scored in parallel into
//   workgroup memory, then every invocation updates the output channels d = lid, lid + 64, ... it owns, so D <= 256.
// kv_cache_write copies new key or value rows into a cache at position pos.

struct Params {
  B: u32, Tq: u32, pos: u32, Tmax: u32,
  H: u32, D: u32,
  q_stride: u32, q_off: u32,
  // Query heads per kv head (H / KVH).
  group: u32,
  scale: f32,
  // kv_cache_write: channels of one cached row (KVH*D); the source view is (q_stride, q_off).
  width: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// attention entries: out (B,Tq,H*D) and q, k_cache, v_cache; kv_cache_write: out is the cache, q the source rows.
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;

const NEG_BIG: f32 = -3.0e38;
const WG: u32 = 64u;
// Output channels per invocation in attention_decode_wg: D <= WG * DPT
// (MAX_WG_D in src/gpu/kernels/attentionDecode.ts).
const DPT: u32 = 4u;

var<workgroup> tile: array<f32, WG>;

struct Row { b: u32, h: u32, t: u32, qi: u32, kv0: u32, oi: u32, jend: u32 }

fn row_at(r: u32) -> Row {
  let t = r % p.Tq;
  let h = (r / p.Tq) % p.H;
  let b = r / (p.Tq * p.H);
  let qi = (b * p.Tq + t) * p.q_stride + p.q_off + h * p.D;
  let oi = (b * p.Tq + t) * p.H * p.D + h * p.D;
  return Row(b, h, t, qi, (h / p.group) * p.D, oi, p.pos + t + 1u);
}

// Offset of cached row j of batch row b, kv head channel 0.
fn kv_at(w: Row, j: u32) -> u32 { return (w.b * p.Tmax + j) * (p.H / p.group) * p.D + w.kv0; }

fn score(w: Row, j: u32) -> f32 {
  let kj = kv_at(w, j);
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) { s += q[w.qi + d] * k_cache[kj + d]; }
  return s * p.scale;
}

@compute @workgroup_size(64)
fn attention_decode_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= p.B * p.H * p.Tq) { return; }
  let w = row_at(r);
  for (var d = 0u; d < p.D; d++) { out[w.oi + d] = 0.0; }
  var m = NEG_BIG;
  var l = 0.0;
  for (var j = 0u; j < w.jend; j++) {
    let s = score(w, j);
    let vj = kv_at(w, j);
    if (s > m) {
      // The max grew: rescale what was accumulated against the old max (0 before the first key).
      let c = exp(m - s);
      l = l * c + 1.0;
      for (var d = 0u; d < p.D; d++) { out[w.oi + d] = out[w.oi + d] * c + v_cache[vj + d]; }
      m = s;
    } else {
      let e = exp(s - m);
      l += e;
      for (var d = 0u; d < p.D; d++) { out[w.oi + d] += e * v_cache[vj + d]; }
    }
  }
  // l >= 1: the key holding the max contributes exp(0).
  let inv = 1.0 / l;
  for (var d = 0u; d < p.D; d++) { out[w.oi + d] *= inv; }
}

@compute @workgroup_size(64)
fn attention_decode_wg(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.B * p.H * p.Tq) { return; }
  let lid = lid3.x;
  let w = row_at(r);
  var acc = array<f32, DPT>(0.0, 0.0, 0.0, 0.0);
  var m = NEG_BIG;
  var l = 0.0;
  for (var j0 = 0u; j0 < w.jend; j0 += WG) {
    let n = min(WG, w.jend - j0);
    var s = NEG_BIG;
    if (lid < n) { s = score(w, j0 + lid); }
    tile[lid] = s;
    workgroupBarrier();
    // Every invocation reads the whole tile in the same order, so all agree on m and l.
    var mt = m;
    for (var k = 0u; k < n; k++) { mt = max(mt, tile[k]); }
    let c = exp(m - mt);
    l *= c;
    for (var i = 0u; i < DPT; i++) { acc[i] *= c; }
    for (var k = 0u; k < n; k++) {
      let e = exp(tile[k] - mt);
      l += e;
      let vj = kv_at(w, j0 + k);
      for (var i = 0u; i < DPT; i++) {
        let d = lid + i * WG;
        if (d < p.D) { acc[i] += e * v_cache[vj + d]; }
      }
    }
    m = mt;
    // The next tile overwrites `tile` only after every invocation has read this one.
    workgroupBarrier();
  }
  let inv = 1.0 / l;
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * WG;
    if (d < p.D) { out[w.oi + d] = acc[i] * inv; }
  }
}

// One invocation per element (b, t, c) of the new rows: cache[b, pos + t, c] = src[(b*Tq + t)*stride + off + c].
@compute @workgroup_size(64)
fn kv_cache_write(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = flat_index(gid, nwg);
  if (n >= p.B * p.Tq * p.width) { return; }
  let c = n % p.width;
  let bt = n / p.width;
  let t = bt % p.Tq;
  let b = bt / p.Tq;
  out[(b * p.Tmax + p.pos + t) * p.width + c] = q[bt * p.q_stride + p.q_off + c];
}
