// Low-rank adapter over the live components only (src/ops/adapter.ts has the math). theta packs A (R0,inF),
// B (outF,R0), c (R0) at the slot offsets; h/dh are (N,R0) with live column j compact; L = live_count.
// Input dropout is drawn inside the kernels (drop_mask.wgsl): xd = dropout(x) is never stored. forward_h and
// backward_da read x and drop each element as they stage it; backward_dx adds the kept elements' gradient into dx.
// Reductions over a large dimension (inF, outF or N): an 8x8xKS workgroup owns TRR = 8 * RPT rows x 8 live columns
// of the output (RPT rows per invocation) and loops over the reduced dimension in tiles of 32 staged in workgroup
// memory; its KS slices (lid.z) take every KS-th tile, each into its own staging, and their partial sums are added in
// slice order at the end, so every output has one writer and a fixed summation order (no atomics). These products are
// skinny (8-32 live columns), so on GPUs their time is latency, not arithmetic: RPT 1 (8 rows per workgroup) gives 4x
// the workgroups of RPT 4, and KS 4 gives each workgroup 4x the invocations for a quarter of the serial tiles. Under
// CPU emulation extra workgroups and slices only repeat work: RPT 4, KS 1 there (kernels/adapter.ts). Expansions over the small live dimension (forward_y, backward_dx) are matmul-like: an 8x8
// workgroup owns a 32x32 output tile, 4x4 per invocation, looping over L in chunks of 16. Grids and work scale with L.

struct Params {
  N: u32,
  inF: u32,
  outF: u32,
  R0: u32,
  off_a: u32,
  off_b: u32,
  // -1: LoRA (c = 1, no dc).
  off_c: i32,
  live_offset: u32,
  live_count: u32,
  scale: f32,
  // The input dropout's mask (drop_mask.wgsl; threshold 0: none). Element (n, k) of x draws mask element n * inF + k.
  drop_seed: u32,
  drop_threshold: u32,
  drop_scale: f32,
  drop_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> h: array<f32>;       // forward_h
@group(0) @binding(1) var<storage, read_write> y: array<f32>;       // forward_y (accumulated)
@group(0) @binding(1) var<storage, read_write> dh: array<f32>;      // backward_du, backward_dc
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;      // backward_dx (accumulated)
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;  // importance (module m's at m * R0)
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;    // backward_db, _dc, _da (accumulated)
@group(0) @binding(3) var<storage, read> theta: array<f32>;
@group(0) @binding(4) var<storage, read> live: array<i32>;
@group(0) @binding(5) var<storage, read> xin: array<f32>;           // forward_h, backward_da (x, before dropout)
@group(0) @binding(5) var<storage, read> dy: array<f32>;            // backward_du, backward_db
@group(0) @binding(6) var<storage, read> h_in: array<f32>;          // forward_y, backward_db, backward_dc
@group(0) @binding(6) var<storage, read> dh_in: array<f32>;         // backward_da, backward_dx
@group(0) @binding(7) var<storage, read> slot_table: array<i32>;    // importance (ops/adapter.ts adapterSlotTable)

const TR: u32 = 32u;   // output rows (and columns) per expansion workgroup
const RPT: u32 = {{RPT}}u;   // output rows per invocation of a reduction: 1 or 4
const KS: u32 = {{KS}}u;     // slices of the reduced dimension per reduction workgroup: 1 or 4
const TRR: u32 = 8u * RPT;   // output rows per reduction workgroup
const TJ: u32 = 8u;    // live columns per workgroup
const TT: u32 = 32u;   // reduced elements per tile
const TC: u32 = 16u;   // live components per chunk of the expansions

// Reductions: slice z's lhs[z][t][r / 4][r % 4] and rhs[z][t][j] hold its tile (TT reduced elements t, TRR rows r,
// TJ live columns j) of both operands. lhs also carries the slices' partial sums at the end (64 vec4s a slice). Three
// levels, not one flat index: WebGPU clamps every runtime index into bounds, level by level, so the slice's and the
// lane's indices are clamped once and t (the tile loop's counter) not at all, rather than an add and a clamp per load.
const LQ: u32 = TRR / 4u;
var<workgroup> lhs: array<array<array<vec4<f32>, LQ>, TT>, KS>;
var<workgroup> rhs: array<array<array<f32, TJ>, TT>, KS>;
// Expansions: xs[j][row / 4][row % 4] = (h c or dh)(row, j), ws[j][col / 4][col % 4] = (B or A^T)(col, j) for a
// 32 x 32 output tile and a chunk of TC live components (two levels, as above).
var<workgroup> xs: array<array<vec4<f32>, 8>, TC>;
var<workgroup> ws: array<array<vec4<f32>, 8>, TC>;

fn comp(j: u32) -> u32 { return u32(live[p.live_offset + j]); }

fn coef(i: u32) -> f32 {
  if (p.off_c < 0) { return 1.0; }
  return theta[u32(p.off_c) + i];
}

fn a_at(i: u32, k: u32) -> f32 { return theta[p.off_a + i * p.inF + k]; }
fn b_at(o: u32, i: u32) -> f32 { return theta[p.off_b + o * p.R0 + i]; }
// xd[n,k]: the input dropped as the separate dropout op would (bitwise what it stores).
fn xd_at(n: u32, k: u32) -> f32 {
  let e = n * p.inF + k;
  return drop_value(xin[e], e);
}

// Element e (0..4 * RPT) of this lane's share of a reduction's lhs tile (TRR rows x TT reduced), as (fast, slow)
// index: with the reduced index fast (red_fast: x reduced, y row) or the row index fast (row_fast: x row, y reduced), so
// consecutive lanes read consecutive addresses of the stored matrix.
fn red_fast(lid: vec3<u32>, e: u32) -> vec2<u32> {
  let idx = lid.y * 8u + lid.x + e * 64u;
  return vec2<u32>(idx % TT, idx / TT);
}
fn row_fast(lid: vec3<u32>, e: u32) -> vec2<u32> {
  let idx = lid.y * 8u + lid.x + e * 64u;
  return vec2<u32>(idx % TRR, idx / TRR);
}

fn put_lhs(lid: vec3<u32>, r: u32, t: u32, v: f32) { lhs[lid.z][t][r / 4u][r % 4u] = v; }
fn put_rhs(lid: vec3<u32>, j: u32, t: u32, w: f32) { rhs[lid.z][t][j] = w; }

// Tiles each slice stages to cover a reduced dimension of n (the same count in every slice, so barriers stay in
// uniform control flow), and where slice z's tile s starts.
fn slice_steps(n: u32) -> u32 { return (n + TT * KS - 1u) / (TT * KS); }
fn slice_tile(lid: vec3<u32>, s: u32) -> u32 { return (s * KS + lid.z) * TT; }

// Rows lid.x * RPT.. of live column lid.y over this slice's staged tile, in the first RPT components: with RPT 4 one
// vec4 load of lhs feeds 4 FMAs.
fn tile_dot(lid: vec3<u32>) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var t = 0u; t < TT; t++) {
    let w = rhs[lid.z][t][lid.y];
    if (RPT == 4u) {
      s += lhs[lid.z][t][lid.x] * w;
    } else {
      s.x += lhs[lid.z][t][lid.x / 4u][lid.x % 4u] * w;
    }
  }
  return s;
}

// The slices' partial sums of this lane's outputs added in slice order (the same total in every slice; slice 0
// writes it). Called after the tile loop's last barrier, so lhs is free.
fn add_slices(lid: vec3<u32>, acc: vec4<f32>) -> vec4<f32> {
  if (KS == 1u) { return acc; }
  let lane = lid.y * 8u + lid.x;
  lhs[lid.z][lane / LQ][lane % LQ] = acc;
  workgroupBarrier();
  var s = vec4<f32>(0.0);
  for (var z = 0u; z < KS; z++) { s += lhs[z][lane / LQ][lane % LQ]; }
  return s;
}

// The 4x4 block (rows lid.y*4.., cols lid.x*4..) of an expansion, over jn staged components: 16 FMAs per 2 loads.
fn expand_block(acc: ptr<function, array<vec4<f32>, 4>>, lid: vec3<u32>, jn: u32) {
  for (var j = 0u; j < jn; j++) {
    let x = xs[j][lid.y];
    let w = ws[j][lid.x];
    (*acc)[0] += x.x * w;
    (*acc)[1] += x.y * w;
    (*acc)[2] += x.z * w;
    (*acc)[3] += x.w * w;
  }
}

// h[n,j] = sum_k xd[n,k] A[live_j,k]. Grid (ceil(N/TRR), ceil(L/8)).
@compute @workgroup_size(8, 8, KS)
fn adapter_forward_h(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let flat = lid.y * 8u + lid.x;
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < slice_steps(p.inF); s++) {
    let t0 = slice_tile(lid, s);
    for (var e = 0u; e < 4u * RPT; e++) {
      let f = red_fast(lid, e);  // x: k (contiguous in xd), y: n
      let n = wid.x * TRR + f.y; let k = t0 + f.x;
      var v = 0.0;
      if (n < p.N && k < p.inF) { v = xd_at(n, k); }
      put_lhs(lid, f.y, f.x, v);
    }
    for (var e = 0u; e < 4u; e++) {
      let idx = flat + e * 64u; let tt = idx % TT; let jj = idx / TT;  // k contiguous in A
      let j = wid.y * TJ + jj; let k = t0 + tt;
      var w = 0.0;
      if (j < p.live_count && k < p.inF) { w = a_at(comp(j), k); }
      put_rhs(lid, jj, tt, w);
    }
    workgroupBarrier();
    acc += tile_dot(lid);
    workgroupBarrier();
  }
  acc = add_slices(lid, acc);
  let j = wid.y * TJ + lid.y;
  if (lid.z != 0u) { return; }
  for (var q = 0u; q < RPT; q++) {
    let n = wid.x * TRR + lid.x * RPT + q;
    if (n < p.N && j < p.live_count) { h[n * p.R0 + j] = acc[q]; }
  }
}

// y[n,o] += scale * sum_j h[n,j] c_j B[o,live_j]. Grid (ceil(outF/32), ceil(N/32)).
@compute @workgroup_size(8, 8)
fn adapter_forward_y(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let flat = lid.y * 8u + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var j0 = 0u; j0 < p.live_count; j0 += TC) {
    for (var e = 0u; e < 8u; e++) {
      let idx = flat + e * 64u;
      let jj = idx % TC; let j = j0 + jj; let row = idx / TC; let col = row;  // j fast in both h and B rows
      let n = wid.y * 32u + row; let o = wid.x * 32u + col;
      var v = 0.0;
      var w = 0.0;
      if (j < p.live_count) {
        let i = comp(j);
        if (n < p.N) { v = h_in[n * p.R0 + j] * coef(i); }
        if (o < p.outF) { w = b_at(o, i); }
      }
      xs[jj][row / 4u][row % 4u] = v;
      ws[jj][col / 4u][col % 4u] = w;
    }
    workgroupBarrier();
    expand_block(&acc, lid, min(TC, p.live_count - j0));
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let n = wid.y * 32u + lid.y * 4u + r;
    for (var c = 0u; c < 4u; c++) {
      let o = wid.x * 32u + lid.x * 4u + c;
      if (n < p.N && o < p.outF) { y[n * p.outF + o] += p.scale * acc[r][c]; }
    }
  }
}

// du[n,j] = sum_o dy[n,o] B[o,live_j] into dh; LoRA (c = 1) writes the final dh = scale * du directly, the
// dynamic method keeps du for dc and backward_dc rescales it. Part grid (ceil(N/TRR), ceil(L/8)).
fn backward_du(lid: vec3<u32>, wid: vec2<u32>) {
  let flat = lid.y * 8u + lid.x;
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < slice_steps(p.outF); s++) {
    let t0 = slice_tile(lid, s);
    for (var e = 0u; e < 4u * RPT; e++) {
      let f = red_fast(lid, e);  // x: o (contiguous in dy), y: n
      let n = wid.x * TRR + f.y; let o = t0 + f.x;
      var v = 0.0;
      if (n < p.N && o < p.outF) { v = dy[n * p.outF + o]; }
      put_lhs(lid, f.y, f.x, v);
    }
    for (var e = 0u; e < 4u; e++) {
      let idx = flat + e * 64u; let jj = idx % TJ; let tt = idx / TJ;  // live columns adjacent in a row of B
      let j = wid.y * TJ + jj; let o = t0 + tt;
      var w = 0.0;
      if (j < p.live_count && o < p.outF) { w = b_at(o, comp(j)); }
      put_rhs(lid, jj, tt, w);
    }
    workgroupBarrier();
    acc += tile_dot(lid);
    workgroupBarrier();
  }
  acc = add_slices(lid, acc);
  if (lid.z != 0u) { return; }
  let j = wid.y * TJ + lid.y;
  let f = select(1.0, p.scale, p.off_c < 0);
  for (var q = 0u; q < RPT; q++) {
    let n = wid.x * TRR + lid.x * RPT + q;
    if (n < p.N && j < p.live_count) { dh[n * p.R0 + j] = f * acc[q]; }
  }
}

// dB[o,live_j] += scale c_j sum_n dy[n,o] h[n,j]. Part grid (ceil(outF/TRR), ceil(L/8)).
fn backward_db(lid: vec3<u32>, wid: vec2<u32>) {
  let flat = lid.y * 8u + lid.x;
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < slice_steps(p.N); s++) {
    let t0 = slice_tile(lid, s);
    for (var e = 0u; e < 4u * RPT; e++) {
      let f = row_fast(lid, e);  // x: o (contiguous in dy), y: n
      let o = wid.x * TRR + f.x; let n = t0 + f.y;
      var v = 0.0;
      if (o < p.outF && n < p.N) { v = dy[n * p.outF + o]; }
      put_lhs(lid, f.x, f.y, v);
    }
    for (var e = 0u; e < 4u; e++) {
      let idx = flat + e * 64u; let jj = idx % TJ; let tt = idx / TJ;  // j contiguous in h
      let j = wid.y * TJ + jj; let n = t0 + tt;
      var w = 0.0;
      if (j < p.live_count && n < p.N) { w = h_in[n * p.R0 + j]; }
      put_rhs(lid, jj, tt, w);
    }
    workgroupBarrier();
    acc += tile_dot(lid);
    workgroupBarrier();
  }
  acc = add_slices(lid, acc);
  let j = wid.y * TJ + lid.y;
  if (lid.z != 0u || j >= p.live_count) { return; }
  let i = comp(j);
  let f = p.scale * coef(i);
  for (var q = 0u; q < RPT; q++) {
    let o = wid.x * TRR + lid.x * RPT + q;
    if (o < p.outF) { grad[p.off_b + o * p.R0 + i] += f * acc[q]; }
  }
}

// Dynamic method only. dc[live_j] += scale sum_n du[n,j] h[n,j], then dh[n,j] = scale c_j du[n,j] in place.
// One workgroup per live column; each lane rescales exactly the elements it summed. Grid (L).
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn adapter_backward_dc(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = wid.x;
  var s = 0.0;
  for (var n = lid.x; n < p.N; n += 256u) { s += dh[n * p.R0 + j] * h_in[n * p.R0 + j]; }
  red[lid.x] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w /= 2u) {
    if (lid.x < w) { red[lid.x] += red[lid.x + w]; }
    workgroupBarrier();
  }
  let i = comp(j);
  if (lid.x == 0u) { grad[u32(p.off_c) + i] += p.scale * red[0]; }
  let f = p.scale * coef(i);
  for (var n = lid.x; n < p.N; n += 256u) { dh[n * p.R0 + j] = f * dh[n * p.R0 + j]; }
}

// dA[live_j,k] += sum_n dh[n,j] xd[n,k]. Part grid (ceil(inF/TRR), ceil(L/8)).
fn backward_da(lid: vec3<u32>, wid: vec2<u32>) {
  let flat = lid.y * 8u + lid.x;
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < slice_steps(p.N); s++) {
    let t0 = slice_tile(lid, s);
    for (var e = 0u; e < 4u * RPT; e++) {
      let f = row_fast(lid, e);  // x: k (contiguous in xd), y: n
      let k = wid.x * TRR + f.x; let n = t0 + f.y;
      var v = 0.0;
      if (k < p.inF && n < p.N) { v = xd_at(n, k); }
      put_lhs(lid, f.x, f.y, v);
    }
    for (var e = 0u; e < 4u; e++) {
      let idx = flat + e * 64u; let jj = idx % TJ; let tt = idx / TJ;  // j contiguous in dh
      let j = wid.y * TJ + jj; let n = t0 + tt;
      var w = 0.0;
      if (j < p.live_count && n < p.N) { w = dh_in[n * p.R0 + j]; }
      put_rhs(lid, jj, tt, w);
    }
    workgroupBarrier();
    acc += tile_dot(lid);
    workgroupBarrier();
  }
  acc = add_slices(lid, acc);
  let j = wid.y * TJ + lid.y;
  if (lid.z != 0u || j >= p.live_count) { return; }
  let row = p.off_a + comp(j) * p.inF;
  for (var q = 0u; q < RPT; q++) {
    let k = wid.x * TRR + lid.x * RPT + q;
    if (k < p.inF) { grad[row + k] += acc[q]; }
  }
}

// dx[n,k] += keep[n,k] drop_scale sum_j dh[n,j] A[live_j,k] (x's gradient through the dropout: what dropout_backward
// adds from dxd; without dropout dx += dxd). Not dispatched when L = 0. Part grid (ceil(inF/32), ceil(N/32)). An
// 8x8 expansion run by a reduction's 8x8xKS workgroup: slice 0 does the work, the others only meet its barriers.
fn backward_dx(lid: vec3<u32>, wid: vec2<u32>) {
  let flat = lid.y * 8u + lid.x;
  let worker = KS == 1u || lid.z == 0u;
  var acc: array<vec4<f32>, 4>;
  for (var j0 = 0u; j0 < p.live_count; j0 += TC) {
    for (var e = 0u; e < 8u && worker; e++) {
      let idx = flat + e * 64u;
      // dh: j fast; A: k fast
      let jx = idx % TC; let row = idx / TC; let n = wid.y * 32u + row;
      var v = 0.0;
      if (n < p.N && j0 + jx < p.live_count) { v = dh_in[n * p.R0 + j0 + jx]; }
      xs[jx][row / 4u][row % 4u] = v;
      let col = idx % 32u; let jw = idx / 32u; let k = wid.x * 32u + col;
      var w = 0.0;
      if (k < p.inF && j0 + jw < p.live_count) { w = a_at(comp(j0 + jw), k); }
      ws[jw][col / 4u][col % 4u] = w;
    }
    workgroupBarrier();
    if (worker) { expand_block(&acc, lid, min(TC, p.live_count - j0)); }
    workgroupBarrier();
  }
  if (!worker) { return; }
  for (var r = 0u; r < 4u; r++) {
    let n = wid.y * 32u + lid.y * 4u + r;
    for (var c = 0u; c < 4u; c++) {
      let k = wid.x * 32u + lid.x * 4u + c;
      let e = n * p.inF + k;
      let kept = p.drop_threshold == 0u || drop_keep(e);
      if (n < p.N && k < p.inF && kept) { dx[e] = dx[e] + acc[r][c] * p.drop_scale; }
    }
  }
}

// Fused dispatches: two independent passes of one backward in one grid, each workgroup running one of them (which,
// from its index alone: workgroup-uniform, so the barriers stay in uniform control flow). The parts' own 2-D grids
// are flattened, the first part's workgroups first, and the flat index runs x fastest over the dispatch's (x, y) grid
// (kernels/adapter.ts adapterPlan); workgroups past both parts return at once.
fn cdiv(a: u32, b: u32) -> u32 { return (a + b - 1u) / b; }
fn flat_group(wid: vec3<u32>, nw: vec3<u32>) -> u32 { return wid.x + wid.y * nw.x; }
// Workgroup g of a part whose grid is gx wide, as that part's (x, y).
fn part_group(g: u32, gx: u32) -> vec2<u32> { return vec2<u32>(g % gx, g / gx); }

// du and db: both read dy, neither the other's output.
@compute @workgroup_size(8, 8, KS)
fn adapter_backward_du_db(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                          @builtin(num_workgroups) nw: vec3<u32>) {
  let ly = cdiv(p.live_count, TJ);
  let du_x = cdiv(p.N, TRR);
  let db_x = cdiv(p.outF, TRR);
  let g = flat_group(wid, nw);
  if (g < du_x * ly) {
    backward_du(lid, part_group(g, du_x));
  } else if (g < (du_x + db_x) * ly) {
    backward_db(lid, part_group(g - du_x * ly, db_x));
  }
}

// da and dx: both read the final dh, neither the other's output.
@compute @workgroup_size(8, 8, KS)
fn adapter_backward_da_dx(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                          @builtin(num_workgroups) nw: vec3<u32>) {
  let da_n = cdiv(p.inF, TRR) * cdiv(p.live_count, TJ);
  let dx_x = cdiv(p.inF, TR);
  let g = flat_group(wid, nw);
  if (g < da_n) {
    backward_da(lid, part_group(g, cdiv(p.inF, TRR)));
  } else if (g < da_n + dx_x * cdiv(p.N, TR)) {
    backward_dx(lid, part_group(g - da_n, dx_x));
  }
}

// Each pass alone, on its own grid: da where the caller has no dx (the bottom of a model), and all four where the
// passes are not fused (CPU emulation, kernels/adapter.ts adapterBackwardFused).
@compute @workgroup_size(8, 8, KS)
fn adapter_backward_du(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  backward_du(lid, wid.xy);
}

@compute @workgroup_size(8, 8, KS)
fn adapter_backward_db(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  backward_db(lid, wid.xy);
}

@compute @workgroup_size(8, 8, KS)
fn adapter_backward_da(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  backward_da(lid, wid.xy);
}

@compute @workgroup_size(8, 8, KS)
fn adapter_backward_dx(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  backward_dx(lid, wid.xy);
}

// Importance of every module's R0 components, one workgroup per module (workgroup m: the slot table's module m, its
// scores at m * R0), for R0 <= MAX_R0 (MAX_IMPORTANCE_R0 in src/ops/adapter.ts).
// The P = R0(R0+1)/2 pairs (i <= j) of the Gram matrices GA = A A^T and GB = B^T B are taken in chunks of at most
// QMAX pairs; each pair's two dot products are split into S = PARTS/Q segments so all lanes work even for small R0,
// and segment partials are added in a fixed order. Per chunk every lane adds c_i c_j GA_ij GB_ij (twice off the
// diagonal) for its pairs to its own running sum, and the diagonals GA_ii, GB_ii are kept. Then
// ||dW||_F^2 = the lanes' sums added in lane order, and ||dW_i|| = |c_i| sqrt(GA_ii GB_ii).
const MAX_R0: u32 = 256u;
const QMAX: u32 = 512u;
const PARTS: u32 = 1024u;
var<workgroup> part: array<f32, 1024>;
var<workgroup> ga: array<f32, 512>;
var<workgroup> gb: array<f32, 512>;
var<workgroup> diag_a: array<f32, 256>;
var<workgroup> diag_b: array<f32, 256>;
var<workgroup> lane_fro: array<f32, 256>;
var<workgroup> fro2: f32;

// The workgroup's module (its row of the slot table): every invocation reads it first.
struct Slot {
  inF: u32,
  outF: u32,
  off_a: u32,
  off_b: u32,
  off_c: i32,
}
const SLOT_FIELDS: u32 = 5u;
var<private> sl: Slot;

fn slot_of(m: u32) -> Slot {
  let r = m * SLOT_FIELDS;
  return Slot(u32(slot_table[r]), u32(slot_table[r + 1u]), u32(slot_table[r + 2u]), u32(slot_table[r + 3u]),
              slot_table[r + 4u]);
}

fn slot_coef(i: u32) -> f32 {
  if (sl.off_c < 0) { return 1.0; }
  return theta[u32(sl.off_c) + i];
}

// Pair q of the upper triangle in row order: (0,0), (0,1), ..., (0,R0-1), (1,1), ...
fn pair_ij(q: u32) -> vec2<u32> {
  var i = 0u;
  var r = q;
  while (r >= p.R0 - i) { r -= p.R0 - i; i++; }
  return vec2<u32>(i, i + r);
}

// Component i's vector element t: a_i[t] = A[i,t], or b_i[t] = B[t,i].
fn vec_elem(is_b: bool, i: u32, t: u32) -> f32 {
  if (is_b) { return theta[sl.off_b + t * p.R0 + i]; }
  return theta[sl.off_a + i * sl.inF + t];
}

// Gram entries of pairs q0 .. q0+Q-1 into ga[0..Q) or gb[0..Q).
fn gram_chunk(lid: u32, is_b: bool, q0: u32, Q: u32) {
  let S = max(1u, PARTS / Q);
  let D = select(sl.inF, sl.outF, is_b);
  let seg = (D + S - 1u) / S;
  for (var task = lid; task < Q * S; task += 256u) {
    let ij = pair_ij(q0 + task / S);
    let s = task % S;
    let t1 = min(D, (s + 1u) * seg);
    var acc = 0.0;
    for (var t = s * seg; t < t1; t++) { acc += vec_elem(is_b, ij.x, t) * vec_elem(is_b, ij.y, t); }
    part[task] = acc;
  }
  workgroupBarrier();
  for (var q = lid; q < Q; q += 256u) {
    var g = 0.0;
    for (var s = 0u; s < S; s++) { g += part[q * S + s]; }
    if (is_b) { gb[q] = g; } else { ga[q] = g; }
  }
  workgroupBarrier();
}

@compute @workgroup_size(256)
fn adapter_importance_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  sl = slot_of(wid.x);
  let P = p.R0 * (p.R0 + 1u) / 2u;
  var f = 0.0;
  for (var q0 = 0u; q0 < P; q0 += QMAX) {
    let Q = min(QMAX, P - q0);
    gram_chunk(lid.x, false, q0, Q);
    gram_chunk(lid.x, true, q0, Q);
    for (var q = lid.x; q < Q; q += 256u) {
      let ij = pair_ij(q0 + q);
      if (ij.x == ij.y) {
        diag_a[ij.x] = ga[q];
        diag_b[ij.x] = gb[q];
        f += slot_coef(ij.x) * slot_coef(ij.x) * ga[q] * gb[q];
      } else {
        f += 2.0 * slot_coef(ij.x) * slot_coef(ij.y) * ga[q] * gb[q];
      }
    }
    // ga/gb and part are rewritten by the next chunk.
    workgroupBarrier();
  }
  lane_fro[lid.x] = f;
  workgroupBarrier();
  if (lid.x == 0u) {
    var t = 0.0;
    for (var l = 0u; l < 256u; l++) { t += lane_fro[l]; }
    fro2 = t;
  }
  workgroupBarrier();
  // Rounding can leave a tiny negative sum when components cancel; the true value is >= 0.
  let denom = sqrt(max(fro2, 0.0)) + 1e-8;
  for (var i = lid.x; i < p.R0; i += 256u) {
    scores[wid.x * p.R0 + i] = abs(slot_coef(i)) * sqrt(diag_a[i] * diag_b[i]) / denom;
  }
}
