// WebGPU LayerNorm vs the float64 CPU reference on the same f32 inputs: forward (out, mean, rstd), backward dx
// (overwrite and accumulate) and dw/db (accumulating, all four null combinations), at shapes that do not divide the
// workgroups and realistic ones. Tolerances: 1e-5 abs + 1e-5 rel; dw/db (sums over N rows) 1e-5 abs + 1e-5 rel too.

import { describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { rowGrid } from '../../src/gpu/context';
import { layernorm, layernormBackward } from '../../src/gpu/kernels/layernorm';
import { layernormBackwardRef, layernormRef } from '../../src/ops/layernorm';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-5;
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

// barrierFree: the one-invocation-per-row kernels used on CPU-emulated adapters; false: the workgroup tree.
describe.each([
  [7, 13, false],
  [3, 5, false],
  [512, 64, false],
  [512, 256, false],
  [7, 13, true],
  [512, 64, true],
  [130, 256, true],
])('layernorm %ix%i barrierFree=%s (webgpu vs cpu)', (N, C, barrierFree) => {
  it('forward, dx, dw and db', async () => {
    const ctx = await gpuContext();
    ctx.barrierFree = barrierFree;
    const eps = 1e-5;
    // An offset per element keeps row means away from 0, as in a residual stream.
    const x = randArray(N * C, 1, -2, 2).map((v, i) => v + 0.5 + (i % 3));
    const w = randArray(C, 2),
      b = randArray(C, 3),
      dout = randArray(N * C, 4);
    const prevX = randArray(N * C, 5),
      prevW = randArray(C, 6),
      prevB = randArray(C, 7);
    const tx = upload(ctx, x, 'x'),
      tw = upload(ctx, w, 'w'),
      tb = upload(ctx, b, 'b'),
      tdo = upload(ctx, dout, 'dout');
    const to = ctx.tensor([N, C], 'f32', 'out'),
      tm = ctx.tensor([N], 'f32', 'mean'),
      tr = ctx.tensor([N], 'f32', 'rstd');

    const out = new Float64Array(N * C),
      mean = new Float64Array(N),
      rstd = new Float64Array(N);
    layernorm(ctx, to, tm, tr, tx, tw, tb, N, C, eps);
    layernormRef(out, mean, rstd, f64(x), f64(w), f64(b), N, C, eps);
    expectClose(await ctx.read(to), out, TOL, TOL, 'out');
    const gm = await ctx.read(tm),
      gr = await ctx.read(tr);
    expectClose(gm, mean, TOL, TOL, 'mean');
    expectClose(gr, rstd, TOL, TOL, 'rstd');

    // Backward from the GPU's saved mean/rstd, as a training step would use them.
    const cases: [boolean, boolean, boolean][] =
      N * C > 1000
        ? [
            [true, true, false],
            [true, true, true],
          ]
        : [
            [true, true, false],
            [true, true, true],
            [true, false, true],
            [false, true, false],
            [false, false, true],
          ];
    for (const [hasW, hasB, acc] of cases) {
      const what = `dw ${hasW} db ${hasB} accumulate ${acc}`;
      const tdx = upload(ctx, prevX, 'dx'),
        tdw = upload(ctx, prevW, 'dw'),
        tdb = upload(ctx, prevB, 'db');
      layernormBackward(ctx, tdx, hasW ? tdw : null, hasB ? tdb : null, tdo, tx, tw, tm, tr, N, C, acc);
      const dx = f64(prevX),
        dw = f64(prevW),
        db = f64(prevB);
      layernormBackwardRef(
        dx,
        hasW ? dw : null,
        hasB ? db : null,
        f64(dout),
        f64(x),
        f64(w),
        f64(gm),
        f64(gr),
        N,
        C,
        acc,
      );
      expectClose(await ctx.read(tdx), dx, TOL, TOL, `dx (${what})`);
      expectClose(await ctx.read(tdw), dw, TOL, TOL, `dw (${what})`);
      expectClose(await ctx.read(tdb), db, TOL, TOL, `db (${what})`);
      for (const t of [tdx, tdw, tdb]) ctx.release(t);
    }
    for (const t of [tx, tw, tb, tdo, to, tm, tr]) ctx.release(t);
  });
});

describe('rowGrid', () => {
  // Folding is not run on the GPU: 65536+ rows of 128-thread workgroups take minutes on SwiftShader.
  it('folds rows beyond the per-dimension limit into y, covering every row', () => {
    expect(rowGrid(7, 65535)).toEqual([7, 1]);
    expect(rowGrid(0, 65535)).toEqual([1, 1]);
    for (const rows of [65535, 65536, 70001, 1_000_003]) {
      const [x, y] = rowGrid(rows, 65535);
      expect(x).toBeLessThanOrEqual(65535);
      expect(x * y).toBeGreaterThanOrEqual(rows);
      expect(x * (y - 1)).toBeLessThan(rows);
    }
  });
});
