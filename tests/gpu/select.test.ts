// WebGPU select kernels vs the CPU reference: EMA (1e-6 abs + 1e-6 rel: one f32 multiply-add), k-th smallest exactly
// (random data, many ties, k clamped), threshold and frozen masks exactly, at an odd size (7x13x5) and a realistic
// one (72 modules x 12 components, and 4096 scores).

import { describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { applyMask, ema, kthSmallest, thresholdMask } from '../../src/gpu/kernels/select';
import { applyMaskRef, emaRef, kthSmallestRef, thresholdMaskRef } from '../../src/ops/select';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

describe.each([7 * 13 * 5, 72 * 12])('select kernels n=%i (webgpu vs cpu)', (n) => {
  it('ema', async () => {
    const ctx = await gpuContext();
    const prev = randArray(n, 1, 0, 2),
      x = randArray(n, 2, 0, 2);
    const to = upload(ctx, prev, 'ema'),
      tx = upload(ctx, x, 'x');
    ema(ctx, to, tx, 0.9);
    const ref = prev.slice();
    emaRef(ref, x, 0.9);
    expectClose(await ctx.read(to), ref, 1e-6, 1e-6, 'ema');
    for (const t of [to, tx]) ctx.release(t);
  });

  it('kthSmallest on random data and on data with many ties', async () => {
    const ctx = await gpuContext();
    const random = randArray(n, 3);
    const ties = random.map((v) => Math.round(v * 4) / 4); // 9 distinct values
    const tout = ctx.tensor([1], 'f32', 'thr');
    for (const [what, x] of [
      ['random', random],
      ['ties', ties],
    ] as const) {
      const tx = upload(ctx, x, 'scores');
      const sorted = Array.from(x).sort((a, b) => a - b);
      for (const k of [1, 2, Math.floor(n / 3), n - 1, n, 0, n + 5]) {
        kthSmallest(ctx, tout, tx, k);
        const got = (await ctx.read(tout))[0];
        const ref = new Float32Array(1);
        kthSmallestRef(ref, x, k);
        expect(got, `${what} k=${k}`).toBe(ref[0]);
        expect(got).toBe(sorted[Math.min(n, Math.max(1, k)) - 1]);
      }
      ctx.release(tx);
    }
    ctx.release(tout);
  });

  it('thresholdMask at an offset (ties at the threshold pruned), then applyMask', async () => {
    const ctx = await gpuContext();
    const scores = randArray(n, 4).map((v) => Math.round(v * 8) / 8),
      thr = Float32Array.from([0.125]);
    const target0 = randArray(n + 9, 5),
      target2 = randArray(n + 9, 6);
    const tt = upload(ctx, target0, 'c'),
      tm = upload(ctx, new Float32Array(n).fill(7), 'mask');
    const ts = upload(ctx, scores, 'scores'),
      tthr = upload(ctx, thr, 'thr');
    thresholdMask(ctx, tt, tm, ts, tthr, 9);
    const t = target0.slice(),
      m = new Float32Array(n);
    thresholdMaskRef(t, m, scores, thr, 9);
    const mask = await ctx.read(tm);
    expect(Array.from(mask)).toEqual(Array.from(m));
    expect(Array.from(await ctx.read(tt))).toEqual(Array.from(t));
    expect(mask.some((v, i) => v === 0 && scores[i] === 0.125)).toBe(true); // a tie was pruned

    ctx.write(tt, target2);
    applyMask(ctx, tt, tm, 9);
    const t2 = target2.slice();
    applyMaskRef(t2, m, 9);
    expect(Array.from(await ctx.read(tt))).toEqual(Array.from(t2));
    for (const x of [tt, tm, ts, tthr]) ctx.release(x);
  });
});

describe('kthSmallest at 4096 scores (webgpu)', () => {
  it('matches the sort', async () => {
    const ctx = await gpuContext();
    const x = randArray(4096, 7),
      tx = upload(ctx, x, 'scores'),
      tout = ctx.tensor([1], 'f32', 'thr');
    const sorted = Array.from(x).sort((a, b) => a - b);
    for (const k of [1, 1234, 4096]) {
      kthSmallest(ctx, tout, tx, k);
      expect((await ctx.read(tout))[0]).toBe(sorted[k - 1]);
    }
    for (const t of [tx, tout]) ctx.release(t);
  });
});
