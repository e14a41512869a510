// Random small checkpoints in the exact Hugging Face layouts, for model tests that must not depend on fixtures.

import type { TextTokenizer } from '../../src/models/tokenizer';
import type { HostTensor } from '../../src/models/weights';
import { Rng } from '../../src/tensor/rng';

/** A tokenizer for models trained on token ids directly (the tests build their batches from ids): nothing to encode. */
export function idsTokenizer(vocabSize: number, padId = 0): TextTokenizer {
  return { encode: () => ({ ids: [], typeIds: [] }), decode: () => '', padId, eosId: 0, vocabSize };
}

function put(m: Map<string, HostTensor>, rng: Rng, name: string, shape: number[], scale = 0.2, offset = 0): void {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = offset + (rng.next() * 2 - 1) * scale;
  m.set(name, { shape, data });
}

export function randomGpt2(cfg: { V: number; P: number; C: number; L: number }, seed = 1): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>(),
    r = new Rng(seed),
    { V, P, C, L } = cfg;
  put(m, r, 'wte.weight', [V, C]);
  put(m, r, 'wpe.weight', [P, C]);
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    put(m, r, `${p}ln_1.weight`, [C], 0.1, 1);
    put(m, r, `${p}ln_1.bias`, [C], 0.1);
    put(m, r, `${p}attn.c_attn.weight`, [C, 3 * C]);
    put(m, r, `${p}attn.c_attn.bias`, [3 * C]);
    put(m, r, `${p}attn.c_proj.weight`, [C, C]);
    put(m, r, `${p}attn.c_proj.bias`, [C]);
    put(m, r, `${p}ln_2.weight`, [C], 0.1, 1);
    put(m, r, `${p}ln_2.bias`, [C], 0.1);
    put(m, r, `${p}mlp.c_fc.weight`, [C, 4 * C]);
    put(m, r, `${p}mlp.c_fc.bias`, [4 * C]);
    put(m, r, `${p}mlp.c_proj.weight`, [4 * C, C]);
    put(m, r, `${p}mlp.c_proj.bias`, [C]);
  }
  put(m, r, 'ln_f.weight', [C], 0.1, 1);
  put(m, r, 'ln_f.bias', [C], 0.1);
  return m;
}

export function randomBert(
  cfg: { V: number; P: number; C: number; L: number; F: number; labels: number; variant: 'bert' | 'roberta' },
  seed = 1,
): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>(),
    r = new Rng(seed),
    { V, P, C, L, F } = cfg;
  put(m, r, 'embeddings.word_embeddings.weight', [V, C]);
  put(m, r, 'embeddings.position_embeddings.weight', [P, C]);
  put(m, r, 'embeddings.token_type_embeddings.weight', [2, C]);
  put(m, r, 'embeddings.LayerNorm.weight', [C], 0.1, 1);
  put(m, r, 'embeddings.LayerNorm.bias', [C], 0.1);
  for (let l = 0; l < L; l++) {
    const p = `encoder.layer.${l}.`;
    for (const n of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      put(m, r, `${p}${n}.weight`, [C, C]);
      put(m, r, `${p}${n}.bias`, [C]);
    }
    put(m, r, `${p}attention.output.LayerNorm.weight`, [C], 0.1, 1);
    put(m, r, `${p}attention.output.LayerNorm.bias`, [C], 0.1);
    put(m, r, `${p}intermediate.dense.weight`, [F, C]);
    put(m, r, `${p}intermediate.dense.bias`, [F]);
    put(m, r, `${p}output.dense.weight`, [C, F]);
    put(m, r, `${p}output.dense.bias`, [C]);
    put(m, r, `${p}output.LayerNorm.weight`, [C], 0.1, 1);
    put(m, r, `${p}output.LayerNorm.bias`, [C], 0.1);
  }
  if (cfg.variant === 'bert') {
    put(m, r, 'pooler.dense.weight', [C, C]);
    put(m, r, 'pooler.dense.bias', [C]);
    put(m, r, 'classifier.weight', [cfg.labels, C]);
    put(m, r, 'classifier.bias', [cfg.labels]);
  } else {
    put(m, r, 'classifier.dense.weight', [C, C]);
    put(m, r, 'classifier.dense.bias', [C]);
    put(m, r, 'classifier.out_proj.weight', [cfg.labels, C]);
    put(m, r, 'classifier.out_proj.bias', [cfg.labels]);
  }
  return m;
}
