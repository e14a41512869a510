// Dropout reference: the hash against values computed independently (Python u32 arithmetic), the keep fraction and
// mask independence statistically, the forward values, and the backward by central differences and accumulation.

import { describe, expect, it } from 'vitest';
import { expectClose, randArray, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { dropoutBackwardRef, dropoutHash, dropoutKeep, dropoutRef, dropoutThreshold, pcgHash } from './dropout';

/** Fraction of kept elements among the first n under (seed, p). */
function keepFraction(seed: number, p: number, n: number): number {
  const t = dropoutThreshold(p);
  let kept = 0;
  for (let i = 0; i < n; i++) if (dropoutKeep(seed, i, t)) kept++;
  return kept / n;
}

describe('dropout hash', () => {
  it('matches the PCG hash computed independently', () => {
    expect([0, 1, 12345, 0xffffffff].map(pcgHash)).toEqual([129708002, 2831084092, 4099845390, 3861530882]);
    expect([0, 1, 2, 1000].map((i) => dropoutHash(7, i))).toEqual([3339678244, 4082895, 1711797774, 1546491718]);
  });

  it('keeps a fraction 1 - p within 5 standard deviations, for several seeds', () => {
    const n = 200_000;
    for (const p of [0.1, 0.5, 0.9]) {
      for (const seed of [0, 1, 0xdeadbeef]) {
        const sd = Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(keepFraction(seed, p, n) - (1 - p)), `p=${p} seed=${seed}`).toBeLessThan(5 * sd);
      }
    }
    expect(keepFraction(3, 0, 10_000)).toBe(1);
  });

  it('masks of different seeds and of neighbouring elements are independent', () => {
    const n = 200_000,
      p = 0.5,
      t = dropoutThreshold(p);
    let both = 0,
      neighbours = 0;
    for (let i = 0; i < n; i++) {
      const a = dropoutKeep(1, i, t);
      if (a && dropoutKeep(2, i, t)) both++;
      if (a && dropoutKeep(1, i + 1, t)) neighbours++;
    }
    // Independent keeps coincide with probability 1/4; sd = sqrt(3/16 / n) ~ 1e-3.
    expect(Math.abs(both / n - 0.25)).toBeLessThan(5e-3);
    expect(Math.abs(neighbours / n - 0.25)).toBeLessThan(5e-3);
  });

  it('rejects p outside [0, 1)', () => {
    expect(() => dropoutThreshold(1)).toThrow();
    expect(() => dropoutThreshold(-0.1)).toThrow();
    expect(() => dropoutThreshold(NaN)).toThrow();
  });
});

describe('dropout reference', () => {
  it('scales kept elements by 1/(1-p), zeroes the rest; p = 0 copies', () => {
    const n = 1000,
      p = 0.3,
      seed = 42;
    const x = randArray(n, 1, 0.5, 1.5),
      out = new Float32Array(n);
    dropoutRef(out, x, p, seed);
    const t = dropoutThreshold(p);
    for (let i = 0; i < n; i++) {
      expect(out[i]).toBe(dropoutKeep(seed, i, t) ? Math.fround(x[i] * Math.fround(1 / 0.7)) : 0);
    }
    dropoutRef(out, x, 0, seed);
    expect(Array.from(out)).toEqual(Array.from(x));
  });

  it('backward matches central differences and accumulates into dx', () => {
    const n = 64,
      p = 0.25,
      seed = 9;
    const x = randF64(n, 2),
      w = randF64(n, 3),
      out = new Float64Array(n);
    const num = numericGrad(() => {
      dropoutRef(out, x, p, seed);
      return dot(out, w);
    }, x);
    const dx = new Float64Array(n);
    dropoutBackwardRef(dx, w, p, seed);
    expectGradClose(dx, num, 'dropout x');
    const prev = randF64(n, 4),
      acc = prev.slice();
    dropoutBackwardRef(acc, w, p, seed);
    expectClose(
      acc,
      prev.map((v, i) => v + dx[i]),
      1e-15,
      1e-15,
      'accumulated',
    );
  });
});
