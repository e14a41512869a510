// Tiled matmul: out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out]; grid (ceil(N/TILE), ceil(M/TILE), batch).
// Each WGxWG workgroup computes a TILE = RB*WG square output tile, each invocation an RBxRB register block (RB = 4 or
// 8); K advances in steps of TK staged in workgroup memory (2 * TILE * TK * 4 bytes). WG, RB and TK are defines:
// WG 8 / RB 4 / TK 32 (32x32 tiles, 64 invocations) keeps small GPT-2 shapes spread over many workgroups; WG 16 / RB 4
// / TK 32 (64x64, 256 invocations) halves the loads per FMA for wide layers; WG 16 / RB 8 / TK 16 (128x128, 16 KiB
// staged) halves them again: 64 FMAs per 4 shared vec4 loads. sum_rows_forward (the bias gradient) shares the Params.
// {{T}} is the element type of the staged operand tiles and of the products: f32, or f16 for the 'shader-f16' variant
// (matmul.ts setMatmulF16Arithmetic; the module then starts with `enable f16;`), which rounds opA(a) * s and b to f16
// when staged (11 significant bits; s, a power of two from matmul_f16.wgsl, keeps opA(a) in f16's normal range) and
// adds the f16 products to f32 accumulators.

// Params and bindings: matmul_common.wgsl, whose a_base/a_ld etc. give the dense layout (batch entries stride_a
// apart, row stride K or M); or matmul_strided.wgsl (the strided batched variant: leading dimensions and a two-level
// batch, src/gpu/kernels/matmul.ts matmulStrided).

const WGS: u32 = {{WG}}u;
// RV: vec4 columns (and 4-row groups) of one invocation's block.
const RV: u32 = {{RB}}u / 4u;
const TILE: u32 = {{RB}}u * WGS;
// TQ = TILE / 4: vec4s per staged k row. TQA = TQ + PAD_A and TQB = TQ + PAD_B: each operand's row stride in
// workgroup memory. A padded row (1) spreads the scalar staging stores of a k-fast operand, TK consecutive k of one
// m (or n) at stride TQ vec4s, over 8 memory banks instead of 1 (matmul.ts matmulStagingPadFor says which operands get it).
const TQ: u32 = TILE / 4u;
const TQA: u32 = TQ + {{PAD_A}}u;
const TQB: u32 = TQ + {{PAD_B}}u;
const TK: u32 = {{TK}}u;
// Elements of one operand tile each invocation stages: TILE * TK / (WG * WG).
const LOADS: u32 = TILE * TK / (WGS * WGS);
// Accumulators: row r (0..RB) of the block, vec4 column c (0..RV) at acc[r * RV + c].
const NACC: u32 = {{RB}}u * RV;

// as_[k * TQA + m/4][m%4] = opA(a)(m, k); bs[k * TQB + n/4][n%4] = opB(b)(k, n): the inner loop reads RV vec4s of
// each.
var<workgroup> as_: array<vec4<{{T}}>, {{TK}}u * ({{RB}}u * {{WG}}u / 4u + {{PAD_A}}u)>;
var<workgroup> bs: array<vec4<{{T}}>, {{TK}}u * ({{RB}}u * {{WG}}u / 4u + {{PAD_B}}u)>;

// The RBxRB block of alpha-free products of opA(a) * s and opB(b) for invocation lid of workgroup wid; rows lid.y*RB..,
// cols lid.x*RB... s is a_scale() (1 for f32; matmul_f16.wgsl).
fn mm_block(lid: vec3<u32>, wid: vec3<u32>, s: f32) -> array<vec4<f32>, NACC> {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  // wid.z: batch entry and, with split K, which range of k this workgroup sums (k_range).
  let z = entry_of(wid.z);
  let kr = k_range(wid.z);
  let base_a = a_base(z);
  let base_b = b_base(z);
  let lda = a_ld();
  let ldb = b_ld();
  let flat = lid.y * WGS + lid.x;
  let ta = p.trans_a != 0u;
  let tb = p.trans_b != 0u;
  var acc: array<vec4<f32>, NACC>;
  for (var k0 = kr.x; k0 < kr.y; k0 += TK) {
    // TILE*TK elements per operand tile, LOADS per invocation. Consecutive invocations read consecutive addresses of
    // the stored layout (the fast index is k for a row-major a, m for a transposed one; likewise for b).
    for (var e = 0u; e < LOADS; e++) {
      let idx = flat + e * WGS * WGS;
      let am = select(idx / TK, idx % TILE, ta);
      let ak = select(idx % TK, idx / TILE, ta);
      let gm = row0 + am;
      let gk = k0 + ak;
      var av = 0.0;
      if (gm < p.M && gk < kr.y) {
        av = a[base_a + select(gm * lda + gk, gk * lda + gm, ta)];
      }
      as_[ak * TQA + am / 4u][am % 4u] = {{T}}(av * s);

      let bk = select(idx / TILE, idx % TK, tb);
      let bn = select(idx % TILE, idx / TK, tb);
      let gn = col0 + bn;
      let gk2 = k0 + bk;
      var bv = 0.0;
      if (gn < p.N && gk2 < kr.y) {
        bv = b_at(base_b + select(gk2 * ldb + gn, gn * ldb + gk2, tb));
      }
      bs[bk * TQB + bn / 4u][bn % 4u] = {{T}}(bv);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      for (var q = 0u; q < RV; q++) {
        let x = as_[k * TQA + lid.y * RV + q];
        for (var c = 0u; c < RV; c++) {
          let y = bs[k * TQB + lid.x * RV + c];
          acc[(q * 4u) * RV + c] += vec4<f32>(x.x * y);
          acc[(q * 4u + 1u) * RV + c] += vec4<f32>(x.y * y);
          acc[(q * 4u + 2u) * RV + c] += vec4<f32>(x.z * y);
          acc[(q * 4u + 3u) * RV + c] += vec4<f32>(x.w * y);
        }
      }
    }
    workgroupBarrier();
  }
  return acc;
}

// Writes the block: alpha * acc + bias (bias4[c4] for vec4 column c4), added to out when accumulating. With split K,
// out is the partial sums' scratch and wid.z (entry * splits + split) picks the partial (matmul_common.wgsl).
fn mm_store(acc: array<vec4<f32>, NACC>, alpha: f32, bias4: array<vec4<f32>, RV>, lid: vec3<u32>, wid: vec3<u32>) {
  let base = out_base(wid.z);
  let ldc = out_ld();
  for (var c4 = 0u; c4 < RV; c4++) {
    let col = wid.x * TILE + lid.x * {{RB}}u + c4 * 4u;
    for (var r = 0u; r < {{RB}}u; r++) {
      let row = wid.y * TILE + lid.y * {{RB}}u + r;
      if (row >= p.M) { break; }
      let v = alpha * acc[r * RV + c4] + bias4[c4];
      for (var c = 0u; c < 4u; c++) {
        if (col + c < p.N) {
          let o = base + row * ldc + col + c;
          out[o] = select(0.0, out[o], p.accumulate != 0u) + v[c];
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
    let col = wid.x * TILE + lid.x * {{RB}}u + c4 * 4u;
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
    for (var r = lid.y; r < p.M; r += 8u) { s += a[r * p.N + col]; }
  }
  rows_part[lid.y][lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < p.N) {
    var t = 0.0;
    for (var i = 0u; i < 8u; i++) { t += rows_part[i][lid.x]; }
    out[col] = select(0.0, out[col], p.accumulate != 0u) + t;
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
  for (var s = 0u; s < n; s++) { t += a[(entry * n + s) * mn + r]; }
  return t;
}

@compute @workgroup_size(256)
fn split_sum_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  let mn = p.M * p.N;
  if (i >= p.K * mn) { return; }
  out[i] = select(0.0, out[i], p.accumulate != 0u) + split_sum(i, mn);
}

@compute @workgroup_size(256)
fn split_sum_bias_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  let mn = p.M * p.N;
  if (i >= p.K * mn) { return; }
  out[i] = select(0.0, out[i], p.accumulate != 0u) + (split_sum(i, mn) + bias[i % p.N]);
}
