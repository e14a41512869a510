// Worker events land in the store: a run's start resets the history, steps and prune events are buffered and
// flushed in order, and errors are kept per area without duplicates.

import { beforeEach, describe, expect, it } from 'vitest';
import { addError, applyEvent, flushMetrics } from './events';
import { useStore } from './index';

const initial = useStore.getState();

describe('applyEvent', () => {
  beforeEach(() => useStore.setState(initial, true));

  it('builds the metrics history and the heatmap snapshots of a run', () => {
    applyEvent({
      type: 'started',
      steps: 3,
      modules: ['h.0.attn.c_attn', 'h.1.attn.c_attn'],
      R0: 3,
      budgetTotal: 4,
      trainable: 100,
      schedule: [{ step: 0, live: 6 }],
      labels: null,
      dataSummary: 'x',
    });
    for (let s = 1; s <= 3; s++) {
      applyEvent({
        type: 'step',
        step: s,
        loss: 5 - s,
        lr: 1e-3,
        live: s < 3 ? 6 : 4,
        target: 6,
        liveByModule: s < 3 ? [3, 3] : [1, 3],
        tokensPerSecond: 10,
        importance: [0.1 * s, 0.2, 0.3, 0.4, 0.5, 0.6],
        gpuBytes: 1024 * s,
        estimateBytes: 4096,
        peakBytes: 2048 * s,
      });
    }
    applyEvent({ type: 'prune', step: 3, removed: 2, revived: 0, live: 4, liveByModule: [1, 3] });
    expect(useStore.getState().points).toHaveLength(0); // buffered until the next flush
    flushMetrics();
    const s = useStore.getState();
    expect(s.points.map((p) => p.loss)).toEqual([4, 3, 2]);
    expect(s.step).toBe(3);
    expect(s.snapshots).toEqual([
      { step: 0, live: [3, 3] },
      { step: 3, live: [1, 3] },
    ]);
    expect(s.pruneLog).toEqual([{ step: 3, removed: 2, revived: 0, live: 4 }]);
    expect(s.importance?.[0]).toBeCloseTo(0.3); // the latest scores
    expect(s.memory).toEqual({ gpuBytes: 3072, estimateBytes: 4096, peakBytes: 6144 });
    applyEvent({ type: 'phase', phase: 'done' });
    expect(useStore.getState().phase).toBe('done');
  });

  it("keeps the run's kernel tuning line until the next run starts", () => {
    const summary = { timed: 3, changed: 1, untimed: 0, ms: 800, ruleMsPerStep: 5, tunedMsPerStep: 4 };
    applyEvent({ type: 'tuned', text: 'kernels tuned', summary });
    expect(useStore.getState().tuning).toEqual({ text: 'kernels tuned', summary });
    applyEvent({
      type: 'started',
      steps: 1,
      modules: [],
      R0: 1,
      budgetTotal: 1,
      trainable: 1,
      schedule: [],
      labels: null,
      dataSummary: 'x',
    });
    expect(useStore.getState().tuning).toBeNull();
  });

  it('continues the charts from a checkpoint: the saved history and step come back with started', () => {
    const history = {
      points: [1, 2].map((step) => ({
        step,
        loss: 5 - step,
        lr: 1e-3,
        live: step < 2 ? 6 : 5,
        target: 6,
        tokensPerSecond: 10,
      })),
      prunes: [{ step: 2, removed: 1, revived: 0, live: 5, liveByModule: [2, 3] }],
    };
    applyEvent({
      type: 'started',
      steps: 4,
      modules: ['h.0.attn.c_attn', 'h.1.attn.c_attn'],
      R0: 3,
      budgetTotal: 4,
      trainable: 100,
      schedule: [],
      labels: null,
      dataSummary: 'x',
      resumedFrom: 2,
      history,
    });
    applyEvent({
      type: 'step',
      step: 3,
      loss: 1,
      lr: 1e-3,
      live: 5,
      target: 5,
      liveByModule: [2, 3],
      tokensPerSecond: 10,
      importance: null,
      gpuBytes: null,
      estimateBytes: 4096,
    });
    flushMetrics();
    const s = useStore.getState();
    expect(s.points.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(s.snapshots).toEqual([
      { step: 0, live: [3, 3] },
      { step: 2, live: [2, 3] },
    ]);
    expect(s.pruneLog).toEqual([{ step: 2, removed: 1, revived: 0, live: 5 }]);
    expect(s.step).toBe(3);
    expect(s.resumedFrom).toBe(2);
  });
  it('keeps the current settings targets that the new model has, else its defaults', () => {
    useStore.setState({ modelId: 'b' });
    const summary = {
      id: 'b',
      kind: 'bert' as const,
      title: 'BERT',
      task: 'seq-cls' as const,
      head: { fixed: 0, perLabel: 9 },
      layers: 2,
      hidden: 8,
      heads: 2,
      vocab: 10,
      maxPositions: 32,
      parameters: 1,
      modules: [],
      moduleTypes: ['attention.self.query', 'output.dense'],
      defaultTargets: ['attention.self.query'],
    };
    applyEvent({ type: 'loaded', summary });
    expect(useStore.getState().settings.targets).toEqual(['attention.self.query']);
    expect(useStore.getState().settings.seq).toBe(32);
  });

  it('shows each error once and clears a waiting command', () => {
    useStore.setState({ tryBusy: true });
    applyEvent({ type: 'error', area: 'try', code: 'X', message: 'Pause first.' });
    addError('try', 'X', 'Pause first.');
    expect(useStore.getState().errors).toHaveLength(1);
    expect(useStore.getState().tryBusy).toBe(false);
  });

  it('keeps the ONNX export and the ONNX results beside ours; an error ends the export', () => {
    useStore.setState({ exportBusy: true });
    applyEvent({ type: 'onnxExported', zip: Uint8Array.of(1), files: ['onnx/model.onnx'], step: 4 });
    expect(useStore.getState().onnxExport).toEqual({ zip: Uint8Array.of(1), files: ['onnx/model.onnx'], step: 4 });
    expect(useStore.getState().exportBusy).toBe(false);
    const onnx = { text: ' b', ours: ' b', agrees: true, step: 4 };
    applyEvent({ type: 'generated', prompt: 'a', base: ' c', adapted: ' d', onnx });
    expect(useStore.getState().generation?.onnx).toEqual(onnx);
    applyEvent({ type: 'generated', prompt: 'a', base: ' c', adapted: ' d' });
    expect(useStore.getState().generation?.onnx).toBeNull();
    applyEvent({ type: 'chatted', message: 'm', base: 'c', adapted: 'b', onnx });
    expect(useStore.getState().chat?.onnx).toEqual(onnx);
    applyEvent({ type: 'chatted', message: 'm', base: 'c', adapted: 'b' });
    expect(useStore.getState().chat).toEqual({ message: 'm', base: 'c', adapted: 'b', onnx: null });
    const probs = { probs: [0.4, 0.6], maxDiff: 1e-8, agrees: true, step: 4 };
    applyEvent({
      type: 'classified',
      text: 't',
      labels: ['x', 'y'],
      base: [0.5, 0.5],
      adapted: [0.4, 0.6],
      onnx: probs,
    });
    expect(useStore.getState().classification?.onnx).toEqual(probs);
    useStore.setState({ exportBusy: true });
    applyEvent({ type: 'error', area: 'export', code: 'OnnxExportError', message: 'no' });
    expect(useStore.getState().exportBusy).toBe(false);
  });
});
