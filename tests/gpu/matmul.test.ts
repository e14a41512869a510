// WebGPU matmul and sumRows vs the float64-accumulating CPU reference: a shape inside one tile (7x13x5) in all
// transpositions, batched/broadcast/bias/alpha/accumulate, a multi-tile ragged shape and two realistic ones.
// Tolerance 1e-5 absolute + 1e-5 relative: with U(-1,1) inputs the f32 rounding of a K-term dot product is about
// eps * K / sqrt(3) ~ 2e-6 at K = 64 (observed max 3.1e-6 at 128x64x192), 3x under the bound, while a wrong index,
// a missed K tile or an out-of-bounds read (NaN tails below) gives errors of order 0.1 or NaN.

import { afterEach, describe, expect, it } from 'vitest';
import { matmul, setMatmulTiling, sumRows } from '../../src/gpu/kernels/matmul';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { matmulRef, sumRowsRef } from '../../src/ops/matmul';
import type { MatmulParams } from '../../src/tensor/backend';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-5;

function upload(ctx: GpuContext, data: Float32Array, label: string, nanTail = 0): GpuTensor {
  const t = ctx.tensor([data.length + nanTail], 'f32', label);
  ctx.write(t, data);
  if (nanTail) ctx.write(t, new Float32Array(nanTail).fill(NaN), data.length);
  return t;
}

/** Runs one matmul on both backends (from the same starting out) and compares. */
async function check(ctx: GpuContext, p: MatmulParams, withBias: boolean, seed: number, what: string): Promise<void> {
  const batch = p.batch ?? 1;
  const a = randArray(batch * p.M * p.K, seed), b = randArray((p.broadcastB ? 1 : batch) * p.K * p.N, seed + 1);
  const bias = withBias ? randArray(p.N, seed + 2) : null;
  const out0 = randArray(batch * p.M * p.N, seed + 3);
  // NaN after the operands: a tile load that reads past a bound (instead of using 0) poisons the result.
  const ta = upload(ctx, a, 'a', 64), tb = upload(ctx, b, 'b', 64), to = upload(ctx, out0, 'out');
  const tbias = bias ? upload(ctx, bias, 'bias') : null;
  matmul(ctx, to, ta, tb, tbias, p);
  const expected = out0.slice();
  matmulRef(expected, a, b, bias, p);
  expectClose(await ctx.read(to), expected, TOL, TOL, what);
  for (const t of [ta, tb, to, tbias]) if (t) ctx.release(t);
}

const combos = [[false, false], [true, false], [false, true], [true, true]] as const;

describe.each(combos)('matmul transA=%s transB=%s (webgpu vs cpu)', (transA, transB) => {
  it('7x13x5 in one ragged tile', async () => {
    const ctx = await gpuContext();
    await check(ctx, { M: 7, K: 13, N: 5, transA, transB }, false, 10, 'plain');
  });

  it('batched: broadcast b with bias, alpha and accumulate; per-entry b', async () => {
    const ctx = await gpuContext();
    await check(ctx, { M: 7, K: 13, N: 5, transA, transB, batch: 3, broadcastB: true, alpha: 0.37, accumulate: true },
      true, 20, 'broadcastB + bias + alpha + accumulate');
    await check(ctx, { M: 7, K: 13, N: 5, transA, transB, batch: 3, alpha: -2 }, false, 30, 'batched b');
  });

  it('37x45x70: several tiles in M and N, a partial second K tile', async () => {
    const ctx = await gpuContext();
    await check(ctx, { M: 37, K: 45, N: 70, transA, transB, batch: 2, broadcastB: true }, true, 40, 'multi-tile');
  });
});

// The 64x64-tile variant (WG 16) that 'auto' picks for wide layers on large GPUs: the same index maths with other
// constants, so every transposition and a shape ragged in M, N and K against its 64-wide tiles and 32-deep K steps.
describe.each(combos)('matmul 64x64 tiles transA=%s transB=%s (webgpu vs cpu)', (transA, transB) => {
  afterEach(() => setMatmulTiling('auto'));
  it('7x13x5, and 70x45x130 batched with bias, alpha and accumulate', async () => {
    const ctx = await gpuContext();
    setMatmulTiling(64);
    await check(ctx, { M: 7, K: 13, N: 5, transA, transB }, false, 90, 'one ragged 64-tile');
    await check(ctx, { M: 70, K: 45, N: 130, transA, transB, batch: 2, broadcastB: true, alpha: 0.5, accumulate: true }, true, 91, 'multi 64-tile');
  });
});

describe('matmul realistic sizes (webgpu vs cpu)', () => {
  it('128x64x192 with bias (GPT-2 tiny c_attn) and 512x64x64 (transB, nn.Linear layout)', async () => {
    const ctx = await gpuContext();
    await check(ctx, { M: 128, K: 64, N: 192 }, true, 50, 'c_attn');
    await check(ctx, { M: 512, K: 64, N: 64, transB: true }, true, 60, '512x64x64');
  });

  it('new shapes reuse the pipelines', async () => {
    const ctx = await gpuContext();
    await check(ctx, { M: 3, K: 4, N: 5 }, true, 70, 'warm-up');
    await check(ctx, { M: 3, K: 4, N: 5 }, false, 71, 'warm-up');
    const before = ctx.counters.pipelineCreations;
    await check(ctx, { M: 40, K: 9, N: 33, transA: true, batch: 2, alpha: 3, accumulate: true }, true, 72, 'other shape');
    await check(ctx, { M: 9, K: 70, N: 2, transB: true }, false, 73, 'other shape');
    expect(ctx.counters.pipelineCreations).toBe(before);
  });
});

describe.each([[7, 13], [512, 192]])('sumRows M=%i N=%i (webgpu vs cpu)', (M, N) => {
  it('writes and accumulates', async () => {
    const ctx = await gpuContext();
    const x = randArray(M * N, 80), out0 = randArray(N, 81);
    const tx = upload(ctx, x, 'x'), to = upload(ctx, out0, 'out');
    // M <= 512 terms of U(-1,1) summed in f32 runs of M/8 and an 8-way sum: ~eps * sqrt(M) ~ 1e-6, under TOL.
    const expected = out0.slice();
    sumRows(ctx, to, tx, M, N, true);
    sumRowsRef(expected, x, M, N, true);
    expectClose(await ctx.read(to), expected, TOL, TOL, 'accumulate');
    sumRows(ctx, to, tx, M, N);
    sumRowsRef(expected, x, M, N);
    expectClose(await ctx.read(to), expected, TOL, TOL, 'write');
    ctx.release(tx);
    ctx.release(to);
  });
});
