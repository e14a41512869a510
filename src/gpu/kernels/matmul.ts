// Launchers for shaders/matmul.wgsl and matmul_flat.wgsl. The GPU design: a 32x32 output tile per 8x8 workgroup (or
// 64x64 per 16x16), a 4x4 register block per invocation and K staged through workgroup memory in steps of 32, the
// tfjs/WebGPU-samples shape: 16 FMAs per pair of shared vec4 loads, and small enough tiles that GPT-2-tiny sizes
// (M=128, N=64..192) still fill many workgroups; a 128x128 variant with 8x8 blocks (64 FMAs per 4 loads), which
// the fixed rule takes only after setMatmulLargeTile(128). Under 'auto', a shape that kernel tuning timed on this
// device (src/gpu/tune.ts) takes the tile measured fastest; the others take the rule. Bounds checks in the tile loads/stores let any M, K, N through one
// pipeline per tile size; shapes, transpositions, alpha and accumulate are uniform params. Grid (N/T, M/T, batch).
// Under CPU emulation that design loses to barrier-free code compiled per shape (the way jax-js generates its
// kernels), so there the flat kernel runs instead (MatmulTiling).

import code from '../../../shaders/matmul.wgsl?raw';
import aScalar from '../../../shaders/matmul_a.wgsl?raw';
import aVec4 from '../../../shaders/matmul_a_vec4.wgsl?raw';
import bScalar from '../../../shaders/matmul_b.wgsl?raw';
import bVec4 from '../../../shaders/matmul_b_vec4.wgsl?raw';
import common from '../../../shaders/matmul_common.wgsl?raw';
import f16Scale from '../../../shaders/matmul_f16.wgsl?raw';
import f32Scale from '../../../shaders/matmul_f32.wgsl?raw';
import flatCode from '../../../shaders/matmul_flat.wgsl?raw';
import stridedPrelude from '../../../shaders/matmul_strided.wgsl?raw';
import type { MatmulParams } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';
import type { ShaderSource } from '../shader';
import { ABSMAX_PARTS, absMaxParts } from './reduce';

// Params and layout, then the operands as f32 elements (matmul_a.wgsl, matmul_b.wgsl).
const prelude = `${common}\n${aScalar}\n${bScalar}`;
const shader = { name: 'matmul', code, prelude: `${prelude}\n${f32Scale}` };
const flatShader = { name: 'matmul_flat', code: flatCode, prelude };

/** The tiled kernel's module for its operand bindings: a and an f32 b as vec4 arrays or as elements, and f32 or (T =
 * f16) f16 operand tiles and products, opA(a) scaled into f16's range (matmul_f16.wgsl). One ShaderSource per
 * combination, so each has its own name in the pipeline cache: matmul, matmul_strided or matmul_f16, with the vec4
 * operands in brackets ("matmul[a4,b4]"), which kernel profiles group under the plain name. */
const tiledShaders = new Map<string, ShaderSource>();
function tiledShader(f16: boolean, vecA: boolean, vecB: boolean, strided = false): ShaderSource {
  const vec = [vecA ? 'a4' : '', vecB ? 'b4' : ''].filter(Boolean).join(',');
  const name = `matmul${strided ? '_strided' : ''}${f16 ? '_f16' : ''}${vec ? `[${vec}]` : ''}`;
  let s = tiledShaders.get(name);
  if (!s) {
    const operands = `${vecA ? aVec4 : aScalar}\n${vecB ? bVec4 : bScalar}`;
    // The strided layout brings its own Params and scale (matmul_strided.wgsl: f32 only).
    const prelude = strided ? `${stridedPrelude}\n${operands}` : `${common}\n${operands}\n${f16 ? f16Scale : f32Scale}`;
    s = { name, code, prelude, ...(f16 ? { enables: ['f16'] as const } : {}) };
    tiledShaders.set(name, s);
  }
  return s;
}

/** With an f16 weight as b on a device with 'shader-f16', the tiled kernels multiply in f16 (accumulating in f32):
 * shaders/matmul.wgsl with T = f16, opA(a) scaled by a power of two into f16's range first (one more dispatch finds
 * max |a|: shaders/matmul_f16.wgsl). Off by default: it also rounds the activations to f16. Without the feature, or under CPU
 * emulation (the flat kernel), f16 weights are unpacked to f32 and the arithmetic stays f32 whatever this says. */
let f16Arithmetic = false;
export function setMatmulF16Arithmetic(on: boolean): void {
  f16Arithmetic = on;
}

/** Whether matmul(…, b, …) takes the f16 variant of shaders/matmul.wgsl (see setMatmulF16Arithmetic). */
export function usesF16Arithmetic(ctx: GpuContext, b: GpuTensor, tile: Tile): boolean {
  return f16Arithmetic && ctx.shaderF16 && b.dtype === 'f16' && tile !== 'flat';
}

/** Which kernel the matmul uses. On GPUs, a square output tile staged through workgroup memory: 32x32 (WG 8) or
 * 64x64 (WG 16) with a 4x4 block per invocation; 'auto' takes 64 once the output has 64 such tiles, small models keep
 * the small tiles that spread their few rows over more workgroups. 128 (WG 16, an 8x8 block per invocation, K steps
 * of 16) halves the shared-memory loads per FMA again; the rule takes it (for outputs of 64 such tiles) only after
 * setMatmulLargeTile(128): on a real GPU it wins on wide outputs and loses on square layers, so kernel tuning picks
 * it per shape. On CPU-emulated adapters (ctx.barrierFree), 'flat':
 * shaders/matmul_flat.wgsl, barrier-free and compiled per shape. Measurements behind the choices: docs/design.md.
 * Settable for benchmarks and tests. */
export type MatmulTiling = 'auto' | 32 | 64 | 128 | 'flat';
type Tile = 32 | 64 | 128 | 'flat';
let tiling: MatmulTiling = 'auto';
export function setMatmulTiling(t: MatmulTiling): void {
  tiling = t;
}

/** Defines of shaders/matmul.wgsl per tile: workgroup side, register block, K step. */
const TILED = {
  32: { WG: 8, RB: 4, TK: 32 },
  64: { WG: 16, RB: 4, TK: 32 },
  128: { WG: 16, RB: 8, TK: 16 },
} as const;

/** Shapes compiled into their own flat pipeline, per device. A model has a handful (its layer widths at the batch
 * shape); past the limit a shape takes the one generic flat pipeline, so odd shapes cannot pile up compilations. */
let flatShapeLimit = 64;
const flatShapes = new WeakMap<GpuContext, Set<string>>();
/** For tests: 0 sends every shape to the generic flat pipeline. */
export function setFlatShapeLimit(n: number): void {
  flatShapeLimit = n;
}

const MAX_GROUPS = 65535;

/** The largest tile the rule takes on GPUs: 64, since 128 is no faster over a whole step (tuning takes it per shape);
 * BENCH_LARGE_TILE=128 makes npm run bench:gpu time the steps with 128. */
let largeTile: 64 | 128 = 64;
export function setMatmulLargeTile(t: 64 | 128): void {
  largeTile = t;
}
export function matmulLargeTile(): 64 | 128 {
  return largeTile;
}

/** The kernel a matmul with an M x N output (batch entries) takes under the current settings. */
export function matmulTileFor(ctx: Pick<GpuContext, 'barrierFree'>, M: number, N: number, batch: number): Tile {
  const flatFits = Math.ceil((Math.ceil(M / 8) * Math.ceil(N / 8)) / 64) <= MAX_GROUPS;
  if (tiling === 'flat' && flatFits) return 'flat';
  if (tiling === 32 || tiling === 64 || tiling === 128) return tiling;
  if (tiling === 'auto' && ctx.barrierFree && flatFits) return 'flat';
  const tiles = (t: number) => Math.ceil(M / t) * Math.ceil(N / t) * batch;
  if (largeTile === 128 && tiles(128) >= 64) return 128;
  return tiles(64) >= 64 ? 64 : 32;
}

/** The flat kernel's placeholders: the shape as literals while under the limit, else the uniform fields. */
function flatDefines(ctx: GpuContext, values: number[]): Record<string, string> {
  const [M, K, N, ta, tb, sa, sb, so] = values;
  const key = values.slice(0, 8).join(',');
  let seen = flatShapes.get(ctx);
  if (!seen) flatShapes.set(ctx, (seen = new Set()));
  if (!seen.has(key) && seen.size < flatShapeLimit) seen.add(key);
  if (!seen.has(key)) {
    return {
      M: 'p.M',
      K: 'p.K',
      N: 'p.N',
      TA: '(p.trans_a != 0u)',
      TB: '(p.trans_b != 0u)',
      SA: 'p.stride_a',
      SB: 'p.stride_b',
      SO: 'p.stride_out',
    };
  }
  return {
    M: `${M}u`,
    K: `${K}u`,
    N: `${N}u`,
    TA: String(ta === 1),
    TB: String(tb === 1),
    SA: `${sa}u`,
    SB: `${sb}u`,
    SO: `${so}u`,
  };
}
const FORMAT = 'uuuuuuuuufuu';

/** The flat kernel reads an f16 b a word (two elements) at a time when no pair straddles a word: a transposed b with
 * K even (pairs along k), or a row-major one with N a multiple of 8 (pairs along n); matmul_flat.wgsl ld_b2. */
function flatPairs(b: GpuTensor, p: MatmulParams): boolean {
  if (b.dtype !== 'f16') return false;
  return p.transB ? p.K % 2 === 0 : p.N % 8 === 0;
}

function need(t: GpuTensor, n: number, what: string): void {
  if (t.size < n) throw new Error(`matmul: ${what} (${t.label}) has ${t.size} elements, needs ${n}`);
}

/** out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out if p.accumulate] (see MatmulParams). */
export function matmul(
  ctx: GpuContext,
  out: GpuTensor,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | null,
  p: MatmulParams,
): void {
  const { M, K, N } = p;
  const batch = p.batch ?? 1;
  need(out, batch * M * N, 'out');
  need(a, batch * M * K, 'a');
  need(b, p.broadcastB ? K * N : batch * K * N, 'b');
  if (bias) need(bias, N, 'bias');
  const values = paramValues(p);
  dispatchMatmul(ctx, out, a, b, bias, p, values, kernelOf(ctx, out, a, b, bias, p));
}

/** A matmul kernel: the tile (or 'flat') and, for the tiled kernel, whether it prefetches the next K tile. */
export interface MatmulKernel {
  tile: Tile;
  prefetch: boolean;
}
/** A tiled kernel, as kernel tuning times and chooses them per shape. */
export interface TiledKernel extends MatmulKernel {
  tile: TiledTile;
}
/** "64", "128+prefetch", "flat": a kernel's name in tuning reports. */
export function matmulKernelName(k: MatmulKernel): string {
  return `${k.tile}${k.prefetch && k.tile !== 'flat' ? '+prefetch' : ''}`;
}

/** The kernel of this call: under 'auto' on a GPU, the one tuneMatmuls measured fastest for its shape on this device,
 * else matmulTileFor's rule with the prefetch setting; while a step is recorded for tuning, its shape is noted. */
function kernelOf(
  ctx: GpuContext,
  out: GpuTensor,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | null,
  p: MatmulParams,
): MatmulKernel {
  const rule = { tile: matmulTileFor(ctx, p.M, p.N, p.batch ?? 1), prefetch };
  if (tiling !== 'auto' || ctx.barrierFree) return rule;
  const table = tunedKernels.get(ctx),
    noted = recording.get(ctx);
  if (!table && !noted) return rule;
  const key = matmulShapeKey(p, b.dtype, bias !== null);
  if (noted) {
    const seen = noted.get(key);
    if (seen) seen.calls++;
    else noted.set(key, { key, p: { ...p }, out: out.size, a, b, bias, calls: 1 });
  }
  return table?.get(key) ?? rule;
}

/** The kernel a matmul of these params takes on ctx now (tuned, or the rule's tile with the prefetch setting),
 * without noting it. */
export function matmulKernelFor(
  ctx: GpuContext,
  p: MatmulParams,
  bDtype: GpuTensor['dtype'],
  bias: boolean,
): MatmulKernel {
  const tuned =
    tiling === 'auto' && !ctx.barrierFree ? tunedKernels.get(ctx)?.get(matmulShapeKey(p, bDtype, bias)) : null;
  return tuned ?? { tile: matmulTileFor(ctx, p.M, p.N, p.batch ?? 1), prefetch };
}

/** One matmul call as tuneMatmuls replays it: its params and operands (read only), and the size of its output. */
export interface NotedMatmul {
  key: string;
  p: MatmulParams;
  out: number;
  a: GpuTensor;
  b: GpuTensor;
  bias: GpuTensor | null;
  /** Calls of this shape in the noted work. */
  calls: number;
}

/** Kernels measured per shape on a device (tuneMatmuls), and the shapes of a step being recorded for tuning. */
const tunedKernels = new WeakMap<GpuContext, Map<string, TiledKernel>>();
const recording = new WeakMap<GpuContext, Map<string, NotedMatmul>>();
export type TiledTile = 32 | 64 | 128;

/** What identifies a matmul for tuning: everything that changes its kernel's work. */
function matmulShapeKey(p: MatmulParams, bDtype: GpuTensor['dtype'], bias: boolean): string {
  const flags = `${p.transA ? 'A' : ''}${p.transB ? 'B' : ''}${p.broadcastB ? 'b' : ''}${p.accumulate ? '+' : ''}`;
  return `${p.batch ?? 1}x${p.M}x${p.K}x${p.N}${flags}${bias ? ' bias' : ''} ${bDtype}`;
}

/** Starts noting the distinct matmul shapes ctx runs under 'auto' tiling (until takeNotedMatmuls). */
export function noteMatmuls(ctx: GpuContext): void {
  recording.set(ctx, new Map());
}

/** The shapes noted since noteMatmuls, and stops noting. */
export function takeNotedMatmuls(ctx: GpuContext): NotedMatmul[] {
  const noted = [...(recording.get(ctx)?.values() ?? [])];
  recording.delete(ctx);
  return noted;
}

/** Sets (or with null forgets) the measured kernel of a shape key on this device. */
export function setTunedKernel(ctx: GpuContext, key: string, kernel: TiledKernel | null): void {
  let table = tunedKernels.get(ctx);
  if (!table) tunedKernels.set(ctx, (table = new Map()));
  if (kernel === null) table.delete(key);
  else table.set(key, kernel);
}

/** The measured kernels of this device, by shape key. */
export function tunedMatmulKernels(ctx: GpuContext): ReadonlyMap<string, TiledKernel> {
  return tunedKernels.get(ctx) ?? new Map();
}

/** Records a noted matmul with the given kernel into `out` (tuneMatmuls' timing; out is scratch of noted.out
 * elements). */
export function replayMatmul(ctx: GpuContext, noted: NotedMatmul, out: GpuTensor, kernel: TiledKernel): void {
  dispatchMatmul(ctx, out, noted.a, noted.b, noted.bias, noted.p, paramValues(noted.p), kernel);
}

/** The grid of a tiled matmul fits the device (tuneMatmuls skips tiles whose grid does not). */
export function tileFits(ctx: GpuContext, p: MatmulParams, tile: TiledTile): boolean {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  return Math.ceil(p.N / tile) <= max && Math.ceil(p.M / tile) <= max && (p.batch ?? 1) <= max;
}

function paramValues(p: MatmulParams): number[] {
  const { M, K, N } = p;
  return [
    M,
    K,
    N,
    p.transA ? 1 : 0,
    p.transB ? 1 : 0,
    M * K,
    p.broadcastB ? 0 : K * N,
    M * N,
    p.accumulate ? 1 : 0,
    p.alpha ?? 1,
    1,
    K,
  ];
}

/** Split K: when a matmul's output has too few tiles to fill a GPU but K is long (the LM head's input gradient: 320
 * rows x 768 columns summed over a 50,257-word vocabulary gives 60 64x64 tiles), the tiled kernel sums ranges of k in
 * separate workgroups into partials, and a second pass adds them in a fixed order. 'auto' splits an output of fewer
 * than SPLIT_GROUPS 64x64 tiles into up to SPLIT_GROUPS workgroups, at least SPLIT_MIN_K of k each. The split
 * depends on the shape only, never on the tile, so every tile sums the same ranges in the same order (tuning keeps
 * results). Settable for benchmarks and tests: 'off', or a fixed count of splits. */
export type MatmulSplitK = 'auto' | 'off' | number;
let splitK: MatmulSplitK = 'auto';
export function setMatmulSplitK(s: MatmulSplitK): void {
  splitK = s;
}
const SPLIT_GROUPS = 256;
/** Least k per split: shorter splits cost more than the idle SMs they fill (docs/design.md, "Split K"). */
const SPLIT_MIN_K = 2048;
/** k per split is a multiple of every tile's K step (TILED[t].TK). */
const SPLIT_ALIGN = 32;

/** How the tiled kernel splits K for this shape: splits (1 = none) and k per split. */
export function matmulSplitFor(M: number, K: number, N: number, batch: number): { splits: number; kSplit: number } {
  const groups = Math.ceil(M / 64) * Math.ceil(N / 64) * batch;
  let want = 1;
  if (typeof splitK === 'number') want = Math.max(1, Math.floor(splitK));
  else if (splitK === 'auto' && groups < SPLIT_GROUPS)
    want = Math.min(Math.ceil(SPLIT_GROUPS / groups), Math.floor(K / SPLIT_MIN_K));
  if (want <= 1) return { splits: 1, kSplit: K };
  const kSplit = Math.ceil(Math.ceil(K / want) / SPLIT_ALIGN) * SPLIT_ALIGN;
  return { splits: Math.ceil(K / kSplit), kSplit };
}

/** Workgroup-memory padding of the tiled kernel's staged rows (shaders/matmul.wgsl PAD_A, PAD_B). Staging a k-fast
 * operand stores TK consecutive k of one row into one memory bank, which a real GPU serialises (up to 32-way); a row
 * padded by one vec4 spreads them over 8 banks. 'auto' pads a transposed b only (the nn.Linear layout of
 * Llama-family weights): padding a row-major a as well measured slower on a real GPU (docs/design.md, "Padded staging
 * rows"). 'both' pads a row-major a too, 'none' neither (for benchmarks). Taken only where the padded tiles fit the device's workgroup
 * memory. */
export type MatmulStagingPad = 'auto' | 'both' | 'none';
let stagingPad: MatmulStagingPad = 'auto';
export function setMatmulStagingPad(pad: MatmulStagingPad): void {
  stagingPad = pad;
}
/** The staging pads (shaders/matmul.wgsl PAD_A, PAD_B) of a tile under the current setting, on a device whose
 * workgroup memory is limitBytes (maxComputeWorkgroupStorageSize): none where the padded tiles would not fit. */
export function matmulStagingPadFor(
  limitBytes: number,
  tile: TiledTile,
  f16: boolean,
  transA: boolean,
  transB: boolean,
): { PAD_A: 0 | 1; PAD_B: 0 | 1 } {
  const padA = stagingPad === 'both' && !transA ? 1 : 0;
  const padB = stagingPad !== 'none' && transB ? 1 : 0;
  const t = TILED[tile];
  const vec4Bytes = f16 ? 8 : 16;
  const bytes = t.TK * (2 * ((t.RB * t.WG) / 4) + padA + padB) * vec4Bytes;
  return bytes <= limitBytes ? { PAD_A: padA, PAD_B: padB } : { PAD_A: 0, PAD_B: 0 };
}

/** Vector loads of the tiled kernel (shaders/matmul.wgsl VA, VB): an operand whose stored rows (the fast dimension:
 * K for a row-major a, M for a transposed one, N for a row-major b, K for a transposed one) are a multiple of 4 long
 * is read 4 elements per load, as one vec4 (an f32 a or b: matmul_a_vec4.wgsl, matmul_b_vec4.wgsl) or two words (an
 * f16 weight); then each vec4 lies wholly inside or outside every bound, since tiles, K steps and split ranges start at
 * multiples of 4. Other operands are read an element at a time. On by default (a quarter of the load instructions for
 * the same bytes); settable for benchmarks and tests. */
let vectorLoads = true;
export function setMatmulVectorLoads(on: boolean): void {
  vectorLoads = on;
}
/** Elements per global load of a and of b in the tiled kernel for these params (1 or 4; see setMatmulVectorLoads). */
export function matmulVectorLoadsFor(p: MatmulParams): { VA: 1 | 4; VB: 1 | 4 } {
  const aRow = p.transA ? p.M : p.K;
  const bRow = p.transB ? p.K : p.N;
  return { VA: vectorLoads && aRow % 4 === 0 ? 4 : 1, VB: vectorLoads && bRow % 4 === 0 ? 4 : 1 };
}

/** Prefetch in the tiled kernel (shaders/matmul.wgsl PREFETCH): the next K tile's global loads are issued before the
 * current tile's products, a software pipeline that hides load latency at the cost of registers. The rule leaves it
 * off until a real GPU has timed it (npm run bench:gpu's "prefetch" columns); kernel tuning times the 64 and 128
 * tiles with it per shape. Settable for benchmarks and tests. */
let prefetch = false;
export function setMatmulPrefetch(on: boolean): void {
  prefetch = on;
}

function dispatchMatmul(
  ctx: GpuContext,
  out: GpuTensor,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | null,
  p: MatmulParams,
  values: number[],
  kernel: MatmulKernel,
): void {
  const { M, K, N } = p;
  const { tile } = kernel;
  const batch = p.batch ?? 1;
  // A frozen f16 weight as b: the same kernels, reading b through unpack2x16float (matmul_common.wgsl).
  const half = b.dtype === 'f16';
  const B_F16 = String(half),
    B_ELEM = half ? 'u32' : 'f32';
  const entry = (t: GpuTensor | null) => (t ? 'matmul_bias_forward' : 'matmul_forward');
  // The bias-free entry point does not declare the bias binding, so no placeholder buffer is needed.
  const bindings = (o: GpuTensor, t: GpuTensor | null) => (t ? [undefined, o, a, b, t] : [undefined, o, a, b]);
  if (tile === 'flat') {
    const blocks = Math.ceil(M / 8) * Math.ceil(N / 8);
    ctx.dispatch({
      shader: flatShader,
      entry: entry(bias),
      bindings: bindings(out, bias),
      params: { format: FORMAT, values },
      defines: { ...flatDefines(ctx, values), B_F16, B_ELEM, B_PAIRS: String(flatPairs(b, p)) },
      workgroups: [Math.ceil(blocks / 64), 1, batch],
    });
    return;
  }
  const f16 = usesF16Arithmetic(ctx, b, tile);
  const { VA, VB } = matmulVectorLoadsFor(p);
  const dims = {
    ...TILED[tile],
    ...matmulStagingPadFor(ctx.limits.maxComputeWorkgroupStorageSize, tile, f16, !!p.transA, !!p.transB),
    B_F16,
    B_ELEM,
    T: f16 ? 'f16' : 'f32',
    VA,
    VB,
    PREFETCH: String(kernel.prefetch),
  };
  // An f16 weight's 4-element loads are two words of the element binding (matmul_b.wgsl b4_at).
  const tiled = tiledShader(f16, VA === 4, VB === 4 && !half);
  const { splits, kSplit } = matmulSplitFor(M, K, N, batch);
  // With split K the tiled pass writes partials (no bias, not accumulated) to scratch; splitSum finishes.
  const part = splits > 1 ? ctx.tensor([batch * splits * M * N], 'f32', 'matmul split-K partials', false) : null;
  const first = part
    ? { out: part, bias: null, values: [...values.slice(0, 8), 0, values[9], splits, kSplit] }
    : { out, bias, values };
  const workgroups: [number, number, number] = [Math.ceil(N / tile), Math.ceil(M / tile), batch * splits];
  if (!f16) {
    ctx.dispatch({
      shader: tiled,
      entry: entry(first.bias),
      bindings: bindings(first.out, first.bias),
      params: { format: FORMAT, values: first.values },
      defines: dims,
      workgroups,
    });
  } else {
    // max |a| as partial maxima, from which the kernel scales opA(a) into f16's range (shaders/matmul_f16.wgsl).
    const absmax = ctx.tensor([ABSMAX_PARTS], 'f32', 'matmul f16 a absmax', false);
    absMaxParts(ctx, absmax, a, batch * M * K);
    ctx.dispatch({
      shader: tiled,
      entry: entry(first.bias),
      bindings: [undefined, first.out, a, b, first.bias ?? undefined, absmax],
      params: { format: FORMAT, values: first.values },
      defines: { ...dims, A_PARTS: ABSMAX_PARTS },
      workgroups,
    });
    // Later work runs after this dispatch, so the scratch can go back to the pool now (as reduce.ts does).
    ctx.release(absmax);
  }
  if (part) {
    splitSum(ctx, out, part, bias, { M, N, batch, splits, accumulate: p.accumulate ?? false });
    ctx.release(part);
  }
}

/** The tiled module's other placeholders for its helper passes (split sum, sumRows), which read f32 a by element. */
const SCALAR_DEFINES = { PAD_A: 0, PAD_B: 0, B_F16: 'false', B_ELEM: 'f32', T: 'f32', VA: 1, VB: 1, PREFETCH: 'false' };

/** Split K's second pass: out (+)= [bias +] the partials summed in split order (shaders/matmul.wgsl split_sum). */
function splitSum(
  ctx: GpuContext,
  out: GpuTensor,
  part: GpuTensor,
  bias: GpuTensor | null,
  s: { M: number; N: number; batch: number; splits: number; accumulate: boolean },
): void {
  const groups = Math.ceil((s.batch * s.M * s.N) / 256);
  const x = Math.min(groups, MAX_GROUPS);
  ctx.dispatch({
    shader,
    entry: bias ? 'split_sum_bias_forward' : 'split_sum_forward',
    bindings: bias ? [undefined, out, part, undefined, bias] : [undefined, out, part],
    params: { format: FORMAT, values: [s.M, s.batch, s.N, 0, 0, 0, 0, 0, s.accumulate ? 1 : 0, 1, s.splits, 0] },
    defines: { ...TILED[64], ...SCALAR_DEFINES },
    workgroups: [x, Math.ceil(groups / x), 1],
  });
}

/** out(N) (+)= sum over the M rows of x(M,N): the bias gradient, a fixed-order (deterministic) column reduction. */
export function sumRows(ctx: GpuContext, out: GpuTensor, x: GpuTensor, M: number, N: number, accumulate = false): void {
  need(out, N, 'out');
  need(x, M * N, 'x');
  ctx.dispatch({
    shader,
    entry: 'sum_rows_forward',
    defines: { ...TILED[32], ...SCALAR_DEFINES },
    bindings: [undefined, out, x],
    params: { format: FORMAT, values: [M, 0, N, 0, 0, 0, 0, 0, accumulate ? 1 : 0, 1, 1, 0] },
    workgroups: [Math.ceil(N / 32)],
  });
}

/** One operand of matmulStrided: the stored matrix of batch entry z = (z / heads, z % heads) starts at
 * base + floor(z / heads) * s1 + floor((z % heads) / group) * s2, and its rows are ld elements apart. */
export interface StridedOperand {
  t: GpuTensor;
  /** Elements between consecutive rows of the stored matrix (of the transposed one when transposed). */
  ld: number;
  /** Start of batch entry 0 (default 0). */
  base?: number;
  /** Elements between outer batch entries (default 0). */
  s1?: number;
  /** Elements between inner batch entries, after dividing by group (default 0). */
  s2?: number;
  /** Inner entries that share one matrix, e.g. query heads per kv head (default 1). */
  group?: number;
}

/** out = alpha * opA(a) @ opB(b) [+ out] for each of `batch` entries, operands at strides (StridedOperand). */
export interface StridedMatmul {
  M: number;
  K: number;
  N: number;
  /** Batch entries; a multiple of heads. */
  batch: number;
  /** Inner batch size: entry z is (z / heads, z % heads). */
  heads: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  alpha?: number;
  /** Tile of shaders/matmul.wgsl; the GPU rule's tile (matmulTileFor) when absent. */
  tile?: TiledTile;
  a: StridedOperand;
  b: StridedOperand;
  out: StridedOperand;
}

const STRIDED_FORMAT = `${'u'.repeat(6)}f${'u'.repeat(16)}`;

/** Throws unless every entry's stored rows x cols matrix of operand o lies inside its buffer and o is well formed. */
function checkStrided(o: StridedOperand, rows: number, cols: number, s: StridedMatmul, what: string): void {
  const g = o.group ?? 1;
  if (!Number.isInteger(g) || g < 1) throw new Error(`matmulStrided: ${what} group ${g}`);
  if (o.ld < cols) throw new Error(`matmulStrided: ${what} ld ${o.ld} < ${cols} columns`);
  const last =
    (o.base ?? 0) +
    (s.batch / s.heads - 1) * (o.s1 ?? 0) +
    Math.floor((s.heads - 1) / g) * (o.s2 ?? 0) +
    (rows - 1) * o.ld +
    cols;
  if (o.t.size < last) throw new Error(`matmulStrided: ${what} (${o.t.label}) has ${o.t.size} elements, needs ${last}`);
}

/** Elements per global load of each operand of a strided matmul (see setMatmulVectorLoads): 4 where the stored rows'
 * length, the row stride and every offset of the operand are multiples of 4, so every 4-element load is one aligned
 * vec4 wholly inside or outside the bounds. */
export function stridedVectorLoads(s: StridedMatmul): { VA: 1 | 4; VB: 1 | 4 } {
  const aligned = (o: StridedOperand, row: number) =>
    vectorLoads && [row, o.ld, o.base ?? 0, o.s1 ?? 0, o.s2 ?? 0].every((x) => x % 4 === 0);
  return { VA: aligned(s.a, s.transA ? s.M : s.K) ? 4 : 1, VB: aligned(s.b, s.transB ? s.K : s.N) ? 4 : 1 };
}

/** The strided batched matmul (shaders/matmul_strided.wgsl with the tiled kernel of matmul.wgsl): for attention's
 * per-head products over views of (B,T,C) buffers. Always the tiled kernel, whatever the adapter; not tuned. */
export function matmulStrided(ctx: GpuContext, s: StridedMatmul): void {
  const { M, K, N, batch, heads } = s;
  if (!(heads >= 1 && batch % heads === 0)) throw new Error(`matmulStrided: batch ${batch} not a multiple of ${heads}`);
  if (s.out.t === s.a.t || s.out.t === s.b.t) throw new Error('matmulStrided: out must not be an input buffer');
  checkStrided(s.a, s.transA ? K : M, s.transA ? M : K, s, 'a');
  checkStrided(s.b, s.transB ? N : K, s.transB ? K : N, s, 'b');
  checkStrided(s.out, M, N, s, 'out');
  const rule = matmulTileFor({ barrierFree: false }, M, N, batch);
  const tile = s.tile ?? (rule === 'flat' ? 64 : rule);
  const { VA, VB } = stridedVectorLoads(s);
  const op = (o: StridedOperand) => [o.base ?? 0, o.s1 ?? 0, o.s2 ?? 0, o.group ?? 1];
  const values = [
    M,
    K,
    N,
    s.transA ? 1 : 0,
    s.transB ? 1 : 0,
    s.accumulate ? 1 : 0,
    s.alpha ?? 1,
    s.a.ld,
    s.b.ld,
    s.out.ld,
    heads,
    ...op(s.a),
    ...op(s.b),
    ...op(s.out),
  ];
  ctx.dispatch({
    shader: tiledShader(false, VA === 4, VB === 4, true),
    entry: 'matmul_forward',
    bindings: [undefined, s.out.t, s.a.t, s.b.t],
    params: { format: STRIDED_FORMAT, values },
    defines: {
      ...TILED[tile],
      ...matmulStagingPadFor(ctx.limits.maxComputeWorkgroupStorageSize, tile, false, !!s.transA, !!s.transB),
      T: 'f32',
      B_F16: 'false',
      B_ELEM: 'f32',
      VA,
      VB,
      PREFETCH: String(prefetch),
    },
    workgroups: [Math.ceil(N / tile), Math.ceil(M / tile), batch],
  });
}
