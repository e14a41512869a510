// WebGPU AdamW and clip factor vs the CPU reference (f64 math on f32 storage) over three steps with a changing
// gradient scale. Tolerances: param atol 1e-6 + rtol 1e-6 (about 8 f32 ulps near 1), m and v rtol 1e-5.

import { describe, expect, it } from 'vitest';
import { adamw, clipScale } from '../../src/gpu/kernels/adamw';
import { adamwRef, clipScaleRef } from '../../src/ops/adamw';
import type { AdamWParams } from '../../src/tensor/backend';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

describe.each([7 * 13 * 5, 300_001])('adamw n=%i (webgpu vs cpu)', (n) => {
  it('three steps with a gradient scale', async () => {
    const ctx = await gpuContext();
    const base: AdamWParams = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 };
    const param = randArray(n, 1),
      m = new Float32Array(n),
      v = new Float32Array(n);
    const tP = ctx.tensor([n], 'f32', 'param'),
      tG = ctx.tensor([n], 'f32', 'grad');
    const tM = ctx.tensor([n], 'f32', 'm'),
      tV = ctx.tensor([n], 'f32', 'v'),
      tS = ctx.tensor([1], 'f32', 'scale');
    ctx.write(tP, param);
    for (let step = 1; step <= 3; step++) {
      const grad = randArray(n, 10 + step, -3, 3),
        gs = Float32Array.of(1 / step);
      ctx.write(tG, grad);
      ctx.write(tS, gs);
      const p = { ...base, step };
      adamw(ctx, tP, tG, tM, tV, tS, p);
      adamwRef(param, grad, m, v, gs, p);
    }
    expectClose(await ctx.read(tP), param, 1e-6, 1e-6, 'param');
    expectClose(await ctx.read(tM), m, 1e-7, 1e-5, 'm');
    expectClose(await ctx.read(tV), v, 1e-9, 1e-5, 'v');
    for (const t of [tP, tG, tM, tV, tS]) ctx.release(t);
  });
});

describe('clipScale (webgpu vs cpu)', () => {
  it.each([
    [0.25, 1],
    [0, 1],
    [1, 1],
    [16, 1],
    [1e6, 0.5],
  ])('sumsq=%f maxNorm=%f', async (sumsq, maxNorm) => {
    const ctx = await gpuContext();
    const tS = ctx.tensor([1], 'f32', 'scale'),
      tQ = ctx.tensor([1], 'f32', 'sumsq');
    ctx.write(tQ, Float32Array.of(sumsq));
    clipScale(ctx, tS, tQ, maxNorm);
    const ref = new Float32Array(1);
    clipScaleRef(ref, Float32Array.of(sumsq), maxNorm);
    const got = await ctx.read(tS);
    expectClose(got, ref, 0, 1e-6, 'clip scale');
    if (Math.sqrt(sumsq) < maxNorm) expect(got[0]).toBe(1);
    else expect(got[0]).toBeLessThan(1);
    ctx.release(tS);
    ctx.release(tQ);
  });
});

describe('non-finite gradients on the GPU', () => {
  it('clip factor -1 for NaN/Inf, and the AdamW step is skipped', async () => {
    const ctx = await gpuContext();
    for (const bad of [NaN, Infinity, -Infinity]) {
      const sumsq = ctx.tensor([1]),
        scale = ctx.tensor([1]);
      ctx.write(sumsq, new Float32Array([bad]));
      clipScale(ctx, scale, sumsq, 1);
      expect((await ctx.read(scale))[0]).toBe(-1);
      const param = ctx.tensor([3]),
        grad = ctx.tensor([3]),
        m = ctx.tensor([3]),
        v = ctx.tensor([3]);
      ctx.write(param, new Float32Array([1, 2, 3]));
      ctx.write(grad, new Float32Array([NaN, 1, 2]));
      adamw(ctx, param, grad, m, v, scale, {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.01,
        step: 1,
      });
      expect(Array.from(await ctx.read(param))).toEqual([1, 2, 3]);
      expect(Array.from(await ctx.read(m))).toEqual([0, 0, 0]);
      for (const t of [sumsq, scale, param, grad, m, v]) ctx.release(t);
    }
  });
});
