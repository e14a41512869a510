// Launchers for shaders/attention.wgsl. The backward is three dispatches (dq + row sums, dk, dv), each binding a single
// writable gradient, so dq, dk, dv may be three views of one dqkv buffer and q, k, v one qkv buffer (bound read-only).

import code from '../../../shaders/attention.wgsl?raw';
import { grid1d, type GpuContext, type GpuTensor } from '../context';
import { attentionScale, checkAttentionSizes } from '../../ops/attention';
import type { AttentionParams } from '../../tensor/backend';

const shader = { name: 'attention', code };
const FORMAT = 'uuuuuuuuuuufuu';

/** Per-context scratch for the backward's row sums (B*H*T floats), kept so a step allocates nothing. */
const rowsumScratch = new WeakMap<GpuContext, GpuTensor>();

function params(p: AttentionParams, xStride: number, xOffset: number): { format: string; values: number[] } {
  return {
    format: FORMAT,
    values: [p.B, p.T, p.H, p.D, p.qStride, p.qOffset, p.kStride, p.kOffset, p.vStride, p.vOffset, p.causal ? 1 : 0,
      attentionScale(p), xStride, xOffset],
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

/** out(B,T,C) = softmax(q k^T * scale + masks) v per head; att(B,H,T,T) keeps the probabilities (masked ones 0). */
export function attention(ctx: GpuContext, out: GpuTensor, att: GpuTensor, q: GpuTensor, k: GpuTensor, v: GpuTensor,
  keyMask: GpuTensor | null, p: AttentionParams): void {
  checkAttentionSizes(p, { out: out.size, att: att.size, q: q.size, k: k.size, v: v.size, keyMask: keyMask?.size });
  const rows = p.B * p.H * p.T;
  ctx.dispatch({
    shader,
    entry: keyMask ? 'attention_forward_masked' : 'attention_forward',
    bindings: [undefined, out, att, q, k, v, keyMask ?? undefined],
    params: params(p, p.H * p.D, 0),
    workgroups: grid1d(rows, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** Overwrites dq, dk, dv (only their views' channels) from dout(B,T,C) and att(B,H,T,T). */
export function attentionBackward(ctx: GpuContext, dq: GpuTensor, dk: GpuTensor, dv: GpuTensor, dout: GpuTensor,
  att: GpuTensor, q: GpuTensor, k: GpuTensor, v: GpuTensor, p: AttentionParams): void {
  checkAttentionSizes(p, { out: dout.size, att: att.size, q: q.size, k: k.size, v: v.size });
  checkAttentionSizes(p, { out: dout.size, att: att.size, q: dq.size, k: dk.size, v: dv.size });
  const rows = p.B * p.H * p.T;
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const rowsum = rowsumBuffer(ctx, rows);
  // Binding order: 1 dx (the one gradient written), 2 rowsum, 3 q, 4 k, 5 v, 6 dout, 7 att; holes are unused bindings.
  ctx.dispatch({
    shader, entry: 'attention_backward_dq',
    bindings: [undefined, dq, rowsum, undefined, k, v, dout, att],
    params: params(p, p.qStride, p.qOffset),
    workgroups: grid1d(rows, maxDim),
  });
  ctx.dispatch({
    shader, entry: 'attention_backward_dk',
    bindings: [undefined, dk, rowsum, q, undefined, v, dout, att],
    params: params(p, p.kStride, p.kOffset),
    workgroups: grid1d(rows, maxDim),
  });
  ctx.dispatch({
    shader, entry: 'attention_backward_dv',
    bindings: [undefined, dv, undefined, undefined, undefined, undefined, dout, att],
    params: params(p, p.vStride, p.vOffset),
    workgroups: grid1d(p.B * p.T * p.H * p.D, maxDim),
  });
}
