// The data set: its text (sent to the worker at Start) and the preview the set-up panel shows.

import type { StateCreator } from 'zustand';
import type { DataFile } from '../worker/protocol';
import type { AppState } from './index';

/** One row that was skipped while reading the file. */
export interface BadRowInfo {
  line: number;
  reason: string;
  excerpt: string;
}

export interface DataPreview {
  fileName: string;
  format: 'csv' | 'tsv' | 'jsonl' | 'text';
  columns: string[];
  /** The first rows, cells cut to a readable length. */
  rows: string[][];
  rowCount: number;
  characters: number;
  badRows: BadRowInfo[];
  badCount: number;
  /** Distinct values of the label column (tables only, at most 50), for the head size; null otherwise. */
  labels: string[] | null;
}

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
