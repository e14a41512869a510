// The Llama-family causal LM (Llama): the lm_head (or tied embed_tokens) over LlamaBase, its cross-entropy training
// step, and generation through a KV cache (createCache/prefill/decodeStep, src/nn/decoder.ts), a forward separate
// from the training one: new tokens at positions pos..pos+T-1, their keys cached after RoPE (and Qwen3's k norm), KVH
// heads per cached row.

import type { Backend, RopeParams, Tensor } from '../tensor/backend';
import { type CausalDecoder, KvCache } from './decoder';
import { LlamaBase } from './llamaBody';
import type { LlamaArch } from './llamaConfig';
import { ChunkedLmHead, type LmLossOptions } from './lmHead';
import type { ParamStore } from './params';

/** LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM: the same entry points as Gpt2, generation included. */
export class Llama extends LlamaBase implements CausalDecoder {
  /** lm_head.weight, or embed_tokens when tied: (V, C). */
  readonly lmHead: Tensor;
  private readonly lmHeadName: string;
  /** The LM head and its cross-entropy, in row chunks. */
  readonly head: ChunkedLmHead;
  /** Rows of the last forward, and every position's logits when `forward` asked for them (never in training). */
  private N = 0;
  private fullLogits: Tensor | null = null;
  /** The last loss ran the head's backward (withGrad). */
  private headGradDone = false;
  /** The last loss's gradient divisor (LmLossOptions.gradCount), or null: the rows' own count. */
  private gradCount: Tensor | null = null;

  constructor(be: Backend, cfg: LlamaArch, params: ParamStore) {
    super(be, cfg, params);
    this.lmHeadName = cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    this.lmHead = params.get(this.lmHeadName, [cfg.vocabSize, cfg.hidden]);
    this.head = new ChunkedLmHead(be, cfg.vocabSize, cfg.hidden);
  }

  /** logits (B*T, V) for ids (B*T) i32, causal; keyMask (B*T) i32 hides padding keys (null: none): every position's
   * (inference, tests; training uses forwardHidden and the chunked loss). The returned tensor is reused by the next
   * call. */
  forward(ids: Tensor, B: number, T: number, keyMask: Tensor | null = null): Tensor {
    this.forwardHidden(ids, B, T, keyMask);
    const N = B * T;
    if (this.fullLogits && this.fullLogits.shape[0] !== N) {
      this.be.dispose(this.fullLogits);
      this.fullLogits = null;
    }
    this.fullLogits ??= this.be.zeros([N, this.cfg.vocabSize], 'f32', 'logits');
    this.head.logits(this.fullLogits, this.final, this.lmHead, N);
    return this.fullLogits;
  }

  /** The forward up to the final norm (what the loss and the backward need). */
  forwardHidden(ids: Tensor, B: number, T: number, keyMask: Tensor | null = null): void {
    this.forwardBody(ids, B, T, keyMask);
    this.N = B * T;
    this.headGradDone = false;
  }

  /** Cross-entropy of the last forward against targets (B*T) i32, the head in row chunks; returns (lossSum, count)
   * 1-element tensors. */
  loss(targets: Tensor, opts: LmLossOptions = {}): { lossSum: Tensor; count: Tensor } {
    this.gradCount = opts.gradCount ?? null;
    const r = this.headLoss(targets, opts.ignoreIndex ?? -100, opts.withGrad ?? false);
    this.headGradDone = opts.withGrad ?? false;
    return r;
  }

  /** logits = hf Wᵀ  =>  dhf = dlogits W; dW += dlogitsᵀ hf (W is embed_tokens when tied: both paths accumulate). */
  private headLoss(targets: Tensor, ignoreIndex: number, withGrad: boolean) {
    return this.head.loss({
      hidden: this.final,
      W: this.lmHead,
      targets,
      N: this.N,
      ignoreIndex,
      grads: withGrad ? { dHidden: this.dFinal, dW: this.grads(this.lmHeadName) } : undefined,
      gradCount: this.gradCount ?? undefined,
    });
  }

  /** Backward of mean cross-entropy (after forward + loss): accumulates every enabled gradient. */
  backward(ids: Tensor, targets: Tensor, ignoreIndex = -100): void {
    if (!this.headGradDone) this.headLoss(targets, ignoreIndex, true);
    this.headGradDone = false;
    this.backwardBody(ids);
  }

  // ---------------------------------------------------------------- KV-cache decoding (inference, eval mode)

  get vocabSize(): number {
    return this.cfg.vocabSize;
  }

  get maxPositions(): number {
    return this.cfg.maxPositions;
  }

  createCache(B: number, Tmax: number): KvCache {
    return this.createKvCache(B, Tmax);
  }

  prefill(cache: KvCache, ids: Int32Array, T: number): Tensor {
    return this.decode(cache, ids, T);
  }

  decodeStep(cache: KvCache, ids: Int32Array): Tensor {
    return this.decode(cache, ids, 1);
  }

  /** Logits (B, V) of each row's last new token (a cache scratch tensor). */
  private decode(cache: KvCache, ids: Int32Array, T: number): Tensor {
    const hf = this.decodeBody(cache, ids, T);
    const logits = cache.scratch('logits', [cache.B, this.cfg.vocabSize]);
    this.head.logits(logits, hf, this.lmHead, cache.B);
    return logits;
  }

  /** A KV cache for B rows of up to Tmax positions (at most max_position_embeddings), with the RoPE table grown to
   * Tmax now so that decoding never reallocates it. */
  protected createKvCache(B: number, Tmax: number): KvCache {
    const { layers, kvHeads: KVH, headDim: D, maxPositions } = this.cfg;
    if (Tmax > maxPositions) {
      throw new RangeError(`KV cache of ${Tmax} positions exceeds the model's max_position_embeddings ${maxPositions}`);
    }
    const cache = new KvCache(this.be, { layers, KVH, D }, B, Tmax);
    this.ropeTableFor(Tmax);
    return cache;
  }

  /** The eval-mode forward of T new tokens per row (ids (B*T) host ids) at positions cache.length..+T-1 through the
   * cache: writes their rotated keys and their values into it, advances cache.length and returns the final-norm
   * hidden states (B, C) of each row's last new token (a cache scratch tensor). */
  protected decodeBody(cache: KvCache, ids: Int32Array, T: number): Tensor {
    const be = this.be,
      { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D, eps } = this.cfg;
    const B = cache.B,
      N = B * T,
      QD = H * D,
      KD = KVH * D,
      Tmax = cache.Tmax;
    if (cache.layout.layers !== this.blocks.length || cache.layout.KVH !== KVH || cache.layout.D !== D) {
      throw new RangeError('decode: the KV cache was not created by this model (createCache)');
    }
    const pos = cache.reserve(T);
    if (ids.length !== N) throw new RangeError(`decode: ${ids.length} token ids for B=${B} rows of T=${T}`);
    const table = this.ropeTableFor(pos + T);
    const s = (name: string, shape: number[]) => cache.scratch(name, shape);
    const idsT = cache.scratch('ids', [N], 'i32');
    be.write(idsT, ids);
    const h = s('h', [N, C]),
      rstd = s('rstd', [N]),
      tmp = s('tmp', [N, C]);
    const q = s('q', [N, QD]),
      k = s('k', [N, KD]),
      v = s('v', [N, KD]),
      atty = s('atty', [N, QD]);
    const gate = s('gate', [N, F]),
      up = s('up', [N, F]),
      act = s('swiglu', [N, F]);
    // Qwen3 normalizes q and k per head into separate buffers (an op's output may not be its input), then rotates.
    const qkNorm = this.cfg.qkNorm;
    const qn = qkNorm ? s('q normed', [N, QD]) : q,
      kn = qkNorm ? s('k normed', [N, KD]) : k;
    const rstdQ = qkNorm ? s('rstd q', [N * H]) : null,
      rstdK = qkNorm ? s('rstd k', [N * KVH]) : null;
    // The residual stream alternates between two buffers.
    const x = s('x a', [N, C]),
      y = s('x b', [N, C]);
    const ropeQ: RopeParams = { B, T, H, D, stride: QD, offset: 0, posOffset: pos };
    const ropeK: RopeParams = { B, T, H: KVH, D, stride: KD, offset: 0, posOffset: pos };
    const kvw = { B, Tq: T, pos, Tmax, width: KD, srcStride: KD, srcOffset: 0 };
    be.embedding(x, idsT, this.embed, N, C);
    this.blocks.forEach((blk, l) => {
      be.rmsnorm(h, rstd, x, blk.inNorm, N, C, eps);
      blk.q.forward(be, q, h, N);
      blk.k.forward(be, k, h, N);
      blk.v.forward(be, v, h, N);
      if (blk.qNorm && blk.kNorm) {
        be.rmsnorm(qn, rstdQ!, q, blk.qNorm, N * H, D, eps);
        be.rmsnorm(kn, rstdK!, k, blk.kNorm, N * KVH, D, eps);
      }
      be.rope(qn, qn, table, ropeQ);
      be.rope(kn, kn, table, ropeK);
      be.kvCacheWrite(cache.k[l], kn, kvw);
      be.kvCacheWrite(cache.v[l], v, kvw);
      be.attentionDecode(atty, qn, cache.k[l], cache.v[l], { B, Tq: T, pos, Tmax, H, D, KVH, qStride: QD, qOffset: 0 });
      blk.o.forward(be, tmp, atty, N);
      be.add(y, x, tmp);
      be.rmsnorm(h, rstd, y, blk.postNorm, N, C, eps);
      blk.gate.forward(be, gate, h, N);
      blk.up.forward(be, up, h, N);
      be.swiglu(act, gate, up);
      blk.down.forward(be, tmp, act, N);
      be.add(x, y, tmp);
    });
    // Only each row's last token needs the head.
    let last = x;
    if (T > 1) {
      last = s('last', [B, C]);
      for (let b = 0; b < B; b++) be.copy(last, x, C, (b * T + T - 1) * C, b * C);
    }
    const hf = s('final norm', [B, C]),
      rstdF = s('rstd final', [B]);
    be.rmsnorm(hf, rstdF, last, this.norm, B, C, eps);
    cache.length = pos + T;
    return hf;
  }
}
