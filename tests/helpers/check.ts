// Shared test helpers: seeded random arrays and closeness checks that report where and by how much they fail.

import { expect } from 'vitest';
import { Rng } from '../../src/tensor/rng';

export function randArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(n), lo, hi) as Float32Array;
}

export function randF64(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  return new Rng(seed).fillUniform(new Float64Array(n), lo, hi) as Float64Array;
}

export function randInts(n: number, seed: number, hi: number): Int32Array {
  const r = new Rng(seed);
  return Int32Array.from({ length: n }, () => r.int(hi));
}

/** Largest |a-b| / (atol + rtol*|b|) over the arrays; <= 1 means close. */
function closeness(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  atol: number,
  rtol: number,
): { worst: number; at: number; maxAbs: number } {
  let worst = 0,
    at = -1,
    maxAbs = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    const r = Number.isNaN(d) ? Infinity : d / (atol + rtol * Math.abs(b[i]));
    if (r > worst) {
      worst = r;
      at = i;
    }
  }
  return { worst, at, maxAbs };
}

export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
  what = 'values',
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const c = closeness(actual, expected, atol, rtol);
  const detail = c.at >= 0 ? `at [${c.at}] got ${actual[c.at]} expected ${expected[c.at]}` : '';
  expect(
    c.worst,
    `${what}: max abs err ${c.maxAbs.toExponential(2)} (atol ${atol}, rtol ${rtol}) ${detail}`,
  ).toBeLessThanOrEqual(1);
}
