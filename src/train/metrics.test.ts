// Classification metrics against hand-computed values.

import { describe, expect, it } from 'vitest';
import { classificationMetrics } from './metrics';

describe('classification metrics', () => {
  it('binary: accuracy, positive-class F1 and MCC by hand', () => {
    // tp=3 fn=1 fp=2 tn=4
    const gold = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
      pred = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0];
    const m = classificationMetrics(pred, gold);
    expect(m.accuracy).toBeCloseTo(0.7, 12);
    expect(m.f1).toBeCloseTo((2 * 3) / (2 * 3 + 2 + 1), 12);
    expect(m.mcc).toBeCloseTo((3 * 4 - 2 * 1) / Math.sqrt(5 * 4 * 6 * 5), 12);
  });

  it('perfect and constant predictions', () => {
    expect(classificationMetrics([0, 1, 2], [0, 1, 2])).toEqual({ accuracy: 1, f1: 1, mcc: 1 });
    expect(classificationMetrics([0, 0, 0, 0], [0, 1, 0, 1]).mcc).toBe(0);
  });
});
