// Injected faults: NaN gradients (skip + lower the learning rate, or stop), checked at every step; NaN weights (a
// typed stop after N non-finite steps in a row); a lost GPU device (recover from the last checkpoint and finish the
// run), and a run too big for the device (a message with the memory estimate).

import { describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/backend';
import { createNodeContext } from '../../src/gpu/node';
import { parseConfig } from '../../src/models/config';
import { instantiate, type LoadedModel } from '../../src/models/load';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { trainResilient } from '../../src/train/resilient';
import type { PreparedData, RunConfig } from '../../src/train/run';
import { createTrainer, DEFAULT_RUN, NonFiniteError, type NonFiniteStep, runSteps } from '../../src/train/run';
import { idsTokenizer, randomGpt2 } from '../helpers/randomModel';

const V = 41;
const tok = idsTokenizer(V);
const weights = randomGpt2({ V, P: 16, C: 16, L: 2 });
const r = new Rng(5);
const data: PreparedData = {
  train: {
    kind: 'lm',
    seq: 6,
    windows: Array.from({ length: 12 }, () => Int32Array.from({ length: 7 }, () => r.int(V))),
  },
  val: { kind: 'lm', seq: 6, windows: [] },
  labels: null,
  summary: {},
};
const cfg: RunConfig = { ...DEFAULT_RUN, batch: 2, seq: 6, steps: 14, pruneInterval: 2, logEvery: 1, lr: 1e-2 };

function model(be: Backend, tensors = weights): LoadedModel {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
  return instantiate(be, config, tok, { tensors, initialized: [], ignored: [] }, 'tiny');
}

describe('non-finite gradients', () => {
  it('skip policy: the update is skipped, the learning rate halves, training goes on', async () => {
    const be = new CpuBackend(),
      { trainer, stream, steps } = createTrainer(be, model(be), data, cfg);
    let before: Float32Array | null = null;
    trainer.beforeOptimizer = (step) => {
      if (step === 4) be.fill(trainer.adapters!.grad, NaN);
    };
    const seen: { step: number; skipped: number }[] = [];
    await runSteps(trainer, stream, steps, cfg, async (m) => {
      if (m.step === 3) before = (await be.read(trainer.adapters!.theta)).slice() as Float32Array;
      if (m.step === 4) expect(Array.from(await be.read(trainer.adapters!.theta))).toEqual(Array.from(before!));
      seen.push({ step: m.step, skipped: m.skipped });
    });
    expect(seen.at(-1)).toEqual({ step: 14, skipped: 1 });
    expect(trainer.lrScale).toBe(0.5);
    expect(Number.isFinite(await trainer.lastLoss())).toBe(true);
  });

  it('stop policy: a typed error that says what to do', async () => {
    const be = new CpuBackend(),
      { trainer, stream, steps } = createTrainer(be, model(be), data, { ...cfg, onNonFinite: 'stop' });
    trainer.beforeOptimizer = (step) => {
      if (step === 2) be.fill(trainer.adapters!.grad, NaN);
    };
    await expect(runSteps(trainer, stream, steps, { ...cfg, onNonFinite: 'stop' }, () => {})).rejects.toBeInstanceOf(
      NonFiniteError,
    );
  });

  it.each([5, 0])('checks every step, not only logged ones (logEvery %i); says which was skipped', async (logEvery) => {
    const c = { ...cfg, logEvery },
      be = new CpuBackend();
    const { trainer, stream, steps } = createTrainer(be, model(be), data, c);
    trainer.beforeOptimizer = (step) => {
      if (step === 3) be.fill(trainer.adapters!.grad, NaN);
    };
    const seen: { step: number; skipped: number }[] = [],
      skips: (NonFiniteStep & { lrScale: number })[] = [];
    await runSteps(
      trainer,
      stream,
      steps,
      c,
      (m) => {
        seen.push({ step: m.step, skipped: m.skipped });
      },
      undefined,
      {
        onSkipped: (s) => skips.push(s),
      },
    );
    expect(skips).toEqual([{ step: 3, what: 'gradient norm', consecutive: 1, lrScale: 0.5 }]);
    expect(seen.at(-1)).toEqual({ step: 14, skipped: 1 });
    expect(trainer.lrScale).toBe(0.5);
  });

  it('a NaN in a LayerNorm weight stops the run after maxSkippedSteps non-finite steps in a row', async () => {
    const bad = new Map(weights),
      ln = bad.get('h.0.ln_1.weight')!,
      nanData = ln.data.slice();
    nanData[3] = NaN;
    bad.set('h.0.ln_1.weight', { ...ln, data: nanData });
    const c = { ...cfg, logEvery: 10, maxSkippedSteps: 4 },
      be = new CpuBackend();
    const { trainer, stream, steps } = createTrainer(be, model(be, bad), data, c);
    const skipped: number[] = [];
    const err = await runSteps(trainer, stream, steps, c, () => {}, undefined, {
      onSkipped: (s) => skipped.push(s.step),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err).toMatchObject({ step: 4, what: 'loss', consecutive: 4 });
    expect((err as Error).message).toMatch(/the loss was NaN or infinite at 4 steps in a row \(steps 1 to 4;/);
    expect((err as Error).message).toMatch(/model weights most likely hold NaN/);
    expect(skipped).toEqual([1, 2, 3]);
    // The run ended there (the step after the 4th was already recorded when its status came back).
    expect(trainer.step).toBeLessThanOrEqual(5);
  });

  it('non-finite steps that are not in a row do not stop the run', async () => {
    const c = { ...cfg, maxSkippedSteps: 2 },
      be = new CpuBackend();
    const { trainer, stream, steps } = createTrainer(be, model(be), data, c);
    trainer.beforeOptimizer = (step) => {
      if (step % 2 === 0 && step <= 8) be.fill(trainer.adapters!.grad, NaN);
    };
    await runSteps(trainer, stream, steps, c, () => {});
    expect(trainer.step).toBe(14);
    expect(trainer.skippedSteps).toBe(4);
    expect(trainer.lrScale).toBe(1 / 16);
  });

  it("WebGPU: reading each step's status keeps the step at one submission, with no buffer creation", async () => {
    const be = new GpuBackend(await createNodeContext()),
      { trainer, stream } = createTrainer(be, model(be), data, cfg);
    await trainer.trainStep(stream.next(), { readStatus: true }).status;
    await trainer.trainStep(stream.next(), { readStatus: true }).status;
    const c0 = { ...be.ctx.counters };
    const rec = trainer.trainStep(stream.next(), { readStatus: true });
    const d = Object.fromEntries(Object.entries(be.ctx.counters).map(([k, v]) => [k, v - c0[k as keyof typeof c0]]));
    expect(d.submissions).toBe(1);
    expect(d.readbacks).toBe(1);
    expect(d.bufferCreations).toBe(0);
    const s = await rec.status!;
    expect(s.step).toBe(3);
    expect(Math.abs(s.loss - (await trainer.lastLoss()))).toBe(0);
    expect(s.clipFactor).toBeGreaterThan(0);
  });
});

describe('GPU device loss', () => {
  it('recovers on a new device from the last checkpoint and finishes the run', async () => {
    // The reference runs on the CPU backend (the WebGPU step matches it to 1e-4, tests/train/trainer.test.ts).
    const reference: number[] = [];
    await trainResilient(
      data,
      cfg,
      {
        open: async () => {
          const be = new CpuBackend();
          return { be, model: model(be) };
        },
        onMetrics: (m) => {
          reference.push(m.loss);
        },
      },
      { checkpointEvery: 2, maxRecoveries: 0 },
    );

    const losses = new Map<number, number>(),
      recovered: number[] = [];
    let opened = 0;
    await trainResilient(
      data,
      cfg,
      {
        open: async () => {
          opened++;
          const be = new GpuBackend(await createNodeContext());
          return { be, model: model(be) };
        },
        onMetrics: (m) => {
          losses.set(m.step, m.loss);
        },
        onRecovered: ({ step }) => recovered.push(step),
        onTrainer: (t) => {
          if (opened === 1)
            t.beforeOptimizer = (step) => {
              if (step === 7) (t.be as GpuBackend).ctx.destroy();
            };
        },
      },
      { checkpointEvery: 2, maxRecoveries: 2 },
    );
    expect(opened).toBe(2);
    expect(recovered).toEqual([7]);
    expect(losses.size).toBe(14);
    for (let s = 7; s <= 14; s++) expect(Math.abs(losses.get(s)! - reference[s - 1]), `step ${s}`).toBeLessThan(1e-4);
  });
});

describe('a run that does not fit', () => {
  it('fails before training with the memory estimate and what to change', async () => {
    const be = new GpuBackend(await createNodeContext({ maxStorageBufferBindingSize: 4096 }));
    expect(() => createTrainer(be, model(be), data, { ...cfg, batch: 8 })).toThrow(
      /estimated .* MiB.*Lower the batch size/,
    );
  });
});
