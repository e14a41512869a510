// Reductions, CPU reference: hand-computed sums, accumulation, float64 accumulation, and the gradients
// (1 and 2x) by central differences.

import { describe, expect, it } from 'vitest';
import { randF64 } from '../../tests/helpers/check';
import { expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { sumRef, sumSquaresRef } from './reduce';

describe('sumRef / sumSquaresRef', () => {
  it('hand-computed values, with and without accumulate', () => {
    const x = Float64Array.from([1, -2, 3.5]);
    const out = Float64Array.from([10]);
    sumRef(out, x, true);
    expect(out[0]).toBe(12.5);
    sumRef(out, x);
    expect(out[0]).toBe(2.5);
    sumSquaresRef(out, x, true);
    expect(out[0]).toBe(2.5 + 1 + 4 + 12.25);
    sumSquaresRef(out, x);
    expect(out[0]).toBe(17.25);
  });

  it('empty input gives 0 (or leaves out when accumulating)', () => {
    const out = Float64Array.from([3]);
    sumRef(out, new Float64Array(0), true);
    expect(out[0]).toBe(3);
    sumSquaresRef(out, new Float64Array(0));
    expect(out[0]).toBe(0);
  });

  it('accumulates in float64', () => {
    // Summed in f32, 2^24 + 1 + 1 stays 2^24.
    const x = Float32Array.from([16777216, 1, 1]);
    const out = new Float32Array(1);
    sumRef(out, x);
    expect(out[0]).toBe(16777218);
    sumSquaresRef(out, Float32Array.from([4096, 1, 1])); // 2^24 + 2
    expect(out[0]).toBe(16777218);
  });

  it('gradients match finite differences: d sum = 1, d sum(x^2) = 2x', () => {
    const x = randF64(7, 5);
    const out = new Float64Array(1);
    const gs = numericGrad(() => {
      sumRef(out, x);
      return out[0];
    }, x);
    expectGradClose(new Float64Array(7).fill(1), gs, 'sum');
    const gq = numericGrad(() => {
      sumSquaresRef(out, x);
      return out[0];
    }, x);
    expectGradClose(
      x.map((v) => 2 * v),
      gq,
      'sumSquares',
    );
  });
});
