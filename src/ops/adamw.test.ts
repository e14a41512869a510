// AdamW reference vs a hand-computed two-step example and vs the textbook (mhat / (sqrt(vhat) + eps)) formula;
// clip factor below, at and above the max norm.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import type { AdamWParams } from '../tensor/backend';
import { adamwRef, clipScaleRef } from './adamw';

describe('adamwRef', () => {
  it('matches a hand-computed two-step example', () => {
    const param = Float64Array.of(1),
      m = Float64Array.of(0),
      v = Float64Array.of(0);
    const p: AdamWParams = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };
    // Step 1, g = 0.5: param = 0.999; m = 0.05, v = 0.00025; mhat = 0.5, vhat = 0.25;
    // param = 0.999 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.899000002.
    adamwRef(param, Float64Array.of(0.5), m, v, Float64Array.of(1), p);
    expect(m[0]).toBeCloseTo(0.05, 15);
    expect(v[0]).toBeCloseTo(0.00025, 15);
    expect(param[0]).toBeCloseTo(0.899000002, 14);
    // Step 2, g = -1 * 0.5 (grad scale): param = 0.899000002 * 0.999 = 0.898101001998; m = -0.005;
    // v = 0.00049975; mhat = -0.005 / 0.19; vhat = 0.00049975 / 0.001999 = 0.25;
    // param = 0.898101001998 + 0.1 * (0.005 / 0.19) / 0.50000001 = 0.90336415978747...
    adamwRef(param, Float64Array.of(-1), m, v, Float64Array.of(0.5), { ...p, step: 2 });
    expect(m[0]).toBeCloseTo(-0.005, 15);
    expect(v[0]).toBeCloseTo(0.00049975, 15);
    expect(param[0]).toBeCloseTo(0.9033641597874735, 13);
  });

  it('matches the independent textbook formula over several steps', () => {
    const n = 50,
      p: AdamWParams = { lr: 3e-3, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, step: 1 };
    const param = randF64(n, 1),
      m = new Float64Array(n),
      v = new Float64Array(n);
    const ep = Float64Array.from(param),
      em = new Float64Array(n),
      ev = new Float64Array(n);
    for (let t = 1; t <= 5; t++) {
      const grad = randF64(n, 10 + t, -2, 2),
        gs = 0.3 * t;
      adamwRef(param, grad, m, v, Float64Array.of(gs), { ...p, step: t });
      for (let i = 0; i < n; i++) {
        const g = grad[i] * gs;
        ep[i] *= 1 - p.lr * p.weightDecay;
        em[i] = p.beta1 * em[i] + (1 - p.beta1) * g;
        ev[i] = p.beta2 * ev[i] + (1 - p.beta2) * g * g;
        const mhat = em[i] / (1 - p.beta1 ** t),
          vhat = ev[i] / (1 - p.beta2 ** t);
        ep[i] -= (p.lr * mhat) / (Math.sqrt(vhat) + p.eps);
      }
    }
    expectClose(param, ep, 1e-13, 1e-12, 'param');
    expectClose(m, em, 1e-15, 1e-12, 'm');
    expectClose(v, ev, 1e-15, 1e-12, 'v');
  });

  it('rejects a 0-based step', () => {
    const a = new Float64Array(1);
    expect(() =>
      adamwRef(a, a, a, a, Float64Array.of(1), { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0, step: 0 }),
    ).toThrow(RangeError);
  });
});

describe('clipScaleRef', () => {
  const clip = (sumsq: number, maxNorm: number): number => {
    const s = new Float64Array(1);
    clipScaleRef(s, Float64Array.of(sumsq), maxNorm);
    return s[0];
  };
  it('is 1 below the max norm and maxNorm / (norm + 1e-6) above it', () => {
    expect(clip(0.25, 1)).toBe(1); // norm 0.5
    expect(clip(0, 1)).toBe(1);
    expect(clip(16, 1)).toBeCloseTo(1 / (4 + 1e-6), 15); // norm 4
    expect(clip(100, 2.5)).toBeCloseTo(2.5 / (10 + 1e-6), 15);
    // At exactly the max norm torch still scales by 1 / (1 + 1e-6).
    expect(clip(1, 1)).toBeCloseTo(1 / (1 + 1e-6), 15);
    expect(clip(1, 1)).toBeLessThan(1);
  });
});

describe('non-finite gradients', () => {
  it('clipScale marks NaN/Inf with -1 and adamw then leaves params and moments untouched', () => {
    for (const bad of [NaN, Infinity]) {
      const s = new Float64Array(1);
      clipScaleRef(s, new Float64Array([bad]), 1);
      expect(s[0]).toBe(-1);
      const param = new Float64Array([1, 2]),
        m = new Float64Array([0.1, 0.2]),
        v = new Float64Array([0.3, 0.4]);
      adamwRef(param, new Float64Array([NaN, 1]), m, v, s, {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.01,
        step: 3,
      });
      expect(Array.from(param)).toEqual([1, 2]);
      expect(Array.from(m)).toEqual([0.1, 0.2]);
      expect(Array.from(v)).toEqual([0.3, 0.4]);
    }
  });
});
