// The data set: its text (sent to the worker at Start) and the preview the set-up panel shows.

import type { StateCreator } from 'zustand';
import type { DataPreview } from '../train/data/preview';
import type { DataFile } from '../worker/protocol';
import type { AppState } from './index';

export type { DataPreview } from '../train/data/preview';

export interface DataSlice {
  dataOrigin: 'demo' | 'upload';
  dataFile: DataFile | null;
  preview: DataPreview | null;
  dataLoading: boolean;
}

export const createDataSlice: StateCreator<AppState, [], [], DataSlice> = () => ({
  dataOrigin: 'demo',
  dataFile: null,
  preview: null,
  dataLoading: false,
});
