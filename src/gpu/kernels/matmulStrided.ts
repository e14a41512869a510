// The strided batched matmul: shaders/matmul.wgsl's tiled kernel over operands at row strides and two-level batch
// offsets (shaders/matmul_strided.wgsl), for attention's per-head products over views of (B,T,C) buffers.

import type { GpuContext, GpuTensor } from '../context';
import { tiledShader } from './matmul';
import {
  matmulPhasesDefine,
  matmulPrefetch,
  matmulStagingFor,
  matmulTileFor,
  TILED,
  type TiledTile,
  vectorWidth,
} from './matmulRules';

/** One operand of matmulStrided: the stored matrix of batch entry z = (z / heads, z % heads) starts at
 * base + floor(z / heads) * s1 + floor((z % heads) / group) * s2, and its rows are ld elements apart. */
export interface StridedOperand {
  t: GpuTensor;
  /** Elements between consecutive rows of the stored matrix (of the transposed one when transposed). */
  ld: number;
  /** Start of batch entry 0 (default 0). */
  base?: number;
  /** Elements between outer batch entries (default 0). */
  s1?: number;
  /** Elements between inner batch entries, after dividing by group (default 0). */
  s2?: number;
  /** Inner entries that share one matrix, e.g. query heads per kv head (default 1). */
  group?: number;
}

/** out = alpha * opA(a) @ opB(b) [+ out] for each of `batch` entries, operands at strides (StridedOperand). */
export interface StridedMatmul {
  M: number;
  K: number;
  N: number;
  /** Batch entries; a multiple of heads. */
  batch: number;
  /** Inner batch size: entry z is (z / heads, z % heads). */
  heads: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  alpha?: number;
  /** Tile of shaders/matmul.wgsl; the GPU rule's tile (matmulTileFor) when absent. */
  tile?: TiledTile;
  a: StridedOperand;
  b: StridedOperand;
  out: StridedOperand;
}

const STRIDED_FORMAT = `${'u'.repeat(6)}f${'u'.repeat(16)}`;

/** Throws unless every entry's stored rows x cols matrix of operand o lies inside its buffer and o is well formed. */
function checkStrided(o: StridedOperand, rows: number, cols: number, s: StridedMatmul, what: string): void {
  const g = o.group ?? 1;
  if (!Number.isInteger(g) || g < 1) throw new Error(`matmulStrided: ${what} group ${g}`);
  if (o.ld < cols) throw new Error(`matmulStrided: ${what} ld ${o.ld} < ${cols} columns`);
  const last =
    (o.base ?? 0) +
    (s.batch / s.heads - 1) * (o.s1 ?? 0) +
    Math.floor((s.heads - 1) / g) * (o.s2 ?? 0) +
    (rows - 1) * o.ld +
    cols;
  if (o.t.size < last) throw new Error(`matmulStrided: ${what} (${o.t.label}) has ${o.t.size} elements, needs ${last}`);
}

/** Elements per global load of each operand of a strided matmul (see setMatmulVectorLoads): 4 where the stored rows'
 * length, the row stride and every offset of the operand are multiples of 4, so every 4-element load is one aligned
 * vec4 wholly inside or outside the bounds. */
export function stridedVectorLoads(s: StridedMatmul): { VA: 1 | 4; VB: 1 | 4 } {
  const width = (o: StridedOperand, row: number) => vectorWidth(row, o.ld, o.base ?? 0, o.s1 ?? 0, o.s2 ?? 0);
  return { VA: width(s.a, s.transA ? s.M : s.K), VB: width(s.b, s.transB ? s.K : s.N) };
}

/** The strided batched matmul (shaders/matmul_strided.wgsl with the tiled kernel of matmul.wgsl): for attention's
 * per-head products over views of (B,T,C) buffers. Always the tiled kernel, whatever the adapter; not tuned. */
export function matmulStrided(ctx: GpuContext, s: StridedMatmul): void {
  const { M, K, N, batch, heads } = s;
  if (!(heads >= 1 && batch % heads === 0)) throw new Error(`matmulStrided: batch ${batch} not a multiple of ${heads}`);
  if (s.out.t === s.a.t || s.out.t === s.b.t) throw new Error('matmulStrided: out must not be an input buffer');
  checkStrided(s.a, s.transA ? K : M, s.transA ? M : K, s, 'a');
  checkStrided(s.b, s.transB ? N : K, s.transB ? K : N, s, 'b');
  checkStrided(s.out, M, N, s, 'out');
  const rule = matmulTileFor({ barrierFree: false }, { M, N, batch });
  const tile = s.tile ?? (rule === 'flat' ? 64 : rule);
  const { VA, VB } = stridedVectorLoads(s);
  const op = (o: StridedOperand) => [o.base ?? 0, o.s1 ?? 0, o.s2 ?? 0, o.group ?? 1];
  const values = [
    M,
    K,
    N,
    s.transA ? 1 : 0,
    s.transB ? 1 : 0,
    s.accumulate ? 1 : 0,
    s.alpha ?? 1,
    s.a.ld,
    s.b.ld,
    s.out.ld,
    heads,
    ...op(s.a),
    ...op(s.b),
    ...op(s.out),
  ];
  ctx.dispatch({
    shader: tiledShader(false, VA === 4, VB === 4, true),
    entry: 'matmul_forward',
    bindings: [undefined, s.out.t, s.a.t, s.b.t],
    params: { format: STRIDED_FORMAT, values },
    defines: {
      ...TILED[tile],
      ...matmulStagingFor(ctx.limits.maxComputeWorkgroupStorageSize, {
        tile,
        f16: false,
        transA: !!s.transA,
        transB: !!s.transB,
        prefetch: matmulPrefetch(),
        VA,
        VB,
      }),
      ...matmulPhasesDefine(),
      T: 'f32',
      B_F16: 'false',
      B_ELEM: 'f32',
      VA,
      VB,
    },
    workgroups: [Math.ceil(N / tile), Math.ceil(M / tile), batch],
  });
}
