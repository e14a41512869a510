// One GpuContext per test file, on Dawn in Node. A missing adapter fails the test with instructions; never a skip.

import { existsSync } from 'node:fs';
import { lavapipeIcd, SWIFTSHADER_ICD } from '../../scripts/provision.mjs';
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

let f16Promise: Promise<GpuContext> | null = null;

/** A GpuContext on an adapter with 'shader-f16': Mesa's lavapipe (CPU Vulkan, Mesa >= 24), which `npm test`
 * provisions (scripts/fetch-lavapipe.mjs). Fails with what to do when it is missing; never a skip. */
export function f16GpuContext(): Promise<GpuContext> {
  f16Promise ??= (async () => {
    listLavapipe();
    const ctx = await createNodeContext({ label: 'dynrank-test-f16', adapter: 'llvmpipe' }).catch((e: Error) => {
      throw new Error(`${e.message}. ${LAVAPIPE_ADVICE}`);
    });
    if (!ctx.shaderF16) {
      throw new Error(
        `the lavapipe adapter (${ctx.info.description}) lacks shader-f16 (Mesa >= 24 has it). ${LAVAPIPE_ADVICE}`,
      );
    }
    return ctx;
  })();
  return f16Promise;
}

const LAVAPIPE_ADVICE =
  'The shader-f16 tests run on Mesa lavapipe: run `npm test` once (it fetches Mesa 25 lavapipe into ' +
  'node_modules/.cache/dynrank-lavapipe), or set DYNRANK_LAVAPIPE_ICD to the lvp_icd JSON of a Mesa >= 24 install';

/** Adds lavapipe's ICD to the drivers the Vulkan loader lists, which it reads each time Dawn creates an instance: so
 * only the processes that ask for lavapipe load it, and SwiftShader (the browser's adapter) stays the default. */
function listLavapipe(): void {
  const env = process.env;
  const icd = lavapipeIcd(env);
  if (!existsSync(icd)) return;
  if (env.DYNRANK_VULKAN === 'system') {
    env.VK_ADD_DRIVER_FILES = [env.VK_ADD_DRIVER_FILES, icd].filter(Boolean).join(':');
    return;
  }
  const base = env.VK_ICD_FILENAMES || (existsSync(SWIFTSHADER_ICD) ? SWIFTSHADER_ICD : '');
  if (!base.split(':').includes(icd)) env.VK_ICD_FILENAMES = [base, icd].filter(Boolean).join(':');
}

/** The environment of a child process (a benchmark) that runs on lavapipe: both drivers listed, Dawn told to take
 * lavapipe. Throws with what to do when lavapipe is missing. */
export function lavapipeProcessEnv(): Record<string, string> {
  const icd = lavapipeIcd();
  if (!existsSync(icd)) throw new Error(`no lavapipe at ${icd}. ${LAVAPIPE_ADVICE}`);
  return { VK_ICD_FILENAMES: `${SWIFTSHADER_ICD}:${icd}`, DYNRANK_DAWN_FLAGS: 'adapter=llvmpipe' };
}
