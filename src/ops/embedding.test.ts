// Embedding reference: a hand-checked gather, RangeErrors for bad ids, and the scatter-add backward (with repeated
// ids, accumulating into a non-zero dW) against central finite differences in float64.

import { describe, expect, it } from 'vitest';
import { randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { embeddingBackwardRef, embeddingRef } from './embedding';

describe('embeddingRef', () => {
  it('gathers rows of W by id', () => {
    const W = Float64Array.from([1, 2, 3, 4, 5, 6]); // V=3, C=2
    const out = new Float64Array(6);
    embeddingRef(out, Int32Array.from([2, 0, 2]), W, 3, 2);
    expect(Array.from(out)).toEqual([5, 6, 1, 2, 5, 6]);
  });

  it('throws a RangeError naming an out-of-range id', () => {
    const W = new Float64Array(6),
      out = new Float64Array(4),
      dW = new Float64Array(6);
    expect(() => embeddingRef(out, Int32Array.from([0, 3]), W, 2, 2)).toThrow(RangeError);
    expect(() => embeddingRef(out, Int32Array.from([0, 3]), W, 2, 2)).toThrow(/id 3\b/);
    expect(() => embeddingRef(out, Int32Array.from([-1, 0]), W, 2, 2)).toThrow(/id -1\b/);
    expect(() => embeddingBackwardRef(dW, Int32Array.from([1, 7]), out, 2, 2, 3)).toThrow(/id 7\b/);
    // A rejected call must not have scattered the valid positions before the bad one.
    expect(Array.from(dW)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('embeddingBackwardRef', () => {
  it('matches finite differences with repeated ids, accumulating into dW', () => {
    const N = 6,
      C = 3,
      V = 5;
    const ids = Int32Array.from([1, 4, 1, 0, 1, 4]); // id 1 three times, id 4 twice, ids 2 and 3 unused
    const W = randF64(V * C, 1),
      w = randF64(N * C, 2);
    const out = new Float64Array(N * C);
    const loss = (): number => {
      embeddingRef(out, ids, W, N, C);
      return dot(out, w);
    };
    const numeric = numericGrad(loss, W);
    const init = randF64(V * C, 3);
    const dW = Float64Array.from(init);
    embeddingBackwardRef(dW, ids, w, N, C, V);
    expectGradClose(
      dW.map((x, i) => x - init[i]),
      numeric,
      'embedding W',
    );
    // Unused rows keep their previous contents exactly.
    for (const r of [2, 3]) for (let c = 0; c < C; c++) expect(dW[r * C + c]).toBe(init[r * C + c]);
  });
});
