// Tiled matmul: out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out]; grid (ceil(N/TILE), ceil(M/TILE), batch).
// Each WGxWG workgroup computes a TILE = RB*WG square output tile, each invocation an RBxRB register block (RB = 4 or
// 8); K advances in steps of TK staged in workgroup memory (STAGES buffers of 2 * TILE * TK * 4 bytes). WG, RB and
// TK are defines: WG 8 / RB 4 / TK 32 (32x32 tiles, 64 invocations) keeps small GPT-2 shapes spread over many workgroups; WG 16 / RB 4
// / TK 32 (64x64, 256 invocations) halves the loads per FMA for wide layers; WG 16 / RB 8 / TK 16 (128x128, 16 KiB
// staged) halves them again: 64 FMAs per 4 shared vec4 loads. sum_rows_forward (the bias gradient) shares the Params.
// {{T}} is the element type of the staged operand tiles and of the products: f32, or f16 for the 'shader-f16' variant
// (matmulRules.ts setMatmulF16Arithmetic; the module then starts with `enable f16;`), which rounds opA(a) * s and b
// to f16 when staged (11 significant bits; s, a power of two from matmul_f16.wgsl, keeps opA(a) in f16's normal range) and
// adds the f16 products to f32 accumulators.

// Params and bindings: matmul_common.wgsl, whose a_base/a_ld etc. give the dense layout (batch entries stride_a
// apart, row stride K or M); or matmul_strided.wgsl (the strided batched variant: leading dimensions and a two-level
// batch, src/gpu/kernels/matmulStrided.ts). The operands are read through a_at/a4_at and b_at/b4_at
// (matmul_a.wgsl, matmul_b.wgsl, or their vec4 forms), outputs written through store_out (store_out.wgsl).

const WGS: u32 = {{WG}}u;
// Invocations per workgroup.
const NT: u32 = WGS * WGS;
// RV: vec4 columns (and 4-row groups) of one invocation's block.
const RV: u32 = {{RB}}u / 4u;
const TILE: u32 = {{RB}}u * WGS;
// TQ = TILE / 4: vec4s per staged k row. TQA = TQ + PAD_A and TQB = TQ + PAD_B: each operand's row stride in
// workgroup memory. A padded row (1) spreads the scalar staging stores of a k-fast operand, TK consecutive k of one
// m (or n) at stride TQ vec4s, over 8 memory banks instead of 1 (matmulRules.ts matmulStagingPadFor says which
// operands get it).
const TQ: u32 = TILE / 4u;
const TQA: u32 = TQ + {{PAD_A}}u;
const TQB: u32 = TQ + {{PAD_B}}u;
// Swizzled staging (SWZ_A, SWZ_B; matmulRules.ts matmulStagingFor): an operand whose stored rows run along k and are
// read a vec4 at a time stages 4 consecutive k of one row per load; unswizzled, a warp's 8 loads of one row group land
// k = 0, 4, .., 28 rows apart, all in the same 4 memory banks (8-way conflicts; a padded row: 4-way). Its vec4 column
// q of staged row k is stored at q ^ swz(k), swz(k) = (k / 4) % 8, which puts those 8 in 8 different column slots of
// every bank group: conflict-free. The reads apply the same permutation (a permutation within aligned groups of 8
// vec4s, TQ being a multiple of 8), so they stay broadcast (a) or consecutive (b). Such an operand takes no pad.
const SWZ_A: bool = {{SWZ_A}};
const SWZ_B: bool = {{SWZ_B}};
fn swz(on: bool, k: u32) -> u32 { return select(0u, (k / 4u) % 8u, on); }
const TK: u32 = {{TK}}u;
// Elements of one operand tile each invocation stages: TILE * TK / NT, held as GROUPS vec4 registers between the
// global loads and the workgroup-memory stores.
const LOADS: u32 = TILE * TK / NT;
const GROUPS: u32 = LOADS / 4u;
// Elements per global load of a and of b: 4 (one vec4, along the stored rows) where matmulRules.ts matmulVectorLoadsFor
// allows, else 1.
const VA: u32 = {{VA}}u;
const VB: u32 = {{VB}}u;
// With PREFETCH the next K tile's global loads are issued before the current tile's products, so their latency
// overlaps arithmetic (one more set of GROUPS registers per operand live across the products).
const PREFETCH: bool = {{PREFETCH}};
// Staging buffers: 1, or 2 (with PREFETCH, where both fit the workgroup memory; matmulRules.ts matmulStagingFor):
// tile i's products read buffer i % 2 while tile i + 1 is staged into the other, so one barrier per K tile suffices
// (with 1 buffer the next tile's stores must wait for every invocation's products: two barriers).
const STAGES: u32 = {{STAGES}}u;
// Which phases run (benchmarks only, matmulRules.ts setMatmulPhases): 0 the whole kernel; 1 the products alone (the
// first K tile staged once, then its products added once per K tile of the range: no global loads or barriers in the
// loop), the ceiling the inner loop sets; 2 the loads, stagings and barriers alone (no products: the block stays 0).
// 1 and 2 compute something else than the matmul, so their time says where the whole kernel's goes.
const PHASES: u32 = {{PHASES}}u;
// Whether this K tile's products run: with PHASES 2 only under a condition the compiler cannot know is false
// (accumulate is 0 or 1), so the staged tiles keep a reader and their loads and stores are not removed as dead.
fn run_products() -> bool { return PHASES != 2u || p.accumulate == 0xffffffffu; }
// Accumulators: row r (0..RB) of the block, vec4 column c (0..RV) at acc[r * RV + c].
const NACC: u32 = {{RB}}u * RV;

// Buffer f: as_[f][k][m/4 ^ swz(SWZ_A, k)][m%4] = opA(a)(m, k); bs[f][k][n/4 ^ swz(SWZ_B, k)][n%4] = opB(b)(k, n):
// the inner loop reads RV vec4s of each. Three levels, not one flat index: WebGPU implementations clamp every
// runtime array index into bounds (robustness), level by level, so with k a constant of the unrolled loop, f fixed
// for the whole loop and the column shared by 4 consecutive k, a staged load costs no index arithmetic of its own
// (flat, each load would need its own add and clamp beside its 4 to 16 FMAs).
var<workgroup> as_: array<array<array<vec4<{{T}}>, TQA>, TK>, STAGES>;
var<workgroup> bs: array<array<array<vec4<{{T}}>, TQB>, TK>, STAGES>;

// Where staged unit u (w consecutive elements of a stored row) of an operand tile lies: (row of a / column of b in
// the tile, k). k_fast: the stored rows run along k (a row-major a, a transposed b); else along the tile's rows (a
// transposed a) or columns (a row-major b). Consecutive invocations take consecutive units, so they read consecutive
// addresses.
fn unit_pos(u: u32, w: u32, k_fast: bool) -> vec2<u32> {
  if (k_fast) { return vec2<u32>(u / (TK / w), (u % (TK / w)) * w); }
  return vec2<u32>((u % (TILE / w)) * w, u / (TILE / w));
}

// One operand tile as the kernel stages it: which operand (a, or b), the tile's origin in the output rows (a) or
// columns (b) and in k, the end of this workgroup's k range, the number of output rows (M) or columns (N), the
// operand's batch-entry base and row stride, and whether its stored rows run along k (unit_pos).
struct Tile {
  is_a: bool,
  origin: u32,
  k0: u32,
  kend: u32,
  bound: u32,
  base: u32,
  ld: u32,
  k_fast: bool,
}

// Index in the stored operand of element (rc, k): rc the tile-relative output row (a) or column (b).
fn tile_index(t: Tile, pos: vec2<u32>) -> u32 {
  let rc = t.origin + pos.x;
  let k = t.k0 + pos.y;
  return t.base + select(k * t.ld + rc, rc * t.ld + k, t.k_fast);
}

fn in_tile(t: Tile, pos: vec2<u32>) -> bool { return t.origin + pos.x < t.bound && t.k0 + pos.y < t.kend; }

// Element pos of opA(a) (m, k) or opB(b) (n, k); 0 outside the output or the k range.
fn tile_elem(t: Tile, pos: vec2<u32>) -> f32 {
  if (!in_tile(t, pos)) { return 0.0; }
  let i = tile_index(t, pos);
  if (t.is_a) { return a_at(i); }
  return b_at(i);
}

// Group g of this invocation's part of a tile: one 4-element load along the stored row (VA or VB 4: all 4 inside or
// all outside the bounds, as matmulVectorLoadsFor guarantees), or 4 element loads of units NT apart.
fn fetch(t: Tile, w: u32, flat: u32, g: u32) -> vec4<f32> {
  if (w == 4u) {
    let pos = unit_pos(flat + g * NT, 4u, t.k_fast);
    if (!in_tile(t, pos)) { return vec4<f32>(0.0); }
    let i = tile_index(t, pos);
    if (t.is_a) { return a4_at(i); }
    return b4_at(i);
  }
  let u = flat + g * 4u * NT;
  return vec4<f32>(
    tile_elem(t, unit_pos(u, 1u, t.k_fast)),
    tile_elem(t, unit_pos(u + NT, 1u, t.k_fast)),
    tile_elem(t, unit_pos(u + 2u * NT, 1u, t.k_fast)),
    tile_elem(t, unit_pos(u + 3u * NT, 1u, t.k_fast)),
  );
}

// Writes staged element pos of the a tile (is_a) or the b tile into buffer f, and a vec4 along the tile's
// rows/columns.
fn put(is_a: bool, f: u32, pos: vec2<u32>, x: f32) {
  if (is_a) {
    as_[f][pos.y][(pos.x / 4u) ^ swz(SWZ_A, pos.y)][pos.x % 4u] = {{T}}(x);
  } else {
    bs[f][pos.y][(pos.x / 4u) ^ swz(SWZ_B, pos.y)][pos.x % 4u] = {{T}}(x);
  }
}
fn put4(is_a: bool, f: u32, pos: vec2<u32>, x: vec4<f32>) {
  if (is_a) {
    as_[f][pos.y][(pos.x / 4u) ^ swz(SWZ_A, pos.y)] = vec4<{{T}}>(x);
  } else {
    bs[f][pos.y][(pos.x / 4u) ^ swz(SWZ_B, pos.y)] = vec4<{{T}}>(x);
  }
}

// Stores what fetch(t, w, flat, g) loaded (x, already scaled) at its places in staging buffer f: a vec4 along the
// tile's rows/columns as one store, 4 elements along k (or 4 units) one by one.
fn stage(t: Tile, f: u32, w: u32, flat: u32, g: u32, x: vec4<f32>) {
  if (w == 4u) {
    let pos = unit_pos(flat + g * NT, 4u, t.k_fast);
    if (!t.k_fast) {
      put4(t.is_a, f, pos, x);
      return;
    }
    put(t.is_a, f, pos, x.x);
    put(t.is_a, f, pos + vec2<u32>(0u, 1u), x.y);
    put(t.is_a, f, pos + vec2<u32>(0u, 2u), x.z);
    put(t.is_a, f, pos + vec2<u32>(0u, 3u), x.w);
    return;
  }
  let u = flat + g * 4u * NT;
  put(t.is_a, f, unit_pos(u, 1u, t.k_fast), x.x);
  put(t.is_a, f, unit_pos(u + NT, 1u, t.k_fast), x.y);
  put(t.is_a, f, unit_pos(u + 2u * NT, 1u, t.k_fast), x.z);
  put(t.is_a, f, unit_pos(u + 3u * NT, 1u, t.k_fast), x.w);
}

// This invocation's part of both operand tiles at k0 (the K tile starting there), loaded into registers.
fn load_tiles(ta: Tile, tb: Tile, k0: u32, flat: u32, ra: ptr<function, array<vec4<f32>, GROUPS>>,
              rb: ptr<function, array<vec4<f32>, GROUPS>>) {
  var at = ta;
  var bt = tb;
  at.k0 = k0;
  bt.k0 = k0;
  for (var g = 0u; g < GROUPS; g++) {
    (*ra)[g] = fetch(at, VA, flat, g);
    (*rb)[g] = fetch(bt, VB, flat, g);
  }
}

// Stores what load_tiles loaded into staging buffer f, opA(a) scaled by s.
fn stage_tiles(ta: Tile, tb: Tile, f: u32, flat: u32, s: f32, ra: ptr<function, array<vec4<f32>, GROUPS>>,
               rb: ptr<function, array<vec4<f32>, GROUPS>>) {
  for (var g = 0u; g < GROUPS; g++) {
    stage(ta, f, VA, flat, g, (*ra)[g] * s);
    stage(tb, f, VB, flat, g, (*rb)[g]);
  }
}

// Adds the products of the K tile staged in buffer f to the block (see mm_block's interleaving); products in {{T}},
// summed in f32. b's vec4 is read inside the row-group loop: hoisting the RV of them into an array ahead of it made
// lavapipe 10-15% slower (docs/design.md), and a compiler that unrolls the loops can reuse the loads itself.
fn products(acc: ptr<function, array<vec4<f32>, NACC>>, lid: vec3<u32>, f: u32) {
  for (var k = 0u; k < TK; k++) {
    for (var q = 0u; q < RV; q++) {
      let x = as_[f][k][(q * WGS + lid.y) ^ swz(SWZ_A, k)];
      for (var c = 0u; c < RV; c++) {
        let y = bs[f][k][(c * WGS + lid.x) ^ swz(SWZ_B, k)];
        (*acc)[(q * 4u) * RV + c] += vec4<f32>(x.x * y);
        (*acc)[(q * 4u + 1u) * RV + c] += vec4<f32>(x.y * y);
        (*acc)[(q * 4u + 2u) * RV + c] += vec4<f32>(x.z * y);
        (*acc)[(q * 4u + 3u) * RV + c] += vec4<f32>(x.w * y);
      }
    }
  }
}

// The RBxRB block of alpha-free products of opA(a) * s and opB(b) for invocation lid of workgroup wid. The block's
// 4-row groups q and vec4 columns c are interleaved with the other invocations' (row group q * WG + lid.y, vec4
// column c * WG + lid.x of the tile), so the invocations of a workgroup read consecutive vec4s of the staged tiles
// (no bank conflicts) and write consecutive columns of out. s is a_scale() (1 for f32; matmul_f16.wgsl).
fn mm_block(lid: vec3<u32>, wid: vec3<u32>, s: f32) -> array<vec4<f32>, NACC> {
  // wid.z: batch entry and, with split K, which range of k this workgroup sums (k_range).
  let z = entry_of(wid.z);
  let kr = k_range(wid.z);
  let flat = lid.y * WGS + lid.x;
  // A row-major a and a transposed b are stored with k fastest.
  let ta = Tile(true, wid.y * TILE, kr.x, kr.y, p.M, a_base(z), a_ld(), p.trans_a == 0u);
  let tb = Tile(false, wid.x * TILE, kr.x, kr.y, p.N, b_base(z), b_ld(), p.trans_b != 0u);
  var acc: array<vec4<f32>, NACC>;
  var ra: array<vec4<f32>, GROUPS>;
  var rb: array<vec4<f32>, GROUPS>;
  if (PHASES == 1u) {
    load_tiles(ta, tb, kr.x, flat, &ra, &rb);
    stage_tiles(ta, tb, 0u, flat, s, &ra, &rb);
    workgroupBarrier();
    for (var k0 = kr.x; k0 < kr.y; k0 += TK) { products(&acc, lid, 0u); }
    return acc;
  }
  if (PREFETCH) {
    load_tiles(ta, tb, kr.x, flat, &ra, &rb);
    if (STAGES == 2u) {
      stage_tiles(ta, tb, 0u, flat, s, &ra, &rb);
      workgroupBarrier();
    }
  }
  var f = 0u;
  for (var k0 = kr.x; k0 < kr.y; k0 += TK) {
    let next = k0 + TK < kr.y;
    if (STAGES == 2u) {
      // Tile k0 is in buffer f: load the next tile, add this one's products, stage the next into the other buffer.
      if (next) { load_tiles(ta, tb, k0 + TK, flat, &ra, &rb); }
      if (run_products()) { products(&acc, lid, f); }
      if (next) { stage_tiles(ta, tb, 1u - f, flat, s, &ra, &rb); }
      workgroupBarrier();
      f = 1u - f;
      continue;
    }
    if (!PREFETCH) { load_tiles(ta, tb, k0, flat, &ra, &rb); }
    stage_tiles(ta, tb, 0u, flat, s, &ra, &rb);
    workgroupBarrier();
    if (PREFETCH && next) { load_tiles(ta, tb, k0 + TK, flat, &ra, &rb); }
    if (run_products()) { products(&acc, lid, 0u); }
    workgroupBarrier();
  }
  return acc;
}

// First column of vec4 column c4 of the block, and the row of block row r (see mm_block's interleaving).
fn block_col(wid: vec3<u32>, lid: vec3<u32>, c4: u32) -> u32 { return wid.x * TILE + (c4 * WGS + lid.x) * 4u; }
fn block_row(wid: vec3<u32>, lid: vec3<u32>, r: u32) -> u32 {
  return wid.y * TILE + ((r / 4u) * WGS + lid.y) * 4u + r % 4u;
}

// Writes the block: alpha * acc + bias (bias4[c4] for vec4 column c4), added to out when accumulating. With split K,
// out is the partial sums' scratch and wid.z (entry * splits + split) picks the partial (matmul_common.wgsl).
fn mm_store(acc: array<vec4<f32>, NACC>, alpha: f32, bias4: array<vec4<f32>, RV>, lid: vec3<u32>, wid: vec3<u32>) {
  let base = out_base(wid.z);
  let ldc = out_ld();
  for (var c4 = 0u; c4 < RV; c4++) {
    let col = block_col(wid, lid, c4);
    for (var r = 0u; r < {{RB}}u; r++) {
      // Rows grow with r, so the first one past M ends the column.
      let row = block_row(wid, lid, r);
      if (row >= p.M) { break; }
      let v = alpha * acc[r * RV + c4] + bias4[c4];
      for (var c = 0u; c < 4u; c++) {
        if (col + c < p.N) {
          store_out(base + row * ldc + col + c, v[c]);
        }
      }
    }
  }
}

@compute @workgroup_size({{WG}}, {{WG}})
fn matmul_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let s = a_scale();
  let acc = mm_block(lid, wid, s);
  var zero: array<vec4<f32>, RV>;
  mm_store(acc, p.alpha / s, zero, lid, wid);
}

@compute @workgroup_size({{WG}}, {{WG}})
fn matmul_bias_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let s = a_scale();
  let acc = mm_block(lid, wid, s);
  var bias4: array<vec4<f32>, RV>;
  for (var c4 = 0u; c4 < RV; c4++) {
    let col = block_col(wid, lid, c4);
    for (var c = 0u; c < 4u; c++) {
      if (col + c < p.N) { bias4[c4][c] = bias[col + c]; }
    }
  }
  mm_store(acc, p.alpha / s, bias4, lid, wid);
}

// out(N) (+)= sum over rows of a(M,N). Workgroup (32, 8): 32 columns, 8 lanes striding over the rows, then the
// 8 partials of each column are added in a fixed order (deterministic). Grid (ceil(N/32)).
var<workgroup> rows_part: array<array<f32, 32>, 8>;

@compute @workgroup_size(32, 8)
fn sum_rows_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let col = wid.x * 32u + lid.x;
  var s = 0.0;
  if (col < p.N) {
    for (var r = lid.y; r < p.M; r += 8u) { s += a_at(r * p.N + col); }
  }
  rows_part[lid.y][lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < p.N) {
    var t = 0.0;
    for (var i = 0u; i < 8u; i++) { t += rows_part[i][lid.x]; }
    store_out(col, t);
  }
}

// Split K's second pass: out(entry, i) (+)= [bias(n) +] the splits' partial sums of (entry, i), added in split order
// (deterministic). a holds the partials, [entry][split][M * N]; one invocation per output element, grid (x, y) of
// 256-wide workgroups covering batch * M * N. Params: M, N, splits and accumulate as in the first pass, K = batch.
fn split_sum(i: u32, mn: u32) -> f32 {
  let entry = i / mn;
  let r = i % mn;
  var t = 0.0;
  let n = split_count();
  for (var s = 0u; s < n; s++) { t += a_at((entry * n + s) * mn + r); }
  return t;
}

@compute @workgroup_size(256)
fn split_sum_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  let mn = p.M * p.N;
  if (i >= p.K * mn) { return; }
  store_out(i, split_sum(i, mn));
}

@compute @workgroup_size(256)
fn split_sum_bias_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  let mn = p.M * p.N;
  if (i >= p.K * mn) { return; }
  store_out(i, split_sum(i, mn) + bias[i % p.N]);
}
