// Launchers for shaders/dropout.wgsl. The threshold and scale are computed here exactly as the CPU reference does.

import dropMask from '../../../shaders/drop_mask.wgsl?raw';
import code from '../../../shaders/dropout.wgsl?raw';
import { dropoutThreshold } from '../../ops/dropout';
import type { DropoutMask } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'dropout', code, prelude: dropMask };

/** drop_mask.wgsl's Params fields drop_seed, drop_threshold, drop_scale, drop_offset for a mask, computed as the CPU
 * reference does; threshold 0 (no dropout) without one or at p = 0. */
export function dropMaskFields(d: DropoutMask | undefined): [number, number, number, number] {
  if (!d || d.p === 0) return [0, 0, 1, 0];
  return [d.seed >>> 0, dropoutThreshold(d.p), 1 / (1 - d.p), (d.offset ?? 0) >>> 0];
}

function run(ctx: GpuContext, entry: string, out: GpuTensor, x: GpuTensor, p: number, seed: number, offset: number) {
  if (out.size !== x.size) throw new Error(`dropout: ${out.label} has ${out.size} elements, ${x.label} ${x.size}`);
  ctx.dispatch({
    shader,
    entry,
    bindings: [undefined, out, x],
    params: { format: 'uuufu', values: [out.size, ...dropMaskFields({ p, seed, offset })] },
    workgroups: grid1d(out.size, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** out = x * keep / (1 - p) with keep drawn from a hash of (seed, offset + index); p = 0 copies. */
export function dropout(ctx: GpuContext, out: GpuTensor, x: GpuTensor, p: number, seed: number, offset = 0): void {
  run(ctx, 'dropout_forward', out, x, p, seed, offset);
}

/** dx += dout * keep / (1 - p), the same keep as dropout(seed, offset). */
export function dropoutBackward(
  ctx: GpuContext,
  dx: GpuTensor,
  dout: GpuTensor,
  p: number,
  seed: number,
  offset = 0,
): void {
  run(ctx, 'dropout_backward', dx, dout, p, seed, offset);
}
