// matmulStrided (the strided batched variant of the tiled matmul) vs matmulRef applied entry by entry to the views its
// operands describe: the products attention takes (q k^T with a grouped b, p v, p^T dout accumulated, ds k), ragged
// shapes past one tile, alpha and accumulate, at every tile. Elements outside the out views must keep their values.

import { afterEach, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/context';
import { setMatmulPrefetch, type TiledTile } from '../../src/gpu/kernels/matmulRules';
import { matmulStrided, type StridedOperand, stridedVectorLoads } from '../../src/gpu/kernels/matmulStrided';
import { matmulRef } from '../../src/ops/matmul';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-5;

interface HostOperand extends Omit<StridedOperand, 't'> {
  size: number;
}

interface Case {
  M: number;
  K: number;
  N: number;
  outer: number;
  heads: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  alpha?: number;
  a: HostOperand;
  b: HostOperand;
  out: HostOperand;
}

function start(o: HostOperand, zo: number, zi: number): number {
  return (o.base ?? 0) + zo * (o.s1 ?? 0) + Math.floor(zi / (o.group ?? 1)) * (o.s2 ?? 0);
}

function gather(x: Float32Array, o: HostOperand, zo: number, zi: number, rows: number, cols: number): Float64Array {
  const m = new Float64Array(rows * cols),
    s = start(o, zo, zi);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m[r * cols + c] = x[s + r * o.ld + c];
  return m;
}

async function check(ctx: GpuContext, c: Case, tile: TiledTile, seed: number): Promise<void> {
  const { M, K, N } = c;
  const ha = randArray(c.a.size, seed),
    hb = randArray(c.b.size, seed + 1),
    ho = randArray(c.out.size, seed + 2);
  const expected = Float64Array.from(ho);
  for (let zo = 0; zo < c.outer; zo++) {
    for (let zi = 0; zi < c.heads; zi++) {
      const a = gather(ha, c.a, zo, zi, c.transA ? K : M, c.transA ? M : K);
      const b = gather(hb, c.b, zo, zi, c.transB ? N : K, c.transB ? K : N);
      const o = gather(ho, c.out, zo, zi, M, N);
      matmulRef(o, a, b, null, {
        M,
        K,
        N,
        transA: c.transA,
        transB: c.transB,
        accumulate: c.accumulate,
        alpha: c.alpha,
      });
      const s = start(c.out, zo, zi);
      for (let r = 0; r < M; r++) for (let n = 0; n < N; n++) expected[s + r * c.out.ld + n] = o[r * N + n];
    }
  }
  const up = (x: Float32Array, label: string) => {
    const t = ctx.tensor([x.length], 'f32', label);
    ctx.write(t, x);
    return t;
  };
  const [ta, tb, to] = [up(ha, 'a'), up(hb, 'b'), up(ho, 'out')];
  const { a, b, out, outer, ...rest } = c;
  matmulStrided(ctx, {
    ...rest,
    batch: outer * c.heads,
    tile,
    a: { ...a, t: ta },
    b: { ...b, t: tb },
    out: { ...out, t: to },
  });
  expectClose(await ctx.read(to), expected, TOL, TOL, `tile ${tile}`);
  for (const t of [ta, tb, to]) ctx.release(t);
}

// Attention-like layouts: B outer entries, H heads of width D inside (B,T,stride) buffers whose rows are `pad` wider
// than the fused q, k, v and start at `base`: the products attention takes on those views.
const B = 2,
  H = 4,
  KVH = 2;
function attentionCases(T: number, D: number, pad: number, base: number): [string, Case][] {
  const S = 3 * H * D + pad;
  const qView = { ld: S, base, s1: T * S, s2: D, size: B * T * S };
  const kView = { ld: S, base: base + H * D, s1: T * S, s2: D, group: H / KVH, size: B * T * S };
  const attView = { ld: T, s1: H * T * T, s2: T * T, size: B * H * T * T };
  const outView = { ld: H * D, s1: T * H * D, s2: D, size: B * T * H * D };
  return [
    [
      'scores q k^T (grouped b, transposed)',
      { M: T, K: D, N: T, outer: B, heads: H, transB: true, alpha: 0.3, a: qView, b: kView, out: attView },
    ],
    ['mix p v (grouped b)', { M: T, K: T, N: D, outer: B, heads: H, a: attView, b: kView, out: outView }],
    [
      'dv += p^T dout (transposed a, accumulate, per kv head)',
      {
        M: T,
        K: T,
        N: D,
        outer: B,
        heads: KVH,
        transA: true,
        accumulate: true,
        a: { ...attView, base: T * T, s2: 2 * T * T },
        b: { ...outView, base: D, s2: 2 * D },
        out: { ...kView, group: 1 },
      },
    ],
  ];
}

const cases: [string, Case][] = [
  ...attentionCases(37, 9, 5, 2),
  [
    'ragged dense batch 70x45x67, transposed both',
    {
      M: 70,
      K: 45,
      N: 67,
      outer: 3,
      heads: 1,
      transA: true,
      transB: true,
      alpha: -1.5,
      a: { ld: 70, s1: 70 * 45, size: 3 * 70 * 45 },
      b: { ld: 45, s1: 45 * 67 + 3, size: 3 * (45 * 67 + 3) },
      out: { ld: 70, base: 1, s1: 70 * 70, size: 1 + 3 * 70 * 70 },
    },
  ],
];

describe.each([32, 64, 128] as TiledTile[])('matmulStrided tile %i (webgpu vs cpu)', (tile) => {
  it.each(cases)('%s', async (_name, c) => {
    const ctx = await gpuContext();
    await check(ctx, c, tile, 11);
  });
});

// The same layouts with every row length, stride and offset a multiple of 4: each operand read as vec4s (as at real
// models' head widths), with and without prefetch; the out views' neighbours must still keep their values.
const aligned = attentionCases(36, 8, 4, 4);

describe.each([
  [64, false],
  [128, false],
  [32, true],
  [64, true],
] as [TiledTile, boolean][])('matmulStrided with vector loads, tile %i, prefetch %s (webgpu vs cpu)', (tile, pf) => {
  afterEach(() => setMatmulPrefetch(false));
  it.each(aligned)('%s', async (_name, c) => {
    const ctx = await gpuContext();
    const view = (o: HostOperand) => ({ ...o, t: null as never });
    expect(
      stridedVectorLoads({ ...c, batch: c.outer * c.heads, a: view(c.a), b: view(c.b), out: view(c.out) }),
    ).toEqual({ VA: 4, VB: 4 });
    setMatmulPrefetch(pf);
    await check(ctx, c, tile, 21);
  });
  it('the unaligned layouts read element by element', () => {
    for (const [, c] of cases) {
      const view = (o: HostOperand) => ({ ...o, t: null as never });
      const v = stridedVectorLoads({ ...c, batch: c.outer * c.heads, a: view(c.a), b: view(c.b), out: view(c.out) });
      expect(v).toEqual({ VA: 1, VB: 1 });
    }
    // One offset or stride off a multiple of 4 is enough.
    const [, c] = aligned[0];
    const view = (o: HostOperand) => ({ ...o, t: null as never });
    const at = (a: HostOperand, b: HostOperand) =>
      stridedVectorLoads({ ...c, batch: c.outer * c.heads, a: view(a), b: view(b), out: view(c.out) });
    expect(at({ ...c.a, base: 2 }, c.b)).toEqual({ VA: 1, VB: 4 });
    expect(at(c.a, { ...c.b, s1: c.b.s1! + 2 })).toEqual({ VA: 4, VB: 1 });
    expect(at(c.a, { ...c.b, s2: 6 })).toEqual({ VA: 4, VB: 1 });
    expect(at({ ...c.a, ld: c.a.ld + 2 }, c.b)).toEqual({ VA: 1, VB: 4 });
  });
});

describe('matmulStrided checks', () => {
  it('rejects a view past its buffer and out aliasing an input', async () => {
    const ctx = await gpuContext();
    const t = ctx.tensor([16], 'f32', 'small');
    const u = ctx.tensor([16], 'f32', 'other');
    const base = { M: 4, K: 4, N: 4, batch: 1, heads: 1 };
    expect(() => matmulStrided(ctx, { ...base, a: { t, ld: 5 }, b: { t, ld: 4 }, out: { t: u, ld: 4 } })).toThrow(
      /needs 19/,
    );
    expect(() => matmulStrided(ctx, { ...base, a: { t, ld: 4 }, b: { t, ld: 4 }, out: { t, ld: 4 } })).toThrow(
      /out must not/,
    );
    ctx.release(t);
    ctx.release(u);
  });
});
