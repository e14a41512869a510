// BERT / RoBERTa encoders with their sequence-classification heads, explicit forward and backward.
// Post-LN blocks, erf GELU, padding masks, token types; RoBERTa's position offset is applied where position ids are
// built (src/models). Heads: BERT pooler (frozen, part of the backbone) + `classifier`; RoBERTa `classifier.dense` +
// `classifier.out_proj`. Dropout as transformers' train mode when dropoutSeed is set (hidden_dropout_prob after the
// embeddings and on each sublayer's output before its residual LayerNorm, attention_probs_dropout_prob on the
// probabilities, classifier_dropout before the classifier, and for RoBERTa also before classifier.dense); eval mode
// (null, the default) has none.

import type { Backend, Tensor } from '../tensor/backend';
import { type DropoutMode, type SiteDropout, siteDropout } from './dropout';
import { Linear } from './linear';
import { disposeAll, type ParamStore } from './params';
import type { Recompute } from './recompute';

export interface BertConfig {
  variant: 'bert' | 'roberta';
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocab: number;
  eps: number;
  numLabels: number;
  padTokenId: number;
  /** hidden_dropout_prob, attention_probs_dropout_prob, classifier_dropout (train mode only); absent: none. */
  dropout?: { hidden: number; attn: number; classifier: number };
}

interface Layer {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  inter: Linear;
  out: Linear;
  ln1w: Tensor;
  ln1b: Tensor;
  ln2w: Tensor;
  ln2b: Tensor;
}

/** The tensors of one encoder input batch; all (B*T) i32. */
export interface EncoderBatch {
  ids: Tensor;
  typeIds: Tensor;
  posIds: Tensor;
  mask: Tensor;
  /** Row index b*T of each sequence's first token (B) i32. */
  clsRows: Tensor;
  B: number;
  T: number;
}

type Drop = SiteDropout | null;

export class BertClassifier implements DropoutMode {
  readonly layers: Layer[] = [];
  /** Train mode with this step's seed (dropout on), or null: eval mode. */
  dropoutSeed: number | null = null;
  dropoutFirstRow = 0;
  /** Activation recomputation (src/nn/recompute.ts): with 'blocks' the layers share one set of internal activations
   * (only each layer's output x2 is its own) and the backward reruns each layer's forward from its input before the
   * layer's backward; with 'selective' they share one `att`, rerun before each attention backward (the norm outputs
   * of these post-norm layers are the residual stream, kept in every mode). */
  recompute: Recompute = 'none';
  readonly head: { dense: Linear; out: Linear };
  private readonly emb: { word: Tensor; pos: Tensor; type: Tensor; lnw: Tensor; lnb: Tensor };
  private ws: ReturnType<BertClassifier['alloc']> | null = null;

  constructor(
    readonly be: Backend,
    readonly cfg: BertConfig,
    readonly params: ParamStore,
  ) {
    const { hidden: C, intermediate: F, numLabels: L } = cfg;
    const g = (n: string, s: number[]) => params.get(n, s);
    this.emb = {
      word: g('embeddings.word_embeddings.weight', [cfg.vocabSize, C]),
      pos: g('embeddings.position_embeddings.weight', [cfg.maxPositions, C]),
      type: g('embeddings.token_type_embeddings.weight', [cfg.typeVocab, C]),
      lnw: g('embeddings.LayerNorm.weight', [C]),
      lnb: g('embeddings.LayerNorm.bias', [C]),
    };
    const lin = (n: string, i: number, o: number) =>
      new Linear(n, i, o, 'out_in', g(`${n}.weight`, [o, i]), g(`${n}.bias`, [o]));
    for (let l = 0; l < cfg.layers; l++) {
      const p = `encoder.layer.${l}.`;
      this.layers.push({
        q: lin(`${p}attention.self.query`, C, C),
        k: lin(`${p}attention.self.key`, C, C),
        v: lin(`${p}attention.self.value`, C, C),
        o: lin(`${p}attention.output.dense`, C, C),
        inter: lin(`${p}intermediate.dense`, C, F),
        out: lin(`${p}output.dense`, F, C),
        ln1w: g(`${p}attention.output.LayerNorm.weight`, [C]),
        ln1b: g(`${p}attention.output.LayerNorm.bias`, [C]),
        ln2w: g(`${p}output.LayerNorm.weight`, [C]),
        ln2b: g(`${p}output.LayerNorm.bias`, [C]),
      });
    }
    this.head =
      cfg.variant === 'bert'
        ? { dense: lin('pooler.dense', C, C), out: lin('classifier', C, L) }
        : { dense: lin('classifier.dense', C, C), out: lin('classifier.out_proj', C, L) };
    // The classification head is always trained (PEFT's modules_to_save); BERT's pooler belongs to the backbone.
    for (const h of cfg.variant === 'bert' ? [this.head.out] : [this.head.dense, this.head.out]) {
      h.dW = params.grad(`${h.name}.weight`);
      h.db = params.grad(`${h.name}.bias`);
    }
  }

  /** Every adaptable linear layer of the encoder, named as in the checkpoint (`encoder.layer.0.attention.self.query`). */
  linears(): Linear[] {
    return this.layers.flatMap((l) => [l.q, l.k, l.v, l.o, l.inter, l.out]);
  }

  enableFullTraining(): void {
    for (const lin of [...this.linears(), this.head.dense]) {
      lin.dW = this.params.grad(`${lin.name}.weight`);
      lin.db = this.params.grad(`${lin.name}.bias`);
    }
  }

  enableAllGradients(): void {
    this.enableFullTraining();
    for (const name of this.params.tensors.keys()) this.params.grad(name);
  }

  private alloc(B: number, T: number) {
    const { hidden: C, intermediate: F, heads: H, numLabels: L } = this.cfg,
      N = B * T;
    const z = (s: number[], label: string) => this.be.zeros(s, 'f32', label);
    // With 'selective' every block's att is one tensor.
    const sharedAtt = this.recompute === 'selective' ? z([B, H, T, T], 'att (recomputed in the backward)') : null;
    const internals = (l: number | 'shared') => ({
      q: z([N, C], `q ${l}`),
      k: z([N, C], `k ${l}`),
      v: z([N, C], `v ${l}`),
      att: sharedAtt ?? z([B, H, T, T], `att ${l}`),
      ctx: z([N, C], `ctx ${l}`),
      ao: z([N, C], `ao ${l}`),
      r1: z([N, C], `r1 ${l}`),
      x1: z([N, C], `x1 ${l}`),
      m1: z([N], 'mean'),
      s1: z([N], 'rstd'),
      inter: z([N, F], `inter ${l}`),
      o: z([N, C], `o ${l}`),
      r2: z([N, C], `r2 ${l}`),
      m2: z([N], 'mean'),
      s2: z([N], 'rstd'),
    });
    const shared = this.recompute === 'blocks' ? internals('shared') : null;
    // One gelu(inter) for every layer in every mode: the backward recomputes it from the layer's inter just before the
    // output dense's backward, one elementwise pass instead of N x F floats kept per layer.
    const g = z([N, F], 'gelu (recomputed in the backward)');
    return {
      B,
      T,
      recompute: this.recompute,
      e1: z([N, C], 'word emb'),
      e2: z([N, C], 'pos emb'),
      e3: z([N, C], 'type emb'),
      e12: z([N, C], 'emb sum'),
      eSum: z([N, C], 'emb sum'),
      x0: z([N, C], 'x0'),
      eMean: z([N], 'mean'),
      eRstd: z([N], 'rstd'),
      e0: z([N, C], 'emb ln'),
      dropped: z([N, C], 'dropout out'),
      dsub: z([N, C], 'd sublayer'),
      clsD: z([B, C], 'cls dropout'),
      pooledD: z([B, C], 'pooled dropout'),
      dclsD: z([B, C], 'd cls dropout'),
      dpooledD: z([B, C], 'd pooled dropout'),
      ls: this.layers.map((_, l) => ({ ...(shared ?? internals(l)), g, x2: z([N, C], `x2 ${l}`) })),
      cls: z([B, C], 'cls'),
      pre: z([B, C], 'pooler pre'),
      pooled: z([B, C], 'pooled'),
      logits: z([B, L], 'logits'),
      losses: z([B], 'losses'),
      valid: z([B], 'valid'),
      lossSum: z([1], 'loss sum'),
      count: z([1], 'count'),
      one: this.be.fromArray(new Float32Array([1]), [1], 'one'),
      dlogits: z([B, L], 'dlogits'),
      dpooled: z([B, C], 'dpooled'),
      dpre: z([B, C], 'dpre'),
      dcls: z([B, C], 'dcls'),
      dx: z([N, C], 'dx'),
      dr: z([N, C], 'dr'),
      dg: z([N, F], 'dg'),
      dinter: z([N, F], 'dinter'),
      dctx: z([N, C], 'dctx'),
      dq: z([N, C], 'dq'),
      dk: z([N, C], 'dk'),
      dv: z([N, C], 'dv'),
    };
  }

  private attP(B: number, T: number, l: number) {
    const { hidden: C, heads: H } = this.cfg;
    return {
      B,
      T,
      H,
      D: C / H,
      qStride: C,
      qOffset: 0,
      kStride: C,
      kOffset: 0,
      vStride: C,
      vOffset: 0,
      causal: false,
      dropout: this.drop('attn', 1 + 3 * l) ?? undefined,
    };
  }

  /** Dropout (p, seed) of a site in the current mode: site 0 the embeddings; 1 + 3l, 2 + 3l, 3 + 3l layer l's
   * attention probabilities, attention output and FFN output; 1000 the classifier input, 1001 RoBERTa's dense input. */
  private drop(kind: 'hidden' | 'attn' | 'classifier', site: number): Drop {
    const T = this.ws!.T,
      { hidden: C, heads: H } = this.cfg;
    const perRow = kind === 'attn' ? H * T * T : kind === 'classifier' ? C : T * C;
    return siteDropout(this, this.cfg.dropout?.[kind], site, perRow);
  }

  /** d(input of a dropout site) from d(its output), into `into` (overwritten); without dropout, dout itself. */
  private dropGrad(into: Tensor, dout: Tensor, d: Drop): Tensor {
    if (!d) return dout;
    this.be.fill(into, 0);
    this.be.dropoutBackward(into, dout, d.p, d.seed, d.offset);
    return into;
  }

  /** Class logits (B, numLabels). The returned tensor is reused by the next call. */
  forward(batch: EncoderBatch): Tensor {
    const { B, T } = batch,
      be = this.be,
      { hidden: C, eps } = this.cfg,
      N = B * T;
    if (!this.ws || this.ws.B !== B || this.ws.T !== T || this.ws.recompute !== this.recompute) {
      // Classification batches are padded to their longest sequence, so shapes vary: recycle the old activations.
      if (this.ws) disposeAll(this.be, this.ws);
      this.ws = this.alloc(B, T);
    }
    const ws = this.ws;
    const dropped = (buf: Tensor, y: Tensor, d: Drop) => this.dropped(buf, y, d);
    be.embedding(ws.e1, batch.ids, this.emb.word, N, C);
    be.embedding(ws.e2, batch.posIds, this.emb.pos, N, C);
    be.embedding(ws.e3, batch.typeIds, this.emb.type, N, C);
    be.add(ws.e12, ws.e1, ws.e2);
    be.add(ws.eSum, ws.e12, ws.e3);
    const de = this.drop('hidden', 0);
    be.layernorm(de ? ws.e0 : ws.x0, ws.eMean, ws.eRstd, ws.eSum, this.emb.lnw, this.emb.lnb, N, C, eps);
    if (de) be.dropout(ws.x0, ws.e0, de.p, de.seed, de.offset);
    let x = ws.x0;
    for (let l = 0; l < this.layers.length; l++) x = this.layerForward(l, x, batch.mask);
    be.embedding(ws.cls, batch.clsRows, x, B, C);
    this.head.dense.forward(be, ws.pre, dropped(ws.clsD, ws.cls, this.clsDrop()), B);
    be.tanh(ws.pooled, ws.pre);
    this.head.out.forward(be, ws.logits, dropped(ws.pooledD, ws.pooled, this.drop('classifier', 1000)), B);
    return ws.logits;
  }

  /** dropout(y) into `buf` when the site drops, else y itself. */
  private dropped(buf: Tensor, y: Tensor, d: Drop): Tensor {
    if (!d) return y;
    this.be.dropout(buf, y, d.p, d.seed, d.offset);
    return buf;
  }

  /** Layer l's forward from its input x into the workspace's layer l; returns its output x2. */
  private layerForward(l: number, x: Tensor, mask: Tensor): Tensor {
    const be = this.be,
      ws = this.ws!,
      { B, T } = ws,
      { hidden: C, eps } = this.cfg,
      N = B * T,
      ly = this.layers[l],
      a = ws.ls[l];
    ly.q.forward(be, a.q, x, N);
    ly.k.forward(be, a.k, x, N);
    ly.v.forward(be, a.v, x, N);
    be.attention(a.ctx, a.att, a.q, a.k, a.v, mask, this.attP(B, T, l));
    ly.o.forward(be, a.ao, a.ctx, N);
    be.add(a.r1, x, this.dropped(ws.dropped, a.ao, this.drop('hidden', 2 + 3 * l)));
    be.layernorm(a.x1, a.m1, a.s1, a.r1, ly.ln1w, ly.ln1b, N, C, eps);
    ly.inter.forward(be, a.inter, a.x1, N);
    be.gelu(a.g, a.inter, 'erf');
    ly.out.forward(be, a.o, a.g, N);
    be.add(a.r2, a.x1, this.dropped(ws.dropped, a.o, this.drop('hidden', 3 + 3 * l)));
    be.layernorm(a.x2, a.m2, a.s2, a.r2, ly.ln2w, ly.ln2b, N, C, eps);
    return a.x2;
  }

  /** RoBERTa's head drops its input before classifier.dense too; BERT's pooler has no dropout. */
  private clsDrop(): Drop {
    return this.cfg.variant === 'roberta' ? this.drop('classifier', 1001) : null;
  }

  loss(labels: Tensor, ignoreIndex = -100): { lossSum: Tensor; count: Tensor } {
    const be = this.be,
      ws = this.ws!;
    be.crossEntropy(ws.losses, ws.valid, ws.logits, labels, ws.B, this.cfg.numLabels, ignoreIndex);
    be.sum(ws.lossSum, ws.losses);
    be.sum(ws.count, ws.valid);
    return { lossSum: ws.lossSum, count: ws.count };
  }

  backward(batch: EncoderBatch, labels: Tensor, ignoreIndex = -100): void {
    const be = this.be,
      ws = this.ws!,
      { B, T } = batch,
      { hidden: C } = this.cfg,
      N = B * T;
    const gr = (n: string) => this.params.grads.get(n) ?? null;
    be.crossEntropyBackward(ws.dlogits, ws.logits, labels, ws.one, ws.count, B, this.cfg.numLabels, ignoreIndex);
    const dp = this.drop('classifier', 1000),
      dc = this.clsDrop();
    this.head.out.backward(be, dp ? ws.dpooledD : ws.dpooled, ws.dlogits, dp ? ws.pooledD : ws.pooled, B);
    this.dropGrad(ws.dpooled, ws.dpooledD, dp);
    be.tanhBackward(ws.dpre, ws.pooled, ws.dpooled);
    this.head.dense.backward(be, dc ? ws.dclsD : ws.dcls, ws.dpre, dc ? ws.clsD : ws.cls, B);
    this.dropGrad(ws.dcls, ws.dclsD, dc);
    // Only the first token of each sequence feeds the head: scatter its gradient into an otherwise zero dx.
    be.fill(ws.dx, 0);
    be.embeddingBackward(ws.dx, batch.clsRows, ws.dcls, B, C, N);
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const ly = this.layers[l],
        a = ws.ls[l],
        xIn = l > 0 ? ws.ls[l - 1].x2 : ws.x0,
        p = `encoder.layer.${l}.`;
      // Recompute: the shared activations hold the last layer's forward; rerun every other layer's from its input.
      const last = l === this.layers.length - 1;
      if (ws.recompute === 'blocks' && !last) this.layerForward(l, xIn, batch.mask);
      const attP = this.attP(B, T, l);
      // x2 = LN(x1 + dropout(out(gelu(inter(x1)))))
      be.layernormBackward(
        ws.dr,
        gr(`${p}output.LayerNorm.weight`),
        gr(`${p}output.LayerNorm.bias`),
        ws.dx,
        a.r2,
        ly.ln2w,
        a.m2,
        a.s2,
        N,
        C,
      );
      // g is shared by the layers: the output dense's input again (the last layer's is still there; recompute reran
      // this one).
      if (ws.recompute !== 'blocks' && !last) be.gelu(a.g, a.inter, 'erf');
      ly.out.backward(be, ws.dg, this.dropGrad(ws.dsub, ws.dr, this.drop('hidden', 3 + 3 * l)), a.g, N);
      be.geluBackward(ws.dinter, a.inter, ws.dg, 'erf');
      be.copy(ws.dx, ws.dr);
      ly.inter.backward(be, ws.dx, ws.dinter, a.x1, N, true);
      // x1 = LN(x + dropout(o(attention(q(x), k(x), v(x)))))
      be.layernormBackward(
        ws.dr,
        gr(`${p}attention.output.LayerNorm.weight`),
        gr(`${p}attention.output.LayerNorm.bias`),
        ws.dx,
        a.r1,
        ly.ln1w,
        a.m1,
        a.s1,
        N,
        C,
      );
      ly.o.backward(be, ws.dctx, this.dropGrad(ws.dsub, ws.dr, this.drop('hidden', 2 + 3 * l)), a.ctx, N);
      // 'selective': att is shared, this layer's probabilities again (ctx, o's input, is rewritten unchanged).
      if (ws.recompute === 'selective' && !last) be.attention(a.ctx, a.att, a.q, a.k, a.v, batch.mask, attP);
      be.attentionBackward(ws.dq, ws.dk, ws.dv, ws.dctx, a.att, a.q, a.k, a.v, attP);
      be.copy(ws.dx, ws.dr);
      ly.q.backward(be, ws.dx, ws.dq, xIn, N, true);
      ly.k.backward(be, ws.dx, ws.dk, xIn, N, true);
      ly.v.backward(be, ws.dx, ws.dv, xIn, N, true);
    }
    const wordG = gr('embeddings.word_embeddings.weight'),
      posG = gr('embeddings.position_embeddings.weight');
    const typeG = gr('embeddings.token_type_embeddings.weight'),
      lnwG = gr('embeddings.LayerNorm.weight');
    if (!wordG && !posG && !typeG && !lnwG) return;
    // x0 = dropout(LN(eSum))
    const dx0 = this.dropGrad(ws.dsub, ws.dx, this.drop('hidden', 0));
    be.layernormBackward(
      ws.dr,
      lnwG,
      gr('embeddings.LayerNorm.bias'),
      dx0,
      ws.eSum,
      this.emb.lnw,
      ws.eMean,
      ws.eRstd,
      N,
      C,
    );
    if (wordG) be.embeddingBackward(wordG, batch.ids, ws.dr, N, C, this.cfg.vocabSize);
    if (posG) be.embeddingBackward(posG, batch.posIds, ws.dr, N, C, this.cfg.maxPositions);
    if (typeG) be.embeddingBackward(typeG, batch.typeIds, ws.dr, N, C, this.cfg.typeVocab);
  }
}
