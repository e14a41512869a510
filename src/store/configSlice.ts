// The run's settings as the set-up panel edits them.

import type { StateCreator } from 'zustand';
import type { RunSettings } from '../worker/protocol';
import type { AppState } from './index';

export const DEFAULT_SETTINGS: RunSettings = {
  method: 'dora',
  budget: 2,
  r0: null,
  rank: 4,
  targets: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
  lr: null,
  batch: 8,
  microBatch: null,
  recompute: null,
  seq: 64,
  steps: 200,
  epochs: null,
  seed: 1,
  pruneInterval: 10,
  eta: 0.1,
  dropout: 0.1,
  modelDropout: true,
  alpha: null,
  checkpointEvery: 10,
};

export interface ConfigSlice {
  settings: RunSettings;
  setSettings(patch: Partial<RunSettings>): void;
}

export const createConfigSlice: StateCreator<AppState, [], [], ConfigSlice> = (set) => ({
  settings: DEFAULT_SETTINGS,
  setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),
});
