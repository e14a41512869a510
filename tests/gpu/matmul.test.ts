// WebGPU matmul and sumRows vs the float64-accumulating CPU reference, for every kernel variant: a shape inside one
// tile (7x13x5) in all transpositions, batched/broadcast/bias/alpha/accumulate, multi-tile ragged shapes and two
// realistic ones; and when each variant creates pipelines.
// Tolerance 1e-5 absolute + 1e-5 relative: with U(-1,1) inputs the f32 rounding of a K-term dot product is about
// eps * K / sqrt(3) ~ 2e-6 at K = 64 (observed max 3.1e-6 at 128x64x192), 3x under the bound, while a wrong index,
// a missed K tile or an out-of-bounds read (NaN tails below) gives errors of order 0.1 or NaN.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { matmul, setFlatShapeLimit, sumRows } from '../../src/gpu/kernels/matmul';
import {
  matmulSplitFor,
  matmulStagingFor,
  matmulStagingPadFor,
  matmulTileFor,
  matmulVectorLoadsFor,
  setMatmulDoubleBuffer,
  setMatmulLargeTile,
  setMatmulPrefetch,
  setMatmulSplitK,
  setMatmulStagingPad,
  setMatmulSwizzle,
  setMatmulTiling,
  setMatmulVectorLoads,
} from '../../src/gpu/kernels/matmulRules';
import { matmulKernelFor } from '../../src/gpu/kernels/matmulTuned';
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
  const a = randArray(batch * p.M * p.K, seed),
    b = randArray((p.broadcastB ? 1 : batch) * p.K * p.N, seed + 1);
  const bias = withBias ? randArray(p.N, seed + 2) : null;
  const out0 = randArray(batch * p.M * p.N, seed + 3);
  // NaN after the operands: a tile load that reads past a bound (instead of using 0) poisons the result.
  const ta = upload(ctx, a, 'a', 64),
    tb = upload(ctx, b, 'b', 64),
    to = upload(ctx, out0, 'out');
  const tbias = bias ? upload(ctx, bias, 'bias') : null;
  matmul(ctx, to, ta, tb, tbias, p);
  const expected = out0.slice();
  matmulRef(expected, a, b, bias, p);
  expectClose(await ctx.read(to), expected, TOL, TOL, what);
  for (const t of [ta, tb, to, tbias]) if (t) ctx.release(t);
}

const combos = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

// Every kernel variant: the tiled kernel at every tile size (GPUs), with padded and unpadded staging rows, and with K
// split into partials (3 wanted: 2 splits of 32 at K = 45 and 50, the last one partial; then a second pass adds them
// with bias and accumulate); and the flat kernel (CPU-emulated adapters) both compiled for the shape and in its
// generic form (the uniform fields), which shapes past the per-device limit take.
const KERNELS = [
  ['32x32 tiles', 32, 64, 'auto', 'off'],
  ['64x64 tiles', 64, 64, 'auto', 'off'],
  ['128x128 tiles', 128, 64, 'auto', 'off'],
  ['64x64 tiles, unpadded', 64, 64, 'none', 'off'],
  ['64x64 tiles, both operands padded', 64, 64, 'both', 'off'],
  ['128x128 tiles, both operands padded', 128, 64, 'both', 'off'],
  ['32x32 tiles, split K', 32, 64, 'auto', 3],
  ['128x128 tiles, split K', 128, 64, 'both', 3],
  ['flat per shape', 'flat', 64, 'auto', 'off'],
  ['flat generic', 'flat', 0, 'auto', 'off'],
] as const;

describe.each(KERNELS)('matmul %s', (_, tiling, limit, pad, split) => {
  beforeEach(() => {
    setMatmulTiling(tiling);
    setFlatShapeLimit(limit);
    setMatmulStagingPad(pad);
    setMatmulSplitK(split);
  });
  afterEach(() => {
    setMatmulTiling('auto');
    setFlatShapeLimit(64);
    setMatmulStagingPad('auto');
    setMatmulSplitK('auto');
  });

  describe.each(combos)('transA=%s transB=%s (webgpu vs cpu)', (transA, transB) => {
    it('7x13x5 in one ragged tile', async () => {
      const ctx = await gpuContext();
      await check(ctx, { M: 7, K: 13, N: 5, transA, transB }, false, 10, 'plain');
    });

    it('batched: broadcast b with bias, alpha and accumulate; per-entry b', async () => {
      const ctx = await gpuContext();
      await check(
        ctx,
        { M: 7, K: 13, N: 5, transA, transB, batch: 3, broadcastB: true, alpha: 0.37, accumulate: true },
        true,
        20,
        'broadcastB + bias + alpha + accumulate',
      );
      await check(ctx, { M: 7, K: 13, N: 5, transA, transB, batch: 3, alpha: -2 }, false, 30, 'batched b');
    });

    it('37x45x70, 70x45x130 and 150x50x270: several tiles in M and N (of every size), a partial last K tile', async () => {
      const ctx = await gpuContext();
      await check(ctx, { M: 37, K: 45, N: 70, transA, transB, batch: 2, broadcastB: true }, true, 40, 'multi-tile');
      await check(
        ctx,
        { M: 70, K: 45, N: 130, transA, transB, batch: 2, broadcastB: true, alpha: 0.5, accumulate: true },
        true,
        91,
        'multi 64-tile',
      );
      await check(ctx, { M: 150, K: 50, N: 270, transA, transB }, true, 95, 'multi 128-tile');
    });
  });

  it('128x64x192 with bias (GPT-2 tiny c_attn) and 512x64x64 (transB, nn.Linear layout)', async () => {
    const ctx = await gpuContext();
    await check(ctx, { M: 128, K: 64, N: 192 }, true, 50, 'c_attn');
    await check(ctx, { M: 512, K: 64, N: 64, transB: true }, true, 60, '512x64x64');
  });
});

// Vector loads (matmulVectorLoadsFor): an operand whose stored rows are a multiple of 4 long is read 4 elements per
// load, on every tile, with and without prefetch (the next K tile loaded before the current one's products), with
// prefetch in two staging buffers and in one, with vector loads off (prefetch over scalar loads), and with the
// k-fast operands' staging swizzled (the default with vector loads) or padded (unswizzled). Each case checks the
// staging buffers it takes on this adapter's 32 KiB of workgroup memory, for a row-major b and a transposed one: a
// padded 64x64 or 128x128 tile does not fit twice. 37x44x70 mixes them: only the operands whose stored rows run along
// K (a row-major a, a transposed b) are aligned. The NaN after each operand fails any load that crosses a bound.
type VectorCase = {
  tile: 32 | 64 | 128;
  prefetch: boolean;
  vector: boolean;
  double: boolean;
  swizzle: boolean;
  stages: [1 | 2, 1 | 2];
};
const on = { prefetch: true, vector: true, double: true, swizzle: true };
const VECTOR: [string, VectorCase][] = [
  ['64x64 tiles', { ...on, tile: 64, prefetch: false, stages: [1, 1] }],
  ['128x128 tiles', { ...on, tile: 128, prefetch: false, stages: [1, 1] }],
  ['32x32 tiles, prefetch', { ...on, tile: 32, stages: [2, 2] }],
  ['64x64 tiles, prefetch', { ...on, tile: 64, stages: [2, 2] }],
  ['128x128 tiles, prefetch', { ...on, tile: 128, stages: [2, 2] }],
  ['64x64 tiles, prefetch, one staging buffer', { ...on, tile: 64, double: false, stages: [1, 1] }],
  ['128x128 tiles, prefetch, one staging buffer', { ...on, tile: 128, double: false, stages: [1, 1] }],
  ['64x64 tiles, scalar loads, prefetch', { ...on, tile: 64, vector: false, stages: [2, 1] }],
  ['32x32 tiles, prefetch, unswizzled', { ...on, tile: 32, swizzle: false, stages: [2, 2] }],
  ['64x64 tiles, prefetch, unswizzled', { ...on, tile: 64, swizzle: false, stages: [2, 1] }],
];

describe.each(VECTOR)('matmul vector loads: %s', (_, c) => {
  const { tile, prefetch, vector } = c;
  beforeEach(async () => {
    setMatmulTiling(tile);
    setMatmulPrefetch(prefetch);
    setMatmulVectorLoads(vector);
    setMatmulDoubleBuffer(c.double);
    setMatmulSwizzle(c.swizzle);
    setMatmulSplitK('off');
    const limit = (await gpuContext()).limits.maxComputeWorkgroupStorageSize;
    const V = vector ? 4 : 1;
    const staging = (transB: boolean) =>
      matmulStagingFor(limit, { tile, f16: false, transA: false, transB, prefetch, VA: V, VB: V });
    expect([staging(false).STAGES, staging(true).STAGES], `staging buffers in ${limit} bytes`).toEqual(c.stages);
    expect([staging(true).SWZ_A, staging(true).SWZ_B]).toEqual(Array(2).fill(c.swizzle && vector ? 'true' : 'false'));
  });
  afterEach(() => {
    setMatmulTiling('auto');
    setMatmulPrefetch(false);
    setMatmulVectorLoads(true);
    setMatmulDoubleBuffer(true);
    setMatmulSwizzle(true);
    setMatmulSplitK('auto');
  });

  describe.each(combos)('transA=%s transB=%s (webgpu vs cpu)', (transA, transB) => {
    it('aligned: batched with bias; several tiles and K steps with alpha and accumulate; split K', async () => {
      const ctx = await gpuContext();
      const v = vector ? 4 : 1;
      expect(matmulVectorLoadsFor({ M: 36, K: 44, N: 68, transA, transB })).toEqual({ VA: v, VB: v });
      await check(ctx, { M: 36, K: 44, N: 68, transA, transB, batch: 2, broadcastB: true }, true, 110, 'batched');
      await check(ctx, { M: 36, K: 44, N: 68, transA, transB, batch: 2 }, false, 115, 'per-entry b');
      await check(
        ctx,
        { M: 140, K: 100, N: 132, transA, transB, alpha: 0.5, accumulate: true },
        true,
        120,
        'several tiles',
      );
      // 3 splits of 96, the last 8 long, then the sum with bias and accumulate.
      setMatmulSplitK(3);
      await check(ctx, { M: 20, K: 200, N: 36, transA, transB, batch: 2, accumulate: true }, true, 130, 'split K');
    });

    it('mixed: 37x44x70, only the operands whose stored rows run along K aligned', async () => {
      const ctx = await gpuContext();
      const v = vector ? 4 : 1;
      const p = { M: 37, K: 44, N: 70, transA, transB };
      expect(matmulVectorLoadsFor(p)).toEqual({ VA: transA ? 1 : v, VB: transB ? v : 1 });
      await check(ctx, { ...p, batch: 2 }, true, 140, 'mixed');
    });
  });
});

describe('matmul tile choice', () => {
  afterEach(() => {
    setMatmulLargeTile(64);
    setMatmulTiling('auto');
  });

  it("'auto': flat on CPU adapters; 32 or 64 on GPUs (split ranges counted); 128 for outputs of 64 such tiles after setMatmulLargeTile(128)", () => {
    const gpu = { barrierFree: false },
      cpu = { barrierFree: true };
    // matmulKernelFor reads only barrierFree and this context's tuned kernels (none).
    const gpuCtx = gpu as GpuContext;
    expect(matmulTileFor(cpu, { M: 1024, N: 768, batch: 1 })).toBe('flat');
    expect(matmulTileFor(gpu, { M: 128, N: 192, batch: 1 })).toBe(32);
    expect(matmulTileFor(gpu, { M: 1024, N: 768, batch: 1 })).toBe(64);
    expect(matmulTileFor(gpu, { M: 2048, N: 3072, batch: 1 })).toBe(64);
    // Split K's ranges count: GPT-2's LM-head input gradient in 320-row chunks, 60 64x64 tiles in 5 splits.
    expect(matmulTileFor(gpu, { M: 320, N: 768, batch: 1 })).toBe(32);
    expect(matmulTileFor(gpu, { M: 320, N: 768, batch: 1, splits: 5 })).toBe(64);
    expect(matmulKernelFor(gpuCtx, { M: 320, K: 50257, N: 768 }, 'f32', false)).toEqual({ tile: 64, prefetch: false });
    expect(matmulKernelFor(gpuCtx, { M: 320, K: 768, N: 768 }, 'f32', false).tile, 'short K: no split').toBe(32);
    setMatmulLargeTile(128);
    expect(matmulTileFor(gpu, { M: 1024, N: 768, batch: 1 })).toBe(64); // 8 x 6 tiles of 128: too few workgroups
    expect(matmulTileFor(gpu, { M: 2048, N: 3072, batch: 1 })).toBe(128);
    expect(matmulTileFor(gpu, { M: 512, N: 768, batch: 2 })).toBe(64);
    expect(matmulTileFor(gpu, { M: 1024, N: 1024, batch: 4 })).toBe(128);
    expect(matmulTileFor(cpu, { M: 2048, N: 3072, batch: 1 })).toBe('flat');
    setMatmulTiling(128);
    expect(matmulTileFor(cpu, { M: 7, N: 5, batch: 1 })).toBe(128);
  });
});

describe('matmul staging pads', () => {
  afterEach(() => setMatmulStagingPad('auto'));

  it("'auto' pads a transposed b only, and nothing where the padded tiles exceed the workgroup memory", () => {
    const KiB = 1024;
    // f32 64x64 tiles stage 2 x 32 x 16 vec4s = 16 KiB; one padded operand adds 32 vec4s.
    expect(matmulStagingPadFor(32 * KiB, 64, false, false, true)).toEqual({ PAD_A: 0, PAD_B: 1 });
    expect(matmulStagingPadFor(32 * KiB, 64, false, false, false)).toEqual({ PAD_A: 0, PAD_B: 0 });
    expect(matmulStagingPadFor(16 * KiB, 64, false, false, true), 'the default 16 KiB').toEqual({ PAD_A: 0, PAD_B: 0 });
    expect(matmulStagingPadFor(16 * KiB, 32, false, false, true), '32x32: 8 KiB').toEqual({ PAD_A: 0, PAD_B: 1 });
    expect(matmulStagingPadFor(16 * KiB, 64, true, false, true), 'f16 tiles: 8 KiB').toEqual({ PAD_A: 0, PAD_B: 1 });
    setMatmulStagingPad('both');
    expect(matmulStagingPadFor(32 * KiB, 128, false, false, true)).toEqual({ PAD_A: 1, PAD_B: 1 });
    expect(matmulStagingPadFor(32 * KiB, 128, false, true, false), 'a transposed a is m-fast').toEqual({
      PAD_A: 0,
      PAD_B: 0,
    });
    setMatmulStagingPad('none');
    expect(matmulStagingPadFor(32 * KiB, 64, false, false, true)).toEqual({ PAD_A: 0, PAD_B: 0 });
  });

  it('two staging buffers with prefetch where both fit the workgroup memory, else one', () => {
    const KiB = 1024;
    const at = (limit: number, tile: 32 | 64 | 128, prefetch: boolean, o: { transB?: boolean; f16?: boolean } = {}) =>
      matmulStagingFor(limit * KiB, {
        tile,
        f16: o.f16 ?? false,
        transA: false,
        transB: o.transB ?? true,
        prefetch,
        VA: 1,
        VB: 1,
      });
    // Element loads (no swizzle): a transposed b is padded. The H200's 48 KiB: the padded 64x64 and 128x128 f32
    // buffers (16.5 KiB each) fit twice.
    const flags = { SWZ_A: 'false', SWZ_B: 'false' };
    expect(at(48, 64, true)).toEqual({ PAD_A: 0, PAD_B: 1, ...flags, PREFETCH: 'true', STAGES: 2 });
    expect(at(48, 128, true)).toEqual({ PAD_A: 0, PAD_B: 1, ...flags, PREFETCH: 'true', STAGES: 2 });
    expect(at(48, 64, false), 'no prefetch: one buffer').toEqual({
      PAD_A: 0,
      PAD_B: 1,
      ...flags,
      PREFETCH: 'false',
      STAGES: 1,
    });
    // 32 KiB: the padded 64x64 buffers do not fit twice (the pad stays: it fits once); unpadded they do.
    expect(at(32, 64, true)).toEqual({ PAD_A: 0, PAD_B: 1, ...flags, PREFETCH: 'true', STAGES: 1 });
    expect(at(32, 64, true, { transB: false }).STAGES).toBe(2);
    expect(at(32, 64, true, { f16: true }).STAGES, 'f16 tiles: half the bytes').toBe(2);
    // The default 16 KiB: only the unpadded 32x32 tile's buffers (8 KiB) fit twice.
    expect(at(16, 32, true, { transB: false }).STAGES).toBe(2);
    expect(at(16, 32, true).STAGES, 'padded 32x32: 8.5 KiB').toBe(1);
    expect(at(16, 64, true, { transB: false }).STAGES).toBe(1);
    setMatmulDoubleBuffer(false);
    try {
      expect(at(48, 64, true).STAGES, 'double buffering off').toBe(1);
    } finally {
      setMatmulDoubleBuffer(true);
    }
  });

  it('swizzles the k-fast operands read a vec4 at a time, which then take no pad', () => {
    const KiB = 1024;
    const at = (transA: boolean, transB: boolean, VA: 1 | 4, VB: 1 | 4) =>
      matmulStagingFor(32 * KiB, { tile: 64, f16: false, transA, transB, prefetch: true, VA, VB });
    // A row-major a and a transposed b run along k: both swizzled, the b pad dropped, so two buffers fit 32 KiB.
    expect(at(false, true, 4, 4)).toEqual({
      PAD_A: 0,
      PAD_B: 0,
      SWZ_A: 'true',
      SWZ_B: 'true',
      PREFETCH: 'true',
      STAGES: 2,
    });
    // A transposed a and a row-major b are staged a vec4 along the tile (no conflicts): not swizzled.
    expect(at(true, false, 4, 4)).toMatchObject({ SWZ_A: 'false', SWZ_B: 'false' });
    // Element loads: not swizzled; the transposed b keeps its pad.
    expect(at(false, true, 1, 1)).toMatchObject({ PAD_B: 1, SWZ_A: 'false', SWZ_B: 'false', STAGES: 1 });
    expect(at(false, true, 4, 1)).toMatchObject({ PAD_B: 1, SWZ_A: 'true', SWZ_B: 'false' });
    setMatmulSwizzle(false);
    try {
      expect(at(false, true, 4, 4)).toMatchObject({ PAD_B: 1, SWZ_A: 'false', SWZ_B: 'false', STAGES: 1 });
    } finally {
      setMatmulSwizzle(true);
    }
  });
});

describe('matmul split K', () => {
  afterEach(() => {
    setMatmulTiling('auto');
    setMatmulSplitK('auto');
  });

  it("'auto' splits only outputs of few tiles with a long K, at the same k ranges whatever the tile", () => {
    // GPT-2's LM-head input gradient in 320-row chunks: 60 64x64 tiles over K = 50,257 -> 5 splits of 10,080.
    expect(matmulSplitFor(320, 50257, 768, 1)).toEqual({ splits: 5, kSplit: 10080 });
    expect(matmulSplitFor(64, 8192, 64, 1)).toEqual({ splits: 4, kSplit: 2048 });
    expect(matmulSplitFor(1024, 768, 3072, 1).splits, 'enough tiles').toBe(1);
    expect(matmulSplitFor(1024, 3072, 768, 1).splits, '192 tiles, but K too short for two splits of 2,048').toBe(1);
    expect(matmulSplitFor(64, 4000, 64, 1).splits, 'K too short for two splits of 2,048').toBe(1);
    expect(matmulSplitFor(64, 8192, 64, 300).splits, 'batched: enough tiles').toBe(1);
    setMatmulSplitK('off');
    expect(matmulSplitFor(320, 50257, 768, 1).splits).toBe(1);
    setMatmulSplitK(7);
    expect(matmulSplitFor(64, 100, 64, 1)).toEqual({ splits: 4, kSplit: 32 });
  });

  it.each([32, 64, 128] as const)(
    "'auto' on a long K (64x8192x96, transposed b, bias, accumulate) with %i tiles: the split sum matches the reference",
    async (tile) => {
      const ctx = await gpuContext();
      setMatmulTiling(tile);
      // 8192 U(-1,1) products: f32 rounding ~ eps * sqrt(K) per partial order; 2e-4 bounds it (a lost split: ~10).
      const p = { M: 64, K: 8192, N: 96, transB: true, alpha: 0.5, accumulate: true };
      expect(matmulSplitFor(p.M, p.K, p.N, 1).splits).toBe(4);
      const a = randArray(p.M * p.K, 201),
        b = randArray(p.K * p.N, 202),
        bias = randArray(p.N, 203),
        out0 = randArray(p.M * p.N, 204);
      const ta = upload(ctx, a, 'a', 64),
        tb = upload(ctx, b, 'b', 64),
        tbias = upload(ctx, bias, 'bias'),
        to = upload(ctx, out0, 'out');
      const before = ctx.counters.dispatches;
      matmul(ctx, to, ta, tb, tbias, p);
      expect(ctx.counters.dispatches - before, 'the tiled pass and the split sum').toBe(2);
      const expected = out0.slice();
      matmulRef(expected, a, b, bias, p);
      expectClose(await ctx.read(to), expected, 2e-4, 2e-4, `split K, ${tile} tiles`);
      for (const t of [ta, tb, to, tbias]) ctx.release(t);
    },
  );
});

describe('matmul pipelines', () => {
  afterEach(() => {
    setMatmulTiling('auto');
    setFlatShapeLimit(64);
  });

  it('the tiled kernel runs new shapes on its existing pipelines', async () => {
    const ctx = await gpuContext();
    setMatmulTiling(32);
    // The warm-ups take the variants (defines: transposes, vector loads, swizzles, bias) of the shapes after them.
    await check(ctx, { M: 4, K: 3, N: 5, transA: true, batch: 2, alpha: 2, accumulate: true }, true, 70, 'warm-up');
    await check(ctx, { M: 3, K: 6, N: 5, transB: true }, false, 71, 'warm-up');
    const before = ctx.counters.pipelineCreations;
    await check(
      ctx,
      { M: 40, K: 9, N: 33, transA: true, batch: 2, alpha: 3, accumulate: true },
      true,
      72,
      'other shape',
    );
    await check(ctx, { M: 9, K: 70, N: 2, transB: true }, false, 73, 'other shape');
    expect(ctx.counters.pipelineCreations).toBe(before);
  });

  it('the flat kernel compiles a shape once, and past the limit runs new shapes on its generic pipeline', async () => {
    const ctx = await gpuContext();
    setMatmulTiling('flat');
    // Shapes this file has not used yet, so the per-device limit counts only these.
    setFlatShapeLimit(1000);
    await check(ctx, { M: 11, K: 6, N: 17 }, false, 74, 'first use');
    const once = ctx.counters.pipelineCreations;
    await check(ctx, { M: 11, K: 6, N: 17 }, false, 75, 'again');
    expect(ctx.counters.pipelineCreations, 'the same shape reuses its pipeline').toBe(once);
    await check(ctx, { M: 12, K: 6, N: 17 }, false, 76, 'a new shape');
    expect(ctx.counters.pipelineCreations, 'a new shape under the limit gets its own pipeline').toBe(once + 1);
    setFlatShapeLimit(0);
    await check(ctx, { M: 13, K: 6, N: 17 }, false, 77, 'generic warm-up');
    const generic = ctx.counters.pipelineCreations;
    await check(ctx, { M: 14, K: 7, N: 3, transA: true, batch: 2, accumulate: true }, false, 78, 'past the limit');
    await check(ctx, { M: 5, K: 9, N: 21, transB: true }, false, 79, 'past the limit');
    expect(ctx.counters.pipelineCreations, 'past the limit, new shapes share the generic pipeline').toBe(generic);
    await check(ctx, { M: 12, K: 6, N: 17 }, false, 80, 'a shape compiled before the limit');
    expect(ctx.counters.pipelineCreations, 'shapes compiled before stay compiled').toBe(generic);
  });
});

describe.each([
  [7, 13],
  [512, 192],
])('sumRows M=%i N=%i (webgpu vs cpu)', (M, N) => {
  it('writes and accumulates', async () => {
    const ctx = await gpuContext();
    const x = randArray(M * N, 80),
      out0 = randArray(N, 81);
    const tx = upload(ctx, x, 'x'),
      to = upload(ctx, out0, 'out');
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
