// Tiled matmul with f16 arithmetic, for a frozen f16 weight b on devices with 'shader-f16' (opt-in: matmul.ts
// setMatmulF16Arithmetic): matmul.wgsl's tiling and grid, with both operand tiles staged in workgroup memory as
// vec4<f16> (half the bytes) and every product computed in f16, then added to f32 accumulators. opA(a) is rounded to
// f16 when staged (11 significant bits; magnitudes past 65504 become inf): the precision this variant trades for speed.
// The module starts with `enable f16;` (ShaderSource.enables). Params, bindings and b_at: matmul_common.wgsl, with
// B_F16 true.

const TV: u32 = {{WG}}u;
const TILE: u32 = 4u * TV;
const TK: u32 = 32u;
const LOADS: u32 = 128u / TV;

var<workgroup> as_: array<vec4<f16>, 32u * {{WG}}u>;
var<workgroup> bs: array<vec4<f16>, 32u * {{WG}}u>;

fn mm_block(lid: vec3<u32>, wid: vec3<u32>) -> array<vec4<f32>, 4> {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let base_a = wid.z * p.stride_a;
  let base_b = wid.z * p.stride_b;
  let flat = lid.y * TV + lid.x;
  let ta = p.trans_a != 0u;
  let tb = p.trans_b != 0u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var e = 0u; e < LOADS; e++) {
      let idx = flat + e * TV * TV;
      let am = select(idx / TK, idx % TILE, ta);
      let ak = select(idx % TK, idx / TILE, ta);
      let gm = row0 + am;
      let gk = k0 + ak;
      var av = 0.0;
      if (gm < p.M && gk < p.K) {
        av = a[base_a + select(gm * p.K + gk, gk * p.M + gm, ta)];
      }
      as_[ak * TV + am / 4u][am % 4u] = f16(av);

      let bk = select(idx / TILE, idx % TK, tb);
      let bn = select(idx % TILE, idx / TK, tb);
      let gn = col0 + bn;
      let gk2 = k0 + bk;
      var bv = 0.0;
      if (gn < p.N && gk2 < p.K) {
        bv = b_at(base_b + select(gk2 * p.N + gn, gn * p.K + gk2, tb));
      }
      bs[bk * TV + bn / 4u][bn % 4u] = f16(bv);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let x = as_[k * TV + lid.y];
      let y = bs[k * TV + lid.x];
      acc[0] += vec4<f32>(x.x * y);
      acc[1] += vec4<f32>(x.y * y);
      acc[2] += vec4<f32>(x.z * y);
      acc[3] += vec4<f32>(x.w * y);
    }
    workgroupBarrier();
  }
  return acc;
}

fn mm_store(acc: array<vec4<f32>, 4>, bias4: vec4<f32>, lid: vec3<u32>, wid: vec3<u32>) {
  let col = wid.x * TILE + lid.x * 4u;
  let base = wid.z * p.stride_out;
  for (var r = 0u; r < 4u; r++) {
    let row = wid.y * TILE + lid.y * 4u + r;
    if (row >= p.M) { return; }
    let v = p.alpha * acc[r] + bias4;
    for (var c = 0u; c < 4u; c++) {
      if (col + c < p.N) {
        let o = base + row * p.N + col + c;
        out[o] = select(0.0, out[o], p.accumulate != 0u) + v[c];
      }
    }
  }
}

@compute @workgroup_size({{WG}}, {{WG}})
fn matmul_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  mm_store(mm_block(lid, wid), vec4<f32>(0.0), lid, wid);
}

@compute @workgroup_size({{WG}}, {{WG}})
fn matmul_bias_forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let acc = mm_block(lid, wid);
  let col = wid.x * TILE + lid.x * 4u;
  var bias4 = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (col + c < p.N) { bias4[c] = bias[col + c]; }
  }
  mm_store(acc, bias4, lid, wid);
}
