// The chart throttle: at most one run per interval, the last request always answered.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttle } from './useStoreTransition';

describe('throttle', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs the first request at once, then at most once per interval, and answers the last request', () => {
    const runs: number[] = [];
    const t = throttle(() => runs.push(Date.now()), { intervalMs: 300, now: () => Date.now() });
    const start = Date.now();
    // A training run that updates the store every 20 ms for 2 s.
    for (let ms = 0; ms < 2000; ms += 20) {
      t.request();
      vi.advanceTimersByTime(20);
    }
    vi.advanceTimersByTime(1000);
    const at = runs.map((r) => r - start);
    expect(at[0]).toBe(0);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(300);
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(2000 / 300) + 1);
    // The last request (at 1980 ms) is answered after it, not dropped.
    expect(at.at(-1)).toBeGreaterThanOrEqual(1980);
  });

  it('does not run after cancel', () => {
    const run = vi.fn();
    const t = throttle(run, { intervalMs: 300, now: () => Date.now() });
    t.request();
    t.request();
    t.cancel();
    vi.advanceTimersByTime(1000);
    expect(run).toHaveBeenCalledTimes(1);
  });
});

describe('throttle phases', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs throttles with different phases at different times, each on its own slots', () => {
    const start = Date.now();
    const runs: Record<string, number[]> = { a: [], b: [], c: [] };
    const gates = Object.entries({ a: 0, b: 100, c: 200 }).map(([k, phaseMs]) =>
      throttle(() => runs[k].push(Date.now() - start), { intervalMs: 300, phaseMs, now: () => Date.now() - start }),
    );
    for (let ms = 0; ms < 2000; ms += 20) {
      for (const g of gates) g.request();
      vi.advanceTimersByTime(20);
    }
    vi.advanceTimersByTime(1000);
    const all = [...runs.a, ...runs.b, ...runs.c];
    expect(new Set(all).size).toBe(all.length);
    expect(runs.b.every((t) => t % 300 === 100)).toBe(true);
    expect(runs.c.every((t) => t % 300 === 200)).toBe(true);
    for (const r of Object.values(runs)) {
      for (let i = 1; i < r.length; i++) expect(r[i] - r[i - 1]).toBeGreaterThanOrEqual(300);
    }
  });
});
