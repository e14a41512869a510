// DEM regulariser: values against a direct variance computation, gradient by central differences (float64).

import { describe, expect, it } from 'vitest';
import { randF64 } from '../../tests/helpers/check';
import { expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { demRef } from './dem';

const slot = { inF: 5, outF: 4, R0: 3, offA: 2, offB: 2 + 15, offC: 0 };
const size = slot.offB + slot.outF * slot.R0 + 1;

function unbiasedVar(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
}

describe('DEM regulariser reference', () => {
  it('sums coef * (Var(a_i) + Var(b_i)) with unbiased variances', () => {
    const theta = randF64(size, 1),
      partials = new Float64Array(2 * slot.R0);
    demRef(partials, null, theta, slot, 0.25, 0);
    let want = 0;
    for (let i = 0; i < slot.R0; i++) {
      want += unbiasedVar(Array.from(theta.subarray(slot.offA + i * slot.inF, slot.offA + (i + 1) * slot.inF)));
      want += unbiasedVar(Array.from({ length: slot.outF }, (_, o) => theta[slot.offB + o * slot.R0 + i]));
    }
    expect(partials.reduce((a, b) => a + b, 0)).toBeCloseTo(0.25 * want, 12);
  });

  it('gradient matches central differences and touches only A and B', () => {
    const theta = randF64(size, 2),
      coef = 0.3;
    const loss = () => {
      const p = new Float64Array(2 * slot.R0);
      demRef(p, null, theta, slot, coef, 0);
      return p.reduce((a, b) => a + b, 0);
    };
    const num = numericGrad(loss, theta);
    const grad = new Float64Array(size);
    demRef(new Float64Array(2 * slot.R0), grad, theta, slot, coef, 0);
    expectGradClose(grad, num, 'DEM');
    expect(grad[0]).toBe(0);
    expect(grad[size - 1]).toBe(0);
  });
});
