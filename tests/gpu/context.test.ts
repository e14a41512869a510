// The GPU runtime's contract: one submission per recorded step, reuse after warm-up, typed errors.

import { describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/backend';
import { diffCounters } from '../../src/gpu/counters';
import { acquireDevice } from '../../src/gpu/device';
import { DeviceLostError, GpuOutOfMemoryError, GpuValidationError, NoWebGPUError } from '../../src/gpu/errors';
import { add } from '../../src/gpu/kernels/elementwise';
import { createNodeContext } from '../../src/gpu/node';
import { randArray } from '../helpers/check';
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

  it('turns a validation error into GpuValidationError on sync', async () => {
    const ctx = await gpuContext();
    const t = ctx.tensor([8], 'f32', 'aliased');
    add(ctx, t, t, t); // writable and read-only use of one buffer in one dispatch
    await expect(ctx.sync()).rejects.toBeInstanceOf(GpuValidationError);
    ctx.release(t);
  });

  it('refuses a tensor beyond the binding limit with GpuOutOfMemoryError', async () => {
    const ctx = await createNodeContext({ maxStorageBufferBindingSize: 1 << 20 });
    expect(ctx.bindingLimit).toBe(1 << 20);
    expect(() => ctx.tensor([1 << 19], 'f32', 'too big')).toThrow(GpuOutOfMemoryError);
    ctx.destroy();
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
