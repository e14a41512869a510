// Trying the adapted model (generation or classification, base beside adapted) and the export downloads.

import type { StateCreator } from 'zustand';
import type { RankMapData } from '../worker/protocol';
import type { AppState } from './index';

export interface TrySlice {
  generation: { prompt: string; base: string; adapted: string } | null;
  classification: { text: string; labels: string[]; base: number[]; adapted: number[] } | null;
  /** An instruction-tuned run's answers to one message, base beside adapted. */
  chat: { message: string; base: string; adapted: string } | null;
  tryBusy: boolean;
  exported: { zip: Uint8Array; merged: Uint8Array; rankMap: RankMapData; step: number } | null;
  exportBusy: boolean;
}

export const createTrySlice: StateCreator<AppState, [], [], TrySlice> = () => ({
  generation: null,
  classification: null,
  chat: null,
  tryBusy: false,
  exported: null,
  exportBusy: false,
});
