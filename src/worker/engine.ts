// The compute backend of the worker: WebGPU when the browser offers it (navigator.gpu exists in workers), else the
// CPU reference backend with a warning the page shows. Each run gets a fresh device, so everything a finished run
// allocated is freed at once by destroying its device.

import { GpuBackend } from '../gpu/backend';
import { GpuContext } from '../gpu/context';
import { acquireDevice, browserGpu } from '../gpu/device';
import type { DeviceLostError } from '../gpu/errors';
import type { Backend } from '../tensor/backend';
import { CpuBackend } from '../tensor/cpu';

export type BackendPreference = 'auto' | 'cpu';

export interface Engine {
  be: Backend;
  /** null on the CPU backend. */
  ctx: GpuContext | null;
  info: { vendor: string; architecture: string; description: string; isFallback: boolean } | null;
  /** Shown to the person when the engine is not what they would expect (no WebGPU, a software adapter). */
  warning: string | null;
  /** Frees everything on the device (a deliberate destroy is not reported as a lost device). */
  dispose(): void;
}

const CPU_NOTE = 'Training runs on the CPU backend instead: fine for the tiny demo models, far too slow for real ones.';

/** Acquires a WebGPU device (or falls back to the CPU); `onLost` hears about a lost device once. */
export async function createEngine(pref: BackendPreference, onLost: (e: DeviceLostError) => void): Promise<Engine> {
  const cpu = (warning: string): Engine => ({
    be: new CpuBackend(),
    ctx: null,
    info: null,
    warning,
    dispose: () => {},
  });
  if (pref === 'cpu') return cpu(`The CPU backend was chosen (?backend=cpu). ${CPU_NOTE}`);
  try {
    const ctx = new GpuContext(await acquireDevice(browserGpu(), { label: 'dynrank worker' }));
    let disposed = false;
    void ctx.lost.then((e) => {
      if (!disposed) onLost(e);
    });
    const warning = ctx.info.isFallback
      ? 'WebGPU runs on a software adapter here (no GPU acceleration): correct, but slow. Keep to the tiny demo models.'
      : null;
    return {
      be: new GpuBackend(ctx),
      ctx,
      info: ctx.info,
      warning,
      dispose: () => {
        disposed = true;
        ctx.destroy();
      },
    };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return cpu(`${why} ${CPU_NOTE}`);
  }
}
