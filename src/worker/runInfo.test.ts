// The budget targets sent to the page follow the schedule exactly (peft/schedule.ts expectedLive).

import { describe, expect, it } from 'vitest';
import { expectedLive } from '../peft/schedule';
import type { Trainer } from '../train/trainer';
import { scheduleTargets } from './runInfo';

describe('scheduleTargets', () => {
  it('matches expectedLive at every step for dynamic rank, and M*r for LoRA', () => {
    const schedule = { totalSteps: 57, R0: 3, budget: 2, modules: 8, pruneInterval: 2 };
    const dora = { adapters: { modules: new Array(8), opts: { R0: 3 } }, allocator: { schedule } } as unknown as Trainer;
    const t = scheduleTargets(dora, 57);
    for (let s = 1; s <= 57; s++) expect(t[s], `step ${s}`).toBe(expectedLive(s, schedule));
    expect(t[57]).toBe(16);
    const lora = { adapters: { modules: new Array(5), opts: { R0: 4 } }, allocator: null } as unknown as Trainer;
    expect([...scheduleTargets(lora, 3)]).toEqual([20, 20, 20, 20]);
  });
});
