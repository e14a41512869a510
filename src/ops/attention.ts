// Scaled dot-product attention, CPU reference: forward and backward over q, k, v read from (B,T,stride) buffers at a
// channel offset (GPT-2's fused qkv or BERT's separate projections). Masked scores are -inf before a stable softmax.

import type { AttentionParams } from '../tensor/backend';
import { dropoutKeep, dropoutThreshold } from './dropout';
import type { FArr } from './types';

/** Shortest T that the WebGPU engine's 'auto' attention path sends to batched matmuls on GPUs, which then keep one
 * (B,H,T,T) f32 scratch per device (src/gpu/kernels/attention.ts; counted by src/train/memory.ts). */
export const ATTENTION_MATMUL_MIN_T = 64;

/** The softmax scale: p.scale, or 1/sqrt(D). */
export function attentionScale(p: AttentionParams): number {
  return p.scale ?? 1 / Math.sqrt(p.D);
}

/** Key/value heads: p.KVH, or H (no grouping). Throws unless it divides H. */
export function kvHeads(p: AttentionParams): number {
  const KVH = p.KVH ?? p.H;
  if (!Number.isInteger(KVH) || KVH < 1 || p.H % KVH !== 0) {
    throw new RangeError(`attention: KVH (key/value heads) ${KVH} must be a positive divisor of H ${p.H}`);
  }
  return KVH;
}

/**
 * The dropout factor of att entry e: 0 or the f32 1/(1-p) under the mask of src/ops/dropout.ts (seed, e); 1 without
 * dropout. The kernels compute the same factor, so CPU and GPU drop the same probabilities.
 */
function attentionDropFactor(p: AttentionParams): (e: number) => number {
  const d = p.dropout;
  if (!d || d.p === 0) return () => 1;
  const t = dropoutThreshold(d.p),
    s = Math.fround(1 / (1 - d.p)),
    seed = d.seed >>> 0,
    offset = d.offset ?? 0;
  return (e) => (dropoutKeep(seed, (offset + e) >>> 0, t) ? s : 0);
}

/** Throws when a buffer is too small for the views p describes (sizes in elements). */
export function checkAttentionSizes(
  p: AttentionParams,
  sizes: { out: number; att: number; q: number; k: number; v: number; keyMask?: number },
): void {
  const { B, T, H, D } = p;
  const C = H * D,
    KV = kvHeads(p) * D;
  const need = (stride: number, offset: number, width: number): number => (B * T - 1) * stride + offset + width;
  const bad: string[] = [];
  if (sizes.out < B * T * C) bad.push(`out ${sizes.out} < ${B * T * C}`);
  if (sizes.att < B * H * T * T) bad.push(`att ${sizes.att} < ${B * H * T * T}`);
  if (sizes.q < need(p.qStride, p.qOffset, C)) bad.push(`q ${sizes.q} < ${need(p.qStride, p.qOffset, C)}`);
  if (sizes.k < need(p.kStride, p.kOffset, KV)) bad.push(`k ${sizes.k} < ${need(p.kStride, p.kOffset, KV)}`);
  if (sizes.v < need(p.vStride, p.vOffset, KV)) bad.push(`v ${sizes.v} < ${need(p.vStride, p.vOffset, KV)}`);
  if (sizes.keyMask !== undefined && sizes.keyMask < B * T) bad.push(`keyMask ${sizes.keyMask} < ${B * T}`);
  if (bad.length) throw new Error(`attention B=${B} T=${T} H=${H} D=${D}: ${bad.join(', ')}`);
}

/**
/**
 * out(B,T,H*D) = dropout(softmax(q k^T * scale + masks)) v per head; att(B,H,T,T) receives the probabilities before
 * dropout, masked ones exactly 0. Query head h reads kv head floor(h / (H / KVH)).
 * A key j is masked when causal and j > i, or when keyMask[b,j] == 0. A query row whose keys are all masked (e.g. a
 * left-padded row 0 under a causal mask) gets att = 0 and out = 0 instead of 0/0 = NaN.
 */
export function attentionRef(
  out: FArr,
  att: FArr,
  q: FArr,
  k: FArr,
  v: FArr,
  keyMask: Int32Array | null,
  p: AttentionParams,
): void {
  const { B, T, H, D, causal } = p;
  const C = H * D;
  const scale = attentionScale(p),
    drop = attentionDropFactor(p);
  checkAttentionSizes(p, {
    out: out.length,
    att: att.length,
    q: q.length,
    k: k.length,
    v: v.length,
    keyMask: keyMask?.length,
  });
  const group = H / kvHeads(p);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const arow = ((b * H + h) * T + i) * T;
        const qi = (b * T + i) * p.qStride + p.qOffset + h * D;
        let m = -Infinity;
        for (let j = 0; j < T; j++) {
          let s = -Infinity;
          if (!(causal && j > i) && keyMask?.[b * T + j] !== 0) {
            const kj = (b * T + j) * p.kStride + p.kOffset + Math.floor(h / group) * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qi + d] * k[kj + d];
            s = dot * scale;
          }
          att[arow + j] = s;
          if (s > m) m = s;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          const s = att[arow + j];
          // Subtracting the row max keeps exp <= 1; a masked key (-inf) contributes exactly 0.
          const e = s === -Infinity ? 0 : Math.exp(s - m);
          att[arow + j] = e;
          sum += e;
        }
        // sum >= 1 whenever a key is unmasked (the max contributes exp(0)); sum == 0 means every key is masked.
        const inv = sum > 0 ? 1 / sum : 0;
        for (let j = 0; j < T; j++) att[arow + j] *= inv;
        const oi = (b * T + i) * C + h * D;
        const vh = p.vOffset + Math.floor(h / group) * D;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += att[arow + j] * drop(arow + j) * v[(b * T + j) * p.vStride + vh + d];
          out[oi + d] = acc;
        }
      }
    }
  }
}

/**
 * Overwrites dq, dk, dv (at the strides and offsets of q, k, v; other channels untouched, so the three may be views of
 * one dqkv buffer) from dout(B,T,H*D) and the forward's att(B,H,T,T). dk and dv of a kv head sum over its query heads.
 */
export function attentionBackwardRef(
  dq: FArr,
  dk: FArr,
  dv: FArr,
  dout: FArr,
  att: FArr,
  q: FArr,
  k: FArr,
  v: FArr,
  p: AttentionParams,
): void {
  const { B, T, H, D } = p;
  const C = H * D;
  const scale = attentionScale(p),
    drop = attentionDropFactor(p);
  checkAttentionSizes(p, { out: dout.length, att: att.length, q: q.length, k: k.length, v: v.length });
  checkAttentionSizes(p, { out: dout.length, att: att.length, q: dq.length, k: dk.length, v: dv.length });
  const KVH = kvHeads(p),
    group = H / KVH;
  const dpre = new Float64Array(T * T);
  const qAt = (b: number, t: number, h: number): number => (b * T + t) * p.qStride + p.qOffset + h * D;
  // k and v are indexed by the query head h and read its kv head.
  const kvh = (h: number): number => Math.floor(h / group) * D;
  const kAt = (b: number, t: number, h: number): number => (b * T + t) * p.kStride + p.kOffset + kvh(h);
  const vAt = (b: number, t: number, h: number): number => (b * T + t) * p.vStride + p.vOffset + kvh(h);
  // dk and dv accumulate over the heads of a group: zero their views first.
  for (let bt = 0; bt < B * T; bt++) {
    dk.fill(0, bt * p.kStride + p.kOffset, bt * p.kStride + p.kOffset + KVH * D);
    dv.fill(0, bt * p.vStride + p.vOffset, bt * p.vStride + p.vOffset + KVH * D);
  }
  const oAt = (b: number, t: number, h: number): number => (b * T + t) * C + h * D;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const a0 = (b * H + h) * T * T;
      // Softmax backward per query row: datt_ij = drop_ij (dout_i . v_j),
      // dpre_ij = att_ij (datt_ij - sum_j' att_ij' datt_ij').
      for (let i = 0; i < T; i++) {
        let r = 0;
        for (let j = 0; j < T; j++) {
          let datt = 0;
          const oi = oAt(b, i, h),
            vj = vAt(b, j, h);
          for (let d = 0; d < D; d++) datt += dout[oi + d] * v[vj + d];
          datt *= drop(a0 + i * T + j);
          dpre[i * T + j] = datt;
          r += datt * att[a0 + i * T + j];
        }
        for (let j = 0; j < T; j++) dpre[i * T + j] = att[a0 + i * T + j] * (dpre[i * T + j] - r);
      }
      for (let t = 0; t < T; t++) {
        const qt = qAt(b, t, h),
          kt = kAt(b, t, h),
          vt = vAt(b, t, h);
        for (let d = 0; d < D; d++) {
          // dv_t = sum_i att_it drop_it dout_i;  dq_t = scale sum_j dpre_tj k_j;  dk_t = scale sum_i dpre_it q_i
          let gv = 0,
            gq = 0,
            gk = 0;
          for (let s = 0; s < T; s++) {
            gv += att[a0 + s * T + t] * drop(a0 + s * T + t) * dout[oAt(b, s, h) + d];
            gq += dpre[t * T + s] * k[kAt(b, s, h) + d];
            gk += dpre[s * T + t] * q[qAt(b, s, h) + d];
          }
          dv[vt + d] += gv;
          dq[qt + d] = scale * gq;
          dk[kt + d] += scale * gk;
        }
      }
    }
  }
}
