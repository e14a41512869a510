// WebGPU attention (forward and the three-dispatch backward) vs the float64 CPU reference: odd and realistic shapes,
// causal and key-padded, fused qkv (q=k=v and dq=dk=dv one buffer) and separate/padded layouts, with and without
// grouped-query attention (KVH < H). Every case runs three times: the row kernels barrierFree (one invocation per
// row, attention.wgsl) and not (one workgroup per row, attention_wg.wgsl), and the matmul path (strided batched
// matmuls around attention_rows.wgsl) with barrierFree false.

import { describe, expect, it } from 'vitest';
import type { GpuTensor } from '../../src/gpu/context';
import { diffCounters } from '../../src/gpu/counters';
import {
  type AttentionPath,
  attention,
  attentionBackward,
  attentionPathFor,
  setAttentionPath,
  WG_MAX_T,
  workgroupAttentionFits,
} from '../../src/gpu/kernels/attention';
import { attentionBackwardRef, attentionRef } from '../../src/ops/attention';
import type { AttentionParams } from '../../src/tensor/backend';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

interface Case {
  B: number;
  T: number;
  H: number;
  D: number;
  causal: boolean;
  /** Number of padded keys per batch entry: [start, end] of the row (left or right padding). */
  pad: [number, number][] | null;
  /** fused: one (B,T,(H+2KVH)*D) qkv buffer; tight: three buffers of exactly H*D, KVH*D, KVH*D channels (separate
   * q_proj/k_proj/v_proj outputs); else three buffers with the given stride and offset. */
  layout: 'fused' | 'tight' | { stride: number; offset: number };
  /** Key/value heads; H unless given. */
  KVH?: number;
  /** Dropout on the probabilities (p, seed). */
  dropout?: { p: number; seed: number; offset?: number };
}

const SENTINEL = 7;
// f32 on the GPU vs f64 on the CPU: absolute 1e-5 plus 1e-4 relative (sums of up to T*D products of values in [-1, 1]).
const ATOL = 1e-5,
  RTOL = 1e-4;

const cases: [string, Case][] = [
  ['odd 2x7x3x5, causal, fused qkv', { B: 2, T: 7, H: 3, D: 5, causal: true, pad: null, layout: 'fused' }],
  [
    'odd 2x7x3x5, right padding, separate padded stride',
    {
      B: 2,
      T: 7,
      H: 3,
      D: 5,
      causal: false,
      pad: [
        [0, 2],
        [0, 6],
      ],
      layout: { stride: 19, offset: 3 },
    },
  ],
  [
    'odd 2x7x3x5, causal + left padding (fully masked rows), fused',
    {
      B: 2,
      T: 7,
      H: 3,
      D: 5,
      causal: true,
      pad: [
        [1, 0],
        [3, 0],
      ],
      layout: 'fused',
    },
  ],
  ['GPT-2 tiny 2x64x2x32, causal, fused qkv', { B: 2, T: 64, H: 2, D: 32, causal: true, pad: null, layout: 'fused' }],
  [
    'BERT-like 2x64x2x32, right padding, separate (B,T,C)',
    {
      B: 2,
      T: 64,
      H: 2,
      D: 32,
      causal: false,
      pad: [
        [0, 0],
        [0, 23],
      ],
      layout: { stride: 64, offset: 0 },
    },
  ],
  // Rows longer than a workgroup (70 > 64 keys: two strides, a partial one), with causal and both paddings.
  [
    'T > 64: 2x70x2x9, causal + left/right padding, fused',
    {
      B: 2,
      T: 70,
      H: 2,
      D: 9,
      causal: true,
      pad: [
        [5, 0],
        [2, 11],
      ],
      layout: 'fused',
    },
  ],
  [
    'T > 64: 1x70x3x8, no mask, separate padded stride',
    { B: 1, T: 70, H: 3, D: 8, causal: false, pad: null, layout: { stride: 29, offset: 4 } },
  ],
  // A head dim past one stride of 64 invocations, not a multiple of it.
  [
    'D > 64: 2x13x2x67, right padding, separate padded stride',
    {
      B: 2,
      T: 13,
      H: 2,
      D: 67,
      causal: false,
      pad: [
        [0, 4],
        [0, 0],
      ],
      layout: { stride: 140, offset: 5 },
    },
  ],
  ['D > 64: 1x13x1x67, causal, fused qkv', { B: 1, T: 13, H: 1, D: 67, causal: true, pad: null, layout: 'fused' }],
  // Grouped-query attention: odd shapes, T and D past a workgroup, and realistic Llama-family ones.
  [
    'GQA odd 2x7, H 6 / KVH 2, D 5, causal + left padding, fused',
    {
      B: 2,
      T: 7,
      H: 6,
      KVH: 2,
      D: 5,
      causal: true,
      pad: [
        [1, 0],
        [3, 0],
      ],
      layout: 'fused',
    },
  ],
  [
    'GQA odd 2x7, H 4 / KVH 1, D 3, right padding, separate padded stride',
    {
      B: 2,
      T: 7,
      H: 4,
      KVH: 1,
      D: 3,
      causal: false,
      pad: [
        [0, 2],
        [0, 6],
      ],
      layout: { stride: 19, offset: 3 },
    },
  ],
  [
    'GQA T > 64: 1x70, H 4 / KVH 2, D 9, causal, fused',
    { B: 1, T: 70, H: 4, KVH: 2, D: 9, causal: true, pad: [[2, 0]], layout: 'fused' },
  ],
  [
    'GQA D > 64: 1x13, H 2 / KVH 1, D 67, causal, tight',
    { B: 1, T: 13, H: 2, KVH: 1, D: 67, causal: true, pad: null, layout: 'tight' },
  ],
  [
    'SmolLM2-135M 2x64, H 9 / KVH 3, D 64, causal, fused',
    { B: 2, T: 64, H: 9, KVH: 3, D: 64, causal: true, pad: null, layout: 'fused' },
  ],
  // Qwen3-0.6B: 16 heads of 128 (q is 2048 wide, hidden 1024), 8 kv heads; separate projections.
  [
    'Qwen3-0.6B 1x48, H 16 / KVH 8, D 128, causal + right padding, tight',
    { B: 1, T: 48, H: 16, KVH: 8, D: 128, causal: true, pad: [[0, 5]], layout: 'tight' },
  ],
  [
    'GQA + dropout 0.2: 2x9, H 4 / KVH 2, D 5, causal + left padding, fused',
    {
      B: 2,
      T: 9,
      H: 4,
      KVH: 2,
      D: 5,
      causal: true,
      pad: [
        [2, 0],
        [0, 0],
      ],
      layout: 'fused',
      dropout: { p: 0.2, seed: 99 },
    },
  ],
  // Probability dropout: the kernels must drop the entries the CPU reference drops (same hash of the att index).
  [
    'dropout 0.1: 2x70x2x9, causal + left/right padding, fused',
    {
      B: 2,
      T: 70,
      H: 2,
      D: 9,
      causal: true,
      pad: [
        [5, 0],
        [2, 11],
      ],
      layout: 'fused',
      dropout: { p: 0.1, seed: 12345 },
    },
  ],
  [
    'dropout 0.5 at mask offset 3*2*13*13 (micro-batch rows 3..): 2x13x2x67, right padding, separate padded stride',
    {
      B: 2,
      T: 13,
      H: 2,
      D: 67,
      causal: false,
      pad: [
        [0, 4],
        [0, 0],
      ],
      layout: { stride: 140, offset: 5 },
      dropout: { p: 0.5, seed: 7, offset: 3 * 2 * 13 * 13 },
    },
  ],
  // D = 16, grouped, masked and dropped at a mask offset, T not a multiple of any matmul tile.
  [
    'GQA + dropout 0.3 at offset 1000, D 16: 2x37, H 4 / KVH 2, right padding, separate padded stride',
    {
      B: 2,
      T: 37,
      H: 4,
      KVH: 2,
      D: 16,
      causal: false,
      pad: [
        [0, 9],
        [0, 0],
      ],
      layout: { stride: 75, offset: 2 },
      dropout: { p: 0.3, seed: 4242, offset: 1000 },
    },
  ],
  [
    'GQA D 16: 2x70, H 4 / KVH 2, causal + left padding (fully masked rows), fused',
    {
      B: 2,
      T: 70,
      H: 4,
      KVH: 2,
      D: 16,
      causal: true,
      pad: [
        [3, 0],
        [0, 5],
      ],
      layout: 'fused',
    },
  ],
];

type Run = [string, boolean, AttentionPath, Case];
const runs = cases.flatMap(([name, c]): Run[] => [
  [name, true, 'row', c],
  [name, false, 'row', c],
  [name, false, 'matmul', c],
]);

async function checkCase(c: Case, barrierFree: boolean, path: AttentionPath): Promise<void> {
  const ctx = await gpuContext();
  const saved = ctx.barrierFree;
  ctx.barrierFree = barrierFree;
  setAttentionPath(path);
  try {
    expect(attentionPathFor(ctx, c)).toBe(path);
    const { B, T, H, D } = c;
    const C = H * D,
      KVH = c.KVH ?? H,
      KV = KVH * D;
    const fused = c.layout === 'fused';
    const strides =
      c.layout === 'fused'
        ? new Array(3).fill(C + 2 * KV)
        : c.layout === 'tight'
          ? [C, KV, KV]
          : new Array(3).fill(c.layout.stride);
    const off = c.layout === 'fused' ? [0, C, C + KV] : new Array(3).fill(c.layout === 'tight' ? 0 : c.layout.offset);
    const p: AttentionParams = {
      B,
      T,
      H,
      D,
      causal: c.causal,
      qStride: strides[0],
      qOffset: off[0],
      kStride: strides[1],
      kOffset: off[1],
      vStride: strides[2],
      vOffset: off[2],
      ...(c.KVH ? { KVH } : {}),
      dropout: c.dropout,
    };
    const sizes = strides.map((s) => B * T * s);
    const hostIn = fused ? [randArray(sizes[0], 1)] : sizes.map((n, i) => randArray(n, i + 1));
    const pick = (i: number): number => (fused ? 0 : i);
    const dout = randArray(B * T * C, 4);
    let mask: Int32Array | null = null;
    if (c.pad) {
      mask = new Int32Array(B * T).fill(1);
      c.pad.forEach(([left, right], b) => {
        for (let t = 0; t < left; t++) mask![b * T + t] = 0;
        for (let t = T - right; t < T; t++) mask![b * T + t] = 0;
      });
    }

    // CPU reference in float64 on the same f32 inputs.
    const in64 = hostIn.map((x) => Float64Array.from(x));
    const out64 = new Float64Array(B * T * C),
      att64 = new Float64Array(B * H * T * T);
    attentionRef(out64, att64, in64[pick(0)], in64[pick(1)], in64[pick(2)], mask, p);
    const grad64 = in64.map((x) => new Float64Array(x.length).fill(SENTINEL));
    attentionBackwardRef(
      grad64[pick(0)],
      grad64[pick(1)],
      grad64[pick(2)],
      Float64Array.from(dout),
      att64,
      in64[pick(0)],
      in64[pick(1)],
      in64[pick(2)],
      p,
    );

    const tIn = hostIn.map((x, i) => {
      const t = ctx.tensor([x.length], 'f32', `in${i}`);
      ctx.write(t, x);
      return t;
    });
    const tGrad = hostIn.map((x, i) => {
      const t = ctx.tensor([x.length], 'f32', `grad${i}`);
      ctx.write(t, new Float32Array(x.length).fill(SENTINEL)); // overwrite, not accumulate; untouched channels keep it
      return t;
    });
    const tOut = ctx.tensor([B, T, C], 'f32', 'out'),
      tAtt = ctx.tensor([B, H, T, T], 'f32', 'att');
    const tDout = ctx.tensor([B, T, C], 'f32', 'dout');
    ctx.write(tDout, dout);
    let tMask: GpuTensor | null = null;
    if (mask) {
      tMask = ctx.tensor([B, T], 'i32', 'keyMask');
      ctx.write(tMask, mask);
    }

    attention(ctx, tOut, tAtt, tIn[pick(0)], tIn[pick(1)], tIn[pick(2)], tMask, p);
    attentionBackward(
      ctx,
      tGrad[pick(0)],
      tGrad[pick(1)],
      tGrad[pick(2)],
      tDout,
      tAtt,
      tIn[pick(0)],
      tIn[pick(1)],
      tIn[pick(2)],
      p,
    );

    expectClose(await ctx.read(tOut), out64, ATOL, RTOL, 'out');
    const att = await ctx.read(tAtt);
    expectClose(att, att64, ATOL, RTOL, 'att');
    // Masked probabilities are exactly 0 on the GPU too (not merely small).
    const nonzero: number[] = [];
    for (let e = 0; e < att64.length && nonzero.length < 10; e++) if (att64[e] === 0 && att[e] !== 0) nonzero.push(e);
    expect(nonzero, 'indices of masked probabilities that are not exactly 0').toEqual([]);
    for (let i = 0; i < tGrad.length; i++) {
      const g = await ctx.read(tGrad[i]);
      expect(g.every(Number.isFinite), `grad${i} finite`).toBe(true);
      expectClose(g, grad64[i], ATOL, RTOL, fused ? 'dqkv' : ['dq', 'dk', 'dv'][i]);
    }
    for (const t of [...tIn, ...tGrad, tOut, tAtt, tDout, ...(tMask ? [tMask] : [])]) ctx.release(t);
  } finally {
    ctx.barrierFree = saved;
    setAttentionPath('auto');
  }
}

describe.each(runs)('attention %s, barrierFree=%s, path %s (webgpu vs cpu)', (_name, barrierFree, path, c) => {
  it('out, att, dq, dk, dv', () => checkCase(c, barrierFree, path));
});

describe('attention kernel choice', () => {
  it('workgroup rows on real GPUs up to the row buffer, one invocation per row otherwise', () => {
    expect(workgroupAttentionFits(false, 1)).toBe(true);
    expect(workgroupAttentionFits(false, WG_MAX_T)).toBe(true);
    expect(workgroupAttentionFits(false, WG_MAX_T + 1)).toBe(false);
    expect(workgroupAttentionFits(true, 7)).toBe(false);
    expect(workgroupAttentionFits(true, WG_MAX_T + 1)).toBe(false);
  });

  it('T past the row buffer falls back to the per-invocation kernels on a real GPU (barrierFree=false)', () =>
    checkCase({ B: 1, T: WG_MAX_T + 1, H: 1, D: 2, causal: true, pad: [[3, 0]], layout: 'fused' }, false, 'row'));

  it("'auto' takes the matmul path on GPUs from T = 64, the row kernels otherwise", async () => {
    const ctx = await gpuContext();
    const gpu = { barrierFree: false, limits: ctx.limits },
      emulated = { barrierFree: true, limits: ctx.limits };
    expect(attentionPathFor(gpu, { B: 2, H: 2, T: 64 })).toBe('matmul');
    expect(attentionPathFor(gpu, { B: 2, H: 2, T: 63 })).toBe('row');
    expect(attentionPathFor(emulated, { B: 2, H: 2, T: 64 })).toBe('row');
    // A (B,H,T,T) scratch past one binding keeps the row kernels, even when 'matmul' is asked for.
    const T = Math.ceil(Math.sqrt(ctx.limits.maxStorageBufferBindingSize / 4)) + 1;
    expect(attentionPathFor(gpu, { B: 1, H: 1, T })).toBe('row');
    setAttentionPath('matmul');
    try {
      expect(attentionPathFor(emulated, { B: 2, H: 2, T: 8 })).toBe('matmul');
      expect(attentionPathFor(gpu, { B: 1, H: 1, T })).toBe('row');
    } finally {
      setAttentionPath('auto');
    }
  });
});

describe('attention matmul path reuse', () => {
  it('a second identical step creates no buffers, pipelines or bind groups and reads nothing back', async () => {
    const ctx = await gpuContext();
    const saved = ctx.barrierFree;
    ctx.barrierFree = false;
    setAttentionPath('matmul');
    const B = 2,
      T = 70,
      H = 4,
      KVH = 2,
      D = 16,
      S = (H + 2 * KVH) * D;
    const p: AttentionParams = {
      B,
      T,
      H,
      D,
      KVH,
      causal: true,
      qStride: S,
      qOffset: 0,
      kStride: S,
      kOffset: H * D,
      vStride: S,
      vOffset: (H + KVH) * D,
      dropout: { p: 0.1, seed: 3, offset: 77 },
    };
    const qkv = ctx.tensor([B * T * S], 'f32', 'qkv'),
      dqkv = ctx.tensor([B * T * S], 'f32', 'dqkv'),
      out = ctx.tensor([B * T * H * D], 'f32', 'out'),
      dout = ctx.tensor([B * T * H * D], 'f32', 'dout'),
      att = ctx.tensor([B * H * T * T], 'f32', 'att'),
      mask = ctx.tensor([B * T], 'i32', 'keyMask');
    ctx.write(qkv, randArray(B * T * S, 5));
    ctx.write(dout, randArray(B * T * H * D, 6));
    ctx.write(mask, new Int32Array(B * T).fill(1));
    const step = () => {
      attention(ctx, out, att, qkv, qkv, qkv, mask, p);
      attentionBackward(ctx, dqkv, dqkv, dqkv, dout, att, qkv, qkv, qkv, p);
      ctx.flush();
    };
    try {
      step();
      const before = { ...ctx.counters };
      step();
      const d = diffCounters(ctx.counters, before);
      expect(d.bufferCreations).toBe(0);
      expect(d.pipelineCreations).toBe(0);
      expect(d.bindGroupCreations).toBe(0);
      expect(d.readbacks).toBe(0);
      // Forward: scores, softmax rows, mix; backward: dropped probabilities, 2 dv, dP, dS rows, dq, 2 dk.
      expect(d.dispatches).toBe(11);
      expect((await ctx.read(dqkv)).every(Number.isFinite)).toBe(true);
    } finally {
      ctx.barrierFree = saved;
      setAttentionPath('auto');
      for (const t of [qkv, dqkv, out, dout, att, mask]) ctx.release(t);
    }
  });
});
