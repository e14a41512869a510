// Typed GPU errors: each says what went wrong and what the user can do about it.

/** Base class so callers can catch every engine GPU failure at once. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** No WebGPU implementation or no adapter: the page offers the CPU backend for tiny models instead. */
export class NoWebGPUError extends GpuError {
  override name = 'NoWebGPUError';
  constructor(detail: string) {
    super(
      `WebGPU is not available: ${detail}. Use a browser with WebGPU (Chrome or Edge 113+, Safari 26+, Firefox 141+ ` +
        `on Windows), or start Chromium with --enable-unsafe-webgpu; in Node set VK_ICD_FILENAMES to a Vulkan driver ` +
        `(e.g. /usr/lib/chromium/vk_swiftshader_icd.json). Tiny models can also run on the CPU backend (--backend cpu).`,
    );
  }
}

/** The device went away (driver reset, tab in background too long, GPU process crash). */
export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(
      `The GPU device was lost (${reason}): ${message}. Training can continue from the last checkpoint on a new device.`,
    );
  }
}

/** An allocation failed; `requestedBytes` is what the engine had asked for in total. */
export class GpuOutOfMemoryError extends GpuError {
  override name = 'GpuOutOfMemoryError';
  constructor(
    readonly requestedBytes: number,
    detail: string,
  ) {
    super(
      `The GPU ran out of memory with ${(requestedBytes / 2 ** 20).toFixed(1)} MiB allocated (${detail}). ` +
        `Lower the batch size or sequence length, adapt fewer modules, or pick a smaller model.`,
    );
  }
}

/** A WebGPU validation error: a bug in the engine, reported with the GPU's own message. */
export class GpuValidationError extends GpuError {
  override name = 'GpuValidationError';
}

/** A WGSL module failed to compile; the message carries the compiler's diagnostics with line numbers. */
export class ShaderCompileError extends GpuError {
  override name = 'ShaderCompileError';
}
