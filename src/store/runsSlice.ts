// The run list: every run started in the page or resumed from a checkpoint, which of them the loss chart overlays,
// which two the compare view shows, and a LoRA run queued to compare with a dynamic-rank one.

import type { StateCreator } from 'zustand';
import type { Task } from '../models/arch/index';
import type { DataFile, RunPhase, RunSettings, WorkerEvent } from '../worker/protocol';
import type { AppState } from './index';
import { finalAdapterParams, type LoraMatch, lossHistory, moduleDims, type RunRecord, runName } from './runs';

/** A run about to start: what the 'started' event does not say. */
export interface Launch {
  name: string | null;
  modelId: string;
  /** The model's task, kept so a queued run does not read it from whatever model is loaded when it starts. */
  task: Task;
  settings: RunSettings;
  data: DataFile;
  /** Set for a LoRA run started to compare with the dynamic-rank run of this id. */
  forRunId?: string;
}

/** A LoRA run waiting for the current run to end, matched to the dynamic-rank run `forRunId`. */
interface QueuedRun extends Launch {
  name: string;
  forRunId: string;
  match: LoraMatch;
}

export interface RunsSlice {
  runs: RunRecord[];
  /** The run the charts follow now, or null. */
  currentRunId: string | null;
  /** Runs whose loss curves the loss chart overlays (besides the current run's). */
  overlayRunIds: string[];
  /** The two runs whose rank maps the compare view shows side by side. */
  compareIds: [string | null, string | null];
  queuedRun: QueuedRun | null;
  /** The latest LoRA comparison made (the counts the page shows), with the dynamic-rank run it was made for. */
  lastMatch: { forRunId: string; match: LoraMatch } | null;
  launching: Launch | null;
  toggleOverlay(id: string): void;
  setCompare(slot: 0 | 1, id: string | null): void;
}

export const createRunsSlice: StateCreator<AppState, [], [], RunsSlice> = (set) => ({
  runs: [],
  currentRunId: null,
  overlayRunIds: [],
  compareIds: [null, null],
  queuedRun: null,
  lastMatch: null,
  launching: null,
  toggleOverlay: (id) =>
    set((s) => ({
      overlayRunIds: s.overlayRunIds.includes(id) ? s.overlayRunIds.filter((x) => x !== id) : [...s.overlayRunIds, id],
    })),
  setCompare: (slot, id) => set((s) => ({ compareIds: slot === 0 ? [id, s.compareIds[1]] : [s.compareIds[0], id] })),
});

type Started = Extract<WorkerEvent, { type: 'started' }>;

/**
 * The run list after a run has started: a new record for it (named by its launch, else "Run n · ..."). A LoRA run
 * started for a comparison is set side by side with its dynamic-rank run in the compare view, and that run's curve
 * joins the loss chart.
 */
export function runStarted(s: AppState, ev: Started): Partial<AppState> {
  const launch = s.launching;
  if (!launch) return {};
  const runs = s.runs;
  const id = `run-${runs.length + 1}`;
  const settings = launch.settings;
  const budget = settings.method === 'dora' ? settings.budget : settings.rank;
  const dims = moduleDims(s.summary, ev.modules);
  const rec: RunRecord = {
    id,
    name: launch.name ?? runName(runs.length + 1, settings),
    modelId: launch.modelId,
    task: launch.task,
    method: settings.method,
    budget,
    R0: ev.R0,
    trainable: ev.trainable,
    finalParams: dims ? finalAdapterParams(settings.method, dims, budget) : null,
    dims,
    modules: ev.modules,
    steps: ev.steps,
    loss: lossHistory(ev.history?.points ?? []),
    rankMap: ev.history?.prunes.at(-1)?.liveByModule ?? ev.modules.map(() => ev.R0),
    rankStep: ev.history?.prunes.at(-1)?.step ?? 0,
    settings,
    data: launch.data,
    phase: 'training',
  };
  const forComparison = launch.forRunId;
  return {
    runs: [...runs, rec],
    currentRunId: id,
    launching: null,
    ...(forComparison
      ? {
          compareIds: [forComparison, id] as [string, string],
          overlayRunIds: s.overlayRunIds.includes(forComparison)
            ? s.overlayRunIds
            : [...s.overlayRunIds, forComparison],
        }
      : {}),
  };
}

const RECORD_PHASE: Partial<Record<RunPhase, RunRecord['phase']>> = {
  training: 'training',
  paused: 'paused',
  stopped: 'stopped',
  done: 'done',
  // 'idle' after a start: the run could not be prepared or failed.
  idle: 'failed',
};

/** The run list with the current run's record brought up to date from the live metrics (and `phase`, when given). */
export function syncedRuns(s: AppState, phase: RunPhase | null): RunRecord[] {
  const i = s.runs.findIndex((r) => r.id === s.currentRunId);
  if (i < 0) return s.runs;
  const r = s.runs[i];
  const last = s.snapshots.at(-1);
  const next: RunRecord = {
    ...r,
    loss: s.points.length ? lossHistory(s.points) : r.loss,
    rankMap: last ? last.live : r.rankMap,
    rankStep: last ? last.step : r.rankStep,
    phase: (phase && RECORD_PHASE[phase]) ?? r.phase,
  };
  return s.runs.map((x, j) => (j === i ? next : x));
}
