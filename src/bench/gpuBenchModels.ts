// The benchmark's model shapes (synthetic weights): GPT-2 small, SmolLM2-135M and Qwen3-0.6B, full size or tiny for
// the smoke run, and the matmuls their linear layers and LM heads multiply.

import { archFor, type ModelConfig, parseModelConfig } from '../models/arch/index';
import type { MatmulShape, ModelSpec } from './gpuBenchCommon';
import { GPT2_TARGETS, LLAMA_TARGETS } from './hardwareKit';
import { SMOLLM2_135M } from './llama';
import { QWEN3_06B } from './memoryPlans';

export function models(smoke: boolean): { gpt2: ModelSpec; smol: ModelSpec; qwen: ModelSpec } {
  const gpt2 = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };
  const tiny = { vocab_size: 300, max_position_embeddings: 64, num_hidden_layers: 1 };
  return {
    gpt2: {
      name: 'GPT-2 small',
      raw: smoke ? { ...gpt2, vocab_size: 300, n_positions: 64, n_embd: 32, n_layer: 1, n_head: 2 } : gpt2,
      targets: GPT2_TARGETS,
      B: smoke ? 2 : 8,
      T: smoke ? 16 : 128,
    },
    smol: {
      name: 'SmolLM2-135M',
      raw: smoke
        ? { ...SMOLLM2_135M, ...tiny, hidden_size: 48, intermediate_size: 96, num_attention_heads: 3 }
        : SMOLLM2_135M,
      targets: LLAMA_TARGETS,
      B: smoke ? 2 : 8,
      T: smoke ? 16 : 256,
    },
    qwen: {
      name: 'Qwen3-0.6B',
      raw: smoke
        ? {
            ...QWEN3_06B,
            ...tiny,
            hidden_size: 32,
            intermediate_size: 64,
            num_attention_heads: 2,
            num_key_value_heads: 1,
            head_dim: 32,
          }
        : QWEN3_06B,
      targets: LLAMA_TARGETS,
      B: smoke ? 2 : 4,
      T: smoke ? 16 : 256,
    },
  };
}

/** Each model's linear widths at its step's rows (B*T), and its LM head at up to 1024 rows: b is the weight, as the
 * model multiplies it (nn.Linear weights transposed, GPT-2's Conv1D ones not). */
export function modelMatmuls(specs: ModelSpec[]): MatmulShape[] {
  const out: MatmulShape[] = [];
  const seen = new Set<string>();
  for (const m of specs) {
    const cfg: ModelConfig = parseModelConfig(m.raw);
    const arch = archFor(cfg);
    const M = m.B * m.T,
      transB = arch.layout === 'linear';
    const shapes = arch.moduleTypes(cfg).map((t) => ({ layer: t.type, M, K: t.inF, N: t.outF, transB }));
    const { hidden, vocab } = arch.dims(cfg);
    shapes.push({ layer: 'LM head', M: Math.min(M, 1024), K: hidden, N: vocab, transB: true });
    // The LM head's input gradient for one chunk of the chunked cross-entropy (320 rows): few output tiles, long K.
    shapes.push({ layer: 'LM head input gradient', M: Math.min(M, 320), K: vocab, N: hidden, transB: false });
    for (const s of shapes) {
      const key = `${s.M}x${s.K}x${s.N}${s.transB}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ model: m.name, ...s });
    }
  }
  return out;
}
