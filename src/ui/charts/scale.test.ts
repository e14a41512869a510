// Chart axis arithmetic: round ticks, paths, step thinning, lookup by x.

import { describe, expect, it } from 'vitest';
import { decimalsOf, indexAt, linear, niceTicks, pathOf, thinSteps } from './scale';

describe('niceTicks', () => {
  it('widens the data range to whole steps of 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(4.62, 5.38, 4)).toEqual({ lo: 4.6, hi: 5.4, step: 0.2, values: [4.6, 4.8, 5, 5.2, 5.4] });
    expect(niceTicks(0, 0.00084, 4).values).toEqual([0, 0.0002, 0.0004, 0.0006, 0.0008, 0.001]);
    expect(niceTicks(0, 24, 4, { integer: true }).values).toEqual([0, 5, 10, 15, 20, 25]);
  });
  it('keeps a fixed range and puts only the ticks inside it', () => {
    expect(niceTicks(0, 20, 4, { integer: true, fixed: true })).toEqual({ lo: 0, hi: 20, step: 5, values: [0, 5, 10, 15, 20] });
    expect(niceTicks(0, 7, 10, { integer: true, fixed: true }).values).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
  it('gives a usable axis for a single value and for no data', () => {
    const one = niceTicks(3, 3, 4);
    expect(one.lo).toBeLessThan(3);
    expect(one.hi).toBeGreaterThan(3);
    expect(niceTicks(Infinity, -Infinity, 4).values).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(16, 16, 4, { integer: true }).values.every(Number.isInteger)).toBe(true);
  });
  it('prints ticks with the decimals their step needs', () => {
    expect([decimalsOf(0.05), decimalsOf(0.2), decimalsOf(1), decimalsOf(20), decimalsOf(0.001)]).toEqual([2, 1, 0, 0, 3]);
  });
});

describe('paths and lookup', () => {
  const pts = [{ x: 0, y: 1 }, { x: 2, y: 3 }, { x: 4, y: 2 }];
  const id = linear(0, 1, 0, 1);
  it('draws straight and step paths', () => {
    expect(pathOf(pts, id, id)).toBe('M0,1L2,3L4,2');
    expect(pathOf(pts, id, id, true)).toBe('M0,1H2V3H4V2');
    expect(pathOf([], id, id)).toBe('');
    expect(linear(0, 10, 100, 200)(2.5)).toBe(125);
  });
  it('keeps only the changes of a step series, which draws the same path', () => {
    const steps = [1, 1, 1, 2, 2, 3, 3, 3].map((y, x) => ({ x, y }));
    const thinned = thinSteps(steps, 100);
    expect(thinned.map((p) => p.x)).toEqual([0, 3, 5, 7]);
    expect(pathOf(thinned, id, id, true)).toBe('M0,1H3V2H5V3H7V3');
  });
  it('finds the nearest point, or the one at or before x for steps', () => {
    expect(indexAt(pts, 2.9)).toBe(1);
    expect(indexAt(pts, 3.1)).toBe(2);
    expect(indexAt(pts, 3.9, true)).toBe(1);
    expect(indexAt(pts, -1, true)).toBe(-1);
    expect(indexAt(pts, 99)).toBe(2);
    expect(indexAt([], 1)).toBe(-1);
  });
});
