// Causal Llama-family networks built straight from a model folder (config.json + model.safetensors), as the golden
// tests build them, for the generation tests; and the shared pieces those tests use (a LoRA adapter on q_proj and
// v_proj, the generation model record generateIds takes).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLlamaConfig } from '../../src/models/arch/llamaConfig';
import { mapLlamaWeights } from '../../src/models/arch/llamaWeights';
import type { GenerativeModel } from '../../src/models/generate';
import { toFloat32 } from '../../src/models/safetensorsDecode';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import type { TextTokenizer } from '../../src/models/tokenizer';
import { Llama } from '../../src/nn/llamaCausal';
import { ParamStore } from '../../src/nn/params';
import { AdapterSet } from '../../src/peft/adapters';
import type { Backend, Tensor } from '../../src/tensor/backend';
import { randArray } from './check';

/** The causal fixtures of tests/fixtures/llama and the demo model, by folder. */
export const LLAMA_DECODERS: [string, string][] = [
  ...['llama-gqa', 'qwen2-bias', 'qwen3-headdim', 'llama-bf16'].map((n): [string, string] => [
    n,
    `tests/fixtures/llama/${n}`,
  ]),
  ['llama-demo', 'public/models/llama-demo'],
];

/** A tokenizer for folders without tokenizer.json: generation here works on ids only. */
const idsOnly: TextTokenizer = {
  encode: () => {
    throw new Error('ids-only test tokenizer: no encode');
  },
  decode: (ids) => ids.join(' '),
  padId: 0,
  eosId: null,
  vocabSize: 0,
};

/** The network of a folder on `be`, with config.json's raw object, wrapped as generateIds takes it. */
export function llamaModel(be: Backend, dir: string): GenerativeModel & { net: Llama } {
  const text = readFileSync(join(dir, 'config.json'), 'utf8'),
    cfg = parseLlamaConfig(text);
  const file = join(dir, 'model.safetensors');
  const entries = parseSafetensors(new Uint8Array(readFileSync(file)), file).tensors;
  const checkpoint = new Map([...entries].map(([n, e]) => [n, { shape: e.shape, data: toFloat32(e).slice() }]));
  const tensors = mapLlamaWeights(checkpoint, cfg).tensors;
  const params = new ParamStore(
    be,
    new Map([...tensors].map(([n, t]) => [n, be.fromArray(t.data, t.shape, n)] as [string, Tensor])),
  );
  return { net: new Llama(be, cfg, params), tokenizer: idsOnly, config: { raw: JSON.parse(text) } };
}

/** A LoRA adapter with small random A and B on every q_proj and v_proj (eval mode). */
export function loraQv(be: Backend, net: Llama): AdapterSet {
  const linears = net.linears().filter((l) => /\.(q_proj|v_proj)$/.test(l.name));
  const set = new AdapterSet(be, linears, { method: 'lora', R0: 4, alpha: 8, dropout: 0.1, seed: 1 });
  set.training = false;
  be.write(set.theta, randArray(set.size, 5, -0.2, 0.2));
  return set;
}

/** A prompt of n ids below V (deterministic). */
export const promptIds = (n: number, V: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + 11) % V);
