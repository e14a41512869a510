// Adapter and device acquisition, shared by the page, Web Workers and Node (which passes in the `webgpu` package's GPU).

import { NoWebGPUError } from './errors';

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  /** vendor / architecture / description, for reports and the page's header; `device` names the chip where the
   * driver tells it (e.g. "NVIDIA H200"), '' otherwise. */
  info: { vendor: string; architecture: string; description: string; isFallback: boolean; device?: string };
  /** The largest storage binding the engine will use: the device's, or less when lowered for tests. */
  bindingLimit: number;
  /** The device has 'shader-f16' (requested whenever the adapter offers it): WGSL f16 arithmetic is available. */
  shaderF16: boolean;
}

/** Limits worth raising to the adapter's maximum: GPT-2's 154 MB embedding exceeds the 128 MiB default binding. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Lower the storage-binding limit the engine uses below the device's (tests of the large-tensor paths). */
  maxStorageBufferBindingSize?: number;
  label?: string;
}

/** Returns `globalThis.navigator.gpu` when present (page and worker). */
export function browserGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu;
}

export async function acquireDevice(gpu: GPU | undefined, opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  if (!gpu) throw new NoWebGPUError('navigator.gpu is missing in this environment');
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoWebGPUError('requestAdapter() returned no adapter');
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const features: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) features.push('timestamp-query');
  // Optional f16 arithmetic in the matmul of f16 weights (src/gpu/kernels/matmul.ts); never required.
  if (adapter.features.has('shader-f16')) features.push('shader-f16');
  const device = await adapter.requestDevice({
    label: opts.label ?? 'dynrank',
    requiredLimits,
    requiredFeatures: features,
  });
  const ai = adapter.info ?? ({} as GPUAdapterInfo);
  return {
    adapter,
    device,
    // A device cannot be asked for less than the default limits, so a lower test limit is enforced by the engine.
    bindingLimit: Math.min(device.limits.maxStorageBufferBindingSize, opts.maxStorageBufferBindingSize ?? Infinity),
    shaderF16: device.features.has('shader-f16'),
    info: {
      vendor: ai.vendor ?? '',
      architecture: ai.architecture ?? '',
      description: ai.description ?? '',
      device: ai.device ?? '',
      isFallback: Boolean((ai as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    },
  };
}
