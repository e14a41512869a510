// Launchers for shaders/gelu.wgsl: elementwise GELU (tanh or erf form) and its backward.

import code from '../../../shaders/gelu.wgsl?raw';
import storeOut from '../../../shaders/store_out.wgsl?raw';
import type { GeluKind } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'gelu', code, prelude: storeOut };
const KIND: Record<GeluKind, number> = { tanh: 0, erf: 1 };

/** out = gelu(x) over out.size elements. */
export function gelu(ctx: GpuContext, out: GpuTensor, x: GpuTensor, kind: GeluKind): void {
  ctx.dispatch({
    shader,
    entry: 'gelu_forward',
    bindings: [undefined, out, x],
    params: { format: 'uuu', values: [out.size, KIND[kind], 0] },
    workgroups: grid1d(out.size, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** dx (+)= gelu'(x) * dout over dx.size elements; overwrites dx unless `accumulate`. */
export function geluBackward(
  ctx: GpuContext,
  dx: GpuTensor,
  x: GpuTensor,
  dout: GpuTensor,
  kind: GeluKind,
  accumulate = false,
): void {
  ctx.dispatch({
    shader,
    entry: 'gelu_backward',
    bindings: [undefined, dx, x, dout],
    params: { format: 'uuu', values: [dx.size, KIND[kind], accumulate ? 1 : 0] },
    workgroups: grid1d(dx.size, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}
