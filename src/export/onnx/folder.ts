// The folder transformers.js loads (FORMATS.md §9): onnx/model.onnx (fp32), config.json, tokenizer.json,
// tokenizer_config.json, and generation_config.json for decoders. Pure: returns the files as bytes by relative path.

import type { ModelConfig } from '../../models/arch/index';
import type { HostTensor } from '../../models/weights';
import { onnxFamilyOf } from './families';
import { OnnxExportError } from './graph';

export interface OnnxFolderInput {
  config: ModelConfig;
  /** The weights to export (an adapter already merged), canonical names. */
  weights: Map<string, HostTensor>;
  tokenizerJson: Uint8Array;
  tokenizerConfig: Uint8Array | null;
  /** Class names in id order for a classifier (their count must be the head's); default: the config's. */
  labels?: string[];
  /** A decoder's end-of-sequence ids (the model's generation_config.json, where it has one); default: config.json's
   * eos_token_id. */
  eosIds?: readonly number[];
  /** Largest model.onnx to write, in bytes of weights; default ONNX_MAX_BYTES. */
  maxModelBytes?: number;
}

/** A protobuf message, and so a model.onnx without external data, holds at most 2 GiB; a little is kept for the graph. */
const ONNX_MAX_BYTES = 2 ** 31 - 2 ** 24;

const PRODUCER = 'dynrank';
const size = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);

export function onnxFolder(input: OnnxFolderInput): Map<string, Uint8Array> {
  const { config } = input;
  const family = onnxFamilyOf(config);
  let bytes = 0;
  for (const t of input.weights.values()) bytes += t.data.length * 4;
  const max = input.maxModelBytes ?? ONNX_MAX_BYTES;
  if (bytes > max) {
    throw new OnnxExportError(
      `model.safetensors: ${size(bytes)} of float32 weights do not fit one model.onnx ` +
        `(at most ${size(max)} without external data); export a smaller model.`,
    );
  }
  const files = new Map<string, Uint8Array>();
  const graph = family.graph(config, input.weights);
  files.set('onnx/model.onnx', graph.encode({ producer: PRODUCER, docString: family.docString(config) }));
  const raw: Record<string, unknown> = {
    ...config.raw,
    ...family.configFields?.(config),
    architectures: [family.architecture(config)],
  };
  if (config.task === 'causal-lm') {
    raw.use_cache = true;
    const gen: Record<string, unknown> = {};
    for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id'])
      if (raw[k] !== undefined && raw[k] !== null) gen[k] = raw[k];
    if (input.eosIds && input.eosIds.length > 0)
      gen.eos_token_id = input.eosIds.length === 1 ? input.eosIds[0] : [...input.eosIds];
    files.set('generation_config.json', json(gen));
  } else {
    const labels = input.labels ?? config.labels;
    if (labels.length !== config.arch.numLabels) {
      throw new OnnxExportError(
        `labels: ${labels.length} class names for a head of ${config.arch.numLabels} labels; ` +
          'pass one name per output of the classifier.',
      );
    }
    raw.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    raw.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
    delete raw.num_labels;
  }
  files.set('config.json', json(raw));
  files.set('tokenizer.json', input.tokenizerJson);
  files.set('tokenizer_config.json', input.tokenizerConfig ?? json({}));
  return files;
}
