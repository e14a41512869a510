// The Llama-family sequence classifier (LlamaClassifier): the `score` head over LlamaBase, reading each row's last
// non-pad token (lastTokenRows), with its cross-entropy training step.

import type { Backend, Tensor } from '../tensor/backend';
import { Linear } from './linear';
import { LlamaBase } from './llamaBody';
import type { LlamaArch } from './llamaConfig';
import { disposeAll, type ParamStore } from './params';

/** One classification batch; ids and mask (B*T) i32. */
export interface DecoderClsBatch {
  ids: Tensor;
  /** 1 = real token, 0 = padding; null when no row is padded. With right padding the causal mask alone hides the pads
   * from every real token, so results do not depend on it; with left padding it is needed. */
  mask: Tensor | null;
  /** Row b*T + t of each sequence's pooled token (B) i32, from lastTokenRows. */
  poolRows: Tensor;
  B: number;
  T: number;
}

/** Row indices b*T + t of the last token of each row that is not padTokenId, as transformers' ForSequenceClassification
 * pools (the last position where input_ids != pad_token_id; position 0 when a row is all padding). */
export function lastTokenRows(ids: ArrayLike<number>, B: number, T: number, padTokenId: number): Int32Array {
  return Int32Array.from({ length: B }, (_, b) => {
    let last = 0;
    for (let t = 0; t < T; t++) if (ids[b * T + t] !== padTokenId) last = t;
    return b * T + last;
  });
}

/** LlamaForSequenceClassification / Qwen2ForSequenceClassification / Qwen3...: the same entry points as
 * BertClassifier. The score head (no bias) is always trained (PEFT's modules_to_save). */
export class LlamaClassifier extends LlamaBase {
  readonly score: Linear;
  private ws: {
    B: number;
    pooled: Tensor;
    logits: Tensor;
    losses: Tensor;
    valid: Tensor;
    lossSum: Tensor;
    count: Tensor;
    one: Tensor;
    dlogits: Tensor;
    dpooled: Tensor;
  } | null = null;

  constructor(be: Backend, cfg: LlamaArch, params: ParamStore) {
    super(be, cfg, params);
    const { hidden: C, numLabels: L } = cfg;
    this.score = new Linear('score', C, L, 'out_in', params.get('score.weight', [L, C]), null);
    this.score.dW = params.grad('score.weight');
  }

  private headWorkspace(B: number) {
    if (this.ws && this.ws.B === B) return this.ws;
    if (this.ws) disposeAll(this.be, this.ws);
    const { hidden: C, numLabels: L } = this.cfg,
      z = (s: number[], label: string) => this.be.zeros(s, 'f32', label);
    this.ws = {
      B,
      pooled: z([B, C], 'pooled'),
      logits: z([B, L], 'logits'),
      losses: z([B], 'losses'),
      valid: z([B], 'valid'),
      lossSum: z([1], 'loss sum'),
      count: z([1], 'count'),
      one: this.be.fromArray(new Float32Array([1]), [1], 'one'),
      dlogits: z([B, L], 'dlogits'),
      dpooled: z([B, C], 'dpooled'),
    };
    return this.ws;
  }

  /** Class logits (B, numLabels). The returned tensor is reused by the next call. */
  forward(batch: DecoderClsBatch): Tensor {
    const { B, T } = batch,
      hf = this.forwardBody(batch.ids, B, T, batch.mask),
      ws = this.headWorkspace(B);
    this.be.embedding(ws.pooled, batch.poolRows, hf, B, this.cfg.hidden);
    this.score.forward(this.be, ws.logits, ws.pooled, B);
    return ws.logits;
  }

  loss(labels: Tensor, ignoreIndex = -100): { lossSum: Tensor; count: Tensor } {
    const be = this.be,
      ws = this.ws!;
    be.crossEntropy(ws.losses, ws.valid, ws.logits, labels, ws.B, this.cfg.numLabels, ignoreIndex);
    be.sum(ws.lossSum, ws.losses);
    be.sum(ws.count, ws.valid);
    return { lossSum: ws.lossSum, count: ws.count };
  }

  backward(batch: DecoderClsBatch, labels: Tensor, ignoreIndex = -100): void {
    const be = this.be,
      ws = this.ws!,
      { B, T } = batch,
      C = this.cfg.hidden;
    be.crossEntropyBackward(ws.dlogits, ws.logits, labels, ws.one, ws.count, B, this.cfg.numLabels, ignoreIndex);
    this.score.backward(be, ws.dpooled, ws.dlogits, ws.pooled, B);
    // Only the pooled token of each row feeds the head: scatter its gradient into an otherwise zero d(hidden).
    be.fill(this.dFinal, 0);
    be.embeddingBackward(this.dFinal, batch.poolRows, ws.dpooled, B, C, B * T);
    this.backwardBody(batch.ids);
  }
}
