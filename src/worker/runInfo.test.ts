// The budget targets sent to the page follow the schedule exactly (peft/schedule.ts expectedLive), and the page's
// settings become the trainer's config (steps or epochs).

import { describe, expect, it } from 'vitest';
import { expectedLive } from '../peft/schedule';
import type { BatchSource } from '../train/data/batches';
import { totalSteps } from '../train/run';
import type { Trainer } from '../train/trainer';
import type { RunSettings } from './protocol';
import { runConfig, scheduleTargets } from './runInfo';

describe('scheduleTargets', () => {
  it('matches expectedLive at every step for dynamic rank, and M*r for LoRA', () => {
    const schedule = { totalSteps: 57, R0: 3, budget: 2, modules: 8, pruneInterval: 2 };
    const dora = {
      adapters: { modules: new Array(8), opts: { R0: 3 } },
      allocator: { schedule },
    } as unknown as Trainer;
    const t = scheduleTargets(dora, 57);
    for (let s = 1; s <= 57; s++) expect(t[s], `step ${s}`).toBe(expectedLive(s, schedule));
    expect(t[57]).toBe(16);
    const lora = { adapters: { modules: new Array(5), opts: { R0: 4 } }, allocator: null } as unknown as Trainer;
    expect([...scheduleTargets(lora, 3)]).toEqual([20, 20, 20, 20]);
  });
});

describe('runConfig', () => {
  const settings: RunSettings = {
    method: 'lora',
    budget: 2,
    r0: null,
    rank: 4,
    targets: ['attn.c_attn'],
    lr: null,
    batch: 4,
    seq: 32,
    steps: 7,
    epochs: 3,
    seed: 1,
    pruneInterval: 10,
    eta: 0.1,
    dropout: 0,
    alpha: null,
    checkpointEvery: 0,
  };
  const train = { kind: 'cls', examples: new Array(10) } as unknown as BatchSource;

  it('takes the step count from the epochs when they are set, else from the steps', () => {
    expect(totalSteps(train, runConfig(settings))).toBe(9); // ceil(10 / 4) batches per epoch, 3 epochs
    expect(totalSteps(train, runConfig({ ...settings, epochs: 1, batch: 10 }))).toBe(1);
    expect(totalSteps(train, runConfig({ ...settings, epochs: null }))).toBe(7);
    // Settings saved with a checkpoint before epochs existed.
    const { epochs: _, ...older } = settings;
    expect(totalSteps(train, runConfig(older))).toBe(7);
  });
});
