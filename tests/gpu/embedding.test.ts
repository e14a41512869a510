// WebGPU embedding gather and scatter-add backward vs the CPU reference. Both are exact: the gather copies, and the
// backward adds in the reference's order (increasing n), so results must be bitwise equal (atol 0).

import { describe, expect, it, onTestFinished } from 'vitest';
import { embedding, embeddingBackward } from '../../src/gpu/kernels/embedding';
import { embeddingBackwardRef, embeddingRef } from '../../src/ops/embedding';
import { expectClose, randArray, randInts } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

// barrierFree picks the backward's vocabulary chunk count: a few on CPU-emulated adapters, many on GPUs.
describe.each([
  [7, 13, 5, false], // nothing divides the 64-wide workgroup or the 256-id tile
  [512, 1024, 64, false], // realistic; N spans two id tiles
  [64, 50257, 64, false], // GPT-2 vocabulary
  [7, 13, 5, true],
  [512, 1024, 64, true],
  [64, 50257, 64, true],
])('embedding N=%i V=%i C=%i barrierFree=%s (webgpu vs cpu)', (N, V, C, barrierFree) => {
  it('forward and accumulating backward with repeated ids', async () => {
    const ctx = await gpuContext();
    const was = ctx.barrierFree;
    ctx.barrierFree = barrierFree;
    onTestFinished(() => {
      ctx.barrierFree = was;
    });
    // Ids from a small range so they repeat, plus a few from the whole vocabulary (including its last row).
    const ids = randInts(N, 1, Math.min(V, Math.max(3, N >> 2)));
    for (let n = 0; n < N; n += 5) ids[n] = randInts(1, 100 + n, V)[0];
    ids[N - 1] = V - 1;
    const W = randArray(V * C, 2),
      dout = randArray(N * C, 3),
      dW0 = randArray(V * C, 4);
    const tIds = ctx.tensor([N], 'i32', 'ids'),
      tW = ctx.tensor([V, C], 'f32', 'W');
    const tOut = ctx.tensor([N, C], 'f32', 'out'),
      tDout = ctx.tensor([N, C], 'f32', 'dout'),
      tDW = ctx.tensor([V, C], 'f32', 'dW');
    ctx.write(tIds, ids);
    ctx.write(tW, W);
    ctx.write(tDout, dout);
    ctx.write(tDW, dW0);

    embedding(ctx, tOut, tIds, tW, N, C);
    const ref = new Float32Array(N * C);
    embeddingRef(ref, ids, W, N, C);
    expectClose(await ctx.read(tOut), ref, 0, 0, 'embedding forward');

    embeddingBackward(ctx, tDW, tIds, tDout, N, C, V);
    const dWRef = Float32Array.from(dW0);
    embeddingBackwardRef(dWRef, ids, dout, N, C, V);
    expectClose(await ctx.read(tDW), dWRef, 0, 0, 'embedding backward');
    for (const t of [tIds, tW, tOut, tDout, tDW]) ctx.release(t);
  });
});

describe('embedding out-of-range ids (webgpu)', () => {
  it('writes zero rows in the forward and skips those positions in the backward', async () => {
    const ctx = await gpuContext();
    const N = 6,
      V = 13,
      C = 5;
    const ids = Int32Array.from([3, -1, 13, 3, 2147483647, -100]);
    const W = randArray(V * C, 5),
      dout = randArray(N * C, 6),
      dW0 = randArray(V * C, 7);
    const tIds = ctx.tensor([N], 'i32', 'ids'),
      tW = ctx.tensor([V, C], 'f32', 'W');
    const tOut = ctx.tensor([N, C], 'f32', 'out'),
      tDout = ctx.tensor([N, C], 'f32', 'dout'),
      tDW = ctx.tensor([V, C], 'f32', 'dW');
    ctx.write(tIds, ids);
    ctx.write(tW, W);
    ctx.write(tDout, dout);
    ctx.write(tDW, dW0);
    ctx.write(tOut, new Float32Array(N * C).fill(7));
    embedding(ctx, tOut, tIds, tW, N, C);
    embeddingBackward(ctx, tDW, tIds, tDout, N, C, V);
    const out = await ctx.read(tOut),
      dW = await ctx.read(tDW);
    for (const n of [1, 2, 4, 5]) expect(Array.from(out.slice(n * C, n * C + C))).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(out.slice(0, C))).toEqual(Array.from(W.slice(3 * C, 4 * C)));
    // Only row 3 changes: the reference over the two valid positions (0 and 3), in that order.
    const expected = Float32Array.from(dW0);
    const validDout = Float32Array.from([...dout.slice(0, C), ...dout.slice(3 * C, 4 * C)]);
    embeddingBackwardRef(expected, Int32Array.from([3, 3]), validDout, 2, C, V);
    expectClose(dW, expected, 0, 0, 'dW with bad ids');
    expect(Array.from(dW.slice(0, 3 * C))).toEqual(Array.from(dW0.slice(0, 3 * C)));
    for (const t of [tIds, tW, tOut, tDout, tDW]) ctx.release(t);
  });
});
