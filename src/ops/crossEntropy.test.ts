// Cross-entropy reference: hand-computed losses, ignore-index rows, overflow-free large logits, RangeErrors, and the
// backward (with ignored rows and dloss != 1) against central finite differences of dloss/count * sum(losses).

import { describe, expect, it } from 'vitest';
import { randF64 } from '../../tests/helpers/check';
import { expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { crossEntropyBackwardRef, crossEntropyRef } from './crossEntropy';

describe('crossEntropyRef', () => {
  it('computes -log softmax[target] and marks ignored rows', () => {
    const logits = Float64Array.from([1, 2, 3, 0, 0, 0, 5, 5, 5]);
    const losses = new Float64Array(3),
      valid = new Float64Array(3);
    crossEntropyRef(losses, valid, logits, Int32Array.from([0, -100, 2]), 3, 3, -100);
    expect(losses[0]).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 1, 12);
    expect(losses[1]).toBe(0);
    expect(losses[2]).toBeCloseTo(Math.log(3), 12);
    expect(Array.from(valid)).toEqual([1, 0, 1]);
  });

  it('is stable for large logits (log-sum-exp)', () => {
    const losses = new Float64Array(1),
      valid = new Float64Array(1);
    crossEntropyRef(losses, valid, Float64Array.from([1000, 1000, -1000]), Int32Array.from([1]), 1, 3, -100);
    expect(losses[0]).toBeCloseTo(Math.log(2), 12);
  });

  it('throws a RangeError for a target outside [0, V) that is not the ignore index', () => {
    const l = new Float64Array(1),
      v = new Float64Array(1),
      x = new Float64Array(3);
    expect(() => crossEntropyRef(l, v, x, Int32Array.from([3]), 1, 3, -100)).toThrow(RangeError);
    expect(() => crossEntropyRef(l, v, x, Int32Array.from([-1]), 1, 3, -100)).toThrow(/target -1\b/);
    expect(() =>
      crossEntropyBackwardRef(x, x, Int32Array.from([5]), Float64Array.of(1), Float64Array.of(1), 1, 3, -100),
    ).toThrow(/target 5\b/);
  });
});

describe('crossEntropyBackwardRef', () => {
  it('matches finite differences with ignored rows and dloss != 1', () => {
    const N = 5,
      V = 7,
      ignore = -100;
    const targets = Int32Array.from([3, ignore, 0, 6, ignore]);
    const logits = randF64(N * V, 4, -3, 3);
    const dloss = Float64Array.of(0.7),
      count = Float64Array.of(2.5); // count need not equal sum(valid)
    const losses = new Float64Array(N),
      valid = new Float64Array(N);
    const loss = (): number => {
      crossEntropyRef(losses, valid, logits, targets, N, V, ignore);
      return (dloss[0] / count[0]) * losses.reduce((a, b) => a + b, 0);
    };
    const numeric = numericGrad(loss, logits);
    const dlogits = new Float64Array(N * V).fill(9); // must be overwritten, ignored rows included
    crossEntropyBackwardRef(dlogits, logits, targets, dloss, count, N, V, ignore);
    expectGradClose(dlogits, numeric, 'cross-entropy logits');
    for (let j = 0; j < V; j++) expect(dlogits[V + j]).toBe(0);
  });

  it('equals the mean-reduced torch gradient when count = sum(valid) and dloss = 1', () => {
    const N = 4,
      V = 3;
    const targets = Int32Array.from([2, -1, 0, 1]);
    const logits = randF64(N * V, 5);
    const losses = new Float64Array(N),
      valid = new Float64Array(N);
    crossEntropyRef(losses, valid, logits, targets, N, V, -1);
    const count = valid.reduce((a, b) => a + b, 0);
    expect(count).toBe(3);
    const mean = (): number => {
      crossEntropyRef(losses, valid, logits, targets, N, V, -1);
      return losses.reduce((a, b) => a + b, 0) / 3;
    };
    const numeric = numericGrad(mean, logits);
    const dlogits = new Float64Array(N * V);
    crossEntropyBackwardRef(dlogits, logits, targets, Float64Array.of(1), Float64Array.of(count), N, V, -1);
    expectGradClose(dlogits, numeric, 'mean cross-entropy');
    // Each valid row's gradient sums to zero (softmax and one-hot both sum to one).
    for (const n of [0, 2, 3])
      expect(Math.abs(dlogits.slice(n * V, n * V + V).reduce((a, b) => a + b, 0))).toBeLessThan(1e-15);
  });
});
