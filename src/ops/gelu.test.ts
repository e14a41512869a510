// GELU reference: erf accuracy, hand-checked values, and both backwards against float64 central differences.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import type { GeluKind } from '../tensor/backend';
import { erf, erfc, geluBackwardRef, geluRef } from './gelu';

describe('erf', () => {
  it('matches tabulated values to 1e-15', () => {
    // Reference values from the Handbook of Mathematical Functions / mpmath.
    const table: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(erf(x) - v), `erf(${x})`).toBeLessThan(1e-15);
      expect(Math.abs(erf(-x) + v), `erf(-${x})`).toBeLessThan(1e-15);
    }
    expect(erf(0)).toBe(0);
    expect(erf(30)).toBe(1);
    // The tail keeps relative precision: erfc(3) = 2.209049699858544e-5, erfc(5) = 1.5374597944280349e-12.
    expect(Math.abs(erfc(3) / 2.209049699858544e-5 - 1)).toBeLessThan(1e-13);
    expect(Math.abs(erfc(5) / 1.5374597944280349e-12 - 1)).toBeLessThan(1e-13);
  });

  it('has derivative 2/sqrt(pi) exp(-x^2) on both sides of the series / continued-fraction switch', () => {
    const h = 1e-5;
    for (const x of [-4, -2.5, -0.7, 0, 0.3, 1.9, 2.4999, 2.5, 2.5001, 3.3, 5]) {
      const fd = (erf(x + h) - erf(x - h)) / (2 * h);
      expect(Math.abs(fd - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x)), `erf'(${x})`).toBeLessThan(1e-9);
    }
  });
});

describe('gelu reference', () => {
  it('matches hand-checked values', () => {
    const out = new Float64Array(3);
    geluRef(out, Float64Array.from([1, 0, -1]), 'tanh');
    expectClose(out, [0.8411919906, 0, -0.1588080094], 1e-10, 0, 'gelu tanh');
    geluRef(out, Float64Array.from([1, 0, -1]), 'erf');
    expectClose(out, [0.8413447461, 0, -0.1586552539], 1e-10, 0, 'gelu erf');
    // Far tails: gelu(x) -> x for large x and -> 0 (not NaN) for very negative x.
    geluRef(out, Float64Array.from([40, -40, -8]), 'erf');
    expect(out[0]).toBe(40);
    expect(out[1]).toBe(-0);
    expect(out[2]).toBeLessThan(0);
    expect(out[2]).toBeGreaterThan(-1e-13);
  });

  describe.each<GeluKind>(['tanh', 'erf'])('%s backward', (kind) => {
    it('matches central differences and accumulates', () => {
      const n = 23;
      const x = randF64(n, 11, -4, 4),
        w = randF64(n, 12);
      const out = new Float64Array(n);
      const loss = () => {
        geluRef(out, x, kind);
        return dot(out, w);
      };
      const num = numericGrad(loss, x);
      const dx = new Float64Array(n);
      geluBackwardRef(dx, x, w, kind);
      expectGradClose(dx, num, `gelu ${kind}`);

      const prev = randF64(n, 13);
      const acc = prev.slice();
      geluBackwardRef(acc, x, w, kind, true);
      expectClose(
        acc,
        prev.map((p, i) => p + dx[i]),
        1e-15,
        1e-15,
        'accumulate',
      );
    });
  });
});
