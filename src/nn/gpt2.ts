// GPT-2 (causal LM) on the Backend interface: explicit forward and backward as in llm.c's train_gpt2.c.
// Pre-LN blocks, gelu_new (tanh), learned positions, LM head tied to wte. Generation runs through a KV cache
// (prefill/decodeStep, src/nn/decoder.ts), separate from the training forward. Dropout as
// transformers' GPT2 in train mode (embd_pdrop after the embeddings, attn_pdrop on the attention probabilities,
// resid_pdrop on each block's two outputs) when dropoutSeed is set; eval mode (null, the default) has none.

import type { Backend, Tensor } from '../tensor/backend';
import { type CausalDecoder, KvCache } from './decoder';
import { type DropoutMode, type SiteDropout, siteDropout } from './dropout';
import { Linear } from './linear';
import { ChunkedLmHead, type LmLossOptions } from './lmHead';
import { disposeAll, type ParamStore } from './params';
import type { Recompute } from './recompute';

export interface Gpt2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nInner: number;
  eps: number;
  /** embd_pdrop, resid_pdrop, attn_pdrop (train mode only); absent: none. */
  dropout?: { embd: number; resid: number; attn: number };
}

interface Block {
  ln1w: Tensor;
  ln1b: Tensor;
  ln2w: Tensor;
  ln2b: Tensor;
  attn: Linear;
  proj: Linear;
  fc: Linear;
  mlpProj: Linear;
}

/** Activations of one (B,T) shape, allocated once and reused every step. With recompute 'blocks', every block's entry
 * in `layers` shares one set of internal activations; only x2 (the block's output, the next block's input) is its own.
 * With 'selective', the blocks share one `att` (the probabilities, B x H x T x T), rerun before each attention
 * backward, and ln1 and ln2 (the LayerNorm outputs, N x C) are one buffer for both norms of every block, each rerun
 * from its kept input, mean and rstd just before the projection that reads it. In every mode the blocks share one
 * `fcGelu` (gelu(fc), N x 4C): the backward recomputes it from the block's fc just before mlpProj's backward, one
 * elementwise pass instead of N x 4C floats kept per block. */
interface Workspace {
  B: number;
  T: number;
  recompute: Recompute;
  pos: Tensor; // (B*T) i32 position ids
  // (N,C); pre/dres: a dropout site's input and its gradient
  x0: Tensor;
  tmp: Tensor;
  posEmb: Tensor;
  pre: Tensor;
  dres: Tensor;
  layers: {
    ln1: Tensor;
    ln1Mean: Tensor;
    ln1Rstd: Tensor;
    qkv: Tensor;
    att: Tensor;
    atty: Tensor;
    x1: Tensor;
    ln2: Tensor;
    ln2Mean: Tensor;
    ln2Rstd: Tensor;
    fc: Tensor;
    fcGelu: Tensor;
    x2: Tensor;
  }[];
  lnf: Tensor;
  lnfMean: Tensor;
  lnfRstd: Tensor;
  /** Every position's logits (N,V): allocated by `forward` only, never by the training path. */
  logits: Tensor | null;
  // gradients of activations
  dx: Tensor;
  dln: Tensor;
  dqkv: Tensor;
  datty: Tensor;
  dfc: Tensor;
  dfcGelu: Tensor;
}

export class Gpt2 implements DropoutMode, CausalDecoder {
  readonly blocks: Block[] = [];
  /** Train mode with this step's seed (dropout on), or null: eval mode. */
  dropoutSeed: number | null = null;
  dropoutFirstRow = 0;
  /** Activation recomputation (src/nn/recompute.ts): 'blocks' reruns each block's forward from its saved input (dropout
   * masks redrawn from their seeds) before the block's backward; 'selective' reruns its attention and its norms. */
  recompute: Recompute = 'none';
  readonly wte: Tensor;
  readonly wpe: Tensor;
  readonly lnfw: Tensor;
  readonly lnfb: Tensor;
  /** The LM head (tied to wte) and its cross-entropy, in row chunks. */
  readonly head: ChunkedLmHead;
  private ws: Workspace | null = null;
  /** The last loss ran the head's backward (withGrad). */
  private headGradDone = false;
  /** The last loss's gradient divisor (LmLossOptions.gradCount), or null: the rows' own count. */
  private gradCount: Tensor | null = null;

  constructor(
    readonly be: Backend,
    readonly cfg: Gpt2Config,
    readonly params: ParamStore,
  ) {
    const { nEmbd: C, vocabSize: V, nPositions: P, nInner: F } = cfg;
    this.wte = params.get('wte.weight', [V, C]);
    this.wpe = params.get('wpe.weight', [P, C]);
    this.lnfw = params.get('ln_f.weight', [C]);
    this.lnfb = params.get('ln_f.bias', [C]);
    this.head = new ChunkedLmHead(be, V, C);
    for (let l = 0; l < cfg.nLayer; l++) {
      const p = `h.${l}.`;
      const lin = (n: string, i: number, o: number) =>
        new Linear(`${p}${n}`, i, o, 'in_out', params.get(`${p}${n}.weight`, [i, o]), params.get(`${p}${n}.bias`, [o]));
      this.blocks.push({
        ln1w: params.get(`${p}ln_1.weight`, [C]),
        ln1b: params.get(`${p}ln_1.bias`, [C]),
        ln2w: params.get(`${p}ln_2.weight`, [C]),
        ln2b: params.get(`${p}ln_2.bias`, [C]),
        attn: lin('attn.c_attn', C, 3 * C),
        proj: lin('attn.c_proj', C, C),
        fc: lin('mlp.c_fc', C, F),
        mlpProj: lin('mlp.c_proj', F, C),
      });
    }
  }

  /** Every linear layer by its checkpoint module name (`h.0.attn.c_attn`), for adapter injection. */
  linears(): Linear[] {
    return this.blocks.flatMap((b) => [b.attn, b.proj, b.fc, b.mlpProj]);
  }

  /** Trains the base weights too (full fine-tuning): allocates their gradients. */
  enableFullTraining(): void {
    for (const lin of this.linears()) {
      lin.dW = this.params.grad(`${lin.name}.weight`);
      lin.db = lin.b ? this.params.grad(`${lin.name}.bias`) : null;
    }
  }

  private workspace(B: number, T: number): Workspace {
    if (this.ws && this.ws.B === B && this.ws.T === T && this.ws.recompute === this.recompute) return this.ws;
    // Batch shapes change (the last batch of an epoch, generation): hand the old activations back to the pool.
    if (this.ws) disposeAll(this.be, this.ws);
    if (T > this.cfg.nPositions)
      throw new RangeError(`sequence length ${T} exceeds the model's n_positions ${this.cfg.nPositions}`);
    const be = this.be,
      { nEmbd: C, nHead: H, nInner: F } = this.cfg,
      N = B * T;
    const z = (shape: number[], label: string) => be.zeros(shape, 'f32', label);
    const pos = be.fromArray(
      Int32Array.from({ length: N }, (_, i) => i % T),
      [N],
      'position ids',
    );
    // With 'selective' every block's att is one tensor, and so are its norm outputs (ln1, ln2).
    const sel = this.recompute === 'selective';
    const sharedAtt = sel ? z([B, H, T, T], 'att (recomputed in the backward)') : null;
    const lnOut = sel ? z([N, C], 'layernorm out (recomputed in the backward)') : null;
    const internals = (l: number | 'shared') => ({
      ln1: lnOut ?? z([N, C], `ln1 ${l}`),
      ln1Mean: z([N], 'mean'),
      ln1Rstd: z([N], 'rstd'),
      qkv: z([N, 3 * C], `qkv ${l}`),
      att: sharedAtt ?? z([B, H, T, T], `att ${l}`),
      atty: z([N, C], `atty ${l}`),
      x1: z([N, C], `x1 ${l}`),
      ln2: lnOut ?? z([N, C], `ln2 ${l}`),
      ln2Mean: z([N], 'mean'),
      ln2Rstd: z([N], 'rstd'),
      fc: z([N, F], `fc ${l}`),
    });
    const shared = this.recompute === 'blocks' ? internals('shared') : null;
    // One fcGelu for every block in every mode (see Workspace).
    const fcGelu = z([N, F], 'gelu (recomputed in the backward)');
    this.ws = {
      B,
      T,
      recompute: this.recompute,
      pos,
      x0: z([N, C], 'x0'),
      tmp: z([N, C], 'tmp'),
      posEmb: z([N, C], 'position embeddings'),
      pre: z([N, C], 'before dropout'),
      dres: z([N, C], 'd before dropout'),
      layers: this.blocks.map((_, l) => ({ ...(shared ?? internals(l)), fcGelu, x2: z([N, C], `x2 ${l}`) })),
      lnf: z([N, C], 'lnf'),
      lnfMean: z([N], 'mean'),
      lnfRstd: z([N], 'rstd'),
      logits: null,
      dx: z([N, C], 'dx'),
      dln: z([N, C], 'dln'),
      dqkv: z([N, 3 * C], 'dqkv'),
      datty: z([N, C], 'datty'),
      dfc: z([N, F], 'dfc'),
      dfcGelu: z([N, F], 'dgelu'),
    };
    return this.ws;
  }

  /** logits (B*T, V) for ids (B*T) i32: every position's (inference, tests; training uses forwardHidden and the
   * chunked loss). The returned tensor is reused by the next call. */
  forward(ids: Tensor, B: number, T: number): Tensor {
    this.forwardHidden(ids, B, T);
    const ws = this.ws!,
      N = B * T;
    ws.logits ??= this.be.zeros([N, this.cfg.vocabSize], 'f32', 'logits');
    this.head.logits(ws.logits, ws.lnf, this.wte, N);
    return ws.logits;
  }

  /** The forward up to the final LayerNorm (what the loss and the backward need), for ids (B*T) i32. */
  forwardHidden(ids: Tensor, B: number, T: number): void {
    const be = this.be,
      ws = this.workspace(B, T),
      { nEmbd: C, eps } = this.cfg,
      N = B * T;
    be.embedding(ws.tmp, ids, this.wte, N, C);
    be.embedding(ws.posEmb, ws.pos, this.wpe, N, C);
    const de = this.drop('embd', 0);
    if (de) {
      be.add(ws.pre, ws.tmp, ws.posEmb);
      be.dropout(ws.x0, ws.pre, de.p, de.seed, de.offset);
    } else be.add(ws.x0, ws.tmp, ws.posEmb);
    let x = ws.x0;
    for (let l = 0; l < this.blocks.length; l++) x = this.blockForward(l, x);
    be.layernorm(ws.lnf, ws.lnfMean, ws.lnfRstd, x, this.lnfw, this.lnfb, N, C, eps);
    this.headGradDone = false;
  }

  /** Block l's forward from its input x into ws.layers[l]; returns its output x2. */
  private blockForward(l: number, x: Tensor): Tensor {
    const be = this.be,
      ws = this.ws!,
      { B, T } = ws,
      { nEmbd: C, eps } = this.cfg,
      N = B * T,
      blk = this.blocks[l],
      a = ws.layers[l];
    // x_out = x_in + dropout(y): dropout into `pre` first when this site drops.
    const residual = (out: Tensor, xin: Tensor, y: Tensor, d: SiteDropout | null) => {
      if (d) be.dropout(ws.pre, y, d.p, d.seed, d.offset);
      be.add(out, xin, d ? ws.pre : y);
    };
    be.layernorm(a.ln1, a.ln1Mean, a.ln1Rstd, x, blk.ln1w, blk.ln1b, N, C, eps);
    blk.attn.forward(be, a.qkv, a.ln1, N);
    be.attention(a.atty, a.att, a.qkv, a.qkv, a.qkv, null, this.attP(B, T, l));
    blk.proj.forward(be, ws.tmp, a.atty, N);
    residual(a.x1, x, ws.tmp, this.drop('resid', 2 + 3 * l));
    be.layernorm(a.ln2, a.ln2Mean, a.ln2Rstd, a.x1, blk.ln2w, blk.ln2b, N, C, eps);
    blk.fc.forward(be, a.fc, a.ln2, N);
    be.gelu(a.fcGelu, a.fc, 'tanh');
    blk.mlpProj.forward(be, ws.tmp, a.fcGelu, N);
    residual(a.x2, a.x1, ws.tmp, this.drop('resid', 3 + 3 * l));
    return a.x2;
  }

  /** Dropout (p, seed) of a site in the current mode: site 0 the embeddings, 1 + 3l, 2 + 3l, 3 + 3l layer l's
   * attention probabilities, attention output and MLP output. */
  private drop(kind: 'embd' | 'resid' | 'attn', site: number): SiteDropout | null {
    const T = this.ws!.T,
      { nEmbd: C, nHead: H } = this.cfg;
    return siteDropout(this, this.cfg.dropout?.[kind], site, kind === 'attn' ? H * T * T : T * C);
  }

  private attP(B: number, T: number, l: number) {
    const { nEmbd: C, nHead: H } = this.cfg;
    return {
      B,
      T,
      H,
      D: C / H,
      qStride: 3 * C,
      qOffset: 0,
      kStride: 3 * C,
      kOffset: C,
      vStride: 3 * C,
      vOffset: 2 * C,
      causal: true,
      dropout: this.drop('attn', 1 + 3 * l) ?? undefined,
    };
  }

  /** dres = d(residual branch before dropout) from d(block output), or the gradient itself when the site keeps all. */
  private residualGrad(dout: Tensor, d: SiteDropout | null): Tensor {
    if (!d) return dout;
    const ws = this.ws!;
    this.be.fill(ws.dres, 0);
    this.be.dropoutBackward(ws.dres, dout, d.p, d.seed, d.offset);
    return ws.dres;
  }

  /** Cross-entropy of the last forward against targets (B*T) i32, the head in row chunks; returns (lossSum, count)
   * 1-element tensors. */
  loss(targets: Tensor, opts: LmLossOptions = {}): { lossSum: Tensor; count: Tensor } {
    this.gradCount = opts.gradCount ?? null;
    const r = this.headLoss(targets, opts.ignoreIndex ?? -100, opts.withGrad ?? false);
    this.headGradDone = opts.withGrad ?? false;
    return r;
  }

  private headLoss(targets: Tensor, ignoreIndex: number, withGrad: boolean) {
    const ws = this.ws!,
      dW = this.params.grads.get('wte.weight') ?? null;
    return this.head.loss({
      hidden: ws.lnf,
      W: this.wte,
      targets,
      N: ws.B * ws.T,
      ignoreIndex,
      grads: withGrad ? { dHidden: ws.dln, dW } : undefined,
      gradCount: this.gradCount ?? undefined,
    });
  }

  /** Backward of mean cross-entropy (after forward + loss): accumulates every enabled gradient. */
  backward(ids: Tensor, targets: Tensor, ignoreIndex = -100): void {
    const be = this.be,
      ws = this.ws!,
      { B, T } = ws,
      { nEmbd: C, vocabSize: V } = this.cfg;
    const N = B * T;
    // The head's backward (dlnf into dln, wte's gradient) unless the loss ran it already.
    if (!this.headGradDone) this.headLoss(targets, ignoreIndex, true);
    this.headGradDone = false;
    const wteGrad = this.params.grads.get('wte.weight') ?? null;
    const lastX = ws.layers.length ? ws.layers[ws.layers.length - 1].x2 : ws.x0;
    be.layernormBackward(
      ws.dx,
      this.grads('ln_f.weight'),
      this.grads('ln_f.bias'),
      ws.dln,
      lastX,
      this.lnfw,
      ws.lnfMean,
      ws.lnfRstd,
      N,
      C,
    );
    for (let l = this.blocks.length - 1; l >= 0; l--) {
      const blk = this.blocks[l],
        a = ws.layers[l],
        xIn = l > 0 ? ws.layers[l - 1].x2 : ws.x0,
        p = `h.${l}.`;
      // Recompute: the shared activations hold the last block's forward; rerun every other block's from its input.
      const last = l === this.blocks.length - 1;
      if (ws.recompute === 'blocks' && !last) this.blockForward(l, xIn);
      const attP = this.attP(B, T, l);
      // x2 = x1 + dropout(mlpProj(gelu(fc(ln2(x1))))): dx flows to x1 directly and through the MLP.
      // fcGelu is shared by the blocks: mlpProj's input again (the last block's is still there; recompute reran this one).
      if (ws.recompute !== 'blocks' && !last) be.gelu(a.fcGelu, a.fc, 'tanh');
      // 'selective': ln2 shares one buffer with every norm output, fc's input again (as fcGelu above).
      if (ws.recompute === 'selective' && !last)
        be.layernorm(a.ln2, a.ln2Mean, a.ln2Rstd, a.x1, blk.ln2w, blk.ln2b, N, C, this.cfg.eps);
      blk.mlpProj.backward(be, ws.dfcGelu, this.residualGrad(ws.dx, this.drop('resid', 3 + 3 * l)), a.fcGelu, N);
      be.geluBackward(ws.dfc, a.fc, ws.dfcGelu, 'tanh');
      blk.fc.backward(be, ws.dln, ws.dfc, a.ln2, N);
      be.layernormBackward(
        ws.dx,
        this.grads(`${p}ln_2.weight`),
        this.grads(`${p}ln_2.bias`),
        ws.dln,
        a.x1,
        blk.ln2w,
        a.ln2Mean,
        a.ln2Rstd,
        N,
        C,
        true,
      );
      // x1 = x + dropout(proj(attention(attn(ln1(x)))))
      blk.proj.backward(be, ws.datty, this.residualGrad(ws.dx, this.drop('resid', 2 + 3 * l)), a.atty, N);
      // 'selective': att is shared, this block's probabilities again (atty, proj's input, is rewritten unchanged).
      if (ws.recompute === 'selective' && !last) be.attention(a.atty, a.att, a.qkv, a.qkv, a.qkv, null, attP);
      be.attentionBackward(ws.dqkv, ws.dqkv, ws.dqkv, ws.datty, a.att, a.qkv, a.qkv, a.qkv, attP);
      // 'selective': ln1 again (the shared buffer holds this block's ln2).
      if (ws.recompute === 'selective')
        be.layernorm(a.ln1, a.ln1Mean, a.ln1Rstd, xIn, blk.ln1w, blk.ln1b, N, C, this.cfg.eps);
      blk.attn.backward(be, ws.dln, ws.dqkv, a.ln1, N);
      be.layernormBackward(
        ws.dx,
        this.grads(`${p}ln_1.weight`),
        this.grads(`${p}ln_1.bias`),
        ws.dln,
        xIn,
        blk.ln1w,
        a.ln1Mean,
        a.ln1Rstd,
        N,
        C,
        true,
      );
    }
    const wpeGrad = this.params.grads.get('wpe.weight');
    if (!wteGrad && !wpeGrad) return;
    // x0 = dropout(wte[ids] + wpe[pos])
    const demb = this.residualGrad(ws.dx, this.drop('embd', 0));
    if (wteGrad) be.embeddingBackward(wteGrad, ids, demb, N, C, V);
    if (wpeGrad) be.embeddingBackward(wpeGrad, ws.pos, demb, N, C, this.cfg.nPositions);
  }

  private grads(name: string): Tensor | null {
    return this.params.grads.get(name) ?? null;
  }

  /** Allocates gradients for every parameter (embeddings and LayerNorms too): the golden-gradient tests use this. */
  enableAllGradients(): void {
    this.enableFullTraining();
    for (const name of this.params.tensors.keys()) this.params.grad(name);
  }

  // ---------------------------------------------------------------- KV-cache decoding (inference, eval mode)

  get vocabSize(): number {
    return this.cfg.vocabSize;
  }

  get maxPositions(): number {
    return this.cfg.nPositions;
  }

  createCache(B: number, Tmax: number): KvCache {
    if (Tmax > this.cfg.nPositions) {
      throw new RangeError(`KV cache of ${Tmax} positions exceeds the model's n_positions ${this.cfg.nPositions}`);
    }
    const { nLayer, nHead: H, nEmbd: C } = this.cfg;
    return new KvCache(this.be, { layers: nLayer, KVH: H, D: C / H }, B, Tmax);
  }

  prefill(cache: KvCache, ids: Int32Array, T: number): Tensor {
    return this.decode(cache, ids, T);
  }

  decodeStep(cache: KvCache, ids: Int32Array): Tensor {
    return this.decode(cache, ids, 1);
  }

  /** The forward of T new tokens per row at positions cache.length.. (no dropout), keys/values into the cache;
   * returns logits (B,V) of each row's last new token. */
  private decode(cache: KvCache, ids: Int32Array, T: number): Tensor {
    const be = this.be,
      { nEmbd: C, nHead: H, nInner: F, vocabSize: V, eps } = this.cfg,
      B = cache.B,
      N = B * T;
    const D = C / H,
      pos = cache.reserve(T),
      Tmax = cache.Tmax;
    if (ids.length !== N) throw new RangeError(`decode: ${ids.length} token ids for B=${B} rows of T=${T}`);
    const s = (name: string, shape: number[]) => cache.scratch(name, shape);
    const idsT = cache.scratch('ids', [N], 'i32'),
      posT = cache.scratch('positions', [N], 'i32');
    be.write(idsT, ids);
    be.write(
      posT,
      Int32Array.from({ length: N }, (_, i) => pos + (i % T)),
    );
    const tmp = s('tmp', [N, C]),
      posEmb = s('position embeddings', [N, C]),
      ln = s('ln', [N, C]);
    const mean = s('mean', [N]),
      rstd = s('rstd', [N]),
      qkv = s('qkv', [N, 3 * C]),
      atty = s('atty', [N, C]);
    const fc = s('fc', [N, F]),
      fcGelu = s('gelu', [N, F]);
    // The residual stream alternates between two buffers (an op's output may not be its input).
    const x = s('x a', [N, C]),
      y = s('x b', [N, C]);
    be.embedding(tmp, idsT, this.wte, N, C);
    be.embedding(posEmb, posT, this.wpe, N, C);
    be.add(x, tmp, posEmb);
    const kvw = { B, Tq: T, pos, Tmax, width: C, srcStride: 3 * C };
    this.blocks.forEach((blk, l) => {
      be.layernorm(ln, mean, rstd, x, blk.ln1w, blk.ln1b, N, C, eps);
      blk.attn.forward(be, qkv, ln, N);
      be.kvCacheWrite(cache.k[l], qkv, { ...kvw, srcOffset: C });
      be.kvCacheWrite(cache.v[l], qkv, { ...kvw, srcOffset: 2 * C });
      be.attentionDecode(atty, qkv, cache.k[l], cache.v[l], { B, Tq: T, pos, Tmax, H, D, qStride: 3 * C, qOffset: 0 });
      blk.proj.forward(be, tmp, atty, N);
      be.add(y, x, tmp);
      be.layernorm(ln, mean, rstd, y, blk.ln2w, blk.ln2b, N, C, eps);
      blk.fc.forward(be, fc, ln, N);
      be.gelu(fcGelu, fc, 'tanh');
      blk.mlpProj.forward(be, tmp, fcGelu, N);
      be.add(x, y, tmp);
    });
    // Only each row's last token needs logits.
    let last = x;
    if (T > 1) {
      last = s('last', [B, C]);
      for (let b = 0; b < B; b++) be.copy(last, x, C, (b * T + T - 1) * C, b * C);
    }
    const lnf = s('lnf', [B, C]),
      logits = s('logits', [B, V]);
    be.layernorm(lnf, mean, rstd, last, this.lnfw, this.lnfb, B, C, eps);
    this.head.logits(logits, lnf, this.wte, B);
    cache.length = pos + T;
    return logits;
  }
}
