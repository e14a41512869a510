// WebGPU elementwise kernels vs the CPU reference, at a size that does not divide the workgroup and a large one.

import { describe, expect, it } from 'vitest';
import { add, axpy, fill, mul, scale, tanh, tanhBackward } from '../../src/gpu/kernels/elementwise';
import { addRef, axpyRef, mulRef, scaleRef, tanhBackwardRef, tanhRef } from '../../src/ops/elementwise';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

describe.each([7 * 13 * 5, 300_001])('elementwise n=%i (webgpu vs cpu)', (n) => {
  it('add, mul, scale, axpy, tanh (fwd+bwd), fill', async () => {
    const ctx = await gpuContext();
    const a = randArray(n, 1),
      b = randArray(n, 2);
    const ta = ctx.tensor([n], 'f32', 'a'),
      tb = ctx.tensor([n], 'f32', 'b'),
      to = ctx.tensor([n], 'f32', 'out');
    ctx.write(ta, a);
    ctx.write(tb, b);
    const ref = new Float32Array(n);

    add(ctx, to, ta, tb);
    addRef(ref, a, b);
    expectClose(await ctx.read(to), ref, 1e-6, 0, 'add');

    mul(ctx, to, ta, tb);
    mulRef(ref, a, b);
    expectClose(await ctx.read(to), ref, 1e-6, 0, 'mul');

    scale(ctx, to, ta, -2.5);
    scaleRef(ref, a, -2.5);
    expectClose(await ctx.read(to), ref, 1e-6, 0, 'scale');

    axpy(ctx, to, tb, 0.75);
    axpyRef(ref, b, 0.75);
    expectClose(await ctx.read(to), ref, 1e-6, 1e-6, 'axpy');

    // tanh on a wide range, including arguments where a naive exp-based tanh overflows
    const big = randArray(n, 5, -40, 40);
    ctx.write(ta, big);
    tanh(ctx, to, ta);
    tanhRef(ref, big);
    const y = await ctx.read(to);
    expectClose(y, ref, 2e-6, 1e-6, 'tanh');
    ctx.write(ta, y as Float32Array);
    tanhBackward(ctx, to, ta, tb);
    const dref = new Float32Array(n);
    tanhBackwardRef(dref, y as Float32Array, b);
    expectClose(await ctx.read(to), dref, 1e-6, 1e-6, 'tanh backward');

    fill(ctx, to, 3.25);
    expect(Array.from((await ctx.read(to)).slice(0, 5))).toEqual([3.25, 3.25, 3.25, 3.25, 3.25]);
    for (const t of [ta, tb, to]) ctx.release(t);
  });
});

describe('gpu context', () => {
  it('reuses pooled buffers and bind groups, and counts readbacks', async () => {
    const ctx = await gpuContext();
    const t1 = ctx.tensor([1000], 'f32', 'x');
    ctx.release(t1);
    const before = { ...ctx.counters };
    const t2 = ctx.tensor([1000], 'f32', 'y');
    expect(t2.buffer).toBe(t1.buffer);
    const data = await ctx.read(t2);
    expect(Array.from(data.slice(0, 3))).toEqual([0, 0, 0]);
    expect(ctx.counters.bufferCreations - before.bufferCreations).toBeLessThanOrEqual(1); // the staging buffer, once
    expect(ctx.counters.readbacks - before.readbacks).toBe(1);
    ctx.release(t2);
  });
});
