// The one zustand store, bound from typed slices (zustand's slices pattern). Components read it through narrow
// selectors; the worker's events and the page's commands go through the module-level actions in actions.ts.

import { create } from 'zustand';
import { type ConfigSlice, createConfigSlice } from './configSlice';
import { createDataSlice, type DataSlice } from './dataSlice';
import { createModelSlice, type ModelSlice } from './modelSlice';
import { createRunsSlice, type RunsSlice } from './runsSlice';
import { createTrainingSlice, type TrainingSlice } from './trainingSlice';
import { createTrySlice, type TrySlice } from './trySlice';
import { createUiSlice, type UiSlice } from './uiSlice';

export type AppState = ModelSlice & DataSlice & ConfigSlice & TrainingSlice & TrySlice & UiSlice & RunsSlice;

export const useStore = create<AppState>()((...a) => ({
  ...createModelSlice(...a),
  ...createDataSlice(...a),
  ...createConfigSlice(...a),
  ...createTrainingSlice(...a),
  ...createTrySlice(...a),
  ...createUiSlice(...a),
  ...createRunsSlice(...a),
}));

export { useShallow } from 'zustand/react/shallow';
export type { ErrorArea, EvalResult } from '../worker/protocol';
