// Launchers for shaders/softmax.wgsl: row softmax over the last dim and its backward, one workgroup per row.

import code from '../../../shaders/softmax.wgsl?raw';
import wgReduce from '../../../shaders/wg_reduce.wgsl?raw';
import { type GpuContext, type GpuTensor, rowGrid } from '../context';

const shader = { name: 'softmax', code, prelude: wgReduce };

/** out(rows,cols) = softmax(x) over the last dim. */
export function softmax(ctx: GpuContext, out: GpuTensor, x: GpuTensor, rows: number, cols: number): void {
  ctx.dispatch({
    shader,
    entry: 'softmax_forward',
    bindings: [undefined, out, x],
    params: { format: 'uu', values: [rows, cols] },
    workgroups: rowGrid(rows, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** dx = y * (dy - sum(dy * y)) per row (overwrites dx); y is the forward's output. */
export function softmaxBackward(
  ctx: GpuContext,
  dx: GpuTensor,
  y: GpuTensor,
  dy: GpuTensor,
  rows: number,
  cols: number,
): void {
  ctx.dispatch({
    shader,
    entry: 'softmax_backward',
    bindings: [undefined, dx, y, dy],
    params: { format: 'uu', values: [rows, cols] },
    workgroups: rowGrid(rows, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}
