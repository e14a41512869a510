// KV-cache decoding reference: prefill + one-token decode steps through the cache reproduce causal full attention
// (attentionRef) over the whole sequence, with grouped-query heads and a fused qkv layout; the cache write puts rows at
// the right positions and leaves the rest alone; bad positions and sizes are refused.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { attentionRef } from './attention';
import { attentionDecodeRef, kvWriteRef } from './attentionDecode';

/** Runs the sequence (B,T) through the cache in chunks of `chunks` new positions; returns out (B,T,H*D). */
function viaCache(
  qkv: Float64Array,
  B: number,
  T: number,
  H: number,
  KVH: number,
  D: number,
  Tmax: number,
  chunks: number[],
): Float64Array {
  const C = H * D,
    KV = KVH * D,
    W = C + 2 * KV;
  const kc = new Float64Array(B * Tmax * KV),
    vc = new Float64Array(B * Tmax * KV),
    out = new Float64Array(B * T * C);
  let pos = 0;
  for (const Tq of chunks) {
    // The chunk's rows of the fused (B,T,W) buffer, as a (B,Tq,W) buffer the model would have computed.
    const part = new Float64Array(B * Tq * W),
      o = new Float64Array(B * Tq * C);
    for (let b = 0; b < B; b++) part.set(qkv.subarray((b * T + pos) * W, (b * T + pos + Tq) * W), b * Tq * W);
    const w = { B, Tq, pos, Tmax, width: KV, srcStride: W };
    kvWriteRef(kc, part, { ...w, srcOffset: C });
    kvWriteRef(vc, part, { ...w, srcOffset: C + KV });
    attentionDecodeRef(o, part, kc, vc, { B, Tq, pos, Tmax, H, KVH, D, qStride: W, qOffset: 0 });
    for (let b = 0; b < B; b++) out.set(o.subarray(b * Tq * C, (b + 1) * Tq * C), (b * T + pos) * C);
    pos += Tq;
  }
  return out;
}

describe('attentionDecodeRef', () => {
  it.each([
    ['MHA 2x7, 3 heads of 5, prefill 4 then 3 steps', 2, 7, 3, 3, 5, 9, [4, 1, 1, 1]],
    ['GQA 2x6, 4 query heads over 2 kv heads of 3, all steps', 2, 6, 4, 2, 3, 6, [1, 1, 1, 1, 1, 1]],
    ['MQA 1x5, 6 heads over 1 kv head of 4, prefill whole', 1, 5, 6, 1, 4, 8, [5]],
  ])('%s equals causal full attention', (_n, B, T, H, KVH, D, Tmax, chunks) => {
    const C = H * D,
      KV = KVH * D,
      W = C + 2 * KV;
    const qkv = randF64(B * T * W, 11, -2, 2);
    const full = new Float64Array(B * T * C),
      att = new Float64Array(B * H * T * T);
    attentionRef(full, att, qkv, qkv, qkv, null, {
      B,
      T,
      H,
      KVH,
      D,
      qStride: W,
      qOffset: 0,
      kStride: W,
      kOffset: C,
      vStride: W,
      vOffset: C + KV,
      causal: true,
    });
    expectClose(viaCache(qkv, B, T, H, KVH, D, Tmax, chunks), full, 1e-12, 1e-12, 'decode vs full');
  });

  it('kvWriteRef writes rows pos..pos+Tq-1 of each batch row and nothing else', () => {
    const cache = new Float64Array(2 * 4 * 2).fill(-1);
    const src = Float64Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
    kvWriteRef(cache, src, { B: 2, Tq: 2, pos: 1, Tmax: 4, width: 2, srcStride: 3, srcOffset: 1 });
    expect(Array.from(cache)).toEqual([-1, -1, 1, 2, 4, 5, -1, -1, -1, -1, 7, 8, 10, 11, -1, -1]);
  });

  it('refuses positions past the cache and a KVH that does not divide H', () => {
    const z = new Float64Array(64);
    expect(() =>
      attentionDecodeRef(z, z, z, z, { B: 1, Tq: 2, pos: 3, Tmax: 4, H: 1, D: 2, qStride: 2, qOffset: 0 }),
    ).toThrow(/positions 3..4 do not fit a cache of 4/);
    expect(() =>
      attentionDecodeRef(z, z, z, z, { B: 1, Tq: 1, pos: 0, Tmax: 4, H: 3, KVH: 2, D: 2, qStride: 6, qOffset: 0 }),
    ).toThrow(/KVH/);
    expect(() => kvWriteRef(z, z, { B: 1, Tq: 1, pos: 4, Tmax: 4, width: 2, srcStride: 2, srcOffset: 0 })).toThrow(
      /do not fit/,
    );
  });
});
