// The training step end to end: the dynamic-rank schedule as observed in the mask, exact survivors, loss going down
// for both methods, DEM on and off, compaction shrinking the adapter work, and WebGPU matching the CPU backend.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/models/config';
import { instantiate, type LoadedModel } from '../../src/models/load';
import { expectedLive } from '../../src/peft/schedule';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { type HostBatch, taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer, type TrainMethod } from '../../src/train/trainer';
import { gpuBackend } from '../helpers/gpu';
import { idsTokenizer, randomGpt2 } from '../helpers/randomModel';

const V = 41,
  C = 16,
  L = 2,
  B = 2,
  T = 6;
const fakeTok = idsTokenizer(V);

function tinyGpt(be: Backend): LoadedModel {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: C, n_layer: L, n_head: 2 });
  return instantiate(
    be,
    config,
    fakeTok,
    { tensors: randomGpt2({ V, P: 16, C, L }), initialized: [], ignored: [] },
    'tiny',
  );
}

function batch(seed: number): HostBatch {
  const r = new Rng(seed),
    ids = Int32Array.from({ length: B * T }, () => r.int(V));
  return {
    kind: 'lm',
    B,
    T,
    ids,
    targets: Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : (ids[i + 1] * 7 + 3) % V)),
  };
}

const targets = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];
const dora = (_steps: number, eta = 0.1): [TrainMethod, number] => [
  {
    method: 'dora',
    targets,
    budget: 2,
    pruneInterval: 2,
    adapter: { method: 'dora', R0: 3, alpha: 8, dropout: 0.1, seed: 5 },
  },
  eta,
];

function trainer(be: Backend, method: TrainMethod, steps: number, lr: number, eta = 0.1): Trainer {
  return new Trainer(be, taskFor(be, tinyGpt(be)), method, {
    ...DEFAULT_OPTIM,
    lr,
    totalSteps: steps,
    warmupFraction: 0,
    dem: { eta, variant: 'code' },
  });
}

describe('dynamic-rank training on the CPU backend', () => {
  it.each([
    { steps: 40, R0: 3, budget: 2, interval: 2, types: targets },
    { steps: 33, R0: 6, budget: 4, interval: 3, types: ['attn.c_attn', 'mlp.c_fc'] },
    { steps: 25, R0: 2, budget: 1, interval: 1, types: ['mlp.c_proj'] },
  ])(
    'live components follow the schedule after every step, and exactly M * b(T) survive (T=$steps R0=$R0 b=$budget)',
    async (c) => {
      const be = new CpuBackend();
      const tr = new Trainer(
        be,
        taskFor(be, tinyGpt(be)),
        {
          method: 'dora',
          targets: c.types,
          budget: c.budget,
          pruneInterval: c.interval,
          adapter: { method: 'dora', R0: c.R0, alpha: 8, dropout: 0.1, seed: 5 },
        },
        { ...DEFAULT_OPTIM, lr: 5e-3, totalSteps: c.steps, warmupFraction: 0, dem: { eta: 0.1, variant: 'code' } },
      );
      const M = tr.adapters!.modules.length;
      expect(M).toBe(c.types.length * L);
      const sched = tr.allocator!.schedule;
      for (let s = 1; s <= c.steps; s++) {
        tr.trainStep(batch(s));
        const live = (await tr.allocator!.liveCounts()).reduce((a, b) => a + b, 0);
        expect(live, `step ${s}`).toBe(expectedLive(s, sched));
      }
      expect((await tr.allocator!.liveCounts()).reduce((a, b) => a + b, 0)).toBe(M * c.budget);
      // after the final mask the pruned c stay exactly 0
      const theta = (await be.read(tr.adapters!.theta)) as Float32Array,
        mask = (await be.read(tr.allocator!.mask)) as Float32Array;
      for (let i = 0; i < M * c.R0; i++) if (!mask[i]) expect(Math.abs(theta[i])).toBe(0);
    },
  );

  it('lowers the loss for the dynamic-rank method and for LoRA', async () => {
    const methods: TrainMethod[] = [
      dora(30)[0],
      { method: 'lora', targets, adapter: { method: 'lora', R0: 4, alpha: 8, dropout: 0, seed: 5 } },
    ];
    for (const m of methods) {
      const tr = trainer(new CpuBackend(), m, 30, 2e-2),
        fixed = batch(99);
      tr.trainStep(fixed);
      const first = await tr.lastLoss();
      for (let s = 2; s <= 30; s++) tr.trainStep(fixed);
      const last = await tr.lastLoss();
      expect(last, `${m.method}: ${first} -> ${last}`).toBeLessThan(first * 0.9);
    }
  });

  it('compacting to the final mask shrinks the adapter work in proportion to the live components', async () => {
    const steps = 20,
      [method] = dora(steps),
      be = new CpuBackend(),
      tr = trainer(be, method, steps, 5e-3);
    const before = tr.adapters!.flopsPerStep(B * T);
    for (let s = 1; s <= steps; s++) tr.trainStep(batch(s));
    await tr.allocator!.compactToFinalMask();
    expect(tr.adapters!.flopsPerStep(B * T) / before).toBeCloseTo(2 / 3, 1);
    const lossBefore = await tr.lastLoss();
    tr.trainStep(batch(1));
    expect(Number.isFinite(await tr.lastLoss())).toBe(true);
    expect(lossBefore).toBeGreaterThan(0);
  });
});

describe('WebGPU training step', () => {
  it('matches the CPU backend step by step (loss, adapter parameters, mask)', async () => {
    const steps = 12,
      [method] = dora(steps),
      cpu = new CpuBackend(),
      gpu = await gpuBackend();
    const [tc, tg] = [trainer(cpu, method, steps, 5e-3), trainer(gpu, method, steps, 5e-3)];
    for (let s = 1; s <= steps; s++) {
      tc.trainStep(batch(s));
      tg.trainStep(batch(s));
      expect(Math.abs((await tg.lastLoss()) - (await tc.lastLoss())), `step ${s}`).toBeLessThan(1e-4);
    }
    const [a, b] = [await cpu.read(tc.adapters!.theta), await gpu.read(tg.adapters!.theta)];
    let maxErr = 0;
    for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
    expect(maxErr).toBeLessThan(1e-3);
    expect(Array.from(await gpu.read(tg.allocator!.mask))).toEqual(Array.from(await cpu.read(tc.allocator!.mask)));
  });

  it('records a step as one submission with no buffer creation or readback after warm-up', async () => {
    const gpu = await gpuBackend(),
      steps = 10,
      tr = trainer(gpu, dora(steps)[0], steps, 5e-3);
    tr.trainStep(batch(1));
    await tr.lastLoss();
    const c0 = { ...gpu.ctx.counters };
    tr.trainStep(batch(2));
    const d = Object.fromEntries(Object.entries(gpu.ctx.counters).map(([k, v]) => [k, v - c0[k as keyof typeof c0]]));
    expect(d.submissions).toBe(1);
    expect(d.bufferCreations).toBe(0);
    expect(d.readbacks).toBe(0);
    expect(d.pipelineCreations).toBe(0);
  });
});
