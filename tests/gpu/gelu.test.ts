// WebGPU GELU (both kinds) vs the float64 CPU reference on the same f32 inputs, forward and backward (overwrite and
// accumulate), at a size that does not divide the workgroup and a realistic one. Tolerance: 1e-6 abs + 1e-6 rel
// (A-S 7.1.26 erf is within 1.5e-7; f32 rounding of values up to |x| = 8 is ~5e-7).

import { describe, expect, it } from 'vitest';
import { gelu, geluBackward } from '../../src/gpu/kernels/gelu';
import { geluBackwardRef, geluRef } from '../../src/ops/gelu';
import type { GeluKind } from '../../src/tensor/backend';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-6;

describe.each<[number, GeluKind]>([
  [7 * 13 * 5, 'tanh'],
  [7 * 13 * 5, 'erf'],
  [512 * 256, 'tanh'],
  [512 * 256, 'erf'],
])('gelu n=%i kind=%s (webgpu vs cpu)', (n, kind) => {
  it('forward, backward and accumulate', async () => {
    const ctx = await gpuContext();
    const x = randArray(n, 1, -8, 8),
      dout = randArray(n, 2),
      prev = randArray(n, 3);
    // Tails where a naive tanh overflows (inf/inf) or x^3 * sech^2 becomes inf * 0.
    x.set([0, 30, -30, 1e4, -1e4, 1e20, -1e20]);
    const tx = ctx.tensor([n], 'f32', 'x'),
      tdo = ctx.tensor([n], 'f32', 'dout'),
      to = ctx.tensor([n], 'f32', 'out');
    ctx.write(tx, x);
    ctx.write(tdo, dout);
    const xd = Float64Array.from(x),
      dod = Float64Array.from(dout);

    const ref = new Float64Array(n);
    gelu(ctx, to, tx, kind);
    geluRef(ref, xd, kind);
    const y = await ctx.read(to);
    expect(y.every(Number.isFinite), 'forward finite').toBe(true);
    expectClose(y, ref, TOL, TOL, `gelu ${kind}`);

    geluBackward(ctx, to, tx, tdo, kind);
    geluBackwardRef(ref, xd, dod, kind);
    const g = await ctx.read(to);
    expect(g.every(Number.isFinite), 'backward finite').toBe(true);
    expectClose(g, ref, TOL, TOL, `gelu ${kind} backward`);

    ctx.write(to, prev);
    geluBackward(ctx, to, tx, tdo, kind, true);
    ref.set(prev);
    geluBackwardRef(ref, xd, dod, kind, true);
    expectClose(await ctx.read(to), ref, TOL, TOL, `gelu ${kind} backward accumulate`);
    for (const t of [tx, tdo, to]) ctx.release(t);
  });
});
