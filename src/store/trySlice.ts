// Trying the adapted model (generation or classification, base beside adapted) and the export downloads.

import type { StateCreator } from 'zustand';
import type { OnnxClassification, OnnxGeneration, RankMapData } from '../worker/protocol';
import type { AppState } from './index';

export interface TrySlice {
  /** `onnx`: the exported ONNX model beside ours, when an export of the adapter as it is now exists. */
  generation: { prompt: string; base: string; adapted: string; onnx: OnnxGeneration | null } | null;
  classification: {
    text: string;
    labels: string[];
    base: number[];
    adapted: number[];
    onnx: OnnxClassification | null;
  } | null;
  /** An instruction-tuned run's answers to one message, base beside adapted (and the ONNX export's, as above). */
  chat: { message: string; base: string; adapted: string; onnx: OnnxGeneration | null } | null;
  tryBusy: boolean;
  exported: { zip: Uint8Array; merged: Uint8Array; rankMap: RankMapData; step: number } | null;
  exportBusy: boolean;
  /** The transformers.js folder (zip) of the adapter at `step`. */
  onnxExport: { zip: Uint8Array; files: string[]; step: number } | null;
}

export const createTrySlice: StateCreator<AppState, [], [], TrySlice> = () => ({
  generation: null,
  classification: null,
  chat: null,
  tryBusy: false,
  exported: null,
  exportBusy: false,
  onnxExport: null,
});
