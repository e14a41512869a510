// Launchers for shaders/cross_entropy.wgsl: one workgroup per row (one invocation per row on CPU-emulated adapters,
// ctx.barrierFree); the grid goes 2-D past the per-dimension limit.
// Storage bindings are ordered (logits, targets, out, ...) so both entry points share the helpers' bindings.

import code from '../../../shaders/cross_entropy.wgsl?raw';
import partsCode from '../../../shaders/cross_entropy_parts.wgsl?raw';
import wgReduce from '../../../shaders/wg_reduce.wgsl?raw';
import type { CePartParams } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d, rowGrid } from '../context';

const shader = { name: 'cross_entropy', code, prelude: wgReduce };

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

const partsShader = { name: 'cross_entropy_parts', code: partsCode, prelude: wgReduce };

function partValues(p: CePartParams, first: boolean, N = 0): number[] {
  return [p.rows, p.vp, p.vStart, p.rowStart, p.V, p.ignoreIndex, first ? 1 : 0, N];
}
const PART_FORMAT = 'uuuuuiuu';

/** valid(N) = 1 where targets[n] is in [0, V) and not ignoreIndex, else 0. */
export function crossEntropyValid(
  ctx: GpuContext,
  valid: GpuTensor,
  targets: GpuTensor,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  ctx.dispatch({
    shader: partsShader,
    entry: 'ce_valid',
    bindings: [undefined, undefined, targets, undefined, undefined, undefined, undefined, valid],
    params: { format: PART_FORMAT, values: [0, 0, 0, 0, V, ignoreIndex, 0, N] },
    workgroups: grid1d(N, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** Folds one vocabulary part's logits (rows, vp) into the per-row log-sum-exp state (rows, 4). */
export function crossEntropyPartStats(
  ctx: GpuContext,
  state: GpuTensor,
  logits: GpuTensor,
  targets: GpuTensor,
  p: CePartParams,
): void {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader: partsShader,
    entry: ctx.barrierFree ? 'ce_stats_rows' : 'ce_stats',
    bindings: [undefined, logits, targets, state],
    params: { format: PART_FORMAT, values: partValues(p, p.vStart === 0) },
    workgroups: ctx.barrierFree ? grid1d(p.rows, max) : rowGrid(p.rows, max),
  });
}

/** losses[rowStart + r] = lse - target logit from the folded state; 0 on ignored rows. */
export function crossEntropyPartLoss(
  ctx: GpuContext,
  losses: GpuTensor,
  state: GpuTensor,
  targets: GpuTensor,
  p: CePartParams,
): void {
  ctx.dispatch({
    shader: partsShader,
    entry: 'ce_loss',
    bindings: [undefined, undefined, targets, state, losses],
    params: { format: PART_FORMAT, values: partValues(p, false) },
    workgroups: grid1d(p.rows, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** Overwrites one part's logits with d loss / d logits = (softmax - onehot) * dloss[0] / count[0]; 0 on ignored rows. */
export function crossEntropyPartGrad(
  ctx: GpuContext,
  logits: GpuTensor,
  state: GpuTensor,
  targets: GpuTensor,
  dloss: GpuTensor,
  count: GpuTensor,
  p: CePartParams,
): void {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  ctx.dispatch({
    shader: partsShader,
    entry: ctx.barrierFree ? 'ce_grad_rows' : 'ce_grad',
    bindings: [undefined, logits, targets, state, undefined, dloss, count],
    params: { format: PART_FORMAT, values: partValues(p, false) },
    workgroups: ctx.barrierFree ? grid1d(p.rows, max) : rowGrid(p.rows, max),
  });
}
