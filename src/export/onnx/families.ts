// What differs between model families in the ONNX export, one entry per family the graph builders cover: the graph,
// its doc string and the Hugging Face architecture transformers.js reads. A family without an entry is refused.

import type { EncoderModelConfig, Gpt2ModelConfig, ModelConfig } from '../../models/arch/index';
import type { HostTensor } from '../../models/weights';
import { bertGraph } from './bert';
import { gpt2Graph } from './gpt2';
import { type GraphBuilder, OnnxExportError } from './graph';

interface OnnxFamily<C extends ModelConfig> {
  graph(config: C, weights: Map<string, HostTensor>): GraphBuilder;
  docString(config: C): string;
  architecture(config: C): string;
}

const gpt2: OnnxFamily<Gpt2ModelConfig> = {
  graph: (c, w) => gpt2Graph(c.arch, w),
  docString: () => 'GPT-2 causal LM',
  architecture: () => 'GPT2LMHeadModel',
};

/** BERT and RoBERTa share the encoder graph; each names its own transformers class. */
function encoder(architecture: string): OnnxFamily<EncoderModelConfig> {
  return {
    graph: (c, w) => bertGraph(c.arch, w),
    docString: (c) => `${c.kind} sequence classification`,
    architecture: () => architecture,
  };
}

const FAMILIES: Record<string, OnnxFamily<never>> = {
  gpt2,
  bert: encoder('BertForSequenceClassification'),
  roberta: encoder('RobertaForSequenceClassification'),
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
