// Turns any failure in the worker into an error event the page can show next to the thing the person can change.

import { DeviceLostError, GpuError, GpuOutOfMemoryError, NoWebGPUError } from '../gpu/errors';
import { ModelFormatError } from '../models/errors';
import { PeftError } from '../peft/export';
import { DataError } from '../train/data/errors';
import type { ErrorArea } from './protocol';

export function describeError(e: unknown, fallback: ErrorArea): { area: ErrorArea; code: string; message: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof DataError) return { area: 'data', code: e.code, message };
  if (e instanceof PeftError) return { area: 'export', code: e.code, message };
  if (e instanceof ModelFormatError) return { area: 'model', code: e.name, message };
  if (e instanceof DeviceLostError)
    return { area: 'engine', code: 'DeviceLost', message: `${message} Press Start to train again on a new device.` };
  if (e instanceof GpuOutOfMemoryError) return { area: 'settings', code: 'OutOfMemory', message };
  if (e instanceof NoWebGPUError) return { area: 'engine', code: 'NoWebGPU', message };
  if (e instanceof GpuError)
    return {
      area: 'engine',
      code: e.name,
      message: `${message} (a GPU error in the engine: please report it with your browser and GPU).`,
    };
  if (e instanceof RangeError) return { area: 'settings', code: 'BadSettings', message: capitalise(message) };
  return { area: fallback, code: e instanceof Error ? e.name : 'Error', message };
}

function capitalise(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s;
}
