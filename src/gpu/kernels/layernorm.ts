// Launchers for shaders/layernorm.wgsl: one workgroup per row for the forward and dx (one invocation per row on
// CPU-emulated adapters, ctx.barrierFree), a column kernel for dw/db.

import code from '../../../shaders/layernorm.wgsl?raw';
import storeDx from '../../../shaders/store_dx.wgsl?raw';
import wgReduce from '../../../shaders/wg_reduce.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d, rowGrid } from '../context';

const shader = { name: 'layernorm', code, prelude: `${wgReduce}\n${storeDx}` };
/** Columns per workgroup of the dw/db kernel (its @workgroup_size x). */
const DWDB_COLS = 32;

/** out(N,C) = layernorm(x) * w + b over the last dim; mean(N) and rstd(N) are saved for the backward. */
export function layernorm(
  ctx: GpuContext,
  out: GpuTensor,
  mean: GpuTensor,
  rstd: GpuTensor,
  x: GpuTensor,
  w: GpuTensor,
  b: GpuTensor,
  N: number,
  C: number,
  eps: number,
): void {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader,
    entry: ctx.barrierFree ? 'layernorm_forward_rows' : 'layernorm_forward',
    bindings: [undefined, out, mean, rstd, x, w, b],
    params: { format: 'uufu', values: [N, C, eps, 0] },
    workgroups: ctx.barrierFree ? grid1d(N, max) : rowGrid(N, max),
  });
}

/** dx (+)= LayerNorm's input gradient (overwrites unless `accumulate`); dw, db accumulate when given. */
export function layernormBackward(
  ctx: GpuContext,
  dx: GpuTensor,
  dw: GpuTensor | null,
  db: GpuTensor | null,
  dout: GpuTensor,
  x: GpuTensor,
  w: GpuTensor,
  mean: GpuTensor,
  rstd: GpuTensor,
  N: number,
  C: number,
  accumulate = false,
): void {
  const params = { format: 'uufu', values: [N, C, 0, accumulate ? 1 : 0] };
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader,
    entry: ctx.barrierFree ? 'layernorm_backward_rows' : 'layernorm_backward',
    bindings: [undefined, dx, undefined, undefined, dout, x, w, mean, rstd],
    params,
    workgroups: ctx.barrierFree ? grid1d(N, max) : rowGrid(N, max),
  });
  if (!dw && !db) return;
  // Each entry point binds exactly what it reads (layouts are 'auto'): the db-only one needs dout alone.
  const entry = dw && db ? 'layernorm_backward_dwdb' : dw ? 'layernorm_backward_dw' : 'layernorm_backward_db';
  const bindings = dw
    ? [undefined, undefined, dw, db ?? undefined, dout, x, undefined, mean, rstd]
    : [undefined, undefined, undefined, db!, dout];
  ctx.dispatch({ shader, entry, bindings, params, workgroups: [Math.ceil(C / DWDB_COLS)] });
}
