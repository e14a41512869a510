// What differs between model families in the ONNX export, one entry per family the graph builders cover: the graph,
// its doc string and the Hugging Face architecture transformers.js reads. A family without an entry is refused.

import type { EncoderModelConfig, Gpt2ModelConfig, LlamaModelConfig, ModelConfig } from '../../models/arch/index';
import type { HostTensor } from '../../models/weights';
import { bertGraph } from './bert';
import { gpt2Graph } from './gpt2';
import { type GraphBuilder, OnnxExportError } from './graph';
import { llamaGraph } from './llama';
import type { OnnxDecoderLayout } from './run';

interface OnnxFamily<C extends ModelConfig> {
  graph(config: C, weights: Map<string, HostTensor>): GraphBuilder;
  docString(config: C): string;
  architecture(config: C): string;
  /** config.json fields transformers.js needs spelled out (it does not apply the Python defaults). */
  configFields?(config: C): Record<string, unknown>;
  /** The past_key_values layout of a decoder graph; absent for classifiers. */
  decoderLayout?(config: C): OnnxDecoderLayout;
}

const gpt2: OnnxFamily<Gpt2ModelConfig> = {
  graph: (c, w) => gpt2Graph(c.arch, w),
  docString: () => 'GPT-2 causal LM',
  architecture: () => 'GPT2LMHeadModel',
  decoderLayout: ({ arch: a }) => ({
    layers: a.nLayer,
    kvHeads: a.nHead,
    headDim: a.nEmbd / a.nHead,
    maxPositions: a.nPositions,
  }),
};

/** BERT and RoBERTa share the encoder graph; each names its own transformers class. */
function encoder(architecture: string): OnnxFamily<EncoderModelConfig> {
  return {
    graph: (c, w) => bertGraph(c.arch, w),
    docString: (c) => `${c.kind} sequence classification`,
    architecture: () => architecture,
  };
}

/**
 * Llama, Qwen2 and Qwen3 share the decoder graph; each names its own causal-LM class. transformers.js sizes the empty
 * past from num_key_value_heads and head_dim (Qwen3 reads head_dim only), so config.json spells both out.
 */
function decoder(architecture: string): OnnxFamily<LlamaModelConfig> {
  return {
    graph: (c, w) => llamaGraph(c.arch, w),
    docString: () => `${architecture} causal LM`,
    architecture: () => architecture,
    configFields: (c) => ({ num_key_value_heads: c.arch.kvHeads, head_dim: c.arch.headDim }),
    decoderLayout: ({ arch: a }) => ({
      layers: a.layers,
      kvHeads: a.kvHeads,
      headDim: a.headDim,
      maxPositions: a.maxPositions,
    }),
  };
}

const FAMILIES: Record<string, OnnxFamily<never>> = {
  gpt2,
  bert: encoder('BertForSequenceClassification'),
  roberta: encoder('RobertaForSequenceClassification'),
  llama: decoder('LlamaForCausalLM'),
  qwen2: decoder('Qwen2ForCausalLM'),
  qwen3: decoder('Qwen3ForCausalLM'),
};

/** The model types the ONNX export writes. */
export const ONNX_MODEL_TYPES: readonly string[] = Object.keys(FAMILIES);

/** "export a gpt2, bert, roberta, llama, qwen2 or qwen3 model": what the refusals suggest. */
export function onnxSupportedText(): string {
  return `export a ${ONNX_MODEL_TYPES.slice(0, -1).join(', ')} or ${ONNX_MODEL_TYPES.at(-1)} model`;
}

/** The family entry of `config`, or undefined for a model type the export does not cover. */
export function onnxFamilyIfAny(config: ModelConfig): OnnxFamily<ModelConfig> | undefined {
  return FAMILIES[config.kind] as OnnxFamily<ModelConfig> | undefined;
}

/** The family entry of `config`, or an OnnxExportError naming the model type. */
export function onnxFamilyOf(config: ModelConfig): OnnxFamily<ModelConfig> {
  const f = onnxFamilyIfAny(config);
  if (!f) {
    throw new OnnxExportError(
      `config.json: model_type ${config.kind} cannot be exported to ONNX yet; ${onnxSupportedText()}.`,
    );
  }
  return f;
}
