// WebGPU SwiGLU vs the float64 CPU reference on the same f32 inputs: an odd size (not a multiple of the 64-wide
// workgroup), gate values in the far tails (+-100: no overflow, exact limits), and a realistic one (SmolLM2-135M's MLP,
// 2x64 tokens x intermediate 1536). Tolerance: 1e-6 abs + 1e-5 rel (a few f32 ulps: exp and one division).

import { describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { swiglu, swigluBackward } from '../../src/gpu/kernels/swiglu';
import { swigluBackwardRef, swigluRef } from '../../src/ops/swiglu';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const ATOL = 1e-6,
  RTOL = 1e-5;
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

describe.each([
  ['odd', 1001, 8],
  ['tails', 67, 100],
  ['SmolLM2 MLP', 128 * 1536, 8],
] as [string, number, number][])('swiglu %s n=%i (webgpu vs cpu)', (_name, n, range) => {
  it('out, dgate, dup', async () => {
    const ctx = await gpuContext();
    const gate = randArray(n, 1, -range, range),
      up = randArray(n, 2, -2, 2),
      dout = randArray(n, 3);
    const tg = upload(ctx, gate, 'gate'),
      tu = upload(ctx, up, 'up'),
      tdo = upload(ctx, dout, 'dout');
    const to = ctx.tensor([n], 'f32', 'out');
    const tdg = upload(ctx, new Float32Array(n).fill(7), 'dgate');
    const tdu = upload(ctx, new Float32Array(n).fill(7), 'dup');
    swiglu(ctx, to, tg, tu);
    swigluBackward(ctx, tdg, tdu, tdo, tg, tu);
    const out = new Float64Array(n),
      dg = new Float64Array(n),
      du = new Float64Array(n);
    swigluRef(out, f64(gate), f64(up));
    swigluBackwardRef(dg, du, f64(dout), f64(gate), f64(up));
    const got = await ctx.read(to);
    expect(got.every(Number.isFinite)).toBe(true);
    expectClose(got, out, ATOL, RTOL, 'out');
    expectClose(await ctx.read(tdg), dg, ATOL, RTOL, 'dgate');
    expectClose(await ctx.read(tdu), du, ATOL, RTOL, 'dup');
    for (const t of [tg, tu, tdo, to, tdg, tdu]) ctx.release(t);
  });
});
