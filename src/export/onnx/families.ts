// What differs between model families in the ONNX export, one entry per family the graph builders cover: the graph,
// its doc string and the Hugging Face architecture transformers.js reads. A family without an entry is refused.

import type { EncoderModelConfig, Gpt2ModelConfig, LlamaModelConfig, ModelConfig } from '../../models/arch/index';
import type { HostTensor } from '../../models/weights';
import { bertGraph } from './bert';
import { gpt2Graph } from './gpt2';
import { type GraphBuilder, OnnxExportError } from './graph';
import { llamaGraph } from './llama';

interface OnnxFamily<C extends ModelConfig> {
  graph(config: C, weights: Map<string, HostTensor>): GraphBuilder;
  docString(config: C): string;
  architecture(config: C): string;
  /** config.json fields transformers.js needs spelled out (it does not apply the Python defaults). */
  configFields?(config: C): Record<string, unknown>;
}

const gpt2: OnnxFamily<Gpt2ModelConfig> = {
  graph: (c, w) => gpt2Graph(c.arch, w),
  docString: () => 'GPT-2 causal LM',
  architecture: () => 'GPT2LMHeadModel',
};

const encoder: OnnxFamily<EncoderModelConfig> = {
  graph: (c, w) => bertGraph(c.arch, w),
  docString: (c) => `${c.kind} sequence classification`,
  architecture: (c) => (c.kind === 'bert' ? 'BertForSequenceClassification' : 'RobertaForSequenceClassification'),
};

// transformers.js sizes the empty past from num_key_value_heads and head_dim (Qwen3 reads head_dim only).
const llama: OnnxFamily<LlamaModelConfig> = {
  graph: (c, w) => llamaGraph(c.arch, w),
  docString: (c) => `${c.arch.architecture} causal LM`,
  architecture: (c) => c.arch.architecture,
  configFields: (c) => ({ num_key_value_heads: c.arch.kvHeads, head_dim: c.arch.headDim }),
};

const FAMILIES: Record<string, OnnxFamily<never>> = {
  gpt2,
  bert: encoder,
  roberta: encoder,
  llama,
  qwen2: llama,
  qwen3: llama,
};

/** The model types the ONNX export writes. */
export const ONNX_MODEL_TYPES: readonly string[] = Object.keys(FAMILIES);

/** "export a gpt2, bert or roberta model": what the refusals suggest. */
export function onnxSupportedText(): string {
  return `export a ${ONNX_MODEL_TYPES.slice(0, -1).join(', ')} or ${ONNX_MODEL_TYPES.at(-1)} model`;
}

/** The family entry of `config`, or an OnnxExportError naming the model type. */
export function onnxFamilyOf(config: ModelConfig): OnnxFamily<ModelConfig> {
  const f = FAMILIES[config.kind];
  if (!f) {
    throw new OnnxExportError(
      `config.json: model_type ${config.kind} cannot be exported to ONNX yet; ${onnxSupportedText()}.`,
    );
  }
  return f as OnnxFamily<ModelConfig>;
}
