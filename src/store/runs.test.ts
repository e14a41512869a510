// The run list and the paper's comparison: LoRA at the rank whose trainable-parameter count is closest to a
// dynamic-rank run's at its final budget (b(T) components per module, each in + out + 1 parameters, against r * (in
// + out) per module), queued after the dynamic-rank run with the same model, data, seed and steps.

import { beforeEach, describe, expect, it } from 'vitest';
import type { Command, ModelSummary, WorkerEvent } from '../worker/protocol';
import { compareWithLora, startTraining, watchQueue } from './actions';
import { connect } from './client';
import { DEFAULT_SETTINGS } from './configSlice';
import { applyEvent, flushMetrics } from './events';
import { useStore } from './index';
import { CompareError, doraParams, loraParams, matchLoraRank, RUN_LOSS_POINTS } from './runs';

describe('matchLoraRank', () => {
  it('counts b(T) (in + out + 1) per module for dynamic rank and r (in + out) for LoRA', () => {
    expect(doraParams([10, 20], 2)).toBe(2 * 11 + 2 * 21);
    expect(loraParams([10, 20], 3)).toBe(3 * 30);
  });

  it('picks the rank whose count is closest, the smaller on a tie, never below 1', () => {
    expect(matchLoraRank([10, 20], 2)).toEqual({ rank: 2, doraParams: 64, loraParams: 60 });
    // 18 against 16 (r = 4) and 20 (r = 5): a tie goes to the smaller count.
    expect(matchLoraRank([2, 2], 3)).toEqual({ rank: 4, doraParams: 18, loraParams: 16 });
    // The +1 per component doubles a 1-wide module's count: r = 2 matches b = 1 exactly.
    expect(matchLoraRank([1], 1)).toEqual({ rank: 2, doraParams: 2, loraParams: 2 });
    // gpt2-tiny's four module types at b(T) = 2 (in + out: 64+192, 64+64, 64+256, 256+64 per layer, 2 layers).
    const gpt2tiny = [256, 128, 320, 320, 256, 128, 320, 320];
    expect(matchLoraRank(gpt2tiny, 2)).toEqual({ rank: 2, doraParams: 4112, loraParams: 4096 });
  });

  it('is the closest count for any sizes and budget (checked against every rank up to 40)', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 1 + (seed % n);
    };
    for (let k = 0; k < 200; k++) {
      const dims = Array.from({ length: rnd(6) }, () => rnd(12));
      const budget = rnd(8);
      const m = matchLoraRank(dims, budget);
      let best = 1;
      for (let r = 1; r <= 40; r++) {
        const d = Math.abs(loraParams(dims, r) - m.doraParams);
        if (d < Math.abs(loraParams(dims, best) - m.doraParams)) best = r;
      }
      expect(m.rank).toBe(best);
    }
  });

  it('rejects a budget that is not a whole number >= 1, and a run without modules, with typed errors', () => {
    expect(() => matchLoraRank([10], 0)).toThrow(CompareError);
    expect(() => matchLoraRank([10], 1.5)).toThrow(/Final budget b\(T\)/);
    expect(() => matchLoraRank([], 2)).toThrow(/no modules/);
  });
});

// Two layers of attn.c_attn (in 64, out 192) and mlp.c_fc (in 64, out 256).
const MODULES = ['h.0.attn.c_attn', 'h.0.mlp.c_fc', 'h.1.attn.c_attn', 'h.1.mlp.c_fc'];
const SUMMARY = {
  id: 'gpt2-tiny',
  task: 'causal-lm',
  moduleTypes: ['attn.c_attn', 'mlp.c_fc'],
  modules: MODULES.map((name) => {
    const type = name.slice(4);
    return { name, type, layer: Number(name[2]), inF: 64, outF: type === 'attn.c_attn' ? 192 : 256 };
  }),
} as unknown as ModelSummary;
const DATA = { name: 'sotu.txt', text: 'State of the Union', origin: 'demo' as const };

function started(R0: number, steps: number): WorkerEvent {
  return {
    type: 'started',
    steps,
    modules: MODULES,
    R0,
    budgetTotal: 8,
    trainable: 1000,
    schedule: [{ step: 0, live: 4 * R0 }],
    labels: null,
    dataSummary: '',
  };
}

function step(s: number, liveByModule: number[]): WorkerEvent {
  return {
    type: 'step',
    step: s,
    loss: 5 - s / 100,
    lr: 1e-3,
    live: liveByModule.reduce((a, b) => a + b, 0),
    target: 8,
    liveByModule,
    tokensPerSecond: 1,
    importance: null,
    gpuBytes: null,
    estimateBytes: 0,
  };
}

describe('the run list and the LoRA comparison', () => {
  const sent: Command[] = [];
  const initial = useStore.getState();
  connect(
    applyEvent,
    () => {},
    () => ({ postMessage: (c: Command) => sent.push(c), onmessage: null, onerror: null }),
  );
  watchQueue();

  beforeEach(() => {
    useStore.setState(initial, true);
    useStore.setState({
      summary: SUMMARY,
      modelId: 'gpt2-tiny',
      dataFile: DATA,
      preview: { format: 'text', columns: ['text'] } as never,
      settings: {
        ...DEFAULT_SETTINGS,
        method: 'dora',
        budget: 2,
        steps: 500,
        seed: 5,
        targets: ['attn.c_attn', 'mlp.c_fc'],
      },
    });
    sent.length = 0;
  });

  /** A dynamic-rank run of 500 steps that ends with the allocation [1, 3, 2, 2]. */
  function trainDora(): void {
    startTraining();
    applyEvent(started(3, 500));
    applyEvent({ type: 'phase', phase: 'training' });
    for (let s = 1; s <= 500; s++) applyEvent(step(s, [3, 3, 3, 3]));
    applyEvent({ type: 'prune', step: 500, removed: 4, revived: 0, live: 8, liveByModule: [1, 3, 2, 2] });
    flushMetrics();
  }

  it('records a run with its method, budget, parameters, downsampled loss and final rank map', () => {
    trainDora();
    applyEvent({ type: 'phase', phase: 'done' });
    const [run] = useStore.getState().runs;
    expect(run).toMatchObject({
      name: 'Run 1 · dynamic rank b(T)=2',
      method: 'dora',
      budget: 2,
      R0: 3,
      trainable: 1000,
      // b(T) = 2 components per module of (in + out + 1): 2 * (257 + 321) * 2 layers.
      finalParams: 2 * (257 + 321) * 2,
      rankMap: [1, 3, 2, 2],
      rankStep: 500,
      phase: 'done',
    });
    expect(run.loss.length).toBeLessThanOrEqual(RUN_LOSS_POINTS);
    expect(run.loss.at(-1)).toEqual({ step: 500, loss: 0 });
    expect(useStore.getState().currentRunId).toBe(run.id);
  });

  it('queues LoRA at the matched rank with the same data, seed and steps, and starts it when the run is done', () => {
    trainDora();
    compareWithLora();
    // Still training: queued, not sent.
    expect(sent.filter((c) => c.type === 'start')).toHaveLength(1);
    const q = useStore.getState().queuedRun;
    expect(q?.match).toEqual({ rank: 2, doraParams: 2312, loraParams: 2 * (256 + 320) * 2 });
    expect(useStore.getState().lastMatch?.match.rank).toBe(2);

    applyEvent({ type: 'phase', phase: 'done' });
    const starts = sent.filter((c) => c.type === 'start');
    expect(starts).toHaveLength(2);
    const lora = starts[1];
    if (lora.type !== 'start') throw new Error('not a start');
    expect(lora.settings).toMatchObject({ method: 'lora', rank: 2, seed: 5, steps: 500, budget: 2 });
    expect(lora.data).toBe(DATA);
    expect(lora.model).toBe('gpt2-tiny');
    expect(useStore.getState().queuedRun).toBeNull();

    applyEvent(started(2, 500));
    const s = useStore.getState();
    expect(s.runs.map((r) => r.name)).toEqual(['Run 1 · dynamic rank b(T)=2', 'Run 2 · LoRA r=2 (vs Run 1)']);
    expect(s.runs[0].phase).toBe('done');
    expect(s.runs[1]).toMatchObject({ method: 'lora', budget: 2, finalParams: 2304, rankMap: [2, 2, 2, 2] });
    // Side by side in the compare view, the dynamic-rank curve on the loss chart.
    expect(s.compareIds).toEqual(['run-1', 'run-2']);
    expect(s.overlayRunIds).toEqual(['run-1']);
  });

  it("keeps the compared run's task for the queued run when another kind of model is loaded meanwhile", () => {
    trainDora();
    compareWithLora();
    // The person loads a classifier while the dynamic-rank run trains.
    useStore.setState({ summary: { ...SUMMARY, task: 'seq-cls' }, modelId: 'bert-tiny' });
    applyEvent({ type: 'phase', phase: 'done' });
    expect(useStore.getState().run).toMatchObject({ modelId: 'gpt2-tiny', task: 'causal-lm', method: 'lora' });
    applyEvent(started(2, 500));
    expect(useStore.getState().runs.map((r) => r.task)).toEqual(['causal-lm', 'causal-lm']);
  });

  it('gives the LoRA comparison of an instruction-tuning run its chat file and instruction-tuning settings', () => {
    const chat = { name: 'instruct-demo.jsonl', text: '{"prompt":"a","completion":"b"}', origin: 'demo' as const };
    const sft = { format: 'prompt-completion' as const, trainOnPrompt: true };
    const chatPreview = { format: 'jsonl', columns: ['prompt', 'completion'], instructionFormat: 'prompt-completion' };
    useStore.setState((s) => ({ dataFile: chat, preview: chatPreview as never, settings: { ...s.settings, sft } }));
    trainDora();
    compareWithLora();
    // The person moves on while the run trains: plain text, instruction tuning off. The queued run keeps the run's.
    useStore.setState({ dataFile: DATA, preview: { format: 'text', columns: ['text'] } as never });
    useStore.getState().setSettings({ sft: null });
    applyEvent({ type: 'phase', phase: 'done' });
    const starts = sent.filter((c) => c.type === 'start');
    expect(starts.map((c) => c.type === 'start' && c.settings.sft)).toEqual([sft, sft]);
    expect(starts.map((c) => c.type === 'start' && c.data)).toEqual([chat, chat]);
    expect(useStore.getState().run?.sft).toBe(true);
    applyEvent(started(2, 500));
    expect(useStore.getState().runs.map((r) => [r.settings.sft, r.data])).toEqual([
      [sft, chat],
      [sft, chat],
    ]);
  });

  it('records instruction tuning as off for a run whose data is not an instruction file', () => {
    useStore.setState((s) => ({ settings: { ...s.settings, sft: { format: 'auto', trainOnPrompt: false } } }));
    trainDora();
    applyEvent({ type: 'phase', phase: 'done' });
    compareWithLora();
    const starts = sent.filter((c) => c.type === 'start');
    expect(starts.map((c) => c.type === 'start' && c.settings.sft)).toEqual([null, null]);
    expect(useStore.getState().runs[0].settings.sft).toBeNull();
    expect(useStore.getState().run?.sft).toBe(false);
  });

  it('drops a queued comparison when the person starts a run of their own', () => {
    trainDora();
    compareWithLora();
    applyEvent({ type: 'phase', phase: 'paused' });
    expect(useStore.getState().queuedRun).not.toBeNull();
    startTraining();
    expect(useStore.getState().queuedRun).toBeNull();
    applyEvent(started(3, 500));
    applyEvent({ type: 'phase', phase: 'done' });
    expect(sent.filter((c) => c.type === 'start').map((c) => c.type === 'start' && c.settings.method)).toEqual([
      'dora',
      'dora',
    ]);
  });

  it('starts the LoRA run at once after a run has ended, and reports a LoRA run as not comparable', () => {
    trainDora();
    applyEvent({ type: 'phase', phase: 'stopped' });
    compareWithLora();
    expect(sent.filter((c) => c.type === 'start')).toHaveLength(2);
    applyEvent(started(2, 500));
    compareWithLora();
    const errors = useStore.getState().errors;
    expect(errors.map((e) => e.code)).toEqual(['NotDynamicRank']);
    expect(errors[0].message).toMatch(/Run 2 · LoRA r=2 \(vs Run 1\) is a LoRA run/);
  });

  it('records a run resumed from a checkpoint under its saved name, with its saved curve and allocation', () => {
    const settings = { ...DEFAULT_SETTINGS, budget: 2, steps: 10 };
    applyEvent({
      type: 'restoring',
      modelId: 'gpt2-tiny',
      modelLabel: 'gpt2-tiny',
      task: 'causal-lm',
      settings,
      data: DATA,
      preview: null,
      checkpoint: {
        id: 'c1',
        runId: 'r1',
        runName: 'gpt2-tiny · b(T)=2',
        modelId: 'gpt2-tiny',
        dataName: 'sotu.txt',
        method: 'dora',
        step: 4,
        totalSteps: 10,
        time: 0,
        bytes: 1,
      },
    });
    const points = [1, 2, 3, 4].map((st) => ({
      step: st,
      loss: 5 - st,
      lr: 1e-3,
      live: 12,
      target: 8,
      tokensPerSecond: 1,
    }));
    applyEvent({
      ...started(3, 10),
      resumedFrom: 4,
      history: { points, prunes: [{ step: 4, removed: 2, revived: 0, live: 10, liveByModule: [1, 3, 3, 3] }] },
    } as WorkerEvent);
    const [run] = useStore.getState().runs;
    expect(run).toMatchObject({
      name: 'gpt2-tiny · b(T)=2 (resumed at step 4)',
      method: 'dora',
      rankMap: [1, 3, 3, 3],
      rankStep: 4,
      settings,
      data: DATA,
    });
    expect(run.loss.map((p) => p.step)).toEqual([1, 2, 3, 4]);
  });
});
