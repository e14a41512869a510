// GPT-2 (model_type gpt2, GPT2LMHeadModel): config parsing (src/models/config.ts), checkpoint names without the
// optional `transformer.` prefix, Conv1D weights stored (in, out), the LM head tied to wte. Causal LM only.

import { Gpt2 } from '../../nn/gpt2';
import { headActivationBytes } from '../../nn/lmHead';
import { type ModelConfig as ParsedConfig, parseConfig } from '../config';
import { canonicalWeights, fileOf, shapeChecks } from './checkpoint';
import type { ArchDescriptor, ModuleTypeInfo, SyntheticInit } from './types';

export type Gpt2ModelConfig = Extract<ParsedConfig, { kind: 'gpt2' }>;

// The causal-mask buffers some exports save, and the LM head tied to wte.
const IGNORE = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /^lm_head\.weight$/];

export const gpt2Arch: ArchDescriptor<Gpt2ModelConfig> = {
  modelTypes: ['gpt2'],
  title: () => 'GPT-2',
  parseConfig(raw, opts) {
    return parseConfig(raw, { numLabels: opts.numLabels }) as Gpt2ModelConfig;
  },
  hfPrefix: () => 'transformer.',
  mapWeights(checkpoint, cfg) {
    const mapped = canonicalWeights(checkpoint, { prefix: 'transformer.', ignore: IGNORE });
    const a = cfg.arch,
      c = shapeChecks(mapped.tensors, { kind: 'gpt2', file: fileOf(checkpoint) });
    c.expect('wte.weight', 0, 'vocab_size', a.vocabSize, true);
    c.expect('wte.weight', 1, 'n_embd', a.nEmbd);
    c.expect('wpe.weight', 0, 'n_positions', a.nPositions);
    c.expect('wpe.weight', 1, 'n_embd', a.nEmbd);
    c.layers(/^h\.(\d{1,6})\./, 'n_layer', a.nLayer);
    c.expect('h.0.mlp.c_fc.weight', 1, 'n_inner', a.nInner);
    return mapped;
  },
  embeddingName: 'wte.weight',
  layerPattern: /^h\.(\d+)\./,
  layerLead: 'h.N.',
  rows: [
    ['attn.c_attn', 'attn.c_attn'],
    ['attn.c_proj', 'attn.c_proj'],
    ['mlp.c_fc', 'mlp.c_fc'],
    ['mlp.c_proj', 'mlp.c_proj'],
  ],
  moduleTypes(cfg): ModuleTypeInfo[] {
    const { nEmbd: C, nInner: F } = cfg.arch;
    return [
      { type: 'attn.c_attn', row: 'attn.c_attn', inF: C, outF: 3 * C },
      { type: 'attn.c_proj', row: 'attn.c_proj', inF: C, outF: C },
      { type: 'mlp.c_fc', row: 'mlp.c_fc', inF: C, outF: F },
      { type: 'mlp.c_proj', row: 'mlp.c_proj', inF: F, outF: C },
    ];
  },
  defaultTargets: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
  layout: 'conv1d',
  headModules: () => [],
  dims: ({ arch: a }) => ({
    layers: a.nLayer,
    hidden: a.nEmbd,
    heads: a.nHead,
    vocab: a.vocabSize,
    maxPositions: a.nPositions,
  }),
  headSize: () => ({ fixed: 0, perLabel: 0 }),
  numLabels: () => 0,
  activationBytes(cfg, B, T) {
    const { nEmbd: C, nHead: H, nLayer: L, vocabSize: V, nInner: F } = cfg.arch,
      N = B * T;
    // The LM head runs in row chunks: one chunk's logits, not the batch's (headActivationBytes). gelu(fc) is one
    // buffer shared by the blocks (recomputed in the backward) beside the two MLP gradients.
    return 4 * (L * (N * (8 * C + F + 2) + B * H * T * T) + 10 * N * C + 3 * N * F) + headActivationBytes(N, V, C);
  },
  // ln1 and ln2 (selective recompute shares them).
  selectiveNorms: 2,
  blockActivationBytes(cfg, B, T) {
    const { nEmbd: C, nHead: H, nInner: F } = cfg.arch,
      N = B * T;
    return 4 * (N * (8 * C + F + 2) + B * H * T * T);
  },
  weightShapes(cfg) {
    const { vocabSize: V, nEmbd: C, nLayer: L, nPositions: P, nInner: F } = cfg.arch;
    const m = new Map<string, { shape: number[]; init: SyntheticInit }>();
    const ln = (p: string) => {
      m.set(`${p}.weight`, { shape: [C], init: 'one' });
      m.set(`${p}.bias`, { shape: [C], init: 'zero' });
    };
    const conv = (p: string, i: number, o: number) => {
      m.set(`${p}.weight`, { shape: [i, o], init: 'normal' });
      m.set(`${p}.bias`, { shape: [o], init: 'zero' });
    };
    m.set('wte.weight', { shape: [V, C], init: 'normal' });
    m.set('wpe.weight', { shape: [P, C], init: 'normal' });
    for (let l = 0; l < L; l++) {
      const p = `h.${l}.`;
      ln(`${p}ln_1`);
      ln(`${p}ln_2`);
      conv(`${p}attn.c_attn`, C, 3 * C);
      conv(`${p}attn.c_proj`, C, C);
      conv(`${p}mlp.c_fc`, C, F);
      conv(`${p}mlp.c_proj`, F, C);
    }
    ln('ln_f');
    return m;
  },
  build: (be, cfg, params) => new Gpt2(be, cfg.arch, params),
  clsBatch() {
    throw new RangeError('GPT-2 is a causal LM: it has no classification batches');
  },
  maxSeq: (cfg) => cfg.arch.nPositions,
};
