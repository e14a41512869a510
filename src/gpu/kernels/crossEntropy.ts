// Launchers for shaders/cross_entropy.wgsl: one workgroup per row (one invocation per row on CPU-emulated adapters,
// ctx.barrierFree); the grid goes 2-D past the per-dimension limit.
// Storage bindings are ordered (logits, targets, out, ...) so both entry points share the helpers' bindings.

import code from '../../../shaders/cross_entropy.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d, rowGrid } from '../context';

const shader = { name: 'cross_entropy', code };

/** losses(N) = -log softmax(logits(N,V))[target], valid(N) = 1; both 0 where target is ignoreIndex or outside [0, V). */
export function crossEntropy(
  ctx: GpuContext,
  losses: GpuTensor,
  valid: GpuTensor,
  logits: GpuTensor,
  targets: GpuTensor,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader,
    entry: ctx.barrierFree ? 'cross_entropy_forward_rows' : 'cross_entropy_forward',
    bindings: [undefined, logits, targets, losses, valid],
    params: { format: 'uui', values: [N, V, ignoreIndex] },
    workgroups: ctx.barrierFree ? grid1d(N, max) : rowGrid(N, max),
  });
}

/** dlogits = (softmax - onehot) * dloss[0] / count[0] on valid rows; 0 on ignored (or out-of-range target) rows. */
export function crossEntropyBackward(
  ctx: GpuContext,
  dlogits: GpuTensor,
  logits: GpuTensor,
  targets: GpuTensor,
  dloss: GpuTensor,
  count: GpuTensor,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader,
    entry: ctx.barrierFree ? 'cross_entropy_backward_rows' : 'cross_entropy_backward',
    bindings: [undefined, logits, targets, dlogits, undefined, dloss, count],
    params: { format: 'uui', values: [N, V, ignoreIndex] },
    workgroups: ctx.barrierFree ? grid1d(N, max) : rowGrid(N, max),
  });
}
