// Launchers for shaders/elementwise.wgsl.

import code from '../../../shaders/elementwise.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'elementwise', code };

function run(
  ctx: GpuContext,
  entry: string,
  out: GpuTensor,
  a: GpuTensor | undefined,
  b: GpuTensor | undefined,
  s = 0,
): void {
  ctx.dispatch({
    shader,
    entry,
    bindings: [undefined, out, a, b],
    params: { format: 'uf', values: [out.size, s] },
    workgroups: grid1d(out.size, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

export function add(ctx: GpuContext, out: GpuTensor, a: GpuTensor, b: GpuTensor): void {
  run(ctx, 'add_forward', out, a, b);
}

export function mul(ctx: GpuContext, out: GpuTensor, a: GpuTensor, b: GpuTensor): void {
  run(ctx, 'mul_forward', out, a, b);
}

export function scale(ctx: GpuContext, out: GpuTensor, a: GpuTensor, s: number): void {
  run(ctx, 'scale_forward', out, a, undefined, s);
}

export function axpy(ctx: GpuContext, out: GpuTensor, x: GpuTensor, alpha: number): void {
  run(ctx, 'axpy_forward', out, x, undefined, alpha);
}

export function tanh(ctx: GpuContext, out: GpuTensor, x: GpuTensor): void {
  run(ctx, 'tanh_forward', out, x, undefined);
}

export function tanhBackward(ctx: GpuContext, dx: GpuTensor, y: GpuTensor, dout: GpuTensor): void {
  run(ctx, 'tanh_backward', dx, y, dout);
}

/** Fills with a value; zero uses clearBuffer instead (no dispatch). */
export function fill(ctx: GpuContext, out: GpuTensor, value: number): void {
  if (value === 0) ctx.clear(out);
  else if (out.dtype === 'i32') throw new Error('fill of an i32 tensor with a nonzero value is not supported');
  else run(ctx, 'fill_forward', out, undefined, undefined, value);
}
