// KV-cache decoding, CPU reference: attention of Tq new queries over a per-layer key/value cache (B, Tmax, KVH*D), and
// the write of new key/value rows into that cache. Inference only: there is no backward.

import type { AttentionDecodeParams, KvWriteParams } from '../tensor/backend';
import type { FArr } from './types';

/** Key/value heads of p (H unless given). Throws unless KVH divides H. */
export function decodeKvHeads(p: AttentionDecodeParams): number {
  const KVH = p.KVH ?? p.H;
  if (!Number.isInteger(KVH) || KVH < 1 || p.H % KVH !== 0) {
    throw new RangeError(`attentionDecode: KVH (key/value heads) ${KVH} must be a positive divisor of H ${p.H}`);
  }
  return KVH;
}

/** Throws when the new positions run past the cache or a buffer is too small for the views p describes. */
export function checkAttentionDecode(
  p: AttentionDecodeParams,
  sizes: { out: number; q: number; k: number; v: number },
): void {
  const { B, Tq, pos, Tmax, H, D } = p;
  const KV = decodeKvHeads(p) * D,
    C = H * D;
  if (!(Tq >= 1 && pos >= 0 && pos + Tq <= Tmax)) {
    throw new RangeError(`attentionDecode: positions ${pos}..${pos + Tq - 1} do not fit a cache of ${Tmax} positions`);
  }
  const bad: string[] = [];
  if (sizes.out < B * Tq * C) bad.push(`out ${sizes.out} < ${B * Tq * C}`);
  const qNeed = (B * Tq - 1) * p.qStride + p.qOffset + C;
  if (sizes.q < qNeed) bad.push(`q ${sizes.q} < ${qNeed}`);
  if (sizes.k < B * Tmax * KV) bad.push(`kCache ${sizes.k} < ${B * Tmax * KV}`);
  if (sizes.v < B * Tmax * KV) bad.push(`vCache ${sizes.v} < ${B * Tmax * KV}`);
  if (bad.length) throw new Error(`attentionDecode B=${B} Tq=${Tq} Tmax=${Tmax} H=${H} D=${D}: ${bad.join(', ')}`);
}

/** Throws when the rows written run past the cache or either buffer is too small. */
export function checkKvWrite(p: KvWriteParams, sizes: { cache: number; src: number }): void {
  const { B, Tq, pos, Tmax, width } = p;
  if (!(Tq >= 1 && pos >= 0 && pos + Tq <= Tmax)) {
    throw new RangeError(`kvCacheWrite: positions ${pos}..${pos + Tq - 1} do not fit a cache of ${Tmax} positions`);
  }
  const srcNeed = (B * Tq - 1) * p.srcStride + p.srcOffset + width;
  if (sizes.cache < B * Tmax * width || sizes.src < srcNeed) {
    throw new Error(
      `kvCacheWrite B=${B} Tq=${Tq} Tmax=${Tmax} width=${width}: cache ${sizes.cache} (needs ` +
        `${B * Tmax * width}), src ${sizes.src} (needs ${srcNeed})`,
    );
  }
}

/**
 * out(B,Tq,H*D): query t of row b (position pos+t) attends to cached keys 0..pos+t of its kv head with a stable
 * softmax (sums in float64). Equals rows pos..pos+Tq-1 of causal attentionRef over the whole sequence.
 */
export function attentionDecodeRef(out: FArr, q: FArr, kCache: FArr, vCache: FArr, p: AttentionDecodeParams): void {
  checkAttentionDecode(p, { out: out.length, q: q.length, k: kCache.length, v: vCache.length });
  const { B, Tq, pos, Tmax, H, D } = p;
  const KVH = decodeKvHeads(p),
    group = H / KVH,
    KV = KVH * D,
    C = H * D;
  const scale = p.scale ?? 1 / Math.sqrt(D);
  const w = new Float64Array(Tmax),
    acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvo = Math.floor(h / group) * D;
      for (let t = 0; t < Tq; t++) {
        const qi = (b * Tq + t) * p.qStride + p.qOffset + h * D,
          jend = pos + t + 1;
        let m = -Infinity;
        for (let j = 0; j < jend; j++) {
          const kj = (b * Tmax + j) * KV + kvo;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qi + d] * kCache[kj + d];
          w[j] = dot * scale;
          if (w[j] > m) m = w[j];
        }
        let sum = 0;
        for (let j = 0; j < jend; j++) sum += w[j] = Math.exp(w[j] - m);
        acc.fill(0);
        for (let j = 0; j < jend; j++) {
          const vj = (b * Tmax + j) * KV + kvo;
          for (let d = 0; d < D; d++) acc[d] += w[j] * vCache[vj + d];
        }
        const oi = (b * Tq + t) * C + h * D;
        for (let d = 0; d < D; d++) out[oi + d] = acc[d] / sum;
      }
    }
  }
}

/** cache[b, pos + t, :] = the t-th new row of src (see KvWriteParams); other cache rows untouched. */
export function kvWriteRef(cache: FArr, src: FArr, p: KvWriteParams): void {
  checkKvWrite(p, { cache: cache.length, src: src.length });
  const { B, Tq, pos, Tmax, width } = p;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tq; t++) {
      const s = (b * Tq + t) * p.srcStride + p.srcOffset,
        c = (b * Tmax + pos + t) * width;
      for (let i = 0; i < width; i++) cache[c + i] = src[s + i];
    }
  }
}
