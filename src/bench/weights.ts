// Synthetic checkpoints for benchmarks: every tensor a GPT-2 or BERT/RoBERTa config needs, named as the weight mapper
// produces them, LayerNorm weights at 1 and biases at 0. `draw(n, std, offset)` fills each tensor in a fixed order, so
// a seeded drawer gives the same weights on every run.

import type { ModelConfig } from '../models/config';
import type { HostTensor } from '../models/weights';

export type Draw = (n: number, std: number, offset: number) => Float32Array;

export function syntheticWeights(cfg: ModelConfig, draw: Draw): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>();
  const put = (n: string, shape: number[], std = 0.02, off = 0) => m.set(n, { shape, data: draw(shape.reduce((a, b) => a * b, 1), std, off) });
  const ln = (p: string, C: number) => { put(`${p}.weight`, [C], 0, 1); put(`${p}.bias`, [C], 0); };
  if (cfg.kind === 'gpt2') {
    const { vocabSize: V, nEmbd: C, nLayer: L, nPositions: T, nInner: F } = cfg.arch;
    put('wte.weight', [V, C]); put('wpe.weight', [T, C]);
    for (let l = 0; l < L; l++) {
      const p = `h.${l}.`;
      ln(`${p}ln_1`, C); ln(`${p}ln_2`, C);
      put(`${p}attn.c_attn.weight`, [C, 3 * C]); put(`${p}attn.c_attn.bias`, [3 * C], 0);
      put(`${p}attn.c_proj.weight`, [C, C]); put(`${p}attn.c_proj.bias`, [C], 0);
      put(`${p}mlp.c_fc.weight`, [C, F]); put(`${p}mlp.c_fc.bias`, [F], 0);
      put(`${p}mlp.c_proj.weight`, [F, C]); put(`${p}mlp.c_proj.bias`, [C], 0);
    }
    ln('ln_f', C);
    return m;
  }
  const a = cfg.arch, C = a.hidden, F = a.intermediate;
  put('embeddings.word_embeddings.weight', [a.vocabSize, C]); put('embeddings.position_embeddings.weight', [a.maxPositions, C]);
  put('embeddings.token_type_embeddings.weight', [a.typeVocab, C]); ln('embeddings.LayerNorm', C);
  const lin = (n: string, i: number, o: number) => { put(`${n}.weight`, [o, i]); put(`${n}.bias`, [o], 0); };
  for (let l = 0; l < a.layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const q of ['query', 'key', 'value']) lin(`${p}attention.self.${q}`, C, C);
    lin(`${p}attention.output.dense`, C, C); ln(`${p}attention.output.LayerNorm`, C);
    lin(`${p}intermediate.dense`, C, F); lin(`${p}output.dense`, F, C); ln(`${p}output.LayerNorm`, C);
  }
  if (a.variant === 'bert') { lin('pooler.dense', C, C); lin('classifier', C, a.numLabels); }
  else { lin('classifier.dense', C, C); lin('classifier.out_proj', C, a.numLabels); }
  return m;
}
