// WebGPU KV-cache decoding vs the CPU reference: the cache write (new rows land at pos, other rows keep their
// sentinel) and attention of Tq new queries over the cache, on odd shapes with grouped-query heads (rows and key
// counts that do not divide 64, keys spanning several 64-key tiles, a head dim past 64 channels per invocation) and a
// realistic one (GPT-2 small's decode step at position 700 over a 1024-position cache). Every case runs twice:
// barrierFree (one invocation per row) and not (one workgroup per row), both on the same device.
// Tolerance: 2e-5 abs + 1e-4 rel (f32 online softmax vs the float64 reference).

import { describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { attentionDecode, kvCacheWrite } from '../../src/gpu/kernels/attentionDecode';
import { attentionDecodeRef, kvWriteRef } from '../../src/ops/attentionDecode';
import type { AttentionDecodeParams } from '../../src/tensor/backend';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const SENTINEL = 7;

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

const cases: [string, AttentionDecodeParams][] = [
  [
    'odd GQA 3x2 queries at pos 67, 6 heads over 3 kv of 5, Tmax 71',
    { B: 3, Tq: 2, pos: 67, Tmax: 71, H: 6, KVH: 3, D: 5, qStride: 41, qOffset: 3 },
  ],
  [
    'odd MQA prefill 2x9 from pos 0, 4 heads over 1 kv of 70',
    { B: 2, Tq: 9, pos: 0, Tmax: 9, H: 4, KVH: 1, D: 70, qStride: 300, qOffset: 10 },
  ],
  [
    'GPT-2 small decode step 1x1 at pos 700, 12 heads of 64, Tmax 1024',
    { B: 1, Tq: 1, pos: 700, Tmax: 1024, H: 12, D: 64, qStride: 3 * 768, qOffset: 0 },
  ],
];

async function checkCase(p: AttentionDecodeParams, barrierFree: boolean): Promise<void> {
  const ctx = await gpuContext();
  const saved = ctx.barrierFree;
  ctx.barrierFree = barrierFree;
  try {
    const KV = (p.KVH ?? p.H) * p.D,
      C = p.H * p.D;
    // Caches hold earlier keys (random) and receive the new ones from a strided source through the write op.
    const kc = randArray(p.B * p.Tmax * KV, 1, -2, 2),
      vc = randArray(p.B * p.Tmax * KV, 2);
    const srcStride = KV + 3,
      src = randArray(p.B * p.Tq * srcStride, 3);
    const q = randArray(p.B * p.Tq * p.qStride, 4, -2, 2);
    const kg = upload(ctx, kc, 'k cache'),
      vg = upload(ctx, vc, 'v cache'),
      sg = upload(ctx, src, 'new rows');
    const qg = upload(ctx, q, 'q'),
      og = upload(ctx, new Float32Array(p.B * p.Tq * C).fill(SENTINEL), 'out');
    const w = { B: p.B, Tq: p.Tq, pos: p.pos, Tmax: p.Tmax, width: KV, srcStride, srcOffset: 2 };
    kvCacheWrite(ctx, kg, sg, w);
    kvWriteRef(kc, src, w);
    attentionDecode(ctx, og, qg, kg, vg, p);
    const out = new Float32Array(p.B * p.Tq * C);
    attentionDecodeRef(out, q, kc, vc, p);
    expect(Array.from((await ctx.read(kg)) as Float32Array)).toEqual(Array.from(kc));
    expectClose((await ctx.read(og)) as Float32Array, out, 2e-5, 1e-4, 'out');
    for (const t of [kg, vg, sg, qg, og]) ctx.release(t);
  } finally {
    ctx.barrierFree = saved;
  }
}

const runs = cases.flatMap(
  ([name, p]) =>
    [
      [name, true, p],
      [name, false, p],
    ] as const,
);

describe.each(runs)('attentionDecode %s, barrierFree=%s (webgpu vs cpu)', (_name, barrierFree, p) => {
  it('cache write and out', () => checkCase(p, barrierFree));
});

describe('attentionDecode errors', () => {
  it('refuses positions past the cache before recording anything', async () => {
    const ctx = await gpuContext();
    const t = ctx.tensor([64], 'f32', 'small');
    expect(() =>
      attentionDecode(ctx, t, t, t, t, { B: 1, Tq: 2, pos: 7, Tmax: 8, H: 1, D: 2, qStride: 2, qOffset: 0 }),
    ).toThrow(/positions 7..8 do not fit a cache of 8/);
    ctx.release(t);
  });
});
