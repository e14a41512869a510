// WebGPU cross-entropy forward and backward vs the CPU reference (f64 math on f32 data), with ignored rows,
// dloss != 1 and count = sum(valid). Tolerances (observed errors are 5-25x smaller): losses atol 1e-6 + rtol 1e-6
// (f32 log-sum-exp over V terms); dlogits atol 1e-7 * dloss/count + rtol 1e-5 (f32 exp of x - max - log sum).

import { describe, expect, it } from 'vitest';
import { crossEntropy, crossEntropyBackward } from '../../src/gpu/kernels/crossEntropy';
import { crossEntropyBackwardRef, crossEntropyRef } from '../../src/ops/crossEntropy';
import { expectClose, randArray, randInts } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const IGNORE = -100;

// barrierFree: the one-invocation-per-row kernels used on CPU-emulated adapters; false: the 256-wide workgroup tree.
describe.each([
  [7, 13, false], // neither divides the 256-wide workgroup
  [512, 1024, false], // realistic
  [3, 50257, false], // GPT-2 vocabulary: ~196 strided elements per invocation
  [7, 13, true],
  [130, 1024, true], // rows spill into a third 64-wide workgroup
  [3, 50257, true],
])('crossEntropy N=%i V=%i barrierFree=%s (webgpu vs cpu)', (N, V, barrierFree) => {
  it('forward losses/valid and backward dlogits', async () => {
    const ctx = await gpuContext();
    ctx.barrierFree = barrierFree;
    const logits = randArray(N * V, 11, -8, 8);
    const targets = randInts(N, 12, V);
    for (let n = 1; n < N; n += 3) targets[n] = IGNORE;
    targets[0] = V - 1;
    const tL = ctx.tensor([N, V], 'f32', 'logits'),
      tT = ctx.tensor([N], 'i32', 'targets');
    const tLoss = ctx.tensor([N], 'f32', 'losses'),
      tValid = ctx.tensor([N], 'f32', 'valid');
    const tD = ctx.tensor([N, V], 'f32', 'dlogits'),
      tDl = ctx.tensor([1], 'f32', 'dloss'),
      tCnt = ctx.tensor([1], 'f32', 'count');
    ctx.write(tL, logits);
    ctx.write(tT, targets);
    ctx.write(tD, new Float32Array(N * V).fill(5)); // ignored rows must be overwritten with zeros

    const losses = new Float32Array(N),
      valid = new Float32Array(N);
    crossEntropyRef(losses, valid, logits, targets, N, V, IGNORE);
    const count = valid.reduce((a, b) => a + b, 0);
    const dloss = 0.7;
    ctx.write(tDl, Float32Array.of(dloss));
    ctx.write(tCnt, Float32Array.of(count));

    crossEntropy(ctx, tLoss, tValid, tL, tT, N, V, IGNORE);
    crossEntropyBackward(ctx, tD, tL, tT, tDl, tCnt, N, V, IGNORE);
    expectClose(await ctx.read(tLoss), losses, 1e-6, 1e-6, 'losses');
    expect(Array.from(await ctx.read(tValid))).toEqual(Array.from(valid));

    const dRef = new Float32Array(N * V);
    crossEntropyBackwardRef(dRef, logits, targets, Float32Array.of(dloss), Float32Array.of(count), N, V, IGNORE);
    expectClose(await ctx.read(tD), dRef, 1e-7 * (dloss / count), 1e-5, 'dlogits');
    for (const t of [tL, tT, tLoss, tValid, tD, tDl, tCnt]) ctx.release(t);
  });
});

describe.each([false, true])('crossEntropy edge cases (webgpu, barrierFree=%s)', (barrierFree) => {
  it('is stable for large logits and treats out-of-range targets like ignored rows', async () => {
    const ctx = await gpuContext();
    ctx.barrierFree = barrierFree;
    const N = 4,
      V = 3;
    const logits = Float32Array.from([1000, 1000, -1000, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const targets = Int32Array.from([1, 3, -1, 2]);
    const tL = ctx.tensor([N, V], 'f32', 'logits'),
      tT = ctx.tensor([N], 'i32', 'targets');
    const tLoss = ctx.tensor([N], 'f32', 'losses'),
      tValid = ctx.tensor([N], 'f32', 'valid');
    const tD = ctx.tensor([N, V], 'f32', 'dlogits'),
      tOne = ctx.tensor([1], 'f32', 'one');
    ctx.write(tL, logits);
    ctx.write(tT, targets);
    ctx.write(tOne, Float32Array.of(1));
    ctx.write(tD, new Float32Array(N * V).fill(5));
    crossEntropy(ctx, tLoss, tValid, tL, tT, N, V, IGNORE);
    crossEntropyBackward(ctx, tD, tL, tT, tOne, tOne, N, V, IGNORE);
    const loss = await ctx.read(tLoss),
      valid = await ctx.read(tValid),
      d = await ctx.read(tD);
    expect(loss[0]).toBeCloseTo(Math.log(2), 5);
    expect(loss[3]).toBeCloseTo(Math.log(1 + Math.exp(-1) + Math.exp(-2)), 5);
    expect(Array.from(valid)).toEqual([1, 0, 0, 1]);
    expect([loss[1], loss[2]]).toEqual([0, 0]);
    expectClose(d.slice(0, 3), [0.5, -0.5, 0], 1e-6, 0, 'dlogits row 0');
    expect(Array.from(d.slice(3, 9))).toEqual([0, 0, 0, 0, 0, 0]);
    for (const t of [tL, tT, tLoss, tValid, tD, tOne]) ctx.release(t);
  });
});
