// The Llama family's ArchDescriptor (llama, qwen2, qwen3; causal LM and sequence classification): how the registry
// parses, maps, sizes and builds these models. Config parsing is llamaConfig.ts's, the weight layout llamaWeights.ts's.

import type { EncoderBatch } from '../../nn/bert';
import { Llama } from '../../nn/llamaCausal';
import { LlamaClassifier, lastTokenRows } from '../../nn/llamaClassifier';
import { LLAMA_ADAPTABLE } from '../../nn/llamaConfig';
import { headActivationBytes } from '../../nn/lmHead';
import type { Recompute } from '../../nn/recompute';
import type { Tensor } from '../../tensor/backend';
import type { HostEncoderBatch } from '../batch';
import { fileOf, lazyTensor } from './checkpoint';
import { type LlamaConfig, type LlamaFamily, type LlamaTask, parseLlamaConfig } from './llamaConfig';
import { type HostWeight, llamaWeightShapes, mapLlamaWeights } from './llamaWeights';
import type { ArchDescriptor, ModuleTypeInfo, SeqClsNet, SyntheticInit } from './types';

/** The parsed config.json of a Llama-family checkpoint as the registry returns it. */
export interface LlamaModelConfig {
  kind: LlamaFamily;
  task: LlamaTask;
  arch: LlamaConfig;
  labels: string[];
  raw: Record<string, unknown>;
}

/** LlamaClassifier behind the SeqClsNet entry points: an encoder batch's clsRows are the pooled (last non-pad)
 * rows, its mask the padding mask; type and position ids are not read. */
export class LlamaClsNet implements SeqClsNet {
  constructor(readonly net: LlamaClassifier) {}
  get recompute(): Recompute {
    return this.net.recompute;
  }
  set recompute(mode: Recompute) {
    this.net.recompute = mode;
  }
  private batch(b: EncoderBatch) {
    return { ids: b.ids, mask: b.mask, poolRows: b.clsRows, B: b.B, T: b.T };
  }
  forward(b: EncoderBatch) {
    return this.net.forward(this.batch(b));
  }
  loss(labels: Tensor) {
    return this.net.loss(labels);
  }
  backward(b: EncoderBatch, labels: Tensor) {
    this.net.backward(this.batch(b), labels);
  }
  linears() {
    return this.net.linears();
  }
  enableAllGradients() {
    this.net.enableAllGradients();
  }
}

/** Right-padded decoder classification batch: pad_token_id after each sequence (longer ones keep their first
 * T - 1 tokens and their last), pooled at the last non-pad token as transformers does. */
function decoderClsBatch(cfg: LlamaConfig, seqs: { ids: number[] }[], T?: number): HostEncoderBatch {
  const B = seqs.length,
    len = T ?? Math.max(...seqs.map((s) => s.ids.length)),
    N = B * len;
  const pad = cfg.padTokenId ?? 0;
  const b: HostEncoderBatch = {
    B,
    T: len,
    ids: new Int32Array(N).fill(pad),
    typeIds: new Int32Array(N),
    posIds: Int32Array.from({ length: N }, (_, i) => i % len),
    mask: new Int32Array(N),
    clsRows: new Int32Array(B),
  };
  seqs.forEach((s, i) => {
    const ids = s.ids.length > len ? [...s.ids.slice(0, len - 1), s.ids[s.ids.length - 1]] : s.ids;
    b.ids.set(ids, i * len);
    b.mask.fill(1, i * len, i * len + ids.length);
  });
  b.clsRows.set(lastTokenRows(b.ids, B, len, pad));
  return b;
}

const TITLES: Record<LlamaFamily, string> = { llama: 'Llama', qwen2: 'Qwen2', qwen3: 'Qwen3' };

/** Llama, SmolLM2, TinyLlama, Qwen2/2.5 and Qwen3: causal LM or sequence classification, nn.Linear weights under
 * their checkpoint names (`model.layers.N.self_attn.q_proj`), every linear of the block adaptable. */
export const llamaArch: ArchDescriptor<LlamaModelConfig> = {
  modelTypes: ['llama', 'qwen2', 'qwen3'],
  title: (cfg) => TITLES[cfg.kind],
  parseConfig(raw, opts) {
    const arch = parseLlamaConfig(raw, { task: opts.task, numLabels: opts.numLabels, padTokenId: opts.padTokenId });
    return { kind: arch.family, task: arch.task, arch, labels: arch.labels, raw };
  },
  hfPrefix: () => '',
  mapWeights(checkpoint, cfg, opts) {
    // Lazy tensors: every name and shape is checked before any data is converted.
    const host = new Map<string, HostWeight>();
    for (const [name, t] of checkpoint) host.set(name, lazyTensor(t.shape, t.read));
    return mapLlamaWeights(host, cfg.arch, { file: fileOf(checkpoint), seed: opts.seed });
  },
  embeddingName: 'model.embed_tokens.weight',
  layerPattern: /^model\.layers\.(\d+)\./,
  layerLead: 'model.layers.N.',
  rows: LLAMA_ADAPTABLE.map((t) => [t, t] as const),
  moduleTypes(cfg): ModuleTypeInfo[] {
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D } = cfg.arch;
    const t = (type: string, inF: number, outF: number) => ({ type, row: type, inF, outF });
    return [
      t('self_attn.q_proj', C, H * D),
      t('self_attn.k_proj', C, KVH * D),
      t('self_attn.v_proj', C, KVH * D),
      t('self_attn.o_proj', H * D, C),
      t('mlp.gate_proj', C, F),
      t('mlp.up_proj', C, F),
      t('mlp.down_proj', F, C),
    ];
  },
  // Every linear of the block, as the paper adapts.
  defaultTargets: [
    'self_attn.q_proj',
    'self_attn.k_proj',
    'self_attn.v_proj',
    'self_attn.o_proj',
    'mlp.gate_proj',
    'mlp.up_proj',
    'mlp.down_proj',
  ],
  layout: 'linear',
  headModules: (task) => (task === 'seq-cls' ? ['score'] : []),
  dims: ({ arch: a }) => ({
    layers: a.layers,
    hidden: a.hidden,
    heads: a.heads,
    vocab: a.vocabSize,
    maxPositions: a.maxPositions,
  }),
  // score: (L, C), no bias.
  headSize: (cfg) => ({ fixed: 0, perLabel: cfg.task === 'seq-cls' ? cfg.arch.hidden : 0 }),
  numLabels: (cfg) => (cfg.task === 'seq-cls' ? cfg.arch.numLabels : 0),
  activationBytes(cfg, B, T) {
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D, layers: L, vocabSize: V } = cfg.arch;
    const N = B * T,
      QD = H * D,
      KD = KVH * D,
      qk = cfg.arch.qkNorm ? QD + KD + 2 * (H + KVH) : 0;
    // Per layer: h1, rstd1, q, k, v, attention probabilities, atty, x1, h2, rstd2, gate, up, x2 (+ Qwen3's normed
    // q/k); then one act (swiglu, shared by the blocks and recomputed in the backward), the final norm, the LM head's
    // chunk buffers (one chunk's logits, not the batch's), and the activation gradients.
    const perLayer = N * (4 * C + 2 + 2 * QD + 2 * KD + 2 * F + qk) + B * H * T * T;
    const head = cfg.task === 'causal-lm' ? headActivationBytes(N, V, C) : 0;
    return 4 * (L * perLayer + N * F + N * (C + 1) + N * (3 * C + 2 * QD + 2 * KD + 3 * F)) + head;
  },
  // h1 and h2 (selective recompute shares them).
  selectiveNorms: 2,
  blockActivationBytes(cfg, B, T) {
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D } = cfg.arch;
    const N = B * T,
      QD = H * D,
      KD = KVH * D,
      qk = cfg.arch.qkNorm ? QD + KD + 2 * (H + KVH) : 0;
    return 4 * (N * (4 * C + 2 + 2 * QD + 2 * KD + 2 * F + qk) + B * H * T * T);
  },
  weightShapes(cfg) {
    const m = new Map<string, { shape: number[]; init: SyntheticInit }>();
    for (const [name, shape] of llamaWeightShapes(cfg.arch)) {
      const init: SyntheticInit = name.endsWith('.bias') ? 'zero' : /norm\.weight$/.test(name) ? 'one' : 'normal';
      m.set(name, { shape, init });
    }
    return m;
  },
  build: (be, cfg, params) =>
    cfg.task === 'causal-lm'
      ? new Llama(be, cfg.arch, params)
      : new LlamaClsNet(new LlamaClassifier(be, cfg.arch, params)),
  clsBatch: (cfg, seqs, T) => decoderClsBatch(cfg.arch, seqs, T),
  maxSeq: (cfg) => cfg.arch.maxPositions,
};
