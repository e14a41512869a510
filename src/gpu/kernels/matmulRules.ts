// Which matmul kernel runs, and how: the settings and rules behind shaders/matmul.wgsl's variants (tile, f16
// arithmetic, split K, staging pads and swizzles, vector loads, prefetch and its two staging buffers) and the flat
// kernel for CPU emulation. The launchers (matmul.ts, matmulStrided.ts) read them; kernel tuning (matmulTuned.ts,
// ../tune.ts) overrides the tile and prefetch per shape. Measurements behind each choice: docs/design.md, "Kernel
// variants by adapter".

import type { MatmulParams } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';

/** With an f16 weight as b on a device with 'shader-f16', the tiled kernels multiply in f16 (accumulating in f32):
 * shaders/matmul.wgsl with T = f16, opA(a) scaled by a power of two into f16's range first (one more dispatch finds
 * max |a|: shaders/matmul_f16.wgsl). Off by default: it also rounds the activations to f16. Without the feature, or
 * under CPU emulation (the flat kernel), f16 weights are unpacked to f32 and the arithmetic stays f32 whatever this
 * says. */
let f16Arithmetic = false;
export function setMatmulF16Arithmetic(on: boolean): void {
  f16Arithmetic = on;
}

/** Whether matmul(…, b, …) takes the f16 variant of shaders/matmul.wgsl (see setMatmulF16Arithmetic). */
export function usesF16Arithmetic(ctx: GpuContext, b: GpuTensor, tile: MatmulTile): boolean {
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
export type MatmulTile = TiledTile | 'flat';
export type TiledTile = 32 | 64 | 128;
let tiling: MatmulTiling = 'auto';
export function setMatmulTiling(t: MatmulTiling): void {
  tiling = t;
}
export function matmulTiling(): MatmulTiling {
  return tiling;
}

/** Defines of shaders/matmul.wgsl per tile: workgroup side, register block, K step. */
export const TILED = {
  32: { WG: 8, RB: 4, TK: 32 },
  64: { WG: 16, RB: 4, TK: 32 },
  128: { WG: 16, RB: 8, TK: 16 },
} as const;

/** The most workgroups of one grid dimension a launcher uses (the WebGPU default limit). */
export const MAX_GROUPS = 65535;

/** The largest tile the rule takes on GPUs: 64, since 128 is no faster over a whole step (tuning takes it per shape);
 * BENCH_LARGE_TILE=128 makes npm run bench:gpu time the steps with 128. */
let largeTile: 64 | 128 = 64;
export function setMatmulLargeTile(t: 64 | 128): void {
  largeTile = t;
}
export function matmulLargeTile(): 64 | 128 {
  return largeTile;
}

/** An output of M x N (batch entries) whose K the tiled kernel sums in `splits` ranges (matmulSplitFor; 1: none). */
export interface TileShape {
  M: number;
  N: number;
  batch: number;
  splits?: number;
}

/** The kernel a matmul takes under the current settings. The workgroups that choose between 32 and 64 count split K's
 * ranges: every split shape timed on the H200 (the LM-head input gradients) ran 1.35-2.4x faster on 64x64 tiles than
 * on the 32x32 ones the unsplit count gave them (docs/design.md, "Split K"). */
export function matmulTileFor(ctx: Pick<GpuContext, 'barrierFree'>, s: TileShape): MatmulTile {
  const { M, N, batch } = s;
  const flatFits = Math.ceil((Math.ceil(M / 8) * Math.ceil(N / 8)) / 64) <= MAX_GROUPS;
  if (tiling === 'flat' && flatFits) return 'flat';
  if (tiling === 32 || tiling === 64 || tiling === 128) return tiling;
  if (tiling === 'auto' && ctx.barrierFree && flatFits) return 'flat';
  const tiles = (t: number) => Math.ceil(M / t) * Math.ceil(N / t) * batch;
  if (largeTile === 128 && tiles(128) >= 64) return 128;
  return tiles(64) * (s.splits ?? 1) >= 64 ? 64 : 32;
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
 * rows"). 'both' pads a row-major a too, 'none' neither (for benchmarks). Taken only where the padded tiles fit the
 * device's workgroup memory. */
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
  const pads = {
    PAD_A: stagingPad === 'both' && !transA ? 1 : 0,
    PAD_B: stagingPad !== 'none' && transB ? 1 : 0,
  } as const;
  return stagingBytes(tile, f16, pads) <= limitBytes ? pads : { PAD_A: 0, PAD_B: 0 };
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
  return { VA: vectorWidth(p.transA ? p.M : p.K), VB: vectorWidth(p.transB ? p.K : p.N) };
}
/** 4 when vector loads are on and every given length, stride and offset (in elements) is a multiple of 4, else 1. */
export function vectorWidth(...elements: number[]): 1 | 4 {
  return vectorLoads && elements.every((x) => x % 4 === 0) ? 4 : 1;
}

/** Prefetch in the tiled kernel (shaders/matmul.wgsl PREFETCH): the next K tile's global loads are issued before the
 * current tile's products, a software pipeline that hides load latency at the cost of registers. The rule leaves it
 * off until a real GPU has timed it (npm run bench:gpu's "prefetch" columns); kernel tuning times the 64 and 128
 * tiles with it per shape. Settable for benchmarks and tests. */
let prefetch = false;
export function setMatmulPrefetch(on: boolean): void {
  prefetch = on;
}
export function matmulPrefetch(): boolean {
  return prefetch;
}

/** Two staging buffers with prefetch (shaders/matmul.wgsl STAGES): K tile i's products read one while tile i + 1 is
 * staged into the other, so a K tile needs one barrier rather than two, where both buffers fit the device's workgroup
 * memory. On by default (it only applies with prefetch); settable for benchmarks and tests. */
let doubleBuffer = true;
export function setMatmulDoubleBuffer(on: boolean): void {
  doubleBuffer = on;
}

/** Swizzled staging (shaders/matmul.wgsl SWZ_A, SWZ_B) of an operand whose stored rows run along k (a row-major a,
 * a transposed b) and which is read a vec4 at a time: its staged vec4 column q of row k is stored at q ^ ((k / 4) % 8),
 * so the 8 loads of a warp that share a row group (k = 0, 4, .., 28) hit 8 different memory-bank groups rather than
 * one: shared-memory stores without conflicts, where a padded row still conflicts 4-way and an unpadded one 8-way. The
 * swizzled operand takes no pad. On by default; settable for benchmarks and tests. */
let swizzle = true;
export function setMatmulSwizzle(on: boolean): void {
  swizzle = on;
}

/** What sets how a tiled kernel stages its operand tiles. */
export interface StagingShape {
  tile: TiledTile;
  f16: boolean;
  transA: boolean;
  transB: boolean;
  prefetch: boolean;
  /** Elements per global load of a and of b (matmulVectorLoadsFor). */
  VA: 1 | 4;
  VB: 1 | 4;
}

/** How a tiled kernel stages its operand tiles on a device whose workgroup memory is limitBytes: the swizzles
 * (setMatmulSwizzle), the staging pads of the unswizzled operands (matmulStagingPadFor), PREFETCH, and STAGES (2 with
 * prefetch where the buffers fit, else 1). */
export function matmulStagingFor(
  limitBytes: number,
  s: StagingShape,
): {
  PAD_A: 0 | 1;
  PAD_B: 0 | 1;
  SWZ_A: 'true' | 'false';
  SWZ_B: 'true' | 'false';
  PREFETCH: 'true' | 'false';
  STAGES: 1 | 2;
} {
  const swzA = swizzle && !s.transA && s.VA === 4,
    swzB = swizzle && s.transB && s.VB === 4;
  const padded = matmulStagingPadFor(limitBytes, s.tile, s.f16, s.transA, s.transB);
  const pads = { PAD_A: swzA ? 0 : padded.PAD_A, PAD_B: swzB ? 0 : padded.PAD_B } as const;
  const two = s.prefetch && doubleBuffer && 2 * stagingBytes(s.tile, s.f16, pads) <= limitBytes;
  const flag = (on: boolean) => (on ? 'true' : 'false');
  return { ...pads, SWZ_A: flag(swzA), SWZ_B: flag(swzB), PREFETCH: flag(s.prefetch), STAGES: two ? 2 : 1 };
}

/** Which phases of the tiled kernel run (shaders/matmul.wgsl PHASES), for the benchmark's account of where a matmul's
 * time goes: 'all' (the matmul, the default); 'products', the inner loop alone (the first K tile staged once and
 * multiplied once per K tile of the range: the ceiling the products set); 'memory', the global loads, stagings and
 * barriers alone (the block stays 0). The two partial ones compute something else than the matmul; only benchmarks
 * and their tests set them. */
export type MatmulPhases = 'all' | 'products' | 'memory';
let phases: MatmulPhases = 'all';
export function setMatmulPhases(p: MatmulPhases): void {
  phases = p;
}
/** The PHASES define of the tiled kernel for the phases now set. */
export function matmulPhasesDefine(): { PHASES: 0 | 1 | 2 } {
  return { PHASES: phases === 'all' ? 0 : phases === 'products' ? 1 : 2 };
}

/** Bytes of one staging buffer of both operand tiles, rows padded as given. */
function stagingBytes(tile: TiledTile, f16: boolean, pads: { PAD_A: number; PAD_B: number }): number {
  const t = TILED[tile];
  return t.TK * (2 * ((t.RB * t.WG) / 4) + pads.PAD_A + pads.PAD_B) * (f16 ? 8 : 16);
}

/** Puts the kernel variants that benchmarks and tests toggle (split K, staging pads, vector loads, prefetch and its
 * two staging buffers, swizzles, phases) back to their defaults. */
export function resetMatmulVariants(): void {
  setMatmulSplitK('auto');
  setMatmulStagingPad('auto');
  setMatmulVectorLoads(true);
  setMatmulPrefetch(false);
  setMatmulDoubleBuffer(true);
  setMatmulSwizzle(true);
  setMatmulPhases('all');
}
