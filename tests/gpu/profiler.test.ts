// The kernel profiler: every dispatch between startProfile and stopProfile is timed under its shader.entry name,
// results of the profiled work are unchanged, and the context goes back to one pass per submission afterwards.

import { describe, expect, it } from 'vitest';
import { axpy } from '../../src/gpu/kernels/elementwise';
import { matmul } from '../../src/gpu/kernels/matmul';
import { matmulRef } from '../../src/ops/matmul';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

describe('kernel profiler (timestamp queries)', () => {
  it('times each dispatch by kernel and leaves results unchanged', async () => {
    const ctx = await gpuContext();
    expect(ctx.device.features.has('timestamp-query')).toBe(true);
    const M = 96,
      K = 64,
      N = 80;
    const a = randArray(M * K, 1),
      b = randArray(K * N, 2);
    const ta = ctx.tensor([M * K]),
      tb = ctx.tensor([K * N]),
      tc = ctx.tensor([M * N]),
      td = ctx.tensor([M * N]);
    ctx.write(ta, a);
    ctx.write(tb, b);
    ctx.startProfile();
    matmul(ctx, tc, ta, tb, null, { M, K, N });
    matmul(ctx, td, ta, tb, null, { M, K, N, alpha: 2 });
    ctx.clear(tc); // a buffer clear is not a dispatch: it must not be timed
    matmul(ctx, tc, ta, tb, null, { M, K, N });
    const times = await ctx.stopProfile();
    // The kernel is named by shader and entry: the flat matmul on CPU-emulated adapters, the tiled one on GPUs (its
    // operands, 64 and 80 wide, read as vec4s).
    expect(times.map((t) => t.kernel)).toEqual([
      ctx.barrierFree ? 'matmul_flat.matmul_forward' : 'matmul[a4,b4].matmul_forward',
    ]);
    expect(times[0].count).toBe(3);
    expect(times[0].ms).toBeGreaterThan(0);
    const want = new Float32Array(M * N);
    matmulRef(want, a, b, null, { M, K, N });
    expectClose(await ctx.read(tc), want, 1e-5, 1e-5, 'profiled matmul');
    // Profiling off again: three dispatches go into one submission's single pass and nothing is recorded.
    const before = ctx.counters.submissions;
    for (let i = 0; i < 3; i++) matmul(ctx, tc, ta, tb, null, { M, K, N });
    await ctx.read(tc);
    expect(ctx.counters.submissions - before).toBe(1);
    await expect(ctx.stopProfile()).rejects.toThrow(/without startProfile/);
    // More dispatches than the profiler holds are refused up front, not silently zeroed.
    expect(() => ctx.startProfile(32769)).toThrow(RangeError);
    for (const t of [ta, tb, tc, td]) ctx.release(t);
  });

  it('times every dispatch of a profile past one query set (4096 timestamps), over several submissions', async () => {
    const ctx = await gpuContext();
    const n = 16,
      x = ctx.tensor([n]),
      y = ctx.tensor([n]);
    ctx.write(
      x,
      Float32Array.from({ length: n }, (_, i) => i),
    );
    ctx.clear(y);
    ctx.startProfile();
    // 1,500 in one submission, then 1,100 in another: the second resolve starts mid-set (16 * 1,500 bytes is no
    // multiple of 256, which a resolve's destination must be) and crosses into the second query set.
    for (let i = 0; i < 2600; i++) {
      axpy(ctx, y, x, 1);
      if (i === 1499) ctx.flush();
    }
    const times = await ctx.stopProfile();
    expect(times.map((t) => [t.kernel, t.count])).toEqual([['elementwise.axpy_forward', 2600]]);
    expect(times[0].ms).toBeGreaterThan(0);
    expect(Array.from(await ctx.read(y))).toEqual(Array.from({ length: n }, (_, i) => 2600 * i));
    ctx.release(x);
    ctx.release(y);
  });
});
