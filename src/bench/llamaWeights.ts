// Synthetic checkpoints of the Llama family for benchmarks: every tensor src/nn/llamaBody.ts and llamaCausal.ts read
// for a LlamaArch, named as in a transformers checkpoint (`model.layers.N.self_attn.q_proj.weight`, linear weights
// (out, in)), RMSNorm weights at 1, biases at 0. `draw(n, std, offset)` fills each tensor in a fixed order, so a
// seeded drawer gives the same weights on every run.

import type { HostTensor } from '../models/weights';
import type { LlamaArch } from '../nn/llamaConfig';

/** n values of standard deviation std around offset. */
export type LlamaDraw = (n: number, std: number, offset: number) => Float32Array;

export function llamaSyntheticWeights(a: LlamaArch, draw: LlamaDraw): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>();
  const put = (n: string, shape: number[], std = 0.02, off = 0) =>
    m.set(n, {
      shape,
      data: draw(
        shape.reduce((x, y) => x * y, 1),
        std,
        off,
      ),
    });
  const norm = (n: string, C: number) => put(n, [C], 0, 1);
  const lin = (n: string, i: number, o: number, bias: boolean) => {
    put(`${n}.weight`, [o, i]);
    if (bias) put(`${n}.bias`, [o], 0);
  };
  const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D } = a;
  put('model.embed_tokens.weight', [a.vocabSize, C]);
  for (let l = 0; l < a.layers; l++) {
    const p = `model.layers.${l}.`;
    norm(`${p}input_layernorm.weight`, C);
    norm(`${p}post_attention_layernorm.weight`, C);
    if (a.qkNorm) {
      norm(`${p}self_attn.q_norm.weight`, D);
      norm(`${p}self_attn.k_norm.weight`, D);
    }
    lin(`${p}self_attn.q_proj`, C, H * D, a.qkvBias);
    lin(`${p}self_attn.k_proj`, C, KVH * D, a.qkvBias);
    lin(`${p}self_attn.v_proj`, C, KVH * D, a.qkvBias);
    lin(`${p}self_attn.o_proj`, H * D, C, a.oBias);
    lin(`${p}mlp.gate_proj`, C, F, a.mlpBias);
    lin(`${p}mlp.up_proj`, C, F, a.mlpBias);
    lin(`${p}mlp.down_proj`, F, C, a.mlpBias);
  }
  norm('model.norm.weight', C);
  if (!a.tieWordEmbeddings) put('lm_head.weight', [a.vocabSize, C]);
  return m;
}

/** A fast seeded drawer (xorshift32, uniform with the requested standard deviation): the 135M-parameter shape needs
 * millions of draws per tensor, and a benchmark needs only well-scaled values, not Gaussian ones. */
export function uniformDraw(seed: number): LlamaDraw {
  let s = seed >>> 0 || 1;
  return (n, std, offset) => {
    const out = new Float32Array(n),
      w = std * Math.sqrt(12);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = offset + w * (s / 4294967296 - 0.5);
    }
    return out;
  };
}
