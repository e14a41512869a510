// BERT and RoBERTa encoders for sequence classification (model_type bert / roberta): config parsing
// (src/models/config.ts), checkpoint names without the optional `bert.`/`roberta.` prefix, nn.Linear weights (out, in),
// and the heads transformers' ForSequenceClassification adds: BERT pooler + classifier, RoBERTa classifier.dense +
// classifier.out_proj (no pooler).

import { BertClassifier } from '../../nn/bert';
import { encoderBatch } from '../batch';
import { type ModelConfig as ParsedConfig, parseConfig } from '../config';
import { canonicalWeights, fileOf, initMissing, shapeChecks } from './checkpoint';
import type { ArchDescriptor, ModuleTypeInfo, SyntheticInit } from './types';

export type EncoderModelConfig = Extract<ParsedConfig, { kind: 'bert' | 'roberta' }>;

const IGNORE = {
  bert: [/^cls\./, /position_ids$/],
  // RobertaForSequenceClassification has no pooler; its head is classifier.dense + out_proj.
  roberta: [/^lm_head\./, /position_ids$/, /^pooler\./],
};

/** The head modules of a variant with their (out, in) shapes. */
function heads(cfg: EncoderModelConfig): [string, number[]][] {
  const { hidden: C, numLabels: L } = cfg.arch;
  return cfg.arch.variant === 'bert'
    ? [
        ['pooler.dense', [C, C]],
        ['classifier', [L, C]],
      ]
    : [
        ['classifier.dense', [C, C]],
        ['classifier.out_proj', [L, C]],
      ];
}

export const bertArch: ArchDescriptor<EncoderModelConfig> = {
  modelTypes: ['bert', 'roberta'],
  title: (cfg) => (cfg.kind === 'bert' ? 'BERT' : 'RoBERTa'),
  parseConfig(raw, opts) {
    return parseConfig(raw, { numLabels: opts.numLabels }) as EncoderModelConfig;
  },
  hfPrefix: (kind) => `${kind}.`,
  mapWeights(checkpoint, cfg, opts) {
    const mapped = canonicalWeights(checkpoint, { prefix: `${cfg.kind}.`, ignore: IGNORE[cfg.arch.variant] });
    const a = cfg.arch,
      c = shapeChecks(mapped.tensors, { kind: cfg.kind, file: fileOf(checkpoint) });
    c.expect('embeddings.word_embeddings.weight', 0, 'vocab_size', a.vocabSize, true);
    c.expect('embeddings.word_embeddings.weight', 1, 'hidden_size', a.hidden);
    c.expect('embeddings.position_embeddings.weight', 0, 'max_position_embeddings', a.maxPositions);
    c.expect('embeddings.token_type_embeddings.weight', 0, 'type_vocab_size', a.typeVocab);
    c.layers(/^encoder\.layer\.(\d{1,6})\./, 'num_hidden_layers', a.layers);
    c.expect('encoder.layer.0.intermediate.dense.weight', 0, 'intermediate_size', a.intermediate);
    const std = typeof cfg.raw.initializer_range === 'number' ? cfg.raw.initializer_range : 0.02;
    initMissing(mapped, heads(cfg), { std, seed: opts.seed ?? 42 });
    return mapped;
  },
  embeddingName: 'embeddings.word_embeddings.weight',
  layerPattern: /^encoder\.layer\.(\d+)\./,
  layerLead: 'encoder.layer.N.',
  rows: [
    ['query', 'attention.self.query'],
    ['key', 'attention.self.key'],
    ['value', 'attention.self.value'],
    ['attention.output.dense', 'attention.output.dense'],
    ['intermediate.dense', 'intermediate.dense'],
    ['output.dense', 'output.dense'],
  ],
  moduleTypes(cfg): ModuleTypeInfo[] {
    const { hidden: C, intermediate: F } = cfg.arch;
    return [
      { type: 'attention.self.query', row: 'query', inF: C, outF: C },
      { type: 'attention.self.key', row: 'key', inF: C, outF: C },
      { type: 'attention.self.value', row: 'value', inF: C, outF: C },
      { type: 'attention.output.dense', row: 'attention.output.dense', inF: C, outF: C },
      { type: 'intermediate.dense', row: 'intermediate.dense', inF: C, outF: F },
      { type: 'output.dense', row: 'output.dense', inF: F, outF: C },
    ];
  },
  defaultTargets: [
    'attention.self.query',
    'attention.self.key',
    'attention.self.value',
    'attention.output.dense',
    'intermediate.dense',
    'output.dense',
  ],
  layout: 'linear',
  headModules: (task) => (task === 'seq-cls' ? ['classifier'] : []),
  dims: ({ arch: a }) => ({
    layers: a.layers,
    hidden: a.hidden,
    heads: a.heads,
    vocab: a.vocabSize,
    maxPositions: a.maxPositions,
  }),
  // BERT trains classifier (C*L + L); RoBERTa classifier.dense (C*C + C) and out_proj (C*L + L).
  headSize: ({ arch: a }) => ({
    fixed: a.variant === 'bert' ? 0 : a.hidden * a.hidden + a.hidden,
    perLabel: a.hidden + 1,
  }),
  numLabels: (cfg) => cfg.arch.numLabels,
  activationBytes(cfg, B, T) {
    const { hidden: C, heads: H, layers: L, intermediate: F } = cfg.arch,
      N = B * T;
    // gelu(inter) is one buffer shared by the layers (recomputed in the backward) beside the two MLP gradients.
    return 4 * (L * (N * (11 * C + F + 4) + B * H * T * T) + 12 * N * C + 3 * N * F);
  },
  // Post-norm: the norm outputs are the residual stream, kept in every mode.
  selectiveNorms: 0,
  blockActivationBytes(cfg, B, T) {
    const { hidden: C, heads: H, intermediate: F } = cfg.arch,
      N = B * T;
    return 4 * (N * (11 * C + F + 4) + B * H * T * T);
  },
  weightShapes(cfg) {
    const a = cfg.arch,
      C = a.hidden,
      F = a.intermediate;
    const m = new Map<string, { shape: number[]; init: SyntheticInit }>();
    const ln = (p: string) => {
      m.set(`${p}.weight`, { shape: [C], init: 'one' });
      m.set(`${p}.bias`, { shape: [C], init: 'zero' });
    };
    const lin = (p: string, i: number, o: number) => {
      m.set(`${p}.weight`, { shape: [o, i], init: 'normal' });
      m.set(`${p}.bias`, { shape: [o], init: 'zero' });
    };
    m.set('embeddings.word_embeddings.weight', { shape: [a.vocabSize, C], init: 'normal' });
    m.set('embeddings.position_embeddings.weight', { shape: [a.maxPositions, C], init: 'normal' });
    m.set('embeddings.token_type_embeddings.weight', { shape: [a.typeVocab, C], init: 'normal' });
    ln('embeddings.LayerNorm');
    for (let l = 0; l < a.layers; l++) {
      const p = `encoder.layer.${l}.`;
      for (const q of ['query', 'key', 'value']) lin(`${p}attention.self.${q}`, C, C);
      lin(`${p}attention.output.dense`, C, C);
      ln(`${p}attention.output.LayerNorm`);
      lin(`${p}intermediate.dense`, C, F);
      lin(`${p}output.dense`, F, C);
      ln(`${p}output.LayerNorm`);
    }
    for (const [n, [o, i]] of heads(cfg)) lin(n, i, o);
    return m;
  },
  build: (be, cfg, params) => new BertClassifier(be, cfg.arch, params),
  clsBatch: (cfg, seqs, T) => encoderBatch(seqs, cfg.arch, T),
  // RoBERTa numbers positions from padding_idx + 1.
  maxSeq: ({ arch: a }) => (a.variant === 'roberta' ? a.maxPositions - a.padTokenId - 1 : a.maxPositions),
};
