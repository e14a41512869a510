// Node-only: a GPU from the npm `webgpu` package (Dawn). Imported by the CLI and tests, never by the page.
// On machines without a GPU, Dawn runs on a Vulkan CPU driver; Chromium ships SwiftShader's (ENVIRONMENT.md).

import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuContext } from './context';
import { type AcquireOptions, acquireDevice } from './device';
import { NoWebGPUError } from './errors';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Points Vulkan at Chromium's SwiftShader when nothing else is configured, so Dawn finds an adapter on CI. */
function configureVulkanEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD) && env.DYNRANK_VULKAN !== 'system') {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  if (!env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), 'dynrank-xdg');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
}

// dawn.node frees its native instance when the GPU object is garbage-collected, even while devices made from it are
// alive; the next event poll then crashes the process. Holding the objects for the life of the process prevents that.
const instances = new Map<string, GPU>();

/** Node's WebGPU (Dawn). `adapter` restricts it to the adapters whose name contains that text (Dawn's `adapter=`
 * flag), e.g. 'llvmpipe' for Mesa's lavapipe when the Vulkan loader lists several drivers. */
export async function nodeGpu(adapter?: string): Promise<GPU> {
  configureVulkanEnv();
  // Dawn toggles for benchmarks, e.g. DYNRANK_DAWN_FLAGS=disable-dawn-features=timestamp_quantization for exact
  // kernel timestamps (browsers round them to 100 us).
  const flags = (process.env.DYNRANK_DAWN_FLAGS ?? '').split(' ').filter(Boolean);
  if (adapter) flags.push(`adapter=${adapter}`);
  const key = flags.join(' ');
  const known = instances.get(key);
  if (known) return known;
  const mod = (await import('webgpu')) as unknown as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create(flags);
  instances.set(key, gpu);
  return gpu;
}

export interface NodeContextOptions extends AcquireOptions {
  /** Only adapters whose name contains this (see nodeGpu). */
  adapter?: string;
}

/** A GpuContext on Node's WebGPU, or a NoWebGPUError that says how to get a Vulkan driver. */
export async function createNodeContext(opts: NodeContextOptions = {}): Promise<GpuContext> {
  const gpu = await nodeGpu(opts.adapter);
  try {
    const ctx = new GpuContext(await acquireDevice(gpu, opts));
    ctx.debug = process.env.DYNRANK_GPU_DEBUG === '1';
    return ctx;
  } catch (e) {
    if (e instanceof NoWebGPUError) {
      const which = opts.adapter ? ` named like "${opts.adapter}"` : '';
      throw new NoWebGPUError(
        `Dawn found no Vulkan adapter${which} (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}). ` +
          `Install Chromium (apt-get install chromium, which ships SwiftShader) and libvulkan1, or a GPU driver`,
      );
    }
    throw e;
  }
}
