// The synthetic Llama checkpoint holds exactly the tensors src/nn/llamaBody.ts reads, at the shapes it expects (no GPU:
// the network is built over shape-only tensors).

import { describe, expect, it } from 'vitest';
import { parseLlamaConfig } from '../models/arch/llamaConfig';
import { Llama } from '../nn/llamaCausal';
import { ParamStore } from '../nn/params';
import type { Backend, Tensor } from '../tensor/backend';
import { llamaSyntheticWeights, uniformDraw } from './llamaWeights';

function build(extra: Record<string, unknown>) {
  const cfg = parseLlamaConfig({
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 24,
    vocab_size: 50,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    ...extra,
  });
  const host = llamaSyntheticWeights(cfg, uniformDraw(7));
  const read = new Set<string>();
  const tensors = new Map([...host].map(([n, t]) => [n, { shape: t.shape } as unknown as Tensor]));
  const store = new ParamStore({} as Backend, tensors);
  const get = store.get.bind(store);
  store.get = (n, s) => {
    read.add(n);
    return get(n, s);
  };
  new Llama({} as Backend, cfg, store);
  return { host, read };
}

describe('llamaSyntheticWeights', () => {
  it('gives the network every tensor it reads and nothing else, tied or not, with biases and q/k norms', () => {
    const untied = { tie_word_embeddings: false, attention_bias: true, mlp_bias: true };
    for (const extra of [{ tie_word_embeddings: true }, untied]) {
      const { host, read } = build(extra);
      expect([...host.keys()].sort()).toEqual([...read].sort());
    }
    const qwen3 = build({
      model_type: 'qwen3',
      architectures: ['Qwen3ForCausalLM'],
      head_dim: 8,
      tie_word_embeddings: true,
    });
    expect(qwen3.host.has('model.layers.1.self_attn.k_norm.weight')).toBe(true);
    expect([...qwen3.host.keys()].sort()).toEqual([...qwen3.read].sort());
  });

  it('puts norms at 1 and draws the rest with the requested spread, the same on every run', () => {
    const { host } = build({ tie_word_embeddings: false, attention_bias: true });
    expect([...host.get('model.norm.weight')!.data]).toEqual(new Array(16).fill(1));
    expect([...host.get('model.layers.0.self_attn.q_proj.bias')!.data]).toEqual(new Array(16).fill(0));
    const w = host.get('model.layers.0.mlp.gate_proj.weight')!;
    expect(w.shape).toEqual([24, 16]);
    const sd = Math.sqrt(w.data.reduce((s, x) => s + x * x, 0) / w.data.length);
    expect(sd).toBeGreaterThan(0.015);
    expect(sd).toBeLessThan(0.025);
    const again = build({ tie_word_embeddings: false, attention_bias: true }).host;
    expect(again.get('lm_head.weight')!.data).toEqual(host.get('lm_head.weight')!.data);
  });
});
