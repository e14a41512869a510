// The Llama family (Llama 2/3, SmolLM2, Qwen2/2.5, Qwen3) on the Backend interface, explicit forward and backward.
// Pre-norm blocks: x += o_proj(attention(rope(q), rope(k), v)) with q, k, v = *_proj(rmsnorm(x)) (Qwen3 first RMSNorms
// every q and k head over head_dim), then x += down_proj(silu(gate_proj(h)) * up_proj(h)) with h = rmsnorm(x); a final
// RMSNorm; the causal-LM head is lm_head or, tied, embed_tokens (logits = h W^T either way), the classifier's `score`
// reads the last non-pad token of each row. Grouped-query attention: query head h reads kv head h / (H / KVH).
// RoPE in transformers' rotate_half layout at positions 0..T-1, from a float64 host table uploaded once per model
// (regrown when a longer batch arrives). The causal LM also generates through a KV cache (createCache/prefill/
// decodeStep, src/nn/decoder.ts), a forward separate from the training one: new tokens at positions pos..pos+T-1,
// their keys cached after RoPE (and Qwen3's k norm), KVH heads per cached row. Not here: sliding windows, and dropout
// (attention_dropout is ignored: fine-tuning runs the base model in eval mode; adapters carry their own dropout).

import { type RopeConfig, ropeTable } from '../ops/rope';
import type { AttentionParams, Backend, RopeParams, Tensor } from '../tensor/backend';
import { type CausalDecoder, KvCache } from './decoder';
import { Linear } from './linear';
import { disposeAll, type ParamStore } from './params';

/** What the network needs to know about a checkpoint (src/models/arch/llamaConfig.ts parses it from config.json). */
export interface LlamaArch {
  vocabSize: number;
  /** hidden_size (C). */
  hidden: number;
  /** intermediate_size (F), the SwiGLU width. */
  intermediate: number;
  layers: number;
  /** num_attention_heads (H). */
  heads: number;
  /** num_key_value_heads (KVH); divides heads. */
  kvHeads: number;
  /** head_dim (D); heads * headDim need not equal hidden (Qwen3). */
  headDim: number;
  /** rms_norm_eps, for every RMSNorm (Qwen3's q/k norms too). */
  eps: number;
  maxPositions: number;
  rope: RopeConfig;
  tieWordEmbeddings: boolean;
  /** q_proj, k_proj and v_proj have biases (Qwen2 always; Llama/Qwen3 attention_bias). */
  qkvBias: boolean;
  /** o_proj has a bias (Llama/Qwen3 attention_bias). */
  oBias: boolean;
  /** gate_proj, up_proj and down_proj have biases (Llama mlp_bias). */
  mlpBias: boolean;
  /** Qwen3: RMSNorm over head_dim of every q and k head before RoPE (q_norm, k_norm weights). */
  qkNorm: boolean;
  padTokenId: number | null;
  /** Classes of the sequence-classification head; unused by the causal LM. */
  numLabels: number;
}

/** Module types an adapter can target, after `model.layers.N.` (PEFT's target_modules names). */
export const LLAMA_ADAPTABLE = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;

interface Block {
  inNorm: Tensor;
  postNorm: Tensor;
  qNorm: Tensor | null;
  kNorm: Tensor | null;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  gate: Linear;
  up: Linear;
  down: Linear;
}

/** Activations of one (B,T) shape, allocated once and reused every step. N = B*T, QD = H*D, KD = KVH*D. */
interface BodyWorkspace {
  B: number;
  T: number;
  x0: Tensor;
  tmp: Tensor; // (N,C)
  layers: {
    h1: Tensor;
    rstd1: Tensor; // (N,C), (N)
    q: Tensor;
    k: Tensor;
    v: Tensor; // (N,QD), (N,KD), (N,KD); q and k rotated in place unless qk-normed
    qn: Tensor | null;
    kn: Tensor | null;
    rstdQ: Tensor | null;
    rstdK: Tensor | null; // Qwen3: normed, then rotated
    att: Tensor;
    atty: Tensor; // (B,H,T,T), (N,QD)
    x1: Tensor;
    h2: Tensor;
    rstd2: Tensor;
    gate: Tensor;
    up: Tensor;
    act: Tensor;
    x2: Tensor;
  }[];
  hf: Tensor;
  rstdF: Tensor; // final norm (N,C), (N)
  // gradients of activations
  dx: Tensor;
  dh: Tensor;
  dhf: Tensor;
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  dqRaw: Tensor | null;
  dkRaw: Tensor | null;
  datty: Tensor;
  dact: Tensor;
  dgate: Tensor;
  dup: Tensor;
}

/** The decoder stack shared by the causal LM and the classifier: embeddings -> blocks -> final norm. */
abstract class LlamaBase {
  readonly blocks: Block[] = [];
  readonly embed: Tensor;
  readonly norm: Tensor;
  private bodyWs: BodyWorkspace | null = null;
  private rope: { table: Tensor; positions: number } | null = null;

  constructor(
    readonly be: Backend,
    readonly cfg: LlamaArch,
    readonly params: ParamStore,
  ) {
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D, vocabSize: V } = cfg;
    if (H % KVH !== 0) throw new RangeError(`num_key_value_heads ${KVH} must divide num_attention_heads ${H}`);
    const g = (n: string, s: number[]) => params.get(n, s);
    this.embed = g('model.embed_tokens.weight', [V, C]);
    this.norm = g('model.norm.weight', [C]);
    const lin = (n: string, i: number, o: number, bias: boolean) =>
      new Linear(n, i, o, 'out_in', g(`${n}.weight`, [o, i]), bias ? g(`${n}.bias`, [o]) : null);
    for (let l = 0; l < cfg.layers; l++) {
      const p = `model.layers.${l}.`;
      this.blocks.push({
        inNorm: g(`${p}input_layernorm.weight`, [C]),
        postNorm: g(`${p}post_attention_layernorm.weight`, [C]),
        qNorm: cfg.qkNorm ? g(`${p}self_attn.q_norm.weight`, [D]) : null,
        kNorm: cfg.qkNorm ? g(`${p}self_attn.k_norm.weight`, [D]) : null,
        q: lin(`${p}self_attn.q_proj`, C, H * D, cfg.qkvBias),
        k: lin(`${p}self_attn.k_proj`, C, KVH * D, cfg.qkvBias),
        v: lin(`${p}self_attn.v_proj`, C, KVH * D, cfg.qkvBias),
        o: lin(`${p}self_attn.o_proj`, H * D, C, cfg.oBias),
        gate: lin(`${p}mlp.gate_proj`, C, F, cfg.mlpBias),
        up: lin(`${p}mlp.up_proj`, C, F, cfg.mlpBias),
        down: lin(`${p}mlp.down_proj`, F, C, cfg.mlpBias),
      });
    }
  }

  /** Every linear layer of the decoder by its checkpoint module name (`model.layers.0.self_attn.q_proj`), for adapter
   * injection. The heads (lm_head, score) are not among them. */
  linears(): Linear[] {
    return this.blocks.flatMap((b) => [b.q, b.k, b.v, b.o, b.gate, b.up, b.down]);
  }

  /** Trains the decoder's linear weights and biases too (full fine-tuning): allocates their gradients. */
  enableFullTraining(): void {
    for (const lin of this.linears()) {
      lin.dW = this.params.grad(`${lin.name}.weight`);
      lin.db = lin.b ? this.params.grad(`${lin.name}.bias`) : null;
    }
  }

  /** Allocates gradients for every parameter (embeddings, norms, heads too): the golden-gradient tests use this. */
  enableAllGradients(): void {
    this.enableFullTraining();
    for (const name of this.params.tensors.keys()) this.params.grad(name);
  }

  protected grads(name: string): Tensor | null {
    return this.params.grads.get(name) ?? null;
  }

  /** The cos/sin table for positions 0..T-1, grown (powers of two, capped at max_position_embeddings) when needed. */
  protected ropeTableFor(T: number): Tensor {
    if (this.rope && this.rope.positions >= T) return this.rope.table;
    if (this.rope) this.be.dispose(this.rope.table);
    let positions = 64;
    while (positions < T) positions *= 2;
    positions = Math.min(positions, this.cfg.maxPositions);
    const table = this.be.fromArray(ropeTable(this.cfg.rope, positions), [positions, this.cfg.headDim], 'rope table');
    this.rope = { table, positions };
    return table;
  }

  private workspace(B: number, T: number): BodyWorkspace {
    if (this.bodyWs && this.bodyWs.B === B && this.bodyWs.T === T) return this.bodyWs;
    // Batch shapes change (the last batch of an epoch, padded classification batches): recycle the old activations.
    if (this.bodyWs) disposeAll(this.be, this.bodyWs);
    this.bodyWs = null;
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D, qkNorm } = this.cfg;
    const N = B * T,
      QD = H * D,
      KD = KVH * D;
    const z = (shape: number[], label: string) => this.be.zeros(shape, 'f32', label);
    const zq = (shape: number[], label: string) => (qkNorm ? z(shape, label) : null);
    this.bodyWs = {
      B,
      T,
      x0: z([N, C], 'x0'),
      tmp: z([N, C], 'tmp'),
      layers: this.blocks.map((_, l) => ({
        h1: z([N, C], `h1 ${l}`),
        rstd1: z([N], 'rstd'),
        q: z([N, QD], `q ${l}`),
        k: z([N, KD], `k ${l}`),
        v: z([N, KD], `v ${l}`),
        qn: zq([N, QD], `q normed ${l}`),
        kn: zq([N, KD], `k normed ${l}`),
        rstdQ: zq([N * H], 'rstd q'),
        rstdK: zq([N * KVH], 'rstd k'),
        att: z([B, H, T, T], `att ${l}`),
        atty: z([N, QD], `atty ${l}`),
        x1: z([N, C], `x1 ${l}`),
        h2: z([N, C], `h2 ${l}`),
        rstd2: z([N], 'rstd'),
        gate: z([N, F], `gate ${l}`),
        up: z([N, F], `up ${l}`),
        act: z([N, F], `swiglu ${l}`),
        x2: z([N, C], `x2 ${l}`),
      })),
      hf: z([N, C], 'final norm'),
      rstdF: z([N], 'rstd'),
      dx: z([N, C], 'dx'),
      dh: z([N, C], 'dh'),
      dhf: z([N, C], 'dhf'),
      dq: z([N, QD], 'dq'),
      dk: z([N, KD], 'dk'),
      dv: z([N, KD], 'dv'),
      dqRaw: zq([N, QD], 'dq raw'),
      dkRaw: zq([N, KD], 'dk raw'),
      datty: z([N, QD], 'datty'),
      dact: z([N, F], 'dact'),
      dgate: z([N, F], 'dgate'),
      dup: z([N, F], 'dup'),
    };
    return this.bodyWs;
  }

  private shapes(B: number, T: number): { att: AttentionParams; ropeQ: RopeParams; ropeK: RopeParams } {
    const { heads: H, kvHeads: KVH, headDim: D } = this.cfg;
    return {
      att: {
        B,
        T,
        H,
        D,
        KVH,
        qStride: H * D,
        qOffset: 0,
        kStride: KVH * D,
        kOffset: 0,
        vStride: KVH * D,
        vOffset: 0,
        causal: true,
      },
      ropeQ: { B, T, H, D, stride: H * D, offset: 0 },
      ropeK: { B, T, H: KVH, D, stride: KVH * D, offset: 0 },
    };
  }

  /** The final-norm hidden states (B*T, C) for ids (B*T) i32; keyMask (B*T) i32 (1 = real, 0 = padding) or null.
   * Causal attention; the returned tensor is reused by the next call. */
  protected forwardBody(ids: Tensor, B: number, T: number, keyMask: Tensor | null): Tensor {
    if (T > this.cfg.maxPositions) {
      throw new RangeError(`sequence length ${T} exceeds the model's max_position_embeddings ${this.cfg.maxPositions}`);
    }
    const be = this.be,
      ws = this.workspace(B, T),
      table = this.ropeTableFor(T);
    const { hidden: C, heads: H, kvHeads: KVH, headDim: D, eps } = this.cfg,
      N = B * T;
    const { att: attP, ropeQ, ropeK } = this.shapes(B, T);
    be.embedding(ws.x0, ids, this.embed, N, C);
    let x = ws.x0;
    this.blocks.forEach((blk, l) => {
      const a = ws.layers[l];
      be.rmsnorm(a.h1, a.rstd1, x, blk.inNorm, N, C, eps);
      blk.q.forward(be, a.q, a.h1, N);
      blk.k.forward(be, a.k, a.h1, N);
      blk.v.forward(be, a.v, a.h1, N);
      let q = a.q,
        k = a.k;
      if (blk.qNorm && blk.kNorm) {
        be.rmsnorm(a.qn!, a.rstdQ!, a.q, blk.qNorm, N * H, D, eps);
        be.rmsnorm(a.kn!, a.rstdK!, a.k, blk.kNorm, N * KVH, D, eps);
        q = a.qn!;
        k = a.kn!;
      }
      // In place: the backward needs the rotated q and k (attention's inputs), never the unrotated ones.
      be.rope(q, q, table, ropeQ);
      be.rope(k, k, table, ropeK);
      be.attention(a.atty, a.att, q, k, a.v, keyMask, attP);
      blk.o.forward(be, ws.tmp, a.atty, N);
      be.add(a.x1, x, ws.tmp);
      be.rmsnorm(a.h2, a.rstd2, a.x1, blk.postNorm, N, C, eps);
      blk.gate.forward(be, a.gate, a.h2, N);
      blk.up.forward(be, a.up, a.h2, N);
      be.swiglu(a.act, a.gate, a.up);
      blk.down.forward(be, ws.tmp, a.act, N);
      be.add(a.x2, a.x1, ws.tmp);
      x = a.x2;
    });
    be.rmsnorm(ws.hf, ws.rstdF, x, this.norm, N, C, eps);
    return ws.hf;
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

  /** The buffer the head's backward writes d(final hidden states) into, (B*T, C). */
  protected get dFinal(): Tensor {
    return this.bodyWs!.dhf;
  }

  /** The buffer forwardBody returned. */
  protected get final(): Tensor {
    return this.bodyWs!.hf;
  }

  /** Backward of the stack from dFinal (filled by the head): accumulates every enabled gradient. */
  protected backwardBody(ids: Tensor): void {
    const be = this.be,
      ws = this.bodyWs!,
      { B, T } = ws,
      table = this.rope!.table;
    const { hidden: C, heads: H, kvHeads: KVH, headDim: D, vocabSize: V } = this.cfg,
      N = B * T;
    const { att: attP, ropeQ, ropeK } = this.shapes(B, T);
    const lastX = ws.layers.length ? ws.layers[ws.layers.length - 1].x2 : ws.x0;
    be.rmsnormBackward(ws.dx, this.grads('model.norm.weight'), ws.dhf, lastX, this.norm, ws.rstdF, N, C);
    for (let l = this.blocks.length - 1; l >= 0; l--) {
      const blk = this.blocks[l],
        a = ws.layers[l],
        xIn = l > 0 ? ws.layers[l - 1].x2 : ws.x0;
      const p = `model.layers.${l}.`;
      // x2 = x1 + down(swiglu(gate(h2), up(h2))), h2 = rmsnorm(x1): dx reaches x1 directly and through the MLP.
      blk.down.backward(be, ws.dact, ws.dx, a.act, N);
      be.swigluBackward(ws.dgate, ws.dup, ws.dact, a.gate, a.up);
      blk.gate.backward(be, ws.dh, ws.dgate, a.h2, N);
      blk.up.backward(be, ws.dh, ws.dup, a.h2, N, true);
      be.rmsnormBackward(
        ws.dx,
        this.grads(`${p}post_attention_layernorm.weight`),
        ws.dh,
        a.x1,
        blk.postNorm,
        a.rstd2,
        N,
        C,
        true,
      );
      // x1 = x + o(attention(rope(norm?(q(h1))), rope(norm?(k(h1))), v(h1))), h1 = rmsnorm(x)
      blk.o.backward(be, ws.datty, ws.dx, a.atty, N);
      const qk = blk.qNorm ? [a.qn!, a.kn!] : [a.q, a.k];
      be.attentionBackward(ws.dq, ws.dk, ws.dv, ws.datty, a.att, qk[0], qk[1], a.v, attP);
      be.ropeBackward(ws.dq, ws.dq, table, ropeQ);
      be.ropeBackward(ws.dk, ws.dk, table, ropeK);
      let dq = ws.dq,
        dk = ws.dk;
      if (blk.qNorm && blk.kNorm) {
        be.rmsnormBackward(
          ws.dqRaw!,
          this.grads(`${p}self_attn.q_norm.weight`),
          ws.dq,
          a.q,
          blk.qNorm,
          a.rstdQ!,
          N * H,
          D,
        );
        be.rmsnormBackward(
          ws.dkRaw!,
          this.grads(`${p}self_attn.k_norm.weight`),
          ws.dk,
          a.k,
          blk.kNorm,
          a.rstdK!,
          N * KVH,
          D,
        );
        dq = ws.dqRaw!;
        dk = ws.dkRaw!;
      }
      blk.q.backward(be, ws.dh, dq, a.h1, N);
      blk.k.backward(be, ws.dh, dk, a.h1, N, true);
      blk.v.backward(be, ws.dh, ws.dv, a.h1, N, true);
      be.rmsnormBackward(ws.dx, this.grads(`${p}input_layernorm.weight`), ws.dh, xIn, blk.inNorm, a.rstd1, N, C, true);
    }
    const embedGrad = this.grads('model.embed_tokens.weight');
    if (embedGrad) be.embeddingBackward(embedGrad, ids, ws.dx, N, C, V);
  }
}

/** LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM: the same entry points as Gpt2, generation included. */
export class Llama extends LlamaBase implements CausalDecoder {
  /** lm_head.weight, or embed_tokens when tied: (V, C). */
  readonly lmHead: Tensor;
  private readonly lmHeadName: string;
  private ws: {
    B: number;
    T: number;
    logits: Tensor;
    losses: Tensor;
    valid: Tensor;
    lossSum: Tensor;
    count: Tensor;
    one: Tensor;
    dlogits: Tensor;
  } | null = null;

  constructor(be: Backend, cfg: LlamaArch, params: ParamStore) {
    super(be, cfg, params);
    this.lmHeadName = cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    this.lmHead = params.get(this.lmHeadName, [cfg.vocabSize, cfg.hidden]);
  }

  private headWorkspace(B: number, T: number) {
    if (this.ws && this.ws.B === B && this.ws.T === T) return this.ws;
    if (this.ws) disposeAll(this.be, this.ws);
    const N = B * T,
      V = this.cfg.vocabSize,
      z = (s: number[], label: string) => this.be.zeros(s, 'f32', label);
    this.ws = {
      B,
      T,
      logits: z([N, V], 'logits'),
      losses: z([N], 'losses'),
      valid: z([N], 'valid'),
      lossSum: z([1], 'loss sum'),
      count: z([1], 'count'),
      one: this.be.fromArray(new Float32Array([1]), [1], 'one'),
      dlogits: z([N, V], 'dlogits'),
    };
    return this.ws;
  }

  /** logits (B*T, V) for ids (B*T) i32, causal; keyMask (B*T) i32 hides padding keys (null: none). The returned
   * tensor is reused by the next call. */
  forward(ids: Tensor, B: number, T: number, keyMask: Tensor | null = null): Tensor {
    const hf = this.forwardBody(ids, B, T, keyMask),
      ws = this.headWorkspace(B, T);
    this.be.matmul(ws.logits, hf, this.lmHead, null, {
      M: B * T,
      K: this.cfg.hidden,
      N: this.cfg.vocabSize,
      transB: true,
    });
    return ws.logits;
  }

  /** Cross-entropy of the last forward against targets (B*T) i32; returns (lossSum, count) 1-element tensors. */
  loss(targets: Tensor, ignoreIndex = -100): { lossSum: Tensor; count: Tensor } {
    const be = this.be,
      ws = this.ws!,
      N = ws.B * ws.T;
    be.crossEntropy(ws.losses, ws.valid, ws.logits, targets, N, this.cfg.vocabSize, ignoreIndex);
    be.sum(ws.lossSum, ws.losses);
    be.sum(ws.count, ws.valid);
    return { lossSum: ws.lossSum, count: ws.count };
  }

  /** Backward of mean cross-entropy (after forward + loss): accumulates every enabled gradient. */
  backward(ids: Tensor, targets: Tensor, ignoreIndex = -100): void {
    const be = this.be,
      ws = this.ws!,
      N = ws.B * ws.T,
      { hidden: C, vocabSize: V } = this.cfg;
    be.crossEntropyBackward(ws.dlogits, ws.logits, targets, ws.one, ws.count, N, V, ignoreIndex);
    // logits = hf W^T  =>  dhf = dlogits W; dW += dlogits^T hf (W is embed_tokens when tied: both paths accumulate)
    be.matmul(this.dFinal, ws.dlogits, this.lmHead, null, { M: N, K: V, N: C });
    const headGrad = this.grads(this.lmHeadName);
    if (headGrad) {
      be.matmul(headGrad, ws.dlogits, this.final, null, { M: V, K: N, N: C, transA: true, accumulate: true });
    }
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
    const hf = this.decodeBody(cache, ids, T),
      { hidden: C, vocabSize: V } = this.cfg;
    const logits = cache.scratch('logits', [cache.B, V]);
    this.be.matmul(logits, hf, this.lmHead, null, { M: cache.B, K: C, N: V, transB: true });
    return logits;
  }
}

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
