// Elementwise references: hand-checked values and the tanh backward by central differences (float64).

import { describe, expect, it } from 'vitest';
import { randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { addRef, axpyRef, mulRef, scaleRef, tanhBackwardRef, tanhRef } from './elementwise';

describe('elementwise reference', () => {
  it('computes add, mul, scale, axpy on known values', () => {
    const a = new Float64Array([1, -2, 3]),
      b = new Float64Array([4, 5, -6]),
      out = new Float64Array(3);
    addRef(out, a, b);
    expect(Array.from(out)).toEqual([5, 3, -3]);
    mulRef(out, a, b);
    expect(Array.from(out)).toEqual([4, -10, -18]);
    scaleRef(out, a, 0.5);
    expect(Array.from(out)).toEqual([0.5, -1, 1.5]);
    axpyRef(out, b, 2);
    expect(Array.from(out)).toEqual([8.5, 9, -10.5]);
  });

  it('tanh backward matches central differences', () => {
    const n = 17,
      x = randF64(n, 3, -3, 3),
      w = randF64(n, 4),
      y = new Float64Array(n),
      dx = new Float64Array(n);
    const loss = () => {
      tanhRef(y, x);
      return dot(y, w);
    };
    const num = numericGrad(loss, x);
    tanhRef(y, x);
    tanhBackwardRef(dx, y, w);
    expectGradClose(dx, num, 'tanh');
  });
});
