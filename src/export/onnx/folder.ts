// The folder transformers.js loads (FORMATS.md §9): onnx/model.onnx (fp32), config.json, tokenizer.json,
// tokenizer_config.json, and generation_config.json for decoders. Pure: returns the files as bytes by relative path.

import type { ModelConfig } from '../../models/config';
import type { HostTensor } from '../../models/weights';
import { bertGraph } from './bert';
import { gpt2Graph } from './gpt2';
import { OnnxExportError } from './graph';

export interface OnnxFolderInput {
  config: ModelConfig;
  /** The weights to export (an adapter already merged), canonical names. */
  weights: Map<string, HostTensor>;
  tokenizerJson: Uint8Array;
  tokenizerConfig: Uint8Array | null;
  /** Class names in id order for a classifier (their count must be the head's); default: the config's. */
  labels?: string[];
}

const PRODUCER = 'dynrank';
const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);

/** The ONNX graph alone, serialized. */
function onnxModel(config: ModelConfig, weights: Map<string, HostTensor>): Uint8Array {
  if (config.kind === 'gpt2')
    return gpt2Graph(config.arch, weights).encode({ producer: PRODUCER, docString: 'GPT-2 causal LM' });
  if (config.kind === 'bert' || config.kind === 'roberta') {
    return bertGraph(config.arch, weights).encode({
      producer: PRODUCER,
      docString: `${config.kind} sequence classification`,
    });
  }
  throw new OnnxExportError(
    `config.json: model_type ${(config as { kind: string }).kind} cannot be exported to ONNX yet; ` +
      'export a gpt2, bert or roberta model.',
  );
}

export function onnxFolder(input: OnnxFolderInput): Map<string, Uint8Array> {
  const { config } = input;
  const files = new Map<string, Uint8Array>();
  files.set('onnx/model.onnx', onnxModel(config, input.weights));
  const raw: Record<string, unknown> = { ...config.raw };
  if (config.kind === 'gpt2') {
    raw.architectures = ['GPT2LMHeadModel'];
    raw.use_cache = true;
    const gen: Record<string, unknown> = {};
    for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id'])
      if (raw[k] !== undefined && raw[k] !== null) gen[k] = raw[k];
    files.set('generation_config.json', json(gen));
  } else {
    const labels = input.labels ?? config.labels;
    if (labels.length !== config.arch.numLabels) {
      throw new OnnxExportError(
        `labels: ${labels.length} class names for a head of ${config.arch.numLabels} labels; ` +
          'pass one name per output of the classifier.',
      );
    }
    raw.architectures = [config.kind === 'bert' ? 'BertForSequenceClassification' : 'RobertaForSequenceClassification'];
    raw.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    raw.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
    delete raw.num_labels;
  }
  files.set('config.json', json(raw));
  files.set('tokenizer.json', input.tokenizerJson);
  files.set('tokenizer_config.json', input.tokenizerConfig ?? json({}));
  return files;
}
