// The page's number and time formatting against the Intl formatters it replaces.

import { describe, expect, it } from 'vitest';
import { clock, compact, int } from './format';

describe('format', () => {
  it('groups thousands as Intl en-US does, rounding to an integer', () => {
    const intl = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
    for (const n of [
      0, 7, 12, 999, 1000, 1234, 99_999, 100_000, 1_234_567, 12_345_678_901, -1, -999, -1000, -1_234_567, 2.5, 1234.4,
      1234.6,
    ]) {
      expect(int(n), String(n)).toBe(intl.format(Math.round(n)));
    }
    expect(int(-0.4)).toBe('0'); // Intl writes "-0" here
    expect(int(Number.NaN)).toBe('NaN');
    expect(int(Infinity)).toBe('Infinity');
  });

  it('compacts large counts', () => {
    expect(compact(1234)).toBe('1,234');
    expect(compact(12_345)).toBe('12.3k');
    expect(compact(1_234_567)).toBe('1.23M');
  });

  it('writes a time of day as en-GB does', () => {
    for (const t of [0, Date.UTC(2026, 10, 28, 9, 5, 7), Date.UTC(2026, 10, 28, 23, 59, 59)]) {
      expect(clock(t)).toBe(new Date(t).toLocaleTimeString('en-GB'));
    }
  });
});
