// Launchers for shaders/select.wgsl: score EMA, k-th smallest (the global pruning threshold) and the c masks.

import code from '../../../shaders/select.wgsl?raw';
import { clampK } from '../../ops/select';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'select', code };
const FORMAT = 'uuuff';

function need(t: GpuTensor, n: number, what: string): void {
  if (t.size < n) throw new Error(`select: ${what} (${t.label}) has ${t.size} elements, needs ${n}`);
}

function grid(ctx: GpuContext, n: number): [number, number] {
  return grid1d(n, ctx.limits.maxComputeWorkgroupsPerDimension);
}

/** out = beta * out + (1 - beta) * x */
export function ema(ctx: GpuContext, out: GpuTensor, x: GpuTensor, beta: number): void {
  need(x, out.size, 'x');
  ctx.dispatch({
    shader,
    entry: 'ema_forward',
    bindings: [undefined, out, x],
    params: { format: FORMAT, values: [out.size, 0, 0, beta, 1 - beta] },
    workgroups: grid(ctx, out.size),
  });
}

/** out[0] = the k-th smallest value of x (1-based, k clamped to [1, n]); deterministic (one workgroup, rank counting). */
export function kthSmallest(ctx: GpuContext, out: GpuTensor, x: GpuTensor, k: number): void {
  need(out, 1, 'out');
  ctx.dispatch({
    shader,
    entry: 'kth_smallest_forward',
    bindings: [undefined, out, x],
    params: { format: FORMAT, values: [x.size, clampK(k, x.size), 0, 0, 0] },
    workgroups: [1],
  });
}

/** mask[i] = scores[i] <= thr[0] ? 0 : 1 and target[targetOffset + i] *= mask[i], for i < scores.size. */
export function thresholdMask(
  ctx: GpuContext,
  target: GpuTensor,
  mask: GpuTensor,
  scores: GpuTensor,
  thr: GpuTensor,
  targetOffset: number,
): void {
  const n = scores.size;
  need(mask, n, 'mask');
  need(target, targetOffset + n, 'target');
  need(thr, 1, 'thr');
  ctx.dispatch({
    shader,
    entry: 'threshold_mask_forward',
    bindings: [undefined, target, undefined, mask, scores, thr],
    params: { format: FORMAT, values: [n, 0, targetOffset, 0, 0] },
    workgroups: grid(ctx, n),
  });
}

/** target[targetOffset + i] *= mask[i] for i < mask.size. */
export function applyMask(ctx: GpuContext, target: GpuTensor, mask: GpuTensor, targetOffset: number): void {
  const n = mask.size;
  need(target, targetOffset + n, 'target');
  ctx.dispatch({
    shader,
    entry: 'apply_mask_forward',
    bindings: [undefined, target, mask],
    params: { format: FORMAT, values: [n, 0, targetOffset, 0, 0] },
    workgroups: grid(ctx, n),
  });
}
