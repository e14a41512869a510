// Attention CPU reference: float64 central differences for dq, dk, dv (causal, key-padded, fused qkv, strided views),
// probability invariants (masked entries exactly 0, rows sum to 1, fully masked rows zero) and hand-computed cases.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import type { AttentionParams } from '../tensor/backend';
import { attentionBackwardRef, attentionRef } from './attention';
import { dropoutRef } from './dropout';

type Layout = 'fused' | { stride: number; offset: number };

interface Case {
  name: string;
  B: number;
  T: number;
  H: number;
  D: number;
  causal: boolean;
  keyMask: number[] | null;
  layout: Layout;
  /** Dropout on the probabilities: its mask is fixed by the seed, so the function stays differentiable. */
  dropout?: { p: number; seed: number };
}

/** Input buffers and params for a case: one qkv buffer passed three times, or three separate (possibly padded) ones. */
function setup(c: Case, seed: number): { p: AttentionParams; bufs: Float64Array[]; views: [number, number, number] } {
  const C = c.H * c.D;
  const base = { B: c.B, T: c.T, H: c.H, D: c.D, causal: c.causal, dropout: c.dropout };
  if (c.layout === 'fused') {
    const qkv = randF64(c.B * c.T * 3 * C, seed);
    return {
      p: { ...base, qStride: 3 * C, qOffset: 0, kStride: 3 * C, kOffset: C, vStride: 3 * C, vOffset: 2 * C },
      bufs: [qkv],
      views: [0, 0, 0],
    };
  }
  const { stride, offset } = c.layout;
  const n = c.B * c.T * stride;
  return {
    p: {
      ...base,
      qStride: stride,
      qOffset: offset,
      kStride: stride,
      kOffset: offset,
      vStride: stride,
      vOffset: offset,
    },
    bufs: [randF64(n, seed), randF64(n, seed + 1), randF64(n, seed + 2)],
    views: [0, 1, 2],
  };
}

/** Whether element e of a (B,T,stride) buffer lies in one of the given channel views. */
function inViews(e: number, stride: number, offsets: number[], C: number): boolean {
  const ch = e % stride;
  return offsets.some((o) => ch >= o && ch < o + C);
}

const SENTINEL = 7;

const cases: Case[] = [
  {
    name: 'causal, separate (B,T,C)',
    B: 2,
    T: 4,
    H: 2,
    D: 3,
    causal: true,
    keyMask: null,
    layout: { stride: 6, offset: 0 },
  },
  {
    name: 'key padding, non-causal, padded stride',
    B: 2,
    T: 4,
    H: 2,
    D: 3,
    causal: false,
    keyMask: [1, 1, 1, 0, 1, 0, 1, 0],
    layout: { stride: 9, offset: 2 },
  },
  { name: 'causal, fused qkv (stride 3C)', B: 2, T: 4, H: 2, D: 3, causal: true, keyMask: null, layout: 'fused' },
  {
    name: 'causal + left padding (fully masked row), fused',
    B: 2,
    T: 4,
    H: 2,
    D: 3,
    causal: true,
    keyMask: [0, 1, 1, 1, 0, 0, 1, 1],
    layout: 'fused',
  },
  {
    name: 'probability dropout 0.3, causal, fused qkv',
    B: 2,
    T: 4,
    H: 2,
    D: 3,
    causal: true,
    keyMask: null,
    layout: 'fused',
    dropout: { p: 0.3, seed: 17 },
  },
  {
    name: 'probability dropout 0.5, key padding, padded stride',
    B: 2,
    T: 4,
    H: 2,
    D: 3,
    causal: false,
    keyMask: [1, 1, 1, 0, 1, 0, 1, 0],
    layout: { stride: 9, offset: 2 },
    dropout: { p: 0.5, seed: 3 },
  },
];

describe.each(cases)('attention gradients: $name', (c) => {
  it('dq, dk, dv match central differences and only the views are written', () => {
    const { B, T, H, D } = c;
    const C = H * D;
    const { p, bufs, views } = setup(c, 11);
    const mask = c.keyMask ? Int32Array.from(c.keyMask) : null;
    const w = randF64(B * T * C, 99);
    const out = new Float64Array(B * T * C),
      att = new Float64Array(B * H * T * T);
    const [q, k, v] = views.map((i) => bufs[i]);
    const loss = (): number => {
      attentionRef(out, att, q, k, v, mask, p);
      return dot(out, w);
    };
    loss();
    const grads = bufs.map((x) => new Float64Array(x.length).fill(SENTINEL));
    const [dq, dk, dv] = views.map((i) => grads[i]);
    attentionBackwardRef(dq, dk, dv, w, att, q, k, v, p);

    const stride = p.qStride;
    const offsetsOf = (bi: number): number[] =>
      c.layout === 'fused' ? [p.qOffset, p.kOffset, p.vOffset] : [[p.qOffset, p.kOffset, p.vOffset][bi]];
    bufs.forEach((x, bi) => {
      const num = numericGrad(loss, x);
      const expected = num.map((g, e) => (inViews(e, stride, offsetsOf(bi), C) ? g : SENTINEL));
      expectGradClose(grads[bi], expected, `${c.name} buffer ${bi}`);
    });
    for (const g of grads) expect(g.every(Number.isFinite)).toBe(true);
    // The check can fail: a nonzero gradient exists in every view.
    for (const g of grads) expect(g.some((x) => x !== 0 && x !== SENTINEL)).toBe(true);
  });
});

describe('attention probability dropout', () => {
  it('att keeps the probabilities; out mixes v with the probabilities dropped as dropout.ts drops element e', () => {
    const c = cases[4],
      { p, bufs, views } = setup(c, 5),
      [q, k, v] = views.map((i) => bufs[i]);
    const { B, T, H, D } = c,
      C = H * D;
    const out = new Float64Array(B * T * C),
      att = new Float64Array(B * H * T * T);
    const out0 = new Float64Array(B * T * C),
      att0 = new Float64Array(B * H * T * T);
    attentionRef(out, att, q, k, v, null, p);
    attentionRef(out0, att0, q, k, v, null, { ...p, dropout: undefined });
    expect(Array.from(att)).toEqual(Array.from(att0));
    const drop = new Float64Array(att0.length);
    dropoutRef(drop, att0, c.dropout!.p, c.dropout!.seed);
    const want = new Float64Array(B * T * C);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++)
          for (let d = 0; d < D; d++) {
            let acc = 0;
            for (let j = 0; j < T; j++) {
              acc += drop[((b * H + h) * T + i) * T + j] * v[(b * T + j) * p.vStride + p.vOffset + h * D + d];
            }
            want[(b * T + i) * C + h * D + d] = acc;
          }
    expectClose(out, want, 1e-12, 1e-7, 'out with dropped probabilities');
    expect(Math.max(...out.map((x, i) => Math.abs(x - out0[i])))).toBeGreaterThan(1e-3);
  });
});

describe('attention probabilities', () => {
  it('masked entries are exactly 0, rows sum to 1, fully masked rows (and their outputs and gradients) are 0', () => {
    const c = cases[3];
    const { B, T, H, D } = c;
    const C = H * D;
    const { p, bufs } = setup(c, 5);
    const [qkv] = bufs;
    const mask = Int32Array.from(c.keyMask!);
    const out = new Float64Array(B * T * C).fill(NaN),
      att = new Float64Array(B * H * T * T).fill(NaN);
    attentionRef(out, att, qkv, qkv, qkv, mask, p);
    let fullyMasked = 0;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          const row = Array.from(att.subarray(((b * H + h) * T + i) * T, ((b * H + h) * T + i + 1) * T));
          const allowed = row.map((_, j) => j <= i && mask[b * T + j] !== 0);
          row.forEach((a, j) => {
            if (!allowed[j]) expect(a, `att[${b},${h},${i},${j}]`).toBe(0);
            else expect(a).toBeGreaterThan(0);
          });
          if (allowed.some(Boolean)) {
            expect(Math.abs(row.reduce((s, a) => s + a, 0) - 1)).toBeLessThan(1e-12);
          } else {
            fullyMasked++;
            expect(row).toEqual(new Array(T).fill(0));
            expect(Array.from(out.subarray((b * T + i) * C + h * D, (b * T + i) * C + (h + 1) * D))).toEqual(
              new Array(D).fill(0),
            );
          }
        }
      }
    }
    // b=0: query 0 sees only the padded key 0; b=1: queries 0 and 1 see only padded keys 0..1.
    expect(fullyMasked).toBe(3 * H);
    const dqkv = new Float64Array(qkv.length).fill(NaN);
    attentionBackwardRef(dqkv, dqkv, dqkv, randF64(B * T * C, 3), att, qkv, qkv, qkv, p);
    expect(dqkv.every(Number.isFinite)).toBe(true);
    // dq of a fully masked query row is 0 (b=1, i=0, every head).
    expect(Array.from(dqkv.subarray((1 * T + 0) * 3 * C, (1 * T + 0) * 3 * C + C))).toEqual(new Array(C).fill(0));
  });

  it('a batch whose keys are all padding yields zeros, not NaN', () => {
    const B = 2,
      T = 3,
      H = 1,
      D = 2,
      C = 2;
    const p: AttentionParams = {
      B,
      T,
      H,
      D,
      qStride: C,
      qOffset: 0,
      kStride: C,
      kOffset: 0,
      vStride: C,
      vOffset: 0,
      causal: false,
    };
    const q = randF64(B * T * C, 1),
      k = randF64(B * T * C, 2),
      v = randF64(B * T * C, 3);
    const out = new Float64Array(B * T * C),
      att = new Float64Array(B * H * T * T);
    attentionRef(out, att, q, k, v, Int32Array.from([1, 1, 0, 0, 0, 0]), p);
    expect(Array.from(out.subarray(T * C))).toEqual(new Array(T * C).fill(0));
    expect(Array.from(att.subarray(T * T))).toEqual(new Array(T * T).fill(0));
    expect(out.subarray(0, T * C).some((x) => x !== 0)).toBe(true);
  });
});

describe('attention hand-computed cases', () => {
  it('scores [0, ln 3] give probabilities [1/4, 3/4]', () => {
    // T=2, D=1, scale 1: q = 1, k = [0, ln 3], v = [4, 8] -> out = 4/4 + 8*3/4 = 7 for both queries.
    const p: AttentionParams = {
      B: 1,
      T: 2,
      H: 1,
      D: 1,
      qStride: 1,
      qOffset: 0,
      kStride: 1,
      kOffset: 0,
      vStride: 1,
      vOffset: 0,
      causal: false,
      scale: 1,
    };
    const out = new Float64Array(2),
      att = new Float64Array(4);
    attentionRef(
      out,
      att,
      Float64Array.from([1, 1]),
      Float64Array.from([0, Math.log(3)]),
      Float64Array.from([4, 8]),
      null,
      p,
    );
    expectClose(att, [0.25, 0.75, 0.25, 0.75], 1e-15, 0, 'att');
    expectClose(out, [7, 7], 1e-14, 0, 'out');
    // Causal: query 0 sees only key 0.
    attentionRef(
      out,
      att,
      Float64Array.from([1, 1]),
      Float64Array.from([0, Math.log(3)]),
      Float64Array.from([4, 8]),
      null,
      { ...p, causal: true },
    );
    expectClose(att, [1, 0, 0.25, 0.75], 1e-15, 0, 'causal att');
    expectClose(out, [4, 7], 1e-14, 0, 'causal out');
  });

  it('scale 0 gives uniform attention over the visible keys: out_i = mean of v_0..v_i', () => {
    const B = 1,
      T = 5,
      H = 2,
      D = 3,
      C = 6;
    const p: AttentionParams = {
      B,
      T,
      H,
      D,
      qStride: C,
      qOffset: 0,
      kStride: C,
      kOffset: 0,
      vStride: C,
      vOffset: 0,
      causal: true,
      scale: 0,
    };
    const q = randF64(T * C, 1),
      k = randF64(T * C, 2),
      v = randF64(T * C, 3);
    const out = new Float64Array(T * C),
      att = new Float64Array(H * T * T);
    attentionRef(out, att, q, k, v, null, p);
    const expected = new Float64Array(T * C);
    for (let i = 0; i < T; i++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let j = 0; j <= i; j++) s += v[j * C + c];
        expected[i * C + c] = s / (i + 1);
      }
    }
    expectClose(out, expected, 1e-14, 0, 'uniform out');
  });
});

describe('grouped-query attention (KVH < H)', () => {
  // Fused qkv rows as Llama/Qwen would pack them: q (H*D), k (KVH*D), v (KVH*D), plus padding channels.
  const gqa = (H: number, KVH: number, D: number, pad: number, causal: boolean): AttentionParams => {
    const stride = (H + 2 * KVH) * D + pad;
    return {
      B: 2,
      T: 4,
      H,
      D,
      KVH,
      causal,
      qStride: stride,
      qOffset: 0,
      kStride: stride,
      kOffset: H * D,
      vStride: stride,
      vOffset: (H + KVH) * D,
    };
  };

  it.each([
    [4, 2, 3, 0, true],
    [4, 1, 2, 3, false],
    [6, 3, 2, 1, true],
  ])(
    'H=%i KVH=%i D=%i (pad %i, causal %s): dq, dk, dv of one fused buffer match central differences',
    (H, KVH, D, pad, causal) => {
      const p = gqa(H, KVH, D, pad, causal);
      const { B, T } = p;
      const qkv = randF64(B * T * p.qStride, 41);
      const mask = Int32Array.from([1, 1, 1, 1, 0, 1, 1, 0]);
      const w = randF64(B * T * H * D, 42);
      const out = new Float64Array(B * T * H * D),
        att = new Float64Array(B * H * T * T);
      const loss = (): number => {
        attentionRef(out, att, qkv, qkv, qkv, mask, p);
        return dot(out, w);
      };
      const num = numericGrad(loss, qkv);
      loss();
      const g = new Float64Array(qkv.length).fill(SENTINEL);
      attentionBackwardRef(g, g, g, w, att, qkv, qkv, qkv, p);
      const width = (H + 2 * KVH) * D;
      expectGradClose(
        g,
        num.map((x, e) => (e % p.qStride < width ? x : SENTINEL)),
        `gqa H=${H} KVH=${KVH}`,
      );
      expect(g.some((x, e) => e % p.qStride >= H * D && e % p.qStride < width && x !== 0)).toBe(true);
    },
  );

  it('equals multi-head attention on k and v repeated per query head (transformers repeat_kv), dk/dv summed', () => {
    const B = 2,
      T = 5,
      H = 4,
      KVH = 2,
      D = 3,
      group = H / KVH;
    const q = randF64(B * T * H * D, 51),
      k = randF64(B * T * KVH * D, 52),
      v = randF64(B * T * KVH * D, 53);
    const dout = randF64(B * T * H * D, 54);
    // repeat_kv: head h of the repeated tensors is kv head floor(h / group).
    const rep = (x: Float64Array): Float64Array => {
      const r = new Float64Array(B * T * H * D);
      for (let bt = 0; bt < B * T; bt++) {
        for (let h = 0; h < H; h++) {
          for (let d = 0; d < D; d++) r[(bt * H + h) * D + d] = x[(bt * KVH + Math.floor(h / group)) * D + d];
        }
      }
      return r;
    };
    const base = { B, T, H, D, causal: true, qStride: H * D, qOffset: 0, kOffset: 0, vOffset: 0 };
    const pG: AttentionParams = { ...base, KVH, kStride: KVH * D, vStride: KVH * D };
    const pM: AttentionParams = { ...base, kStride: H * D, vStride: H * D };
    const outG = new Float64Array(B * T * H * D),
      attG = new Float64Array(B * H * T * T);
    const outM = new Float64Array(B * T * H * D),
      attM = new Float64Array(B * H * T * T);
    attentionRef(outG, attG, q, k, v, null, pG);
    attentionRef(outM, attM, q, rep(k), rep(v), null, pM);
    expectClose(outG, outM, 1e-15, 0, 'out');
    expectClose(attG, attM, 1e-15, 0, 'att');
    const dqG = new Float64Array(q.length),
      dkG = new Float64Array(k.length),
      dvG = new Float64Array(v.length);
    const dqM = new Float64Array(q.length),
      dkM = new Float64Array(q.length),
      dvM = new Float64Array(q.length);
    attentionBackwardRef(dqG, dkG, dvG, dout, attG, q, k, v, pG);
    attentionBackwardRef(dqM, dkM, dvM, dout, attM, q, rep(k), rep(v), pM);
    expectClose(dqG, dqM, 1e-14, 0, 'dq');
    // The gradient of repeat_kv sums the repeated heads' gradients back into their kv head.
    const unrep = (g: Float64Array): Float64Array => {
      const r = new Float64Array(B * T * KVH * D);
      for (let bt = 0; bt < B * T; bt++) {
        for (let h = 0; h < H; h++) {
          for (let d = 0; d < D; d++) r[(bt * KVH + Math.floor(h / group)) * D + d] += g[(bt * H + h) * D + d];
        }
      }
      return r;
    };
    expectClose(dkG, unrep(dkM), 1e-14, 0, 'dk');
    expectClose(dvG, unrep(dvM), 1e-14, 0, 'dv');
  });

  it('refuses a KVH that does not divide H', () => {
    const p = gqa(4, 3, 2, 0, true);
    const qkv = new Float64Array(p.B * p.T * p.qStride);
    expect(() => attentionRef(new Float64Array(64), new Float64Array(128), qkv, qkv, qkv, null, p)).toThrow(
      /KVH \(key\/value heads\) 3 must be a positive divisor of H 4/,
    );
  });
});
