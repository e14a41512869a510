// WebGPU softmax vs the float64 CPU reference on the same f32 inputs, at shapes smaller than / not dividing the
// 128-wide workgroup and realistic attention-like ones. Tolerance: 1e-6 abs + 1e-5 rel (probabilities are <= 1).

import { describe, it } from 'vitest';
import { softmax, softmaxBackward } from '../../src/gpu/kernels/softmax';
import { softmaxBackwardRef, softmaxRef } from '../../src/ops/softmax';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

describe.each([
  [7, 13],
  [3, 5],
  [512, 64],
  [512, 256],
])('softmax %ix%i (webgpu vs cpu)', (rows, cols) => {
  it('forward and backward', async () => {
    const ctx = await gpuContext();
    const n = rows * cols;
    const x = randArray(n, 1, -5, 5),
      dy = randArray(n, 2);
    // Row 0 would overflow exp() in f32 without the max subtraction.
    for (let c = 0; c < cols; c++) x[c] += 100;
    const tx = ctx.tensor([rows, cols], 'f32', 'x'),
      ty = ctx.tensor([rows, cols], 'f32', 'y');
    const tdy = ctx.tensor([rows, cols], 'f32', 'dy'),
      tdx = ctx.tensor([rows, cols], 'f32', 'dx');
    ctx.write(tx, x);
    ctx.write(tdy, dy);

    const ref = new Float64Array(n);
    softmax(ctx, ty, tx, rows, cols);
    softmaxRef(ref, Float64Array.from(x), rows, cols);
    const y = (await ctx.read(ty)) as Float32Array;
    expectClose(y, ref, 1e-6, 1e-5, 'softmax');

    // The backward is checked on the GPU's own y, so only the backward's error is measured.
    ctx.write(tdx, randArray(n, 3));
    softmaxBackward(ctx, tdx, ty, tdy, rows, cols);
    softmaxBackwardRef(ref, Float64Array.from(y), Float64Array.from(dy), rows, cols);
    expectClose(await ctx.read(tdx), ref, 1e-6, 1e-5, 'softmax backward');
    for (const t of [tx, ty, tdy, tdx]) ctx.release(t);
  });
});
