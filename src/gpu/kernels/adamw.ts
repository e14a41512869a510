// Launchers for shaders/adamw.wgsl: the AdamW update and the gradient-clip factor.

import code from '../../../shaders/adamw.wgsl?raw';
import { adamwConstants } from '../../ops/adamw';
import type { AdamWParams } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'adamw', code };

/** One torch.optim.AdamW step on param with grad * gradScale[0]; bias corrections are computed here from p.step. */
export function adamw(
  ctx: GpuContext,
  param: GpuTensor,
  grad: GpuTensor,
  m: GpuTensor,
  v: GpuTensor,
  gradScale: GpuTensor,
  p: AdamWParams,
): void {
  const { decay, stepSize, bc2Sqrt } = adamwConstants(p);
  ctx.dispatch({
    shader,
    entry: 'adamw_forward',
    bindings: [undefined, param, grad, m, v, gradScale],
    params: {
      format: 'ufffffffff',
      values: [param.size, p.beta1, p.beta2, 1 - p.beta1, 1 - p.beta2, p.eps, decay, stepSize, bc2Sqrt, 0],
    },
    workgroups: grid1d(param.size, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** scale[0] = min(1, maxNorm / (sqrt(sumsq[0]) + 1e-6)), computed on the GPU. */
export function clipScale(ctx: GpuContext, scale: GpuTensor, sumsq: GpuTensor, maxNorm: number): void {
  ctx.dispatch({
    shader,
    entry: 'clip_scale_forward',
    bindings: [undefined, scale, sumsq],
    params: { format: 'ufffffffff', values: [0, 0, 0, 0, 0, 0, 0, 0, 0, maxNorm] },
    workgroups: [1],
  });
}
