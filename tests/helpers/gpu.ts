// One GpuContext per test file, on Dawn in Node. A missing adapter fails the test with instructions; never a skip.

import type { GpuBackend } from '../../src/gpu/backend';
import type { GpuContext } from '../../src/gpu/context';
import { createNodeContext } from '../../src/gpu/node';

let ctxPromise: Promise<GpuContext> | null = null;

export function gpuContext(): Promise<GpuContext> {
  ctxPromise ??= createNodeContext({ label: 'dynrank-test' });
  return ctxPromise;
}

export async function gpuBackend(): Promise<GpuBackend> {
  const { GpuBackend } = await import('../../src/gpu/backend');
  return new GpuBackend(await gpuContext());
}
