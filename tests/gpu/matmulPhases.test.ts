// The tiled kernel in parts (setMatmulPhases), which the GPU benchmark times to say where a matmul's time goes: each
// part must do exactly what the benchmark's account assumes. 'products': the first K tile staged once and its
// products added once per K tile of the range, so out = ceil(K / TK) * a[:, :TK] b[:TK, :]; 'memory': loads, stagings
// and barriers only, so out = 0. Checked against the float64 CPU reference on the tiled kernel (SwiftShader told it is
// a GPU), with and without prefetch (the two code paths that skip the products), on a transposed and a plain b.

import { afterEach, describe, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { matmul } from '../../src/gpu/kernels/matmul';
import {
  type MatmulPhases,
  resetMatmulVariants,
  setMatmulPhases,
  setMatmulPrefetch,
  setMatmulTiling,
  TILED,
} from '../../src/gpu/kernels/matmulRules';
import { matmulRef } from '../../src/ops/matmul';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-5;
const M = 40,
  K = 100,
  N = 70;

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

/** What the part computes: the products of the first K tile times the number of K tiles, or 0. */
function expected(phases: MatmulPhases, a: Float32Array, b: Float32Array, transB: boolean, TK: number): Float32Array {
  const out = new Float32Array(M * N);
  if (phases === 'memory') return out;
  const a0 = new Float32Array(M * TK),
    b0 = new Float32Array(TK * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < TK; k++) a0[m * TK + k] = a[m * K + k];
  for (let k = 0; k < TK; k++) {
    for (let n = 0; n < N; n++) b0[transB ? n * TK + k : k * N + n] = transB ? b[n * K + k] : b[k * N + n];
  }
  matmulRef(out, a0, b0, null, { M, K: TK, N, transB, alpha: Math.ceil(K / TK) });
  return out;
}

describe.each([
  [64, false],
  [64, true],
  [128, false],
  [128, true],
] as const)('matmul phases on %i tiles, prefetch %s', (tile, prefetch) => {
  afterEach(() => {
    setMatmulTiling('auto');
    resetMatmulVariants();
  });

  it.each([
    ['products', false],
    ['products', true],
    ['memory', false],
    ['memory', true],
  ] as const)('%s alone, transposed b %s', async (phases, transB) => {
    const ctx = await gpuContext();
    const saved = ctx.barrierFree;
    ctx.barrierFree = false;
    try {
      setMatmulTiling(tile);
      setMatmulPrefetch(prefetch);
      setMatmulPhases(phases);
      const a = randArray(M * K, 11),
        b = randArray(K * N, 12);
      const ta = upload(ctx, a, 'a'),
        tb = upload(ctx, b, 'b'),
        to = upload(ctx, randArray(M * N, 13), 'out');
      matmul(ctx, to, ta, tb, null, { M, K, N, transB });
      const want = expected(phases, a, b, transB, TILED[tile].TK);
      expectClose(await ctx.read(to), want, TOL, TOL, `${phases} alone, ${tile} tiles`);
      for (const t of [ta, tb, to]) ctx.release(t);
    } finally {
      ctx.barrierFree = saved;
    }
  });
});
