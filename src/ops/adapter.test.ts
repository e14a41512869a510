// Adapter reference: a dynamic-rank slot (with c, live list [2,0], c of a live component 0) and LoRA slots (offC = -1)
// packed in one theta at non-zero offsets. Forward against the dense update W = s sum_live c_i b_i a_i^T; backward
// (dA, dB, dc, dx) against float64 central differences over every theta entry and x, so non-live components must get
// exactly zero; with input dropout (the mask fixed by its seed) too; accumulation into grad and dx; importance against
// explicitly built dW_i and Frobenius norms.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import type { AdapterCall, AdapterSlot } from '../tensor/backend';
import { adapterBackwardRef, adapterForwardRef, adapterImportanceRef } from './adapter';
import { dropoutRef } from './dropout';

// theta: [pad 3][A_dyn 3x4][B_dyn 3x3][c_dyn 3][pad 2][A_lora 2x3][B_lora 5x2][pad 1]
const DYN: AdapterSlot = { inF: 4, outF: 3, R0: 3, offA: 3, offB: 15, offC: 24 };
const LORA: AdapterSlot = { inF: 3, outF: 5, R0: 2, offA: 29, offB: 35, offC: -1 };
const SIZE = 46;
const LIVE = Int32Array.from([1, 2, 0, 1, 0]);

function theta(seed: number): Float64Array {
  const t = randF64(SIZE, seed);
  t[DYN.offC] = 0; // a live component with c = 0 still gets a gradient for c
  return t;
}

const cases: [string, AdapterCall][] = [
  ['dynamic, live [2,0]', { ...DYN, N: 3, scale: 0.7, liveOffset: 1, liveCount: 2 }],
  ['LoRA, live [1,0]', { ...LORA, N: 2, scale: 1.5, liveOffset: 3, liveCount: 2 }],
  ['LoRA, live [1]', { ...LORA, N: 2, scale: 1.5, liveOffset: 3, liveCount: 1 }],
  [
    'dynamic, live [2,0], input dropout 0.5',
    { ...DYN, N: 3, scale: 0.7, liveOffset: 1, liveCount: 2, dropout: { p: 0.5, seed: 5, offset: 4 } },
  ],
];

/** The input the adapter multiplies: x dropped by the call's dropout (both kept and dropped elements occur), or x. */
function dropped(x: Float64Array, a: AdapterCall): Float64Array {
  if (!a.dropout) return x;
  const xd = new Float64Array(x.length);
  dropoutRef(xd, x, a.dropout.p, a.dropout.seed, a.dropout.offset);
  const kept = xd.filter((v) => v !== 0).length;
  expect(kept > 0 && kept < x.length, 'the mask keeps some elements and drops others').toBe(true);
  return xd;
}

function ownedBy(a: AdapterCall, idx: number): boolean {
  const live = Array.from(LIVE.subarray(a.liveOffset, a.liveOffset + a.liveCount));
  for (const i of live) {
    if (idx >= a.offA + i * a.inF && idx < a.offA + (i + 1) * a.inF) return true;
    for (let o = 0; o < a.outF; o++) if (idx === a.offB + o * a.R0 + i) return true;
    if (a.offC >= 0 && idx === a.offC + i) return true;
  }
  return false;
}

describe.each(cases)('adapter reference: %s', (_, a) => {
  const { N, inF, outF, R0 } = a;

  it('forward adds xd W^T with W the dense update of the live components; h columns past liveCount untouched', () => {
    const th = theta(1),
      x = randF64(N * inF, 2),
      xd = dropped(x, a),
      y0 = randF64(N * outF, 3);
    const y = y0.slice(),
      h = new Float64Array(N * R0).fill(99);
    adapterForwardRef(y, h, x, th, LIVE, a);
    const W = new Float64Array(outF * inF);
    for (const i of LIVE.subarray(a.liveOffset, a.liveOffset + a.liveCount)) {
      const c = a.offC < 0 ? 1 : th[a.offC + i];
      for (let o = 0; o < outF; o++) {
        for (let k = 0; k < inF; k++)
          W[o * inF + k] += a.scale * c * th[a.offB + o * R0 + i] * th[a.offA + i * inF + k];
      }
    }
    const expected = y0.map((v, idx) => {
      const n = Math.floor(idx / outF),
        o = idx % outF;
      let s = v;
      for (let k = 0; k < inF; k++) s += xd[n * inF + k] * W[o * inF + k];
      return s;
    });
    expectClose(y, expected, 1e-13, 1e-13, 'y');
    for (let n = 0; n < N; n++) for (let j = a.liveCount; j < R0; j++) expect(h[n * R0 + j]).toBe(99);
  });

  it('dA, dB, dc and dx match central differences; non-live parameters get exactly zero', () => {
    const th = theta(4),
      xd = randF64(N * inF, 5),
      y0 = randF64(N * outF, 6),
      g = randF64(N * outF, 7);
    const y = new Float64Array(N * outF),
      h = new Float64Array(N * R0);
    const loss = () => {
      y.set(y0);
      adapterForwardRef(y, h, xd, th, LIVE, a);
      return dot(y, g);
    };
    const numTheta = numericGrad(loss, th),
      numX = numericGrad(loss, xd);
    loss();
    const grad = new Float64Array(SIZE),
      dx = new Float64Array(N * inF).fill(5),
      dh = new Float64Array(N * R0);
    adapterBackwardRef(dx, dh, grad, g, h, xd, th, LIVE, a);
    expectGradClose(grad, numTheta, 'theta');
    // dx accumulates onto its 5s.
    expectGradClose(
      dx.map((v) => v - 5),
      numX,
      'x',
    );
    for (let idx = 0; idx < SIZE; idx++) if (!ownedBy(a, idx)) expect(grad[idx], `grad[${idx}]`).toBe(0);
    if (a.offC >= 0) expect(Math.abs(grad[a.offC])).toBeGreaterThan(1e-3); // c_0 = 0 but live: dc_0 != 0
  });

  it('grad accumulates; entries outside the live components keep their values bitwise', () => {
    const th = theta(8),
      xd = randF64(N * inF, 9),
      g = randF64(N * outF, 10);
    const y = new Float64Array(N * outF),
      h = new Float64Array(N * R0);
    adapterForwardRef(y, h, xd, th, LIVE, a);
    const g0 = new Float64Array(SIZE),
      dxd = new Float64Array(N * inF),
      dh = new Float64Array(N * R0);
    adapterBackwardRef(dxd, dh, g0, g, h, xd, th, LIVE, a);
    const prev = randF64(SIZE, 11),
      acc = prev.slice();
    adapterBackwardRef(dxd, dh, acc, g, h, xd, th, LIVE, a);
    expectClose(
      acc,
      prev.map((v, i) => v + g0[i]),
      1e-14,
      1e-14,
      'accumulated grad',
    );
    for (let idx = 0; idx < SIZE; idx++) if (!ownedBy(a, idx)) expect(acc[idx]).toBe(prev[idx]);
  });
});

describe('adapter reference: validation', () => {
  it('rejects live indices outside [0, R0) and sizes that do not fit', () => {
    const a: AdapterCall = { ...DYN, N: 2, scale: 1, liveOffset: 0, liveCount: 2 };
    const y = new Float64Array(6),
      h = new Float64Array(6),
      xd = new Float64Array(8);
    expect(() => adapterForwardRef(y, h, xd, theta(1), Int32Array.from([0, 3]), a)).toThrow();
    expect(() => adapterForwardRef(y, h, xd, new Float64Array(20), LIVE, a)).toThrow();
    expect(() => adapterForwardRef(y, h.subarray(0, 5), xd, theta(1), LIVE, a)).toThrow();
  });
});

/** Brute force: dW_i = c_i b_i a_i^T built explicitly, score_i = ||dW_i||_F / (||sum_i dW_i||_F + 1e-8). */
function bruteScores(th: Float64Array, s: AdapterSlot): number[] {
  const { R0, inF, outF } = s;
  const total = new Float64Array(outF * inF),
    norms: number[] = [];
  for (let i = 0; i < R0; i++) {
    const c = s.offC < 0 ? 1 : th[s.offC + i];
    let n2 = 0;
    for (let o = 0; o < outF; o++) {
      for (let k = 0; k < inF; k++) {
        const w = c * th[s.offB + o * R0 + i] * th[s.offA + i * inF + k];
        total[o * inF + k] += w;
        n2 += w * w;
      }
    }
    norms.push(Math.sqrt(n2));
  }
  const fro = Math.sqrt(total.reduce((acc, w) => acc + w * w, 0));
  return norms.map((v) => v / (fro + 1e-8));
}

describe('adapter importance reference', () => {
  it('matches explicitly built dW_i for a dynamic slot (with c = 0 and negative c) and a LoRA slot', () => {
    const th = theta(12);
    const scores = new Float64Array(2 + DYN.R0 + LORA.R0).fill(-1);
    adapterImportanceRef(scores, th, DYN, 2);
    adapterImportanceRef(scores, th, LORA, 2 + DYN.R0);
    expect(scores[0]).toBe(-1);
    expect(scores[2]).toBe(0); // c_0 = 0
    expectClose(scores.subarray(2, 5), bruteScores(th, DYN), 1e-12, 1e-12, 'dynamic scores');
    expectClose(scores.subarray(5), bruteScores(th, LORA), 1e-12, 1e-12, 'LoRA scores');
  });

  it('a larger slot: 12 components, 37 -> 29', () => {
    const s: AdapterSlot = { inF: 37, outF: 29, R0: 12, offA: 5, offB: 5 + 12 * 37, offC: 5 + 12 * 37 + 29 * 12 };
    const th = randF64(s.offC + 12, 13),
      scores = new Float64Array(12);
    adapterImportanceRef(scores, th, s, 0);
    expectClose(scores, bruteScores(th, s), 1e-12, 1e-12, 'scores');
    // Triangle inequality: sum_i ||dW_i|| >= ||dW||, so a module's scores sum to at least 1 (METHOD.md §2).
    expect(scores.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1 - 1e-12);
  });

  it('all c = 0 gives zero scores, not NaN', () => {
    const th = theta(14);
    th.fill(0, DYN.offC, DYN.offC + DYN.R0);
    const scores = new Float64Array(3);
    adapterImportanceRef(scores, th, DYN, 0);
    expect(Array.from(scores)).toEqual([0, 0, 0]);
  });
});
