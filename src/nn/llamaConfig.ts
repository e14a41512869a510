// What the Llama-family network needs from a checkpoint's config (LlamaArch) and which of its modules adapters may
// target (LLAMA_ADAPTABLE); src/models/arch/llama.ts parses config.json into it.

import type { RopeConfig } from '../ops/rope';

/** What the network needs to know about a checkpoint (src/models/arch/llama.ts parses it from config.json). */
export interface LlamaArch {
  vocabSize: number;
  /** hidden_size (C). */
  hidden: number;
  /** intermediate_size (F), the SwiGLU width. */
  intermediate: number;
  layers: number;
  /** num_attention_heads (H). */
  heads: number;
  /** num_key_value_heads (KVH); divides heads. */
  kvHeads: number;
  /** head_dim (D); heads * headDim need not equal hidden (Qwen3). */
  headDim: number;
  /** rms_norm_eps, for every RMSNorm (Qwen3's q/k norms too). */
  eps: number;
  maxPositions: number;
  rope: RopeConfig;
  tieWordEmbeddings: boolean;
  /** q_proj, k_proj and v_proj have biases (Qwen2 always; Llama/Qwen3 attention_bias). */
  qkvBias: boolean;
  /** o_proj has a bias (Llama/Qwen3 attention_bias). */
  oBias: boolean;
  /** gate_proj, up_proj and down_proj have biases (Llama mlp_bias). */
  mlpBias: boolean;
  /** Qwen3: RMSNorm over head_dim of every q and k head before RoPE (q_norm, k_norm weights). */
  qkNorm: boolean;
  padTokenId: number | null;
  /** Classes of the sequence-classification head; unused by the causal LM. */
  numLabels: number;
}

/** Module types an adapter can target, after `model.layers.N.` (PEFT's target_modules names). */
export const LLAMA_ADAPTABLE = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;
