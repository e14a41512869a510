// WebGPU rotary embeddings vs the float64 CPU reference on the same f32 inputs and the same f32 table: forward and
// backward, out of place (channels outside the view keep their sentinel) and in place, on an odd shape (pairs not a
// multiple of 64, strided view at an offset, a position offset) and realistic ones (Llama 3.2's q with llama3 scaling:
// 2x128 tokens, 32 heads of 64; Qwen3's k: 8 kv heads of 128 inside a fused qkv row at position offset 1000).
// Tolerance: 1e-6 abs + 1e-6 rel (two products and a sum per element).

import { describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { rope, ropeBackward } from '../../src/gpu/kernels/rope';
import { parseRopeConfig } from '../../src/models/arch/llamaRope';
import { ropeBackwardRef, ropeRef, ropeTable } from '../../src/ops/rope';
import type { RopeParams } from '../../src/tensor/backend';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-6;
const SENTINEL = 7;
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

const cases: [string, RopeParams, Record<string, unknown>][] = [
  [
    'odd 2x5, 3 heads of 6, stride 23 offset 4, posOffset 3',
    { B: 2, T: 5, H: 3, D: 6, stride: 23, offset: 4, posOffset: 3 },
    { rope_theta: 10000 },
  ],
  [
    'Llama 3.2 q 2x128x32x64 (llama3 scaling)',
    { B: 2, T: 128, H: 32, D: 64, stride: 2048, offset: 0 },
    {
      rope_theta: 500000,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 32,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    },
  ],
  [
    'Qwen3 k 1x64x8x128 in fused qkv, posOffset 1000',
    { B: 1, T: 64, H: 8, D: 128, stride: 4096, offset: 2048, posOffset: 1000 },
    { rope_theta: 1e6 },
  ],
];

describe.each(cases)('rope %s (webgpu vs cpu)', (_name, p, config) => {
  it('forward and backward, out of place and in place', async () => {
    const ctx = await gpuContext();
    const table = ropeTable(parseRopeConfig(config, { headDim: p.D }), (p.posOffset ?? 0) + p.T);
    const n = p.B * p.T * p.stride;
    const x = randArray(n, 1, -2, 2);
    const tTable = upload(ctx, table, 'rope table'),
      tx = upload(ctx, x, 'x');
    for (const [dir, gpu, ref] of [
      ['forward', rope, ropeRef],
      ['backward', ropeBackward, ropeBackwardRef],
    ] as const) {
      const expected = new Float64Array(n).fill(SENTINEL);
      ref(expected, f64(x), f64(table), p);
      const tOut = upload(ctx, new Float32Array(n).fill(SENTINEL), 'out');
      gpu(ctx, tOut, tx, tTable, p);
      const got = await ctx.read(tOut);
      expect(got.every(Number.isFinite)).toBe(true);
      expectClose(got, expected, TOL, TOL, `${dir} out of place`);
      const tIo = upload(ctx, x, 'io');
      gpu(ctx, tIo, tIo, tTable, p);
      const inPlace = f64(x);
      ref(inPlace, inPlace, f64(table), p);
      expectClose(await ctx.read(tIo), inPlace, TOL, TOL, `${dir} in place`);
      for (const t of [tOut, tIo]) ctx.release(t);
    }
    for (const t of [tTable, tx]) ctx.release(t);
  });
});
