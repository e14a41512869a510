// Engine status, the kernel self-test, errors shown to the person, and view state such as the heatmap scrubber.

import type { StateCreator } from 'zustand';
import type { SelfTestResult } from '../gpu/selftest';
import type { ErrorArea } from '../worker/protocol';
import type { AppState } from './index';

interface AppError {
  id: number;
  area: ErrorArea;
  code: string;
  message: string;
}

interface EngineInfo {
  backend: 'webgpu' | 'cpu';
  adapter: { vendor: string; architecture: string; description: string; isFallback: boolean } | null;
  warning: string | null;
}

export interface UiSlice {
  engine: EngineInfo | null;
  selftest: { results: SelfTestResult[]; error: string | null } | null;
  errors: AppError[];
  /** The step the heatmap shows; null follows the latest step. */
  scrubStep: number | null;
  setScrubStep(step: number | null): void;
  dismissError(id: number): void;
}

export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set) => ({
  engine: null,
  selftest: null,
  errors: [],
  scrubStep: null,
  setScrubStep: (scrubStep) => set({ scrubStep }),
  dismissError: (id) => set((s) => ({ errors: s.errors.filter((e) => e.id !== id) })),
});
