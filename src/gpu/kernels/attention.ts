// Launchers for shaders/attention.wgsl and shaders/attention_wg.wgsl. The backward is three dispatches (dq + row sums,
// dk, dv), each binding a single writable gradient, so dq, dk, dv may be three views of one dqkv buffer and q, k, v one
// qkv buffer (bound read-only). Real GPUs get the workgroup-per-row entries of attention_wg.wgsl; CPU-emulated adapters
// (ctx.barrierFree), and rows longer than that file's workgroup row buffer, the one-invocation-per-row ones.

import code from '../../../shaders/attention.wgsl?raw';
import prelude from '../../../shaders/attention_common.wgsl?raw';
import wgCode from '../../../shaders/attention_wg.wgsl?raw';
import wgReduce from '../../../shaders/wg_reduce.wgsl?raw';
import { attentionScale, checkAttentionSizes, kvHeads } from '../../ops/attention';
import { dropoutThreshold } from '../../ops/dropout';
import type { AttentionParams } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d, rowGrid } from '../context';

const shader = { name: 'attention', code, prelude };
const wgShader = {
  name: 'attention_wg',
  code: wgCode,
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
      ...dropParams(p),
    ],
  };
}

/** Seed, threshold, scale and mask offset of the probabilities' dropout; threshold 0 means none. */
function dropParams(p: AttentionParams): [number, number, number, number] {
  const d = p.dropout;
  if (!d || d.p === 0) return [0, 0, 1, 0];
  return [d.seed >>> 0, dropoutThreshold(d.p), 1 / (1 - d.p), (d.offset ?? 0) >>> 0];
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
