// A run as the page sees it: phase, the schedule, and the metrics history (plain numbers only).

import type { StateCreator } from 'zustand';
import type { Task } from '../models/arch/index';
import type { TuningSummary } from '../train/tuning';
import type { CheckpointInfo, EvalResult, RunPhase } from '../worker/protocol';
import type { AppState } from './index';

export interface MetricPoint {
  step: number;
  loss: number;
  lr: number;
  live: number;
  target: number;
  tokensPerSecond: number;
}

/** Live components per module after `step` (the heatmap's history: the start and every prune event). */
export interface LiveSnapshot {
  step: number;
  live: number[];
}

export interface PruneEntry {
  step: number;
  removed: number;
  revived: number;
  live: number;
}

export interface TrainingSlice {
  phase: RunPhase;
  /** The model and method of the current run (the set-up panel may already show another). */
  run: { modelId: string; task: Task; method: 'dora' | 'lora'; sft?: boolean } | null;
  steps: number;
  step: number;
  modules: string[];
  R0: number;
  budgetTotal: number;
  trainable: number;
  schedule: { step: number; live: number }[];
  labels: string[] | null;
  dataSummary: string;
  points: MetricPoint[];
  snapshots: LiveSnapshot[];
  pruneLog: PruneEntry[];
  evals: EvalResult[];
  /** The step this run continued from after a resume, or null. */
  resumedFrom: number | null;
  /** The latest EMA importance of every component (dynamic rank), for the distribution chart. */
  importance: number[] | null;
  /** GPU memory in use and its high-water mark (null on the CPU backend) and the analytic estimate, in bytes. */
  memory: { gpuBytes: number | null; estimateBytes: number; peakBytes?: number | null } | null;
  /** What tuning the kernels for this GPU after the first step did (GPUs only). */
  tuning: { text: string; summary: TuningSummary } | null;
  /** Saved checkpoints (IndexedDB, every run), newest first. */
  checkpoints: CheckpointInfo[];
}

export const EMPTY_RUN: Omit<TrainingSlice, 'phase' | 'run' | 'checkpoints'> = {
  steps: 0,
  step: 0,
  modules: [],
  R0: 0,
  budgetTotal: 0,
  trainable: 0,
  schedule: [],
  labels: null,
  dataSummary: '',
  points: [],
  snapshots: [],
  pruneLog: [],
  evals: [],
  resumedFrom: null,
  importance: null,
  memory: null,
  tuning: null,
};

export const createTrainingSlice: StateCreator<AppState, [], [], TrainingSlice> = () => ({
  phase: 'idle',
  run: null,
  checkpoints: [],
  ...EMPTY_RUN,
});
