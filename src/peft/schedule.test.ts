// The budget schedule against the authors' rule, computed independently here for several (T, R0, b(T), M).

import { describe, expect, it } from 'vitest';
import { defaultR0, expectedLive, planStep, type ScheduleOptions } from './schedule';

/** A direct transcription of the official code's loop (Python int() = truncation toward zero). */
function official(o: ScheduleOptions) {
  const events: { step: number; k: number; final: boolean }[] = [];
  for (let step = 1; step <= o.totalSteps; step++) {
    const tp = Math.trunc(step - 0.15 * o.totalSteps),
      TP = Math.trunc(0.35 * o.totalSteps);
    if (tp > TP) continue;
    if (tp >= 0 && (tp % o.pruneInterval === 0 || tp === TP)) {
      const q = ((o.R0 - o.budget) / o.R0) * (tp / TP) ** 3;
      events.push({ step, k: Math.max(Math.trunc(o.modules * o.R0 * q), 1), final: tp === TP });
    }
  }
  return events;
}

const cases: ScheduleOptions[] = [
  { totalSteps: 100, R0: 3, budget: 2, modules: 8, pruneInterval: 10 },
  { totalSteps: 1000, R0: 12, budget: 8, modules: 72, pruneInterval: 50 },
  { totalSteps: 101, R0: 6, budget: 4, modules: 24, pruneInterval: 10 },
  { totalSteps: 37, R0: 2, budget: 1, modules: 3, pruneInterval: 1 },
];

describe('dynamic-rank schedule', () => {
  it('R0 = ceil(1.5 b(T))', () => {
    expect([2, 4, 8, 16].map(defaultR0)).toEqual([3, 6, 12, 24]);
  });

  it.each(cases)('prune events match the official rule (%o)', (o) => {
    const ours = [];
    for (let s = 1; s <= o.totalSteps; s++) {
      const p = planStep(s, o);
      if (p.prune) ours.push({ step: s, k: p.k, final: p.final });
    }
    expect(ours).toEqual(official(o));
  });

  it.each(cases)('ends with exactly M * b(T) live components (%o)', (o) => {
    expect(expectedLive(o.totalSteps, o)).toBe(o.modules * o.budget);
  });

  it('is back-loaded: pruning is slow first and fast at the end (not AdaLoRA’s front-loaded cubic)', () => {
    const o = cases[1];
    const live = (f: number) => expectedLive(Math.round(f * o.totalSteps), o);
    const total = o.modules * o.R0,
      target = o.modules * o.budget;
    expect(live(0.14)).toBe(total);
    // halfway through the pruning phase only (1/2)^3 = 1/8 of the pruning is done
    expect((total - live(0.325)) / (total - target)).toBeLessThan(0.2);
    expect(live(0.5)).toBe(target);
  });

  it("the first event (t' = 0) already prunes one component, and EMA/DEM stop after the final event", () => {
    const o = cases[0];
    const first = Array.from({ length: o.totalSteps }, (_, i) => planStep(i + 1, o)).find((p) => p.prune)!;
    expect(first.tPrime).toBe(0);
    expect(first.k).toBe(1);
    const after = planStep(60, o);
    expect(after).toMatchObject({ updateEma: false, prune: false, enforceFinal: true, dem: false });
    expect(planStep(5, o)).toMatchObject({ updateEma: true, prune: false, dem: true });
  });
});
