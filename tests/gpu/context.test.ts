// The GPU runtime's contract: one submission per recorded step, reuse after warm-up, typed errors.

import { describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/backend';
import { diffCounters } from '../../src/gpu/counters';
import { acquireDevice } from '../../src/gpu/device';
import { DeviceLostError, GpuOutOfMemoryError, GpuValidationError, NoWebGPUError } from '../../src/gpu/errors';
import { add } from '../../src/gpu/kernels/elementwise';
import { createNodeContext } from '../../src/gpu/node';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

describe('GpuContext', () => {
  it('keeps the high-water mark of live bytes after buffers are freed', async () => {
    const ctx = await gpuContext();
    const be = new GpuBackend(ctx);
    const t = be.zeros([1 << 16], 'f32', 'peak probe');
    const held = ctx.counters.bytesLive;
    be.dispose(t);
    ctx.trim();
    expect(ctx.counters.bytesLive).toBeLessThanOrEqual(held - 4 * (1 << 16));
    expect(ctx.counters.bytesPeak).toBeGreaterThanOrEqual(held);
  });
  it('records a step as one submission and allocates nothing after warm-up', async () => {
    const ctx = await gpuContext();
    const be = new GpuBackend(ctx);
    const x = be.fromArray(randArray(64 * 32, 1), [64, 32]),
      w = be.fromArray(randArray(32 * 16, 2), [32, 16]);
    const y = be.zeros([64, 16]),
      g = be.zeros([64, 16]),
      s = be.zeros([1]);
    const step = () => {
      be.matmul(y, x, w, null, { M: 64, K: 32, N: 16 });
      be.gelu(g, y, 'tanh');
      be.sumSquares(s, g);
      be.flush();
    };
    step();
    await be.read(s);
    const before = { ...ctx.counters };
    step();
    step();
    const d = diffCounters(ctx.counters, before);
    expect(d.submissions).toBe(2);
    expect(d.bufferCreations).toBe(0);
    expect(d.pipelineCreations).toBe(0);
    expect(d.bindGroupCreations).toBe(0);
    expect(d.readbacks).toBe(0);
    expect(d.dispatches).toBeGreaterThanOrEqual(6);
  });

  it('scratch borrows a large-enough free pooled buffer, else makes one that dropScratch destroys', async () => {
    const ctx = await gpuContext();
    ctx.trim();
    const pooled = ctx.tensor([5000], 'f32', 'pooled');
    ctx.release(pooled);
    const live = ctx.counters.bytesLive,
      made = ctx.counters.bufferCreations;
    // Borrowed: no new buffer, and it goes back to the pool (a later acquire of its size reuses it).
    const small = ctx.scratch(3000, 'scratch small');
    expect(small.buffer).toBe(pooled.buffer);
    ctx.dropScratch(small);
    expect(ctx.counters.bufferCreations).toBe(made);
    expect(ctx.tensor([5000], 'f32', 'again', false).buffer).toBe(pooled.buffer);
    // Nothing free is large enough: a new buffer, destroyed again, so the live bytes come back.
    const big = ctx.scratch(1 << 16, 'scratch big');
    expect(ctx.counters.bufferCreations).toBe(made + 1);
    const x = ctx.tensor([1 << 16], 'f32', 'x');
    ctx.copy(big, x);
    ctx.dropScratch(big);
    await ctx.sync();
    // Only x (made after `live` was taken) is added.
    expect(ctx.counters.bytesLive).toBe(live + 4 * (1 << 16));
    ctx.release(x);
  });
  it('turns a validation error into GpuValidationError on sync', async () => {
    const ctx = await gpuContext();
    const t = ctx.tensor([8], 'f32', 'aliased');
    add(ctx, t, t, t); // writable and read-only use of one buffer in one dispatch
    await expect(ctx.sync()).rejects.toBeInstanceOf(GpuValidationError);
    ctx.release(t);
  });

  it('stores a tensor beyond the binding limit in row parts; whole-tensor ops and rows wider than it are refused', async () => {
    const ctx = await createNodeContext({ maxStorageBufferBindingSize: 1 << 12 });
    expect(ctx.bindingLimit).toBe(1 << 12);
    // 10 rows of 300 floats (1200 bytes): 3 rows per part.
    const t = ctx.tensor([10, 300], 'f32', 'big');
    expect(t.parts?.map((p) => [p.start, p.rows])).toEqual([
      [0, 3],
      [3, 3],
      [6, 3],
      [9, 1],
    ]);
    const data = Float32Array.from({ length: 3000 }, (_, i) => i);
    ctx.write(t, data);
    expect(Array.from(await ctx.read(t))).toEqual(Array.from(data));
    // A copy across part boundaries, both ways.
    const small = ctx.tensor([1000], 'f32', 'small');
    ctx.copy(small, t, 1000, 850);
    expect(Array.from(await ctx.read(small))).toEqual(Array.from(data.subarray(850, 1850)));
    ctx.copy(t, small, 1000, 0, 1700);
    const back = Float32Array.from(data);
    back.set(data.subarray(850, 1850), 1700);
    expect(Array.from(await ctx.read(t))).toEqual(Array.from(back));
    expect(() => add(ctx, small, t, t)).toThrow(GpuOutOfMemoryError);
    expect(() => add(ctx, small, t, t)).toThrow(/tensor big of 12000 bytes .* stored in 4 parts/);
    expect(() => ctx.tensor([2, 1025], 'f32', 'wide')).toThrow(
      /tensor wide of 8200 bytes .*one row of it does not fit/,
    );
    ctx.release(t);
    ctx.destroy();
  });

  it('fill, sum, sumSquares and adamw take a parted tensor whole: results equal the unsplit tensor', async () => {
    const small = new GpuBackend(await createNodeContext({ maxStorageBufferBindingSize: 1 << 12 })),
      whole = new GpuBackend(await gpuContext());
    const run = async (be: GpuBackend) => {
      const p = be.fromArray(randArray(3000, 3), [10, 300]),
        g = be.fromArray(randArray(3000, 4), [10, 300]);
      const m = be.zeros([10, 300]),
        v = be.zeros([10, 300]),
        one = be.fromArray(Float32Array.of(1), [1]),
        s = be.zeros([2]);
      be.fill(m, 0.5);
      be.adamw(p, g, m, v, one, { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, step: 1 });
      const sq = be.zeros([1]),
        sm = be.zeros([1]);
      be.sumSquares(sq, g);
      be.sum(sm, p);
      be.copy(s, sq, 1, 0, 0);
      be.copy(s, sm, 1, 0, 1);
      return { p: await be.read(p), m: await be.read(m), v: await be.read(v), s: await be.read(s), parts: be.parts(p) };
    };
    const [a, b] = [await run(small), await run(whole)];
    expect(a.parts.length).toBe(4);
    expect(b.parts.length).toBe(1);
    expect(Array.from(a.p)).toEqual(Array.from(b.p));
    expect(Array.from(a.m)).toEqual(Array.from(b.m));
    expect(Array.from(a.v)).toEqual(Array.from(b.v));
    expectClose(a.s, b.s, 1e-3, 1e-5);
    small.ctx.destroy();
  });

  it('reports device loss as DeviceLostError', async () => {
    const ctx = await createNodeContext();
    const lost = ctx.lost;
    ctx.destroy();
    expect(await lost).toBeInstanceOf(DeviceLostError);
    expect(ctx.isLost()).toBe(true);
    expect(() => ctx.tensor([4])).toThrow(DeviceLostError);
  });

  it('says what to do when there is no WebGPU at all', async () => {
    await expect(acquireDevice(undefined)).rejects.toBeInstanceOf(NoWebGPUError);
    await expect(acquireDevice(undefined)).rejects.toThrow(/--enable-unsafe-webgpu/);
  });
});
