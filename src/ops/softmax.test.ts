// Softmax reference: hand-checked rows (including a stability case) and the backward against central differences.

import { describe, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { softmaxBackwardRef, softmaxRef } from './softmax';

describe('softmax reference', () => {
  it('matches hand-checked rows and is stable for large inputs', () => {
    const out = new Float64Array(5);
    softmaxRef(out, Float64Array.from([1, 2, 3, 1000, 1001]), 1, 3);
    expectClose(out.subarray(0, 3), [0.0900305732, 0.2447284711, 0.6652409558], 1e-10, 0, 'row [1,2,3]');
    const big = new Float64Array(4);
    softmaxRef(big, Float64Array.from([1000, 1001, -1000, -1001]), 2, 2);
    expectClose(big, [0.2689414214, 0.7310585786, 0.7310585786, 0.2689414214], 1e-10, 0, 'rows of +-1000');
  });

  it('backward matches central differences', () => {
    const rows = 3,
      cols = 5;
    const x = randF64(rows * cols, 41, -3, 3),
      g = randF64(rows * cols, 42);
    const y = new Float64Array(rows * cols);
    const loss = () => {
      softmaxRef(y, x, rows, cols);
      return dot(y, g);
    };
    const num = numericGrad(loss, x);
    loss();
    const dx = new Float64Array(rows * cols);
    softmaxBackwardRef(dx, y, g, rows, cols);
    expectGradClose(dx, num, 'softmax');
  });
});
