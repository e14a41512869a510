// Importance histogram binning.

import { describe, expect, it } from 'vitest';
import { importanceBins } from './ImportanceChart';

describe('importanceBins', () => {
  it('counts every score once, on a log scale, zeros in the first bin', () => {
    const bins = importanceBins([0, 1e-4, 1e-3, 1e-2, 0.1, 1, 1], 4);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(7);
    expect(bins[0].count).toBe(1);
    expect(bins.map((b) => b.count)).toEqual([1, 0, 2, 4]); // log10: -8 | -4, -3 | -2, -1, 0, 0 in bins of width 2
  });

  it('gives no bins for no scores, and leaves out scores that are not finite', () => {
    expect(importanceBins([], 4)).toEqual([]);
    expect(importanceBins([Number.NaN, Number.POSITIVE_INFINITY], 4)).toEqual([]);
    const bins = importanceBins([Number.NaN, 1e-3, 1e-3], 4);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(2);
    for (const b of bins) expect([b.from, b.to].every(Number.isFinite)).toBe(true);
  });
});
