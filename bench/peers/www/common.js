// Vendored from shared/peers/www/common.js (the team's peer benchmark, measured in shared/peers/RESULTS.md); unchanged
// below this line. Served as-is by scripts/bench.mjs (bench/peers/lib.mjs), see bench/peers/README.md.
// Shared by all benchmarks: model config, deterministic init (same numbers for every framework),
// data batch, stats helpers, JS matmul reference.
export const CFG = { V: 1024, T: 64, C: 64, L: 2, H: 2, B: 8, R: 8, ALPHA: 16 };

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => { a = (a + 0x6D2B79F5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
export function randn(n, std, seed) {
  const r = mulberry32(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12), v = r(), m = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = m * Math.cos(2 * Math.PI * v); if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}
export function randu(n, lo, hi, seed) { const r = mulberry32(seed), o = new Float32Array(n); for (let i = 0; i < n; i++) o[i] = lo + (hi - lo) * r(); return o; }
const fill = (n, v) => new Float32Array(n).fill(v);

// GPT-2 style parameters: {name: {shape, data}}; names follow HF GPT-2 (Conv1D weights are [in, out]).
export function initParams(cfg = CFG) {
  const { V, T, C, L } = cfg; const P = {}; let seed = 1000;
  const add = (name, shape, data) => { P[name] = { shape, data }; };
  const projStd = 0.02 / Math.sqrt(2 * L);
  add('wte', [V, C], randn(V * C, 0.02, seed++));
  add('wpe', [T, C], randn(T * C, 0.01, seed++));
  for (let l = 0; l < L; l++) {
    const p = `h${l}.`;
    add(p + 'ln_1.g', [C], fill(C, 1)); add(p + 'ln_1.b', [C], fill(C, 0));
    add(p + 'attn.c_attn.w', [C, 3 * C], randn(C * 3 * C, 0.02, seed++)); add(p + 'attn.c_attn.b', [3 * C], fill(3 * C, 0));
    add(p + 'attn.c_proj.w', [C, C], randn(C * C, projStd, seed++)); add(p + 'attn.c_proj.b', [C], fill(C, 0));
    add(p + 'ln_2.g', [C], fill(C, 1)); add(p + 'ln_2.b', [C], fill(C, 0));
    add(p + 'mlp.c_fc.w', [C, 4 * C], randn(C * 4 * C, 0.02, seed++)); add(p + 'mlp.c_fc.b', [4 * C], fill(4 * C, 0));
    add(p + 'mlp.c_proj.w', [4 * C, C], randn(4 * C * C, projStd, seed++)); add(p + 'mlp.c_proj.b', [C], fill(C, 0));
  }
  add('ln_f.g', [C], fill(C, 1)); add('ln_f.b', [C], fill(C, 0));
  return P;
}
// LoRA on c_attn: A [C, r] (kaiming-uniform-like), B [r, 3C] zeros (standard PEFT init).
export function initLora(cfg = CFG) {
  const { C, L, R } = cfg; const P = {}; const bound = 1 / Math.sqrt(C);
  for (let l = 0; l < L; l++) {
    P[`h${l}.attn.c_attn.lora_A`] = { shape: [C, R], data: randu(C * R, -bound, bound, 5000 + l) };
    P[`h${l}.attn.c_attn.lora_B`] = { shape: [R, 3 * C], data: new Float32Array(R * 3 * C) };
  }
  return P;
}
// One fixed batch of random tokens; targets = inputs shifted by one.
export function makeBatch(cfg = CFG, seed = 7) {
  const { V, T, B } = cfg; const r = mulberry32(seed); const seq = new Int32Array(B * (T + 1));
  for (let i = 0; i < seq.length; i++) seq[i] = Math.floor(r() * V);
  const idx = new Int32Array(B * T), tgt = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) { idx[b * T + t] = seq[b * (T + 1) + t]; tgt[b * T + t] = seq[b * (T + 1) + t + 1]; }
  return { idx, tgt };
}
export function median(a) { const s = [...a].sort((x, y) => x - y); const n = s.length; return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN; }
export function stats(a) { return { median: median(a), min: Math.min(...a), max: Math.max(...a), n: a.length }; }
export const r1 = (x, d = 1) => (x == null || !isFinite(x)) ? x : +x.toFixed(d);
export function matmulRef(A, B, M, K, N) {
  const C = new Float32Array(M * N);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) { const a = A[i * K + k]; if (a === 0) continue; const bo = k * N, co = i * N; for (let j = 0; j < N; j++) C[co + j] += a * B[bo + j]; }
  return C;
}
export function maxAbsErr(x, ref) { let e = 0, m = 0; for (let i = 0; i < ref.length; i++) { e = Math.max(e, Math.abs(x[i] - ref[i])); m = Math.max(m, Math.abs(ref[i])); } return { maxAbs: e, maxRef: m }; }
// FLOPs of one training step (matmuls only, 2*M*K*N; backward = 2x forward for full, see report).
export function modelFlops(cfg = CFG) {
  const { V, T, C, L, H, B } = cfg; const BT = B * T, hd = C / H;
  const lin = 2 * BT * (C * 3 * C + C * C + C * 4 * C + 4 * C * C) * L;
  const att = 2 * 2 * B * H * T * T * hd * L;
  const head = 2 * BT * C * V;
  return { fwd: lin + att + head, lin, att, head };
}
