// Barrier-free matmul for CPU-emulated adapters (SwiftShader), with the same bindings, Params and result as
// matmul.wgsl (both in matmul_common.wgsl). Each invocation reads its operands straight from storage and keeps an 8x8
// output block in registers: no workgroup memory and no barriers, which under emulation suspend and resume every
// invocation of a workgroup. The emulator runs 4 invocations as the lanes of one SIMD register and turns every load
// whose index depends on the invocation into a 4-lane gather, its dearest operation; an 8x8 block needs 16 gathers per
// 64 FMAs where a 4x8 block needs 12 per 32 (figures: docs/design.md). The accumulators no longer fit the host's
// vector registers, but spills hit L1.
// The placeholders are either literals (one pipeline per shape: the emulator's compiler then folds every index and
// bound, 2-3x faster there) or the uniform fields (one pipeline for any shape). Consecutive invocations take
// consecutive row blocks; grid (ceil(blocks/64), 1, batch).

// Params and bindings: matmul_common.wgsl; the output store: store_out.wgsl.

fn dim_m() -> u32 { return {{M}}; }
fn dim_k() -> u32 { return {{K}}; }
fn dim_n() -> u32 { return {{N}}; }
fn row_blocks() -> u32 { return (dim_m() + 7u) / 8u; }

fn ld_a(base: u32, m: u32, k: u32) -> f32 {
  if ({{TA}}) { return a[base + k * dim_m() + m]; }
  return a[base + m * dim_k() + k];
}

fn ld_b(base: u32, k: u32, n: u32) -> f32 {
  if ({{TB}}) { return b_at(base + n * dim_k() + k); }
  return b_at(base + k * dim_n() + n);
}

// One k of the 8x8 block: rows r (first four) and s (last four), columns c (first four) and d (last four).
fn kstep(acc: ptr<function, array<vec4<f32>, 16>>, ba: u32, bb: u32, r: vec4<u32>, s: vec4<u32>, c: vec4<u32>, d: vec4<u32>, k: u32) {
  let y = vec4<f32>(ld_b(bb, k, c.x), ld_b(bb, k, c.y), ld_b(bb, k, c.z), ld_b(bb, k, c.w));
  let w = vec4<f32>(ld_b(bb, k, d.x), ld_b(bb, k, d.y), ld_b(bb, k, d.z), ld_b(bb, k, d.w));
  kstep_with(acc, ba, r, s, y, w, k);
}

// The FMAs of one k, given opB's values y (columns c) and w (columns d) at that k.
fn kstep_with(acc: ptr<function, array<vec4<f32>, 16>>, ba: u32, r: vec4<u32>, s: vec4<u32>, y: vec4<f32>, w: vec4<f32>, k: u32) {
  let x = vec4<f32>(ld_a(ba, r.x, k), ld_a(ba, r.y, k), ld_a(ba, r.z, k), ld_a(ba, r.w, k));
  (*acc)[0] += x.x * y;
  (*acc)[1] += x.y * y;
  (*acc)[2] += x.z * y;
  (*acc)[3] += x.w * y;
  (*acc)[4] += x.x * w;
  (*acc)[5] += x.y * w;
  (*acc)[6] += x.z * w;
  (*acc)[7] += x.w * w;
  let v = vec4<f32>(ld_a(ba, s.x, k), ld_a(ba, s.y, k), ld_a(ba, s.z, k), ld_a(ba, s.w, k));
  (*acc)[8] += v.x * y;
  (*acc)[9] += v.y * y;
  (*acc)[10] += v.z * y;
  (*acc)[11] += v.w * y;
  (*acc)[12] += v.x * w;
  (*acc)[13] += v.y * w;
  (*acc)[14] += v.z * w;
  (*acc)[15] += v.w * w;
}

// A packed f16 b read one word (two elements) at a time, which halves its gathers. {{B_PAIRS}} (launcher) holds when
// no pair straddles a word: transposed b (n,k) with K even pairs k with k+1 (k even); row-major b (k,n) with N a
// multiple of 8 (no clamped columns) pairs n with n+1 (n even).
fn ld_b2(base: u32, k: u32, n: u32) -> vec2<f32> {
  if ({{TB}}) { return unpack2x16float(bitcast<u32>(b[(base + n * dim_k() + k) >> 1u])); }
  return unpack2x16float(bitcast<u32>(b[(base + k * dim_n() + n) >> 1u]));
}

// Transposed b, k even: steps k and k + 1 from one word per column.
fn kstep_pair_k(acc: ptr<function, array<vec4<f32>, 16>>, ba: u32, bb: u32, r: vec4<u32>, s: vec4<u32>, c: vec4<u32>, d: vec4<u32>, k: u32) {
  let y0 = ld_b2(bb, k, c.x);
  let y1 = ld_b2(bb, k, c.y);
  let y2 = ld_b2(bb, k, c.z);
  let y3 = ld_b2(bb, k, c.w);
  let w0 = ld_b2(bb, k, d.x);
  let w1 = ld_b2(bb, k, d.y);
  let w2 = ld_b2(bb, k, d.z);
  let w3 = ld_b2(bb, k, d.w);
  kstep_with(acc, ba, r, s, vec4<f32>(y0.x, y1.x, y2.x, y3.x), vec4<f32>(w0.x, w1.x, w2.x, w3.x), k);
  kstep_with(acc, ba, r, s, vec4<f32>(y0.y, y1.y, y2.y, y3.y), vec4<f32>(w0.y, w1.y, w2.y, w3.y), k + 1u);
}

// Row-major b: the block's eight columns c0.. at row k from four words.
fn kstep_pair_n(acc: ptr<function, array<vec4<f32>, 16>>, ba: u32, bb: u32, r: vec4<u32>, s: vec4<u32>, c0: u32, k: u32) {
  let p0 = ld_b2(bb, k, c0);
  let p1 = ld_b2(bb, k, c0 + 2u);
  let p2 = ld_b2(bb, k, c0 + 4u);
  let p3 = ld_b2(bb, k, c0 + 6u);
  kstep_with(acc, ba, r, s, vec4<f32>(p0, p1), vec4<f32>(p2, p3), k);
}

// acc[(i / 4) * 8 + i % 4] holds row i's first four columns, the entry 4 further on its last four. Rows and columns
// past the edge are clamped for the loads (so they stay in bounds) and skipped by the store.
fn flat_block(blk: u32, z: u32) -> array<vec4<f32>, 16> {
  let r0 = (blk % row_blocks()) * 8u;
  let c0 = (blk / row_blocks()) * 8u;
  let r = min(vec4<u32>(r0, r0 + 1u, r0 + 2u, r0 + 3u), vec4<u32>(dim_m() - 1u));
  let s = min(vec4<u32>(r0 + 4u, r0 + 5u, r0 + 6u, r0 + 7u), vec4<u32>(dim_m() - 1u));
  let c = min(vec4<u32>(c0, c0 + 1u, c0 + 2u, c0 + 3u), vec4<u32>(dim_n() - 1u));
  let d = min(vec4<u32>(c0 + 4u, c0 + 5u, c0 + 6u, c0 + 7u), vec4<u32>(dim_n() - 1u));
  let ba = z * {{SA}};
  let bb = z * {{SB}};
  var acc: array<vec4<f32>, 16>;
  var k = 0u;
  // Unrolled by hand: the emulator's compiler inlines calls but does not unroll loops.
  for (; k + 4u <= dim_k(); k += 4u) {
    if ({{B_PAIRS}} && {{TB}}) {
      kstep_pair_k(&acc, ba, bb, r, s, c, d, k);
      kstep_pair_k(&acc, ba, bb, r, s, c, d, k + 2u);
    } else if ({{B_PAIRS}}) {
      kstep_pair_n(&acc, ba, bb, r, s, c0, k);
      kstep_pair_n(&acc, ba, bb, r, s, c0, k + 1u);
      kstep_pair_n(&acc, ba, bb, r, s, c0, k + 2u);
      kstep_pair_n(&acc, ba, bb, r, s, c0, k + 3u);
    } else {
      kstep(&acc, ba, bb, r, s, c, d, k);
      kstep(&acc, ba, bb, r, s, c, d, k + 1u);
      kstep(&acc, ba, bb, r, s, c, d, k + 2u);
      kstep(&acc, ba, bb, r, s, c, d, k + 3u);
    }
  }
  for (; k < dim_k(); k++) { kstep(&acc, ba, bb, r, s, c, d, k); }
  return acc;
}

fn flat_store(acc: array<vec4<f32>, 16>, bias_lo: vec4<f32>, bias_hi: vec4<f32>, blk: u32, z: u32) {
  let r0 = (blk % row_blocks()) * 8u;
  let c0 = (blk / row_blocks()) * 8u;
  let base = z * {{SO}};
  for (var i = 0u; i < 8u; i++) {
    let row = r0 + i;
    if (row >= dim_m()) { return; }
    let q = (i / 4u) * 8u + i % 4u;
    let lo = p.alpha * acc[q] + bias_lo;
    let hi = p.alpha * acc[q + 4u] + bias_hi;
    for (var j = 0u; j < 4u; j++) {
      if (c0 + j < dim_n()) {
        store_out(base + row * dim_n() + c0 + j, lo[j]);
      }
      if (c0 + 4u + j < dim_n()) {
        store_out(base + row * dim_n() + c0 + 4u + j, hi[j]);
      }
    }
  }
}

fn blocks() -> u32 { return row_blocks() * ((dim_n() + 7u) / 8u); }

@compute @workgroup_size(64)
fn matmul_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= blocks()) { return; }
  flat_store(flat_block(gid.x, gid.z), vec4<f32>(0.0), vec4<f32>(0.0), gid.x, gid.z);
}

@compute @workgroup_size(64)
fn matmul_bias_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= blocks()) { return; }
  let c0 = (gid.x / row_blocks()) * 8u;
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (c0 + j < dim_n()) { lo[j] = bias[c0 + j]; }
    if (c0 + 4u + j < dim_n()) { hi[j] = bias[c0 + 4u + j]; }
  }
  flat_store(flat_block(gid.x, gid.z), lo, hi, gid.x, gid.z);
}
