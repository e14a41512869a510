// LayerNorm reference: a hand-checked row, then dx, dw and db against float64 central differences.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { layernormBackwardRef, layernormRef } from './layernorm';

describe('layernorm reference', () => {
  it('normalises a hand-checked row with biased variance', () => {
    const out = new Float64Array(4),
      mean = new Float64Array(1),
      rstd = new Float64Array(1);
    layernormRef(
      out,
      mean,
      rstd,
      Float64Array.from([1, 2, 3, 4]),
      Float64Array.from([1, 1, 2, 1]),
      Float64Array.from([0, 0, 0, 0.5]),
      1,
      4,
      0,
    );
    // mean 2.5, biased var 1.25 -> rstd = 1/sqrt(1.25) = 0.894427191
    expect(mean[0]).toBe(2.5);
    expect(rstd[0]).toBeCloseTo(0.894427191, 9);
    expectClose(out, [-1.3416407865, -0.4472135955, 0.894427191, 1.8416407865], 1e-9, 0, 'out');
  });

  it('dx, dw and db match central differences', () => {
    const N = 3,
      C = 5,
      eps = 1e-5;
    const x = randF64(N * C, 21, -2, 2),
      w = randF64(C, 22),
      b = randF64(C, 23),
      g = randF64(N * C, 24);
    const out = new Float64Array(N * C),
      mean = new Float64Array(N),
      rstd = new Float64Array(N);
    const loss = () => {
      layernormRef(out, mean, rstd, x, w, b, N, C, eps);
      return dot(out, g);
    };
    const numX = numericGrad(loss, x),
      numW = numericGrad(loss, w),
      numB = numericGrad(loss, b);
    loss();

    const dx = new Float64Array(N * C),
      dw = new Float64Array(C),
      db = new Float64Array(C);
    layernormBackwardRef(dx, dw, db, g, x, w, mean, rstd, N, C);
    expectGradClose(dx, numX, 'layernorm x');
    expectGradClose(dw, numW, 'layernorm w');
    expectGradClose(db, numB, 'layernorm b');
  });

  it('dw and db always accumulate, dx only when asked, and null dw/db are skipped', () => {
    const N = 2,
      C = 4;
    const x = randF64(N * C, 31),
      w = randF64(C, 32),
      b = randF64(C, 33),
      g = randF64(N * C, 34);
    const out = new Float64Array(N * C),
      mean = new Float64Array(N),
      rstd = new Float64Array(N);
    layernormRef(out, mean, rstd, x, w, b, N, C, 1e-5);
    const dx0 = new Float64Array(N * C),
      dw0 = new Float64Array(C),
      db0 = new Float64Array(C);
    layernormBackwardRef(dx0, dw0, db0, g, x, w, mean, rstd, N, C);

    const prevX = randF64(N * C, 35),
      prevW = randF64(C, 36),
      prevB = randF64(C, 37);
    const dx = prevX.slice(),
      dw = prevW.slice(),
      db = prevB.slice();
    layernormBackwardRef(dx, dw, db, g, x, w, mean, rstd, N, C, false);
    expectClose(dx, dx0, 1e-15, 1e-15, 'dx overwritten');
    expectClose(
      dw,
      prevW.map((p, i) => p + dw0[i]),
      1e-15,
      1e-15,
      'dw accumulated',
    );
    expectClose(
      db,
      prevB.map((p, i) => p + db0[i]),
      1e-15,
      1e-15,
      'db accumulated',
    );

    const dxAcc = prevX.slice();
    layernormBackwardRef(dxAcc, null, null, g, x, w, mean, rstd, N, C, true);
    expectClose(
      dxAcc,
      prevX.map((p, i) => p + dx0[i]),
      1e-15,
      1e-15,
      'dx accumulated',
    );
  });
});
