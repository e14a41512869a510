// WebGPU dropout vs the CPU reference: the forward is bitwise identical (same u32 hash, same f32 scale), so the
// masks are too; the backward (an add, possibly fused on the GPU) within 1e-6 abs + 1e-6 rel. The GPU keep fraction
// is checked statistically on its own, and distinct seeds give distinct masks.

import { describe, expect, it } from 'vitest';
import { dropout, dropoutBackward } from '../../src/gpu/kernels/dropout';
import { dropoutBackwardRef, dropoutRef } from '../../src/ops/dropout';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

describe.each([7 * 13 * 5, 300_001])('dropout n=%i (webgpu vs cpu)', (n) => {
  it.each([0.1, 0.5, 0])('p=%f: forward bitwise equal, backward close', async (p) => {
    const ctx = await gpuContext();
    // Inputs bounded away from 0, so out == 0 exactly where the element was dropped.
    const x = randArray(n, 1, 0.5, 2),
      dout = randArray(n, 2),
      prev = randArray(n, 3);
    const tx = ctx.tensor([n], 'f32', 'x'),
      to = ctx.tensor([n], 'f32', 'out'),
      tdx = ctx.tensor([n], 'f32', 'dx');
    ctx.write(tx, x);
    ctx.write(tdx, prev);
    const seed = 0x9e3779b9 + n;
    dropout(ctx, to, tx, p, seed);
    const got = await ctx.read(to),
      ref = new Float32Array(n);
    dropoutRef(ref, x, p, seed);
    expect(Buffer.from(got.buffer).equals(Buffer.from(ref.buffer)), 'forward bitwise equal').toBe(true);
    const kept = Array.from(got).filter((v) => v !== 0).length / n;
    expect(Math.abs(kept - (1 - p))).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n) + 1 / n);

    ctx.write(tx, dout);
    dropoutBackward(ctx, tdx, tx, p, seed);
    const dref = prev.slice();
    dropoutBackwardRef(dref, dout, p, seed);
    expectClose(await ctx.read(tdx), dref, 1e-6, 1e-6, 'dx += dout * keep / (1-p)');
    for (const t of [tx, to, tdx]) ctx.release(t);
  });
});

describe('dropout seeds (webgpu)', () => {
  it('different seeds give different, independent masks', async () => {
    const ctx = await gpuContext();
    const n = 100_000;
    const tx = ctx.tensor([n], 'f32', 'x'),
      ta = ctx.tensor([n], 'f32', 'a'),
      tb = ctx.tensor([n], 'f32', 'b');
    ctx.write(tx, new Float32Array(n).fill(1));
    dropout(ctx, ta, tx, 0.5, 1);
    dropout(ctx, tb, tx, 0.5, 2);
    const a = await ctx.read(ta),
      b = await ctx.read(tb);
    let both = 0;
    for (let i = 0; i < n; i++) if (a[i] !== 0 && b[i] !== 0) both++;
    expect(Math.abs(both / n - 0.25)).toBeLessThan(7e-3); // 5 sd of a Bernoulli(1/4) mean over 1e5
    for (const t of [tx, ta, tb]) ctx.release(t);
  });
});

describe('dropout mask offset (micro-batch rows inside a batch)', () => {
  it('a tensor at offset o draws the elements o.. of the whole tensor, on the CPU and bitwise on WebGPU', async () => {
    const ctx = await gpuContext(),
      n = 4096,
      o = 1536,
      m = 1024,
      p = 0.3,
      seed = 77;
    const x = randArray(n, 4, 0.5, 2),
      whole = new Float32Array(n),
      part = new Float32Array(m);
    dropoutRef(whole, x, p, seed);
    dropoutRef(part, x.subarray(o, o + m), p, seed, o);
    expect(Array.from(part)).toEqual(Array.from(whole.subarray(o, o + m)));
    const dpart = new Float32Array(m);
    dropoutBackwardRef(dpart, x.subarray(o, o + m), p, seed, o);
    expect(Array.from(dpart)).toEqual(Array.from(part));
    const tx = ctx.tensor([m], 'f32', 'x'),
      to = ctx.tensor([m], 'f32', 'out');
    ctx.write(tx, x.slice(o, o + m));
    dropout(ctx, to, tx, p, seed, o);
    expect(Array.from(await ctx.read(to))).toEqual(Array.from(part));
    const tdx = ctx.tensor([m], 'f32', 'dx');
    dropoutBackward(ctx, tdx, tx, p, seed, o);
    expect(Array.from(await ctx.read(tdx))).toEqual(Array.from(part));
    for (const t of [tx, to, tdx]) ctx.release(t);
  });
});
