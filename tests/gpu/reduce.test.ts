// WebGPU sum / sumSquares vs the float64 CPU reference, for one element, a single-workgroup size and a two-pass size;
// the partial maxima of |x| (the f16 matmul's operand scale) against absMaxRef, exactly.

import { describe, expect, it } from 'vitest';
import { ABSMAX_PARTS, absMaxParts, sum, sumSquares } from '../../src/gpu/kernels/reduce';
import { absMaxRef, sumRef, sumSquaresRef } from '../../src/ops/reduce';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

describe.each([1, 455, 300_001])('reductions n=%i (webgpu vs cpu)', (n) => {
  it('sum and sumSquares, with and without accumulate, bitwise repeatable', async () => {
    const ctx = await gpuContext();
    const x = randArray(n, 7);
    const tx = ctx.tensor([n], 'f32', 'x'),
      to = ctx.tensor([1], 'f32', 'out');
    ctx.write(tx, x);
    let sumAbs = 0,
      sumSq = 0;
    for (const v of x) {
      sumAbs += Math.abs(v);
      sumSq += v * v;
    }
    for (const [name, gpu, ref, mag] of [
      ['sum', sum, sumRef, sumAbs],
      ['sumSquares', sumSquares, sumSquaresRef, sumSq],
    ] as const) {
      // Rounding errors of the f32 runs and trees add up like a random walk: ~eps * sqrt(n) * rms(terms), 3e-5 at
      // n = 300001 (2e-10 of sum|terms|). Bound: 1e-8 * sum|terms| (50x that) + 1e-6, plus 1e-6 relative for the
      // rounding of the f32 result itself. A missed or doubled element is caught exactly by the all-ones test below.
      const atol = 1e-8 * mag + 1e-6;
      const expected = new Float64Array(1);
      ref(expected, x);
      gpu(ctx, to, tx);
      const first = await ctx.read(to);
      expectClose(first, expected, atol, 1e-6, name);
      gpu(ctx, to, tx);
      expect((await ctx.read(to))[0], `${name} is deterministic`).toBe(first[0]);

      ctx.write(to, Float32Array.of(3.5));
      gpu(ctx, to, tx, true);
      ref(expected, x, false);
      expectClose(await ctx.read(to), [expected[0] + 3.5], atol, 1e-6, `${name} accumulate`);
    }
    ctx.release(tx);
    ctx.release(to);
  });

  it('counts every element exactly once (all ones: exact in f32)', async () => {
    const ctx = await gpuContext();
    const tx = ctx.tensor([n], 'f32', 'ones'),
      to = ctx.tensor([1], 'f32', 'out');
    ctx.write(tx, new Float32Array(n).fill(1));
    sum(ctx, to, tx);
    expect((await ctx.read(to))[0]).toBe(n);
    sumSquares(ctx, to, tx, true);
    expect((await ctx.read(to))[0]).toBe(2 * n);
    ctx.release(tx);
    ctx.release(to);
  });
});

describe('reduction resources', () => {
  it('a repeated reduction creates no buffers or pipelines', async () => {
    const ctx = await gpuContext();
    const n = 100_000;
    const tx = ctx.tensor([n], 'f32', 'x'),
      to = ctx.tensor([1], 'f32', 'out');
    sumSquares(ctx, to, tx);
    sum(ctx, to, tx);
    await ctx.sync();
    const before = { ...ctx.counters };
    sumSquares(ctx, to, tx);
    sum(ctx, to, tx, true);
    await ctx.sync();
    expect(ctx.counters.bufferCreations).toBe(before.bufferCreations);
    expect(ctx.counters.pipelineCreations).toBe(before.pipelineCreations);
    expect(ctx.counters.bindGroupCreations).toBe(before.bindGroupCreations);
    ctx.release(tx);
    ctx.release(to);
  });
});

describe.each([1, 455, 16_384, 300_001])('absMaxParts n=%i (webgpu vs cpu)', (n) => {
  it('each part is the max |x| of its workgroup share, 0 for an empty share; their max is absMaxRef, exactly', async () => {
    const ctx = await gpuContext();
    // Negative values dominate in places: abs is needed. Elements past n are larger still and must be ignored.
    const x = randArray(n + 8, 11, -3, 1);
    x.fill(100, n);
    const tx = ctx.tensor([n + 8], 'f32', 'x'),
      parts = ctx.tensor([ABSMAX_PARTS], 'f32', 'parts');
    ctx.write(tx, x);
    ctx.write(parts, new Float32Array(ABSMAX_PARTS).fill(Number.NaN));
    absMaxParts(ctx, parts, tx, n);
    const got = (await ctx.read(parts)) as Float32Array;
    const want = new Float32Array(ABSMAX_PARTS);
    for (let i = 0; i < n; i++) {
      const w = Math.floor(i / 256) % ABSMAX_PARTS;
      want[w] = Math.max(want[w], Math.abs(x[i]));
    }
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(Math.max(...got)).toBe(Math.fround(absMaxRef(x, n)));
    ctx.release(tx);
    ctx.release(parts);
  });
});
