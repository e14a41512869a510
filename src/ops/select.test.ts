// EMA, k-th smallest and masks, CPU reference: hand-computed cases with ties at the threshold, clamping of k, and the
// k-th smallest against an explicit sort on random data.

import { describe, expect, it } from 'vitest';
import { randArray } from '../../tests/helpers/check';
import { applyMaskRef, emaRef, kthSmallestRef, thresholdMaskRef } from './select';

describe('select references', () => {
  it('ema: out = beta out + (1 - beta) x', () => {
    const out = Float64Array.from([0, 1, -2]);
    emaRef(out, Float64Array.from([1, 1, 2]), 0.9);
    expect(out[0]).toBeCloseTo(0.1, 15);
    expect(out[1]).toBeCloseTo(1, 15);
    expect(out[2]).toBeCloseTo(-1.6, 15);
  });

  it('kthSmallest counts ties with multiplicity and clamps k to [1, n]', () => {
    const x = Float32Array.from([3, 1, 2, 2, 5, 2]),
      out = new Float32Array(1);
    const expected = [1, 2, 2, 2, 3, 5];
    for (let k = 1; k <= 6; k++) {
      kthSmallestRef(out, x, k);
      expect(out[0], `k=${k}`).toBe(expected[k - 1]);
    }
    kthSmallestRef(out, x, 0);
    expect(out[0]).toBe(1);
    kthSmallestRef(out, x, 99);
    expect(out[0]).toBe(5);
    expect(() => kthSmallestRef(out, new Float32Array(0), 1)).toThrow();
  });

  it('kthSmallest equals the sorted array on random data', () => {
    const x = randArray(1001, 7),
      out = new Float32Array(1);
    const sorted = Array.from(x).sort((a, b) => a - b);
    for (const k of [1, 2, 500, 1000, 1001]) {
      kthSmallestRef(out, x, k);
      expect(out[0]).toBe(sorted[k - 1]);
    }
  });

  it('thresholdMask prunes scores <= thr (ties included) at the target offset; applyMask re-applies it', () => {
    const scores = Float32Array.from([0.5, 0.2, 0.2, 0.9]),
      thr = Float32Array.from([0.2]);
    const target = Float32Array.from([7, 1, 2, 3, 4, 8]),
      mask = new Float32Array(4);
    thresholdMaskRef(target, mask, scores, thr, 1);
    expect(Array.from(mask)).toEqual([1, 0, 0, 1]);
    expect(Array.from(target)).toEqual([7, 1, 0, 0, 4, 8]);
    target.set([5, 6, 7, 8], 1);
    applyMaskRef(target, mask, 1);
    expect(Array.from(target)).toEqual([7, 5, 0, 0, 8, 8]);
    expect(() => applyMaskRef(target, mask, 3)).toThrow();
  });
});
