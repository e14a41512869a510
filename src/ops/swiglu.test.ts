// SwiGLU reference: hand-checked values, the far tails (no overflow), then dgate and dup against float64 central
// differences.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { sigmoid, swigluBackwardRef, swigluRef } from './swiglu';

describe('swiglu reference', () => {
  it('out = gate * sigmoid(gate) * up on hand-checked values', () => {
    const out = new Float64Array(3);
    swigluRef(out, Float64Array.from([0, 1, -2]), Float64Array.from([5, 2, 3]));
    // silu(1) = 1/(1+e^-1) = 0.7310585786; silu(-2) = -2/(1+e^2) = -0.2384058440
    expectClose(out, [0, 2 * 0.7310585786, 3 * -0.238405844], 1e-9, 0, 'out');
  });

  it('is finite in the far tails: silu(-1000) = -0, silu(1000) = 1000', () => {
    const out = new Float64Array(2),
      dg = new Float64Array(2),
      du = new Float64Array(2);
    const gate = Float64Array.from([-1000, 1000]),
      up = Float64Array.from([1, 1]);
    swigluRef(out, gate, up);
    swigluBackwardRef(dg, du, Float64Array.from([1, 1]), gate, up);
    expect(Array.from(out)).toEqual([-0, 1000]);
    expect(Array.from(dg).every(Number.isFinite)).toBe(true);
    expect(dg[1]).toBe(1);
    expect(sigmoid(-800)).toBe(0);
  });

  it('dgate and dup match central differences', () => {
    const n = 17;
    const gate = randF64(n, 1, -6, 6),
      up = randF64(n, 2, -2, 2),
      g = randF64(n, 3);
    const out = new Float64Array(n);
    const loss = () => {
      swigluRef(out, gate, up);
      return dot(out, g);
    };
    const numG = numericGrad(loss, gate),
      numU = numericGrad(loss, up);
    const dg = new Float64Array(n).fill(7),
      du = new Float64Array(n).fill(7);
    swigluBackwardRef(dg, du, g, gate, up);
    expectGradClose(dg, numG, 'swiglu gate');
    expectGradClose(du, numU, 'swiglu up');
  });
});
