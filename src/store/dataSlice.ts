// The data set: its text (sent to the worker at Start) and the preview the set-up panel shows.

import type { StateCreator } from 'zustand';
import type { DataPreview } from '../train/data/preview';
import type { SftPreview } from '../train/data/sftPreview';
import type { DataFile } from '../worker/protocol';
import type { AppState } from './index';

export type { DataPreview } from '../train/data/preview';
export type { SftPreview } from '../train/data/sftPreview';

export interface DataSlice {
  dataOrigin: 'demo' | 'upload';
  dataFile: DataFile | null;
  preview: DataPreview | null;
  dataLoading: boolean;
  /** The instruction file rendered with the model's chat template (instruction tuning only; sftPreview.ts). */
  sftPreview: SftPreview | null;
  sftPreviewLoading: boolean;
  /** Why the file cannot be instruction-tuned on with these settings (the worker's message), or null. */
  sftPreviewError: string | null;
}

export const createDataSlice: StateCreator<AppState, [], [], DataSlice> = () => ({
  dataOrigin: 'demo',
  dataFile: null,
  preview: null,
  dataLoading: false,
  sftPreview: null,
  sftPreviewLoading: false,
  sftPreviewError: null,
});
