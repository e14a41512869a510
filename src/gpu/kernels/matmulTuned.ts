// Kernel tuning's record of the matmul (src/gpu/tune.ts times it): the shapes of a step being recorded, the kernel
// (tile, prefetch) measured fastest per shape on each device, and the kernel a call takes: the measured one under
// 'auto' on a GPU, else the rule (matmulRules.ts).

import type { MatmulParams } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';
import {
  type MatmulTile,
  matmulPrefetch,
  matmulSplitFor,
  matmulTileFor,
  matmulTiling,
  type TiledTile,
} from './matmulRules';

/** A matmul kernel: the tile (or 'flat') and, for the tiled kernel, whether it prefetches the next K tile. */
export interface MatmulKernel {
  tile: MatmulTile;
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

/** The kernel a matmul of these params takes on ctx now: under 'auto' on a GPU, the one tuneMatmuls measured fastest
 * for its shape on this device, else matmulTileFor's rule with the prefetch setting. */
export function matmulKernelFor(
  ctx: GpuContext,
  p: MatmulParams,
  bDtype: GpuTensor['dtype'],
  bias: boolean,
): MatmulKernel {
  const tuned =
    matmulTiling() === 'auto' && !ctx.barrierFree ? tunedKernels.get(ctx)?.get(matmulShapeKey(p, bDtype, bias)) : null;
  if (tuned) return tuned;
  const { M, K, N } = p,
    batch = p.batch ?? 1;
  return {
    tile: matmulTileFor(ctx, { M, N, batch, splits: matmulSplitFor(M, K, N, batch).splits }),
    prefetch: matmulPrefetch(),
  };
}

/** matmulKernelFor of a call; while a step is recorded for tuning (noteMatmuls), its shape is noted too. */
export function kernelOf(
  ctx: GpuContext,
  out: GpuTensor,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | null,
  p: MatmulParams,
): MatmulKernel {
  const noted = matmulTiling() === 'auto' && !ctx.barrierFree ? recording.get(ctx) : undefined;
  if (noted) {
    const key = matmulShapeKey(p, b.dtype, bias !== null);
    const seen = noted.get(key);
    if (seen) seen.calls++;
    else noted.set(key, { key, p: { ...p }, out: out.size, a, b, bias, calls: 1 });
  }
  return matmulKernelFor(ctx, p, b.dtype, bias !== null);
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

/** The grid of a tiled matmul fits the device (tuneMatmuls skips tiles whose grid does not). */
export function tileFits(ctx: GpuContext, p: MatmulParams, tile: TiledTile): boolean {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  return Math.ceil(p.N / tile) <= max && Math.ceil(p.M / tile) <= max && (p.batch ?? 1) <= max;
}
