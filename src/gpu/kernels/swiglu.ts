// Launchers for shaders/swiglu.wgsl: elementwise SwiGLU and its backward (one dispatch writing dgate and dup).

import code from '../../../shaders/swiglu.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'swiglu', code };

function checkSizes(what: string, n: number, tensors: Record<string, GpuTensor>): void {
  const bad = Object.entries(tensors)
    .filter(([, t]) => t.size < n)
    .map(([name, t]) => `${name} ${t.size} < ${n}`);
  if (bad.length) throw new RangeError(`${what} n=${n}: ${bad.join(', ')}`);
}

/** out = silu(gate) * up over out.size elements. */
export function swiglu(ctx: GpuContext, out: GpuTensor, gate: GpuTensor, up: GpuTensor): void {
  checkSizes('swiglu', out.size, { gate, up });
  ctx.dispatch({
    shader,
    entry: 'swiglu_forward',
    bindings: [undefined, out, gate, up],
    params: { format: 'u', values: [out.size] },
    workgroups: grid1d(out.size, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** dgate = dout * up * silu'(gate), dup = dout * silu(gate) over dout.size elements (both overwritten). */
export function swigluBackward(
  ctx: GpuContext,
  dgate: GpuTensor,
  dup: GpuTensor,
  dout: GpuTensor,
  gate: GpuTensor,
  up: GpuTensor,
): void {
  checkSizes('swigluBackward', dout.size, { dgate, dup, gate, up });
  ctx.dispatch({
    shader,
    entry: 'swiglu_backward',
    bindings: [undefined, dgate, dup, dout, gate, up],
    params: { format: 'u', values: [dout.size] },
    workgroups: grid1d(dout.size, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}
