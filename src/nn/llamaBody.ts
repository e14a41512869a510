// The Llama-family decoder stack (LlamaBase: embeddings -> blocks -> final norm) shared by the causal LM
// (llamaCausal.ts) and the classifier (llamaClassifier.ts), with its explicit training forward and backward.
// Llama 2/3, SmolLM2, Qwen2/2.5, Qwen3 on the Backend interface. Pre-norm blocks: x += o_proj(attention(rope(q),
// rope(k), v)) with q, k, v = *_proj(rmsnorm(x)) (Qwen3 first RMSNorms every q and k head over head_dim), then
// x += down_proj(silu(gate_proj(h)) * up_proj(h)) with h = rmsnorm(x); a final RMSNorm. Grouped-query attention: query
// head h reads kv head h / (H / KVH). RoPE in transformers' rotate_half layout at positions 0..T-1, from a float64 host
// table uploaded once per model (regrown when a longer batch arrives). Not here: sliding windows, and dropout
// (attention_dropout is ignored: fine-tuning runs the base model in eval mode; adapters carry their own dropout).

import { ropeTable } from '../ops/rope';
import type { AttentionParams, Backend, RopeParams, Tensor } from '../tensor/backend';
import { Linear } from './linear';
import type { LlamaArch } from './llamaConfig';
import { disposeAll, type ParamStore } from './params';
import type { Recompute } from './recompute';

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

/** Activations of one (B,T) shape, allocated once and reused every step. N = B*T, QD = H*D, KD = KVH*D. With
 * recompute 'blocks', every block's entry in `layers` shares one set of internal activations; only x2 (its output) is
 * its own. With 'selective', the blocks share one `att` (B x H x T x T), rerun before each attention backward, and
 * h1 and h2 (the RMSNorm outputs, N x C) are one buffer for both norms of every block, each rerun from its kept input
 * and rstd just before the projections that read it. In every mode the blocks share one `act` (swiglu(gate, up),
 * N x F): the backward recomputes it from the block's gate and up just before down_proj's backward, one elementwise
 * pass instead of N x F floats kept per block. */
interface BodyWorkspace {
  B: number;
  T: number;
  recompute: Recompute;
  /** The key mask of the last forward (a recomputed block attends as the forward did). */
  keyMask: Tensor | null;
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
export abstract class LlamaBase {
  readonly blocks: Block[] = [];
  readonly embed: Tensor;
  readonly norm: Tensor;
  private bodyWs: BodyWorkspace | null = null;
  /** Activation recomputation (src/nn/recompute.ts): 'blocks' reruns each block's forward from its saved input before
   * the block's backward; 'selective' reruns its attention and its norms. */
  recompute: Recompute = 'none';
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
    const ws = this.bodyWs;
    if (ws && ws.B === B && ws.T === T && ws.recompute === this.recompute) return ws;
    // Batch shapes change (the last batch of an epoch, padded classification batches): recycle the old activations.
    if (this.bodyWs) disposeAll(this.be, this.bodyWs);
    this.bodyWs = null;
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D, qkNorm } = this.cfg;
    const N = B * T,
      QD = H * D,
      KD = KVH * D;
    const z = (shape: number[], label: string) => this.be.zeros(shape, 'f32', label);
    const zq = (shape: number[], label: string) => (qkNorm ? z(shape, label) : null);
    // With 'selective' every block's att is one tensor, and so are its norm outputs (h1, h2).
    const sel = this.recompute === 'selective';
    const sharedAtt = sel ? z([B, H, T, T], 'att (recomputed in the backward)') : null;
    const hn = sel ? z([N, C], 'rmsnorm out (recomputed in the backward)') : null;
    const internals = (l: number | 'shared') => ({
      h1: hn ?? z([N, C], `h1 ${l}`),
      rstd1: z([N], 'rstd'),
      q: z([N, QD], `q ${l}`),
      k: z([N, KD], `k ${l}`),
      v: z([N, KD], `v ${l}`),
      qn: zq([N, QD], `q normed ${l}`),
      kn: zq([N, KD], `k normed ${l}`),
      rstdQ: zq([N * H], 'rstd q'),
      rstdK: zq([N * KVH], 'rstd k'),
      att: sharedAtt ?? z([B, H, T, T], `att ${l}`),
      atty: z([N, QD], `atty ${l}`),
      x1: z([N, C], `x1 ${l}`),
      h2: hn ?? z([N, C], `h2 ${l}`),
      rstd2: z([N], 'rstd'),
      gate: z([N, F], `gate ${l}`),
      up: z([N, F], `up ${l}`),
    });
    const shared = this.recompute === 'blocks' ? internals('shared') : null;
    // One act for every block in every mode (see BodyWorkspace).
    const act = z([N, F], 'swiglu (recomputed in the backward)');
    this.bodyWs = {
      B,
      T,
      recompute: this.recompute,
      keyMask: null,
      x0: z([N, C], 'x0'),
      tmp: z([N, C], 'tmp'),
      layers: this.blocks.map((_, l) => ({ ...(shared ?? internals(l)), act, x2: z([N, C], `x2 ${l}`) })),
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
      ws = this.workspace(B, T);
    this.ropeTableFor(T);
    const { hidden: C, eps } = this.cfg,
      N = B * T;
    ws.keyMask = keyMask;
    be.embedding(ws.x0, ids, this.embed, N, C);
    let x = ws.x0;
    for (let l = 0; l < this.blocks.length; l++) x = this.blockForward(l, x);
    be.rmsnorm(ws.hf, ws.rstdF, x, this.norm, N, C, eps);
    return ws.hf;
  }

  /** Block l's forward from its input x into the workspace's layer l; returns its output x2. */
  private blockForward(l: number, x: Tensor): Tensor {
    const be = this.be,
      ws = this.bodyWs!,
      { B, T, keyMask } = ws,
      table = this.rope!.table,
      blk = this.blocks[l],
      a = ws.layers[l];
    const { hidden: C, heads: H, kvHeads: KVH, headDim: D, eps } = this.cfg,
      N = B * T;
    const { att: attP, ropeQ, ropeK } = this.shapes(B, T);
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
    return a.x2;
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
    const { hidden: C, heads: H, kvHeads: KVH, headDim: D, vocabSize: V, eps } = this.cfg,
      N = B * T;
    const { att: attP, ropeQ, ropeK } = this.shapes(B, T);
    const lastX = ws.layers.length ? ws.layers[ws.layers.length - 1].x2 : ws.x0;
    be.rmsnormBackward(ws.dx, this.grads('model.norm.weight'), ws.dhf, lastX, this.norm, ws.rstdF, N, C);
    for (let l = this.blocks.length - 1; l >= 0; l--) {
      const blk = this.blocks[l],
        a = ws.layers[l],
        xIn = l > 0 ? ws.layers[l - 1].x2 : ws.x0;
      const p = `model.layers.${l}.`;
      // Recompute: the shared activations hold the last block's forward; rerun every other block's from its input.
      const last = l === this.blocks.length - 1;
      if (ws.recompute === 'blocks' && !last) this.blockForward(l, xIn);
      // x2 = x1 + down(swiglu(gate(h2), up(h2))), h2 = rmsnorm(x1): dx reaches x1 directly and through the MLP.
      // act is shared by the blocks: down's input again (the last block's is still there; recompute reran this one).
      if (ws.recompute !== 'blocks' && !last) be.swiglu(a.act, a.gate, a.up);
      // 'selective': h2 shares one buffer with every norm output, gate's and up's input again (as act above).
      if (ws.recompute === 'selective' && !last) be.rmsnorm(a.h2, a.rstd2, a.x1, blk.postNorm, N, C, eps);
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
      // 'selective': att is shared, this block's probabilities again (atty, o's input, is rewritten unchanged).
      if (ws.recompute === 'selective' && !last) be.attention(a.atty, a.att, qk[0], qk[1], a.v, ws.keyMask, attP);
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
      // 'selective': h1 again (the shared buffer holds this block's h2).
      if (ws.recompute === 'selective') be.rmsnorm(a.h1, a.rstd1, xIn, blk.inNorm, N, C, eps);
      blk.q.backward(be, ws.dh, dq, a.h1, N);
      blk.k.backward(be, ws.dh, dk, a.h1, N, true);
      blk.v.backward(be, ws.dh, ws.dv, a.h1, N, true);
      be.rmsnormBackward(ws.dx, this.grads(`${p}input_layernorm.weight`), ws.dh, xIn, blk.inNorm, a.rstd1, N, C, true);
    }
    const embedGrad = this.grads('model.embed_tokens.weight');
    if (embedGrad) be.embeddingBackward(embedGrad, ids, ws.dx, N, C, V);
  }
}
