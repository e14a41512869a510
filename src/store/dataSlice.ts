// The data set: its text (sent to the worker at Start) and the preview the set-up panel shows.

import type { StateCreator } from 'zustand';
import type { Task } from '../models/arch/types';
import type { DataPreview } from '../train/data/preview';
import type { SftPreview } from '../train/data/sftPreview';
import type { DataFile } from '../worker/protocol';
import type { AppState } from './index';

export type { DataPreview } from '../train/data/preview';
export type { SftPreview } from '../train/data/sftPreview';

/** A bundled data set under public/datasets/ that suits a task. */
export interface DemoSet {
  file: string;
  /** What kind of data it is, as the chip's tooltip says. */
  label: string;
}

/** The bundled demo data sets per task; the first is the default. */
export const DEMO_SETS: Record<Task, readonly DemoSet[]> = {
  'causal-lm': [
    { file: 'sotu.txt', label: 'Plain text: State of the Union addresses' },
    { file: 'instruct-demo.jsonl', label: 'Instruction tuning: chats answered as "ANSWER: <word>."' },
  ],
  'seq-cls': [{ file: 'spam.csv', label: 'A labelled table: SpamAssassin ham and spam' }],
};

export interface DataSlice {
  dataOrigin: 'demo' | 'upload';
  /** The demo chosen per task (a file of DEMO_SETS[task]): the data loaded for a model of that task while
   * dataOrigin is 'demo'. */
  demoChoice: Record<Task, string>;
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
  demoChoice: { 'causal-lm': DEMO_SETS['causal-lm'][0].file, 'seq-cls': DEMO_SETS['seq-cls'][0].file },
  dataFile: null,
  preview: null,
  dataLoading: false,
  sftPreview: null,
  sftPreviewLoading: false,
  sftPreviewError: null,
});
