// Chart downsampling: bounded size, first and last kept, extremes kept, step series reduced to their changes.

import { describe, expect, it } from 'vitest';
import { downsampleMinMax, downsampleSteps } from './downsample';

const pts = (ys: number[]) => ys.map((y, x) => ({ x, y }));
const Y = (p: { y: number }) => p.y;

describe('downsampleMinMax', () => {
  it('returns a short series unchanged (the same array)', () => {
    const xs = pts([3, 1, 2]);
    expect(downsampleMinMax(xs, 10, Y)).toBe(xs);
  });

  it('keeps at most max points, the first and the last, in order', () => {
    const xs = pts(Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 50)));
    for (const max of [2, 3, 4, 7, 300, 400]) {
      const out = downsampleMinMax(xs, max, Y);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out[0]).toBe(xs[0]);
      expect(out.at(-1)).toBe(xs.at(-1));
      expect(out.every((p, i) => i === 0 || p.x > out[i - 1].x)).toBe(true);
    }
    expect(downsampleMinMax(xs, 400, Y).length).toBeGreaterThan(300);
  });

  it('keeps a single spike and a single dip that striding would drop', () => {
    const ys = new Array<number>(5_000).fill(1);
    ys[1234] = 50;
    ys[3333] = -7;
    const out = downsampleMinMax(pts(ys), 100, Y);
    expect(out.map((p) => p.y)).toContain(50);
    expect(out.map((p) => p.y)).toContain(-7);
    expect(out.find((p) => p.y === 50)?.x).toBe(1234);
  });

  it('never picks a non-finite value as an extreme', () => {
    const ys = Array.from({ length: 1_000 }, (_, i) => (i % 3 === 0 ? Number.NaN : i));
    const out = downsampleMinMax(pts(ys), 50, Y);
    expect(out.slice(1, -1).every((p) => Number.isFinite(p.y))).toBe(true);
  });

  it('rejects a budget below two points with a message that says what to pass', () => {
    expect(() => downsampleMinMax(pts([1, 2, 3]), 1, Y)).toThrow(/max must be at least 2 \(got 1\)/);
  });
});

describe('downsampleSteps', () => {
  it('keeps only the changes of a step series, and the last point', () => {
    const out = downsampleSteps(pts([1, 1, 1, 2, 2, 3, 3, 3]), 100, Y);
    expect(out.map((p) => p.x)).toEqual([0, 3, 5, 7]);
  });
  it('bounds a series that changes at every step', () => {
    const out = downsampleSteps(pts(Array.from({ length: 2_000 }, (_, i) => i % 7)), 200, Y);
    expect(out.length).toBeLessThanOrEqual(200);
  });
});
