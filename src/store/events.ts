// Applies the worker's events to the store. Step and prune events arrive once per training step; they are
// buffered and applied at most every FLUSH_MS so a fast run does not re-render the page hundreds of times a second.

import type { ErrorArea, StepEvent, WorkerEvent } from '../worker/protocol';
import { cancelPreview, takePending } from './dataPreview';
import { useStore } from './index';
import { runStarted, syncedRuns } from './runsSlice';
import { takeSftAnswer } from './sftPreview';
import { EMPTY_RUN, type LiveSnapshot, type MetricPoint, type PruneEntry, type TrainingSlice } from './trainingSlice';

// Four updates a second are plenty to follow a run; each one re-renders the run bar, the charts and the heatmap.
const FLUSH_MS = 250;
let pending: {
  points: MetricPoint[];
  snapshots: LiveSnapshot[];
  prunes: PruneEntry[];
  step: number;
  importance: number[] | null;
  memory: TrainingSlice['memory'];
} | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let nextErrorId = 1;

/** Flushes buffered step and prune events into the store now. */
export function flushMetrics(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  const p = pending;
  pending = null;
  if (!p) return;
  useStore.setState((s) => ({
    step: Math.max(s.step, p.step),
    points: p.points.length ? [...s.points, ...p.points] : s.points,
    snapshots: p.snapshots.length ? [...s.snapshots, ...p.snapshots] : s.snapshots,
    pruneLog: p.prunes.length ? [...s.pruneLog, ...p.prunes] : s.pruneLog,
    importance: p.importance ?? s.importance,
    memory: p.memory ?? s.memory,
  }));
}

function buffer(): NonNullable<typeof pending> {
  if (!pending) pending = { points: [], snapshots: [], prunes: [], step: 0, importance: null, memory: null };
  if (!timer) timer = setTimeout(flushMetrics, FLUSH_MS);
  return pending;
}

function onStep(ev: StepEvent): void {
  const b = buffer();
  b.points.push({
    step: ev.step,
    loss: ev.loss,
    lr: ev.lr,
    live: ev.live,
    target: ev.target,
    tokensPerSecond: ev.tokensPerSecond,
  });
  b.step = ev.step;
  if (ev.importance) b.importance = ev.importance;
  b.memory = { gpuBytes: ev.gpuBytes, estimateBytes: ev.estimateBytes, peakBytes: ev.peakBytes ?? null };
}

/** Adds an error for the person to read (replacing an identical one). */
export function addError(area: ErrorArea, code: string, message: string): void {
  useStore.setState((s) => ({
    errors: [
      ...s.errors.filter((e) => !(e.area === area && e.message === message)),
      { id: nextErrorId++, area, code, message },
    ],
  }));
}

export function clearErrors(areas: ErrorArea[]): void {
  useStore.setState((s) => ({ errors: s.errors.filter((e) => !areas.includes(e.area)) }));
}

export function applyEvent(ev: WorkerEvent): void {
  const set = useStore.setState;
  switch (ev.type) {
    case 'engine':
      set({ engine: { backend: ev.backend, adapter: ev.adapter, warning: ev.warning } });
      return;
    case 'selftest':
      set({ selftest: { results: ev.results, error: ev.error } });
      return;
    case 'loaded': {
      const s = useStore.getState();
      if (ev.summary.id !== s.modelId) return;
      const keep = s.settings.targets.filter((t) => ev.summary.moduleTypes.includes(t));
      const targets = keep.length ? keep : ev.summary.defaultTargets;
      set({
        summary: ev.summary,
        modelLoading: false,
        modelProgress: null,
        settings: { ...s.settings, targets, seq: Math.min(s.settings.seq, ev.summary.maxPositions) },
      });
      return;
    }
    case 'started':
      flushMetrics();
      set({
        ...EMPTY_RUN,
        steps: ev.steps,
        modules: ev.modules,
        R0: ev.R0,
        budgetTotal: ev.budgetTotal,
        trainable: ev.trainable,
        schedule: ev.schedule,
        labels: ev.labels,
        dataSummary: ev.dataSummary,
        scrubStep: null,
        snapshots: [
          { step: 0, live: ev.modules.map(() => ev.R0) },
          ...(ev.history?.prunes ?? []).map((p) => ({ step: p.step, live: p.liveByModule })),
        ],
        points: ev.history?.points ?? [],
        pruneLog: (ev.history?.prunes ?? []).map(({ step, removed, revived, live }) => ({
          step,
          removed,
          revived,
          live,
        })),
        step: ev.resumedFrom ?? 0,
        resumedFrom: ev.resumedFrom ?? null,
      });
      set(runStarted(useStore.getState(), ev));
      return;
    case 'preview': {
      const data = takePending(ev.id);
      if (!data) return;
      const origin = data.origin ?? 'demo';
      if (ev.preview) {
        // An instruction file switches instruction tuning on (for a causal LM); any other file switches it off.
        const settings = useStore.getState().settings;
        const sft = ev.preview.instructionFormat
          ? (settings.sft ?? { format: 'auto' as const, trainOnPrompt: false })
          : null;
        set({
          dataFile: data,
          preview: ev.preview,
          dataOrigin: origin,
          dataLoading: false,
          settings: { ...settings, sft },
        });
      } else {
        set({ dataFile: null, preview: null, dataOrigin: origin, dataLoading: false });
        addError('data', ev.error?.code ?? 'Unreadable', ev.error?.message ?? `${data.name} could not be read.`);
      }
      return;
    }
    case 'sftPreview':
      if (!takeSftAnswer(ev.id)) return;
      set({ sftPreview: ev.preview, sftPreviewLoading: false, sftPreviewError: ev.error?.message ?? null });
      return;
    case 'checkpoints':
      set({ checkpoints: ev.list });
      return;
    case 'restoring': {
      const s = useStore.getState();
      const models = s.models.some((m) => m.id === ev.modelId)
        ? s.models
        : [...s.models, { id: ev.modelId, task: ev.task, label: ev.modelLabel }];
      cancelPreview();
      set({
        models,
        modelId: ev.modelId,
        summary: null,
        modelLoading: true,
        settings: ev.settings,
        dataFile: ev.data,
        preview: ev.preview,
        dataLoading: false,
        dataOrigin: ev.data.origin ?? 'demo',
        phase: 'preparing',
        run: { modelId: ev.modelId, task: ev.task, method: ev.settings.method, sft: !!ev.settings.sft },
        launching: {
          name: `${ev.checkpoint.runName} (resumed at step ${ev.checkpoint.step})`,
          modelId: ev.modelId,
          task: ev.task,
          settings: ev.settings,
          data: ev.data,
        },
      });
      return;
    }
    case 'modelAdded': {
      const s = useStore.getState();
      if (!s.models.some((m) => m.id === ev.modelId))
        set({ models: [...s.models, { id: ev.modelId, task: ev.task, label: ev.label }] });
      set({ modelId: ev.modelId, summary: null, modelLoading: true });
      return;
    }
    case 'modelProgress':
      set({ modelProgress: { file: ev.file, loaded: ev.loaded, total: ev.total } });
      return;
    case 'step':
      onStep(ev);
      return;
    case 'prune': {
      const b = buffer();
      b.snapshots.push({ step: ev.step, live: ev.liveByModule });
      b.prunes.push({ step: ev.step, removed: ev.removed, revived: ev.revived, live: ev.live });
      return;
    }
    case 'tuned':
      set({ tuning: { text: ev.text, summary: ev.summary } });
      return;
    case 'phase':
      flushMetrics();
      // 'idle' after Start means the run could not be prepared: there is no run to try or export.
      // The run list keeps each run's curve and allocation as of its latest pause or end (in the same update as the
      // phase: a queued run starts on it).
      set((s) => ({
        ...(ev.phase === 'idle' ? { phase: ev.phase, run: null, launching: null } : { phase: ev.phase }),
        ...(ev.phase === 'training' || ev.phase === 'preparing' ? {} : { runs: syncedRuns(s, ev.phase) }),
      }));
      return;
    case 'eval':
      set((s) => ({ evals: [...s.evals, ev.result] }));
      return;
    case 'generated':
      set({
        generation: { prompt: ev.prompt, base: ev.base, adapted: ev.adapted, onnx: ev.onnx ?? null },
        tryBusy: false,
      });
      return;
    case 'chatted':
      set({ chat: { message: ev.message, base: ev.base, adapted: ev.adapted, onnx: ev.onnx ?? null }, tryBusy: false });
      return;
    case 'classified':
      set({
        classification: { text: ev.text, labels: ev.labels, base: ev.base, adapted: ev.adapted, onnx: ev.onnx ?? null },
        tryBusy: false,
      });
      return;
    case 'exported':
      set((s) => ({
        exported: { zip: ev.zip, merged: ev.merged, rankMap: ev.rankMap, step: s.step },
        exportBusy: false,
      }));
      return;
    case 'onnxExported':
      set({ onnxExport: { zip: ev.zip, files: ev.files, step: ev.step }, exportBusy: false });
      return;
    case 'error':
      flushMetrics();
      // One command is in flight at a time, so whatever was waiting has failed.
      set({ tryBusy: false, exportBusy: false, modelLoading: false, modelProgress: null });
      addError(ev.area, ev.code, ev.message);
      return;
    default:
      ev satisfies never;
  }
}
