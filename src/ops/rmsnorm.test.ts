// RMSNorm reference: a hand-checked row, then dx and dw against float64 central differences.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { rmsnormBackwardRef, rmsnormRef } from './rmsnorm';

describe('rmsnorm reference', () => {
  it('normalises a hand-checked row by its root mean square, then multiplies by w (no mean subtracted)', () => {
    const out = new Float64Array(4),
      rstd = new Float64Array(1);
    rmsnormRef(out, rstd, Float64Array.from([1, 2, 3, 4]), Float64Array.from([1, 1, 2, 0.5]), 1, 4, 0);
    // mean(x^2) = 30/4 = 7.5 -> rstd = 1/sqrt(7.5) = 0.3651483717
    expect(rstd[0]).toBeCloseTo(0.3651483717, 9);
    expectClose(out, [0.3651483717, 0.7302967433, 2.19089023, 0.7302967433], 1e-9, 0, 'out');
  });

  it('eps sits inside the square root', () => {
    const out = new Float64Array(2),
      rstd = new Float64Array(1);
    rmsnormRef(out, rstd, Float64Array.from([0, 0]), Float64Array.from([1, 1]), 1, 2, 0.25);
    expect(rstd[0]).toBe(2);
  });

  it.each([
    [3, 5],
    [4, 1],
    [2, 8],
  ])('dx and dw match central differences (N=%i, D=%i)', (N, D) => {
    const eps = 1e-5;
    const x = randF64(N * D, 21, -2, 2),
      w = randF64(D, 22),
      g = randF64(N * D, 24);
    const out = new Float64Array(N * D),
      rstd = new Float64Array(N);
    const loss = () => {
      rmsnormRef(out, rstd, x, w, N, D, eps);
      return dot(out, g);
    };
    const numX = numericGrad(loss, x),
      numW = numericGrad(loss, w);
    loss();
    const dx = new Float64Array(N * D),
      dw = new Float64Array(D);
    rmsnormBackwardRef(dx, dw, g, x, w, rstd, N, D);
    expectGradClose(dx, numX, 'rmsnorm x');
    expectGradClose(dw, numW, 'rmsnorm w');
  });

  it('dw always accumulates, dx only when asked, and a null dw is skipped', () => {
    const N = 2,
      D = 4;
    const x = randF64(N * D, 31),
      w = randF64(D, 32),
      g = randF64(N * D, 34);
    const out = new Float64Array(N * D),
      rstd = new Float64Array(N);
    rmsnormRef(out, rstd, x, w, N, D, 1e-6);
    const dx0 = new Float64Array(N * D),
      dw0 = new Float64Array(D);
    rmsnormBackwardRef(dx0, dw0, g, x, w, rstd, N, D);

    const prevX = randF64(N * D, 35),
      prevW = randF64(D, 36);
    const dx = prevX.slice(),
      dw = prevW.slice();
    rmsnormBackwardRef(dx, dw, g, x, w, rstd, N, D, false);
    expectClose(dx, dx0, 1e-15, 1e-15, 'dx overwritten');
    expectClose(
      dw,
      prevW.map((p, i) => p + dw0[i]),
      1e-15,
      1e-15,
      'dw accumulated',
    );

    const dxAcc = prevX.slice();
    rmsnormBackwardRef(dxAcc, null, g, x, w, rstd, N, D, true);
    expectClose(
      dxAcc,
      prevX.map((p, i) => p + dx0[i]),
      1e-15,
      1e-15,
      'dx accumulated',
    );
  });
});
