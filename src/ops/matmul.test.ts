// Matmul CPU reference: hand-computed forwards, and the backward plan checked by central differences in float64
// for every (transA, transB), batched with and without a broadcast b, with bias and alpha.

import { describe, expect, it } from 'vitest';
import { randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import type { MatmulParams } from '../tensor/backend';
import { matmulBackwardRef, matmulBackwardSteps, matmulRef, sumRowsRef } from './matmul';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('matmulRef forward', () => {
  // a = [[1,2,3],[4,5,6]] (2x3), b = [[1,0],[0,1],[1,1]] (3x2): a@b = [[4,5],[10,11]].
  const a = f64([1, 2, 3, 4, 5, 6]),
    b = f64([1, 0, 0, 1, 1, 1]);
  const aT = f64([1, 4, 2, 5, 3, 6]),
    bT = f64([1, 0, 1, 0, 1, 1]);

  it('all four transpositions give the same product', () => {
    for (const [x, y, transA, transB] of [
      [a, b, false, false],
      [aT, b, true, false],
      [a, bT, false, true],
      [aT, bT, true, true],
    ] as const) {
      const out = new Float64Array(4);
      matmulRef(out, x, y, null, { M: 2, K: 3, N: 2, transA, transB });
      expect(Array.from(out), `transA=${transA} transB=${transB}`).toEqual([4, 5, 10, 11]);
    }
  });

  it('alpha scales the product but not the bias; accumulate adds the old out', () => {
    const out = f64([100, 200, 300, 400]);
    matmulRef(out, a, b, f64([1, -1]), { M: 2, K: 3, N: 2, alpha: 0.5, accumulate: true });
    expect(Array.from(out)).toEqual([100 + 2 + 1, 200 + 2.5 - 1, 300 + 5 + 1, 400 + 5.5 - 1]);
  });

  it('batch advances a and out; broadcastB keeps b', () => {
    const a2 = f64([...a, ...a.map((v) => -v)]);
    const out = new Float64Array(8);
    matmulRef(out, a2, b, null, { M: 2, K: 3, N: 2, batch: 2, broadcastB: true });
    expect(Array.from(out)).toEqual([4, 5, 10, 11, -4, -5, -10, -11]);
    const b2 = f64([...b, ...b.map((v) => 2 * v)]);
    matmulRef(out, a2, b2, null, { M: 2, K: 3, N: 2, batch: 2 });
    expect(Array.from(out)).toEqual([4, 5, 10, 11, -8, -10, -20, -22]);
  });

  it('accumulates in float64 before rounding to the f32 output', () => {
    // 2^24 + 1 + 1 in f32 steps would stay 2^24; in f64 it is 2^24 + 2, exact in f32.
    const out = new Float32Array(1);
    matmulRef(out, Float32Array.from([16777216, 1, 1]), Float32Array.from([1, 1, 1]), null, { M: 1, K: 3, N: 1 });
    expect(out[0]).toBe(16777218);
  });

  it('rejects operands that are too small', () => {
    expect(() => matmulRef(new Float64Array(8), a, b, null, { M: 2, K: 3, N: 2, batch: 2, broadcastB: true })).toThrow(
      /a has/,
    );
  });
});

describe('sumRowsRef', () => {
  it('sums the rows, and accumulates', () => {
    const out = f64([10, 20, 30]);
    sumRowsRef(out, f64([1, 2, 3, 4, 5, 6]), 2, 3, true);
    expect(Array.from(out)).toEqual([15, 27, 39]);
    sumRowsRef(out, f64([1, 2, 3, 4, 5, 6]), 2, 3);
    expect(Array.from(out)).toEqual([5, 7, 9]);
  });
});

const combos = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;
const layouts = [
  { batch: 1, broadcastB: false },
  { batch: 2, broadcastB: false },
  { batch: 2, broadcastB: true },
] as const;

describe.each(combos)('matmul backward (transA=%s, transB=%s) vs finite differences', (transA, transB) => {
  it.each(layouts)('batch=$batch broadcastB=$broadcastB, with bias and alpha', ({ batch, broadcastB }) => {
    const M = 3,
      K = 4,
      N = 5;
    const p: MatmulParams = { M, K, N, transA, transB, batch, broadcastB, alpha: 0.7 };
    const a = randF64(batch * M * K, 1),
      b = randF64((broadcastB ? 1 : batch) * K * N, 2);
    const bias = randF64(N, 3),
      w = randF64(batch * M * N, 4);
    const out = new Float64Array(batch * M * N);
    const loss = () => {
      matmulRef(out, a, b, bias, p);
      return dot(out, w);
    };
    // Gradients accumulate: start from a known offset and subtract it afterwards.
    const dA = new Float64Array(a.length).fill(0.25),
      dB = new Float64Array(b.length).fill(-0.5);
    const dBias = new Float64Array(N).fill(1);
    matmulBackwardRef(dA, dB, dBias, w, a, b, p);
    expectGradClose(
      dA.map((v) => v - 0.25),
      numericGrad(loss, a),
      'a',
    );
    expectGradClose(
      dB.map((v) => v + 0.5),
      numericGrad(loss, b),
      'b',
    );
    expectGradClose(
      dBias.map((v) => v - 1),
      numericGrad(loss, bias),
      'bias',
    );
  });
});

describe('matmulBackwardSteps', () => {
  it('folds the batch into K for a shared b when a is row-major, and loops per entry only when it must', () => {
    const [dA, dB] = matmulBackwardSteps({ M: 3, K: 4, N: 5, batch: 6, broadcastB: true, transB: true });
    expect(dA).toMatchObject({
      grad: 'dA',
      x: 'dOut',
      y: 'b',
      p: { M: 3, K: 5, N: 4, transB: false, batch: 6, broadcastB: true },
    });
    expect(dB).toMatchObject({ grad: 'dB', x: 'dOut', y: 'a', p: { M: 5, K: 18, N: 4, transA: true } });
    expect(dA.perBatch ?? dB.perBatch).toBeUndefined();
    const steps = matmulBackwardSteps({ M: 3, K: 4, N: 5, batch: 6, broadcastB: true, transA: true });
    expect(steps.map((s) => s.perBatch?.count)).toEqual([6, 6]);
  });

  it('skips null gradients', () => {
    const dB = new Float64Array(20);
    matmulBackwardRef(null, dB, null, randF64(15, 1), randF64(12, 2), randF64(20, 3), { M: 3, K: 4, N: 5 });
    expect(dB.some((v) => v !== 0)).toBe(true);
  });
});
