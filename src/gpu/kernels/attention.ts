// Launchers for shaders/attention.wgsl, shaders/attention_wg.wgsl and the matmul path (attention_rows.wgsl between
// strided batched matmuls; setAttentionPath). The row kernels' backward is three dispatches (dq + row sums,
// dk, dv), each binding a single writable gradient, so dq, dk, dv may be three views of one dqkv buffer and q, k, v one
// qkv buffer (bound read-only). Real GPUs get the workgroup-per-row entries of attention_wg.wgsl; CPU-emulated adapters
// (ctx.barrierFree), and rows longer than that file's workgroup row buffer, the one-invocation-per-row ones.

import code from '../../../shaders/attention.wgsl?raw';
import common from '../../../shaders/attention_common.wgsl?raw';
import rowsCode from '../../../shaders/attention_rows.wgsl?raw';
import wgCode from '../../../shaders/attention_wg.wgsl?raw';
import dropMask from '../../../shaders/drop_mask.wgsl?raw';
import wgReduce from '../../../shaders/wg_reduce.wgsl?raw';
import { ATTENTION_MATMUL_MIN_T, attentionScale, checkAttentionSizes, kvHeads } from '../../ops/attention';
import type { AttentionParams } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d, rowGrid } from '../context';
import { dropMaskFields } from './dropout';
import { matmulStrided, type StridedOperand } from './matmulStrided';

const prelude = `${common}\n${dropMask}`;
const shader = { name: 'attention', code, prelude };
const wgShader = {
  name: 'attention_wg',
  code: wgCode,
  prelude: `${prelude}
${wgReduce}`,
};
const rowsShader = {
  name: 'attention_rows',
  code: rowsCode,
  prelude: `${prelude}
${wgReduce}`,
};
const FORMAT = 'uuuuuuuuuuufuuuuufu';

/** Longest T the workgroup entries take: their row buffer holds TMAX floats (shaders/attention_wg.wgsl). */
export const WG_MAX_T = 2048;

/**
 * Whether forward, dq and dk use one workgroup per row (attention_wg.wgsl) rather than one invocation per row. Both
 * give the same att contents, so the forward and the backward may choose independently.
 */
export function workgroupAttentionFits(barrierFree: boolean, T: number): boolean {
  return !barrierFree && T <= WG_MAX_T;
}

/**
 * Which kernels attention takes. 'row': attention.wgsl / attention_wg.wgsl (rows of q against all of k and v).
 * 'matmul': the products as strided batched matmuls (the tiled kernel of shaders/matmul.wgsl) with the softmax rows of
 * attention_rows.wgsl between them, through one (B,H,T,T) scratch per context; taken when that scratch fits one
 * binding, else 'row'. 'auto': 'matmul' on GPUs (not ctx.barrierFree) for T >= 64, else 'row'. Settable for
 * benchmarks and tests.
 */
export type AttentionPath = 'auto' | 'row' | 'matmul';
let attentionPath: AttentionPath = 'auto';
export function setAttentionPath(path: AttentionPath): void {
  attentionPath = path;
}

/** The kernels attention with these params takes on ctx under the current setting. */
export function attentionPathFor(
  ctx: Pick<GpuContext, 'barrierFree' | 'limits'>,
  p: Pick<AttentionParams, 'B' | 'H' | 'T'>,
): 'row' | 'matmul' {
  if (attentionPath === 'row') return 'row';
  if (attentionPath === 'auto' && (ctx.barrierFree || p.T < ATTENTION_MATMUL_MIN_T)) return 'row';
  const fits =
    4 * p.B * p.H * p.T * p.T <= ctx.limits.maxStorageBufferBindingSize &&
    p.B * p.H <= ctx.limits.maxComputeWorkgroupsPerDimension;
  return fits ? 'matmul' : 'row';
}

/** Per-context (B,H,T,T) scratch of the matmul path (dropped probabilities, dP and dS), kept so a step allocates
 * nothing. */
const probScratch = new WeakMap<GpuContext, GpuTensor>();

function probBuffer(ctx: GpuContext, n: number): GpuTensor {
  let t = probScratch.get(ctx);
  if (!t || t.size < n) {
    if (t) ctx.release(t);
    t = ctx.tensor([n], 'f32', 'attention prob scratch', false);
    probScratch.set(ctx, t);
  }
  return t;
}

/** Per-context scratch for the backward's row sums (B*H*T floats), kept so a step allocates nothing. */
const rowsumScratch = new WeakMap<GpuContext, GpuTensor>();

function params(p: AttentionParams, xStride: number, xOffset: number): { format: string; values: number[] } {
  return {
    format: FORMAT,
    values: [
      p.B,
      p.T,
      p.H,
      p.D,
      p.qStride,
      p.qOffset,
      p.kStride,
      p.kOffset,
      p.vStride,
      p.vOffset,
      p.causal ? 1 : 0,
      attentionScale(p),
      xStride,
      xOffset,
      p.H / kvHeads(p),
      ...dropMaskFields(p.dropout),
    ],
  };
}

function rowsumBuffer(ctx: GpuContext, n: number): GpuTensor {
  let t = rowsumScratch.get(ctx);
  if (!t || t.size < n) {
    // Released buffers go back to the pool; work already recorded on the old one stays ordered before any reuse.
    if (t) ctx.release(t);
    t = ctx.tensor([n], 'f32', 'attention rowsum', false);
    rowsumScratch.set(ctx, t);
  }
  return t;
}

/** The module and grid for a per-row entry (forward, dq, dk) over `rows` rows. */
function rowKernel(ctx: GpuContext, T: number, rows: number): { shader: typeof shader; workgroups: [number, number] } {
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  return workgroupAttentionFits(ctx.barrierFree, T)
    ? { shader: wgShader, workgroups: rowGrid(rows, maxDim) }
    : { shader, workgroups: grid1d(rows, maxDim) };
}

/** out(B,T,C) = softmax(q k^T * scale + masks) v per head; att(B,H,T,T) keeps the probabilities (masked ones 0). */
export function attention(
  ctx: GpuContext,
  out: GpuTensor,
  att: GpuTensor,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  keyMask: GpuTensor | null,
  p: AttentionParams,
): void {
  checkAttentionSizes(p, { out: out.size, att: att.size, q: q.size, k: k.size, v: v.size, keyMask: keyMask?.size });
  if (attentionPathFor(ctx, p) === 'matmul') {
    attentionMatmul(ctx, out, att, q, k, v, keyMask, p);
    return;
  }
  ctx.dispatch({
    ...rowKernel(ctx, p.T, p.B * p.H * p.T),
    entry: keyMask ? 'attention_forward_masked' : 'attention_forward',
    bindings: [undefined, out, att, q, k, v, keyMask ?? undefined],
    params: params(p, p.H * p.D, 0),
  });
}

/** Overwrites dq, dk, dv (only their views' channels) from dout(B,T,C) and att(B,H,T,T). */
export function attentionBackward(
  ctx: GpuContext,
  dq: GpuTensor,
  dk: GpuTensor,
  dv: GpuTensor,
  dout: GpuTensor,
  att: GpuTensor,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  p: AttentionParams,
): void {
  checkAttentionSizes(p, { out: dout.size, att: att.size, q: q.size, k: k.size, v: v.size });
  checkAttentionSizes(p, { out: dout.size, att: att.size, q: dq.size, k: dk.size, v: dv.size });
  if (attentionPathFor(ctx, p) === 'matmul') {
    attentionBackwardMatmul(ctx, dq, dk, dv, dout, att, q, k, v, p);
    return;
  }
  const rows = p.B * p.H * p.T;
  const rowsum = rowsumBuffer(ctx, rows);
  const perRow = rowKernel(ctx, p.T, rows);
  // Binding order: 1 dx (the one gradient written), 2 rowsum, 3 q, 4 k, 5 v, 6 dout, 7 att; holes are unused bindings.
  ctx.dispatch({
    ...perRow,
    entry: 'attention_backward_dq',
    bindings: [undefined, dq, rowsum, undefined, k, v, dout, att],
    params: params(p, p.qStride, p.qOffset),
  });
  // dk: one row per (b, kv head, j), summing over the kv head's query heads.
  ctx.dispatch({
    ...rowKernel(ctx, p.T, p.B * kvHeads(p) * p.T),
    entry: 'attention_backward_dk',
    bindings: [undefined, dk, rowsum, q, undefined, v, dout, att],
    params: params(p, p.kStride, p.kOffset),
  });
  // dv is one invocation per output element already: enough parallelism on any adapter.
  ctx.dispatch({
    shader,
    entry: 'attention_backward_dv',
    bindings: [undefined, dv, undefined, undefined, undefined, undefined, dout, att],
    params: params(p, p.vStride, p.vOffset),
    workgroups: grid1d(p.B * p.T * kvHeads(p) * p.D, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** The per-head views of the matmul path: batch entry z = b*H + h (or b*KVH + kh) of each operand. */
function views(p: AttentionParams) {
  const { T, H, D } = p;
  const TT = T * T,
    group = H / kvHeads(p);
  const rowView = (t: GpuTensor, stride: number, offset: number, g = 1): StridedOperand => ({
    t,
    ld: stride,
    base: offset,
    s1: T * stride,
    s2: D,
    group: g,
  });
  return {
    group,
    /** (B,H,T,T) buffer, one T x T matrix per (b, h). */
    probs: (t: GpuTensor): StridedOperand => ({ t, ld: T, s1: H * TT, s2: TT }),
    /** Query head h's columns of q (or dq). */
    q: (t: GpuTensor): StridedOperand => rowView(t, p.qStride, p.qOffset),
    /** Kv head h / group's columns of k (or v) for query head h. */
    k: (t: GpuTensor): StridedOperand => rowView(t, p.kStride, p.kOffset, group),
    v: (t: GpuTensor): StridedOperand => rowView(t, p.vStride, p.vOffset, group),
    /** Head h's columns of out (or dout), (B,T,H*D). */
    o: (t: GpuTensor): StridedOperand => rowView(t, H * D, 0),
  };
}

/** Forward on the matmul path: att = scale q k^T, softmax rows (masks, dropout into the scratch), out = p v. */
function attentionMatmul(
  ctx: GpuContext,
  out: GpuTensor,
  att: GpuTensor,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  keyMask: GpuTensor | null,
  p: AttentionParams,
): void {
  const { B, T, H, D } = p;
  const w = views(p);
  const batch = B * H;
  matmulStrided(ctx, {
    M: T,
    K: D,
    N: T,
    batch,
    heads: H,
    transB: true,
    alpha: attentionScale(p),
    a: w.q(q),
    b: w.k(k),
    out: w.probs(att),
  });
  const dropping = dropMaskFields(p.dropout)[1] !== 0;
  const mix = dropping ? probBuffer(ctx, batch * T * T) : att;
  ctx.dispatch({
    shader: rowsShader,
    entry: `attention_softmax_rows${keyMask ? '_masked' : ''}${dropping ? '_drop' : ''}`,
    bindings: [undefined, dropping ? mix : undefined, att, undefined, undefined, undefined, keyMask ?? undefined],
    params: params(p, 0, 0),
    workgroups: rowGrid(batch * T, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
  matmulStrided(ctx, { M: T, K: T, N: D, batch, heads: H, a: w.probs(mix), b: w.v(v), out: w.o(out) });
}

/**
 * Backward on the matmul path, overwriting dq, dk, dv: dv = p_mix^T dout (p_mix recomputed from att into the scratch
 * with dropout), dP = dout v^T into the scratch, dS rows in place, dq = dS k, dk = dS^T q. With grouped-query
 * attention dv and dk take one dispatch per member of a group (the first overwrites, the others add), so no two batch
 * entries of one dispatch write the same kv head.
 */
function attentionBackwardMatmul(
  ctx: GpuContext,
  dq: GpuTensor,
  dk: GpuTensor,
  dv: GpuTensor,
  dout: GpuTensor,
  att: GpuTensor,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  p: AttentionParams,
): void {
  const { B, T, H, D } = p;
  const w = views(p);
  const KVH = kvHeads(p),
    g = w.group,
    TT = T * T,
    batch = B * H;
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const scratch = probBuffer(ctx, batch * TT);
  const dropping = dropMaskFields(p.dropout)[1] !== 0;
  if (dropping) {
    ctx.dispatch({
      shader: rowsShader,
      entry: 'attention_drop_probs',
      bindings: [undefined, scratch, undefined, undefined, undefined, undefined, undefined, att],
      params: params(p, 0, 0),
      workgroups: grid1d(batch * TT, maxDim),
    });
  }
  const mix = dropping ? scratch : att;
  // Group member m of kv head kh is query head kh*g + m: entry z = b*KVH + kh reads head z's member m.
  const member = (o: StridedOperand, m: number, step: number): StridedOperand => ({
    ...o,
    base: (o.base ?? 0) + m * step,
    s2: (o.s2 ?? 0) * g,
    group: 1,
  });
  const perKv = { M: T, K: T, N: D, batch: B * KVH, heads: KVH, transA: true };
  for (let m = 0; m < g; m++) {
    const dvOut = { ...w.v(dv), group: 1 };
    matmulStrided(ctx, {
      ...perKv,
      accumulate: m > 0,
      a: member(w.probs(mix), m, TT),
      b: member(w.o(dout), m, D),
      out: dvOut,
    });
  }
  matmulStrided(ctx, {
    M: T,
    K: D,
    N: T,
    batch,
    heads: H,
    transB: true,
    a: w.o(dout),
    b: w.v(v),
    out: w.probs(scratch),
  });
  ctx.dispatch({
    shader: rowsShader,
    entry: 'attention_softmax_backward_rows',
    bindings: [undefined, scratch, undefined, undefined, undefined, undefined, undefined, att],
    params: params(p, 0, 0),
    workgroups: rowGrid(batch * T, maxDim),
  });
  matmulStrided(ctx, { M: T, K: T, N: D, batch, heads: H, a: w.probs(scratch), b: w.k(k), out: w.q(dq) });
  for (let m = 0; m < g; m++) {
    matmulStrided(ctx, {
      ...perKv,
      accumulate: m > 0,
      a: member(w.probs(scratch), m, TT),
      b: member(w.q(q), m, D),
      out: { ...w.k(dk), group: 1 },
    });
  }
}
