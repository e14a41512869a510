// Host-side batch building: padding, attention masks, token types and position ids (RoBERTa's offset included).

import type { BertConfig, EncoderBatch } from '../nn/bert';
import type { Backend } from '../tensor/backend';

export interface HostEncoderBatch {
  B: number;
  T: number;
  ids: Int32Array;
  typeIds: Int32Array;
  posIds: Int32Array;
  mask: Int32Array;
  clsRows: Int32Array;
}

/** Right-pads sequences to T (truncating longer ones, keeping the final [SEP]/</s>). */
export function encoderBatch(
  seqs: { ids: number[]; typeIds: number[] }[],
  cfg: BertConfig,
  T?: number,
): HostEncoderBatch {
  const B = seqs.length;
  const len = T ?? Math.max(...seqs.map((s) => s.ids.length));
  const N = B * len;
  const b: HostEncoderBatch = {
    B,
    T: len,
    ids: new Int32Array(N).fill(cfg.padTokenId),
    typeIds: new Int32Array(N),
    posIds: new Int32Array(N),
    mask: new Int32Array(N),
    clsRows: Int32Array.from({ length: B }, (_, i) => i * len),
  };
  seqs.forEach((s, i) => {
    let ids = s.ids,
      types = s.typeIds;
    if (ids.length > len) {
      ids = [...ids.slice(0, len - 1), ids[ids.length - 1]];
      types = [...types.slice(0, len - 1), types[types.length - 1]];
    }
    for (let t = 0; t < len; t++) {
      const real = t < ids.length;
      b.ids[i * len + t] = real ? ids[t] : cfg.padTokenId;
      b.typeIds[i * len + t] = real ? types[t] : 0;
      b.mask[i * len + t] = real ? 1 : 0;
      // RoBERTa numbers real tokens from padding_idx + 1 and gives padding padding_idx (create_position_ids_from_input_ids).
      b.posIds[i * len + t] = cfg.variant === 'roberta' ? (real ? cfg.padTokenId + 1 + t : cfg.padTokenId) : t;
    }
  });
  return b;
}

export function uploadEncoderBatch(be: Backend, h: HostEncoderBatch): EncoderBatch {
  const N = h.B * h.T;
  return {
    B: h.B,
    T: h.T,
    ids: be.fromArray(h.ids, [N], 'ids'),
    typeIds: be.fromArray(h.typeIds, [N], 'type ids'),
    posIds: be.fromArray(h.posIds, [N], 'position ids'),
    mask: be.fromArray(h.mask, [N], 'mask'),
    clsRows: be.fromArray(h.clsRows, [h.B], 'cls rows'),
  };
}
