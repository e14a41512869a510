// Launchers for shaders/rope.wgsl: one invocation per channel pair. Passing the same tensor as output and input runs
// the in-place entry, which binds it once (read_write), so q/k can be rotated where the projection wrote them.

import code from '../../../shaders/rope.wgsl?raw';
import { checkRopeSizes } from '../../ops/rope';
import type { RopeParams } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'rope', code };

function run(ctx: GpuContext, out: GpuTensor, x: GpuTensor, table: GpuTensor, p: RopeParams, sign: 1 | -1): void {
  checkRopeSizes(p, { out: out.size, x: x.size, table: table.size });
  const inPlace = out === x;
  ctx.dispatch({
    shader,
    entry: inPlace ? 'rope_apply_inplace' : 'rope_apply',
    bindings: inPlace ? [undefined, out, undefined, table] : [undefined, out, x, table],
    params: { format: 'uuuuuuuf', values: [p.B, p.T, p.H, p.D, p.stride, p.offset, p.posOffset ?? 0, sign] },
    workgroups: grid1d(p.B * p.T * p.H * (p.D / 2), ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** out = rope(x) on the view p describes; out may be x (in place). table: ropeTable's (positions, D). */
export function rope(ctx: GpuContext, out: GpuTensor, x: GpuTensor, table: GpuTensor, p: RopeParams): void {
  run(ctx, out, x, table, p, 1);
}

/** dx = dout rotated by -angle; dx may be dout (in place). */
export function ropeBackward(ctx: GpuContext, dx: GpuTensor, dout: GpuTensor, table: GpuTensor, p: RopeParams): void {
  run(ctx, dx, dout, table, p, -1);
}
