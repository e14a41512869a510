// Launchers for shaders/rmsnorm.wgsl: one workgroup per row for the forward and dx (one invocation per row on
// CPU-emulated adapters, ctx.barrierFree), a column kernel for dw.

import code from '../../../shaders/rmsnorm.wgsl?raw';
import storeDx from '../../../shaders/store_dx.wgsl?raw';
import wgReduce from '../../../shaders/wg_reduce.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d, rowGrid } from '../context';

const shader = { name: 'rmsnorm', code, prelude: `${wgReduce}\n${storeDx}` };
/** Columns per workgroup of the dw kernel (its @workgroup_size x). */
const DW_COLS = 32;

/** Throws when a tensor is smaller than its view: [name, size, elements needed] per tensor. */
function checkSizes(what: string, N: number, D: number, views: [string, number, number][]): void {
  const bad = views.filter(([, size, need]) => size < need).map(([name, size, need]) => `${name} ${size} < ${need}`);
  if (bad.length) throw new RangeError(`${what} N=${N} D=${D}: ${bad.join(', ')}`);
}

/** out(N,D) = x * rsqrt(mean(x^2) + eps) * w over the last dim; rstd(N) is saved for the backward. */
export function rmsnorm(
  ctx: GpuContext,
  out: GpuTensor,
  rstd: GpuTensor,
  x: GpuTensor,
  w: GpuTensor,
  N: number,
  D: number,
  eps: number,
): void {
  checkSizes('rmsnorm', N, D, [
    ['out', out.size, N * D],
    ['rstd', rstd.size, N],
    ['x', x.size, N * D],
    ['w', w.size, D],
  ]);
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader,
    entry: ctx.barrierFree ? 'rmsnorm_forward_rows' : 'rmsnorm_forward',
    bindings: [undefined, out, rstd, x, w],
    params: { format: 'uufu', values: [N, D, eps, 0] },
    workgroups: ctx.barrierFree ? grid1d(N, max) : rowGrid(N, max),
  });
}

/** dx (+)= RMSNorm's input gradient (overwrites unless `accumulate`); dw accumulates when given. */
export function rmsnormBackward(
  ctx: GpuContext,
  dx: GpuTensor,
  dw: GpuTensor | null,
  dout: GpuTensor,
  x: GpuTensor,
  w: GpuTensor,
  rstd: GpuTensor,
  N: number,
  D: number,
  accumulate = false,
): void {
  checkSizes('rmsnormBackward', N, D, [
    ['dx', dx.size, N * D],
    ['dw', dw?.size ?? D, D],
    ['dout', dout.size, N * D],
    ['x', x.size, N * D],
    ['w', w.size, D],
    ['rstd', rstd.size, N],
  ]);
  const params = { format: 'uufu', values: [N, D, 0, accumulate ? 1 : 0] };
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader,
    entry: ctx.barrierFree ? 'rmsnorm_backward_rows' : 'rmsnorm_backward',
    bindings: [undefined, dx, undefined, dout, x, w, rstd],
    params,
    workgroups: ctx.barrierFree ? grid1d(N, max) : rowGrid(N, max),
  });
  if (!dw) return;
  ctx.dispatch({
    shader,
    entry: 'rmsnorm_backward_dw',
    bindings: [undefined, undefined, dw, dout, x, undefined, rstd],
    params,
    workgroups: [Math.ceil(D / DW_COLS)],
  });
}
