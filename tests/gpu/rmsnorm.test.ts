// WebGPU RMSNorm vs the float64 CPU reference on the same f32 inputs: forward (out, rstd), backward dx (overwrite and
// accumulate) and dw (accumulating, or null), at shapes that do not divide the workgroups (D = 1, odd D, D > 128) and
// realistic ones (SmolLM2-135M's hidden 576; Qwen3's per-head norm of head_dim 128 over B*T*H rows), both kernel
// variants. Tolerances: 1e-5 abs + 1e-5 rel everywhere (dw, a sum over N rows, included).

import { describe, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { rmsnorm, rmsnormBackward } from '../../src/gpu/kernels/rmsnorm';
import { rmsnormBackwardRef, rmsnormRef } from '../../src/ops/rmsnorm';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-5;
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

const shapes: [number, number][] = [
  [7, 13],
  [5, 1],
  [3, 131],
  [64, 576],
  [256, 128],
];
const runs = shapes.flatMap(([N, D]) => [false, true].map((bf) => [N, D, bf] as [number, number, boolean]));

describe.each(runs)('rmsnorm %ix%i barrierFree=%s (webgpu vs cpu)', (N, D, barrierFree) => {
  it('forward, dx and dw', async () => {
    const ctx = await gpuContext();
    const saved = ctx.barrierFree;
    ctx.barrierFree = barrierFree;
    try {
      const eps = 1e-6;
      const x = randArray(N * D, 1, -2, 2),
        w = randArray(D, 2, 0.5, 1.5),
        dout = randArray(N * D, 4);
      const prevX = randArray(N * D, 5),
        prevW = randArray(D, 6);
      const tx = upload(ctx, x, 'x'),
        tw = upload(ctx, w, 'w'),
        tdo = upload(ctx, dout, 'dout');
      const to = ctx.tensor([N, D], 'f32', 'out'),
        tr = ctx.tensor([N], 'f32', 'rstd');

      const out = new Float64Array(N * D),
        rstd = new Float64Array(N);
      rmsnorm(ctx, to, tr, tx, tw, N, D, eps);
      rmsnormRef(out, rstd, f64(x), f64(w), N, D, eps);
      expectClose(await ctx.read(to), out, TOL, TOL, 'out');
      const gr = await ctx.read(tr);
      expectClose(gr, rstd, TOL, TOL, 'rstd');

      // Backward from the GPU's saved rstd, as a training step would use it.
      for (const [hasW, acc] of [
        [true, false],
        [true, true],
        [false, true],
      ] as [boolean, boolean][]) {
        const what = `dw ${hasW} accumulate ${acc}`;
        const tdx = upload(ctx, prevX, 'dx'),
          tdw = upload(ctx, prevW, 'dw');
        rmsnormBackward(ctx, tdx, hasW ? tdw : null, tdo, tx, tw, tr, N, D, acc);
        const dx = f64(prevX),
          dw = f64(prevW);
        rmsnormBackwardRef(dx, hasW ? dw : null, f64(dout), f64(x), f64(w), f64(gr), N, D, acc);
        expectClose(await ctx.read(tdx), dx, TOL, TOL, `dx (${what})`);
        expectClose(await ctx.read(tdw), dw, TOL, TOL, `dw (${what})`);
        for (const t of [tdx, tdw]) ctx.release(t);
      }
      for (const t of [tx, tw, tdo, to, tr]) ctx.release(t);
    } finally {
      ctx.barrierFree = saved;
    }
  });
});
