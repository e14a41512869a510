// The export downloads: a zip of the PEFT adapter (adapter_config.json, adapter_model.safetensors, rank_map.json),
// the merged model as model.safetensors under Hugging Face tensor names, and the merged model as the folder
// transformers.js loads (onnx/model.onnx, config.json, tokenizer files, generation_config.json) in a zip.

import { strToU8, zipSync } from 'fflate';
import { onnxFolder } from '../export/onnx/folder';
import type { LoadedModel } from '../models/load';
import { writeSafetensors } from '../models/safetensorsWrite';
import type { ModelSource } from '../models/sources';
import { exportPeft, modelPrefix } from '../peft/export';
import { mergeWeights } from '../peft/merge';
import { exportInput } from '../train/snapshot';
import type { Trainer } from '../train/trainer';
import type { RankMapData } from './protocol';

export async function buildExport(
  trainer: Trainer,
  model: LoadedModel,
): Promise<{ zip: Uint8Array; merged: Uint8Array; rankMap: RankMapData }> {
  const input = await exportInput(trainer, model);
  const { adapterConfig, adapterModel, rankMap } = exportPeft(input);
  const json = (v: unknown) => strToU8(`${JSON.stringify(v, null, 2)}\n`);
  const zip = zipSync({
    'adapter_config.json': json(adapterConfig),
    'adapter_model.safetensors': adapterModel,
    'rank_map.json': json(rankMap),
  });
  // Canonical names drop the model prefix (transformer./bert./roberta.); the classification head keeps none.
  const prefix = modelPrefix(model.kind);
  const merged = writeSafetensors(
    [...mergeWeights(model.weights.tensors, input)].map(([name, t]) => ({
      name: name.startsWith('classifier.') ? name : prefix + name,
      dtype: 'F32' as const,
      shape: t.shape,
      data: t.data,
    })),
    { format: 'pt' },
  );
  return { zip, merged, rankMap };
}

export interface OnnxExport {
  /** The folder as a zip, paths relative to its root (onnx/model.onnx, config.json, ...). */
  zip: Uint8Array;
  /** onnx/model.onnx, kept by the worker for try-it. */
  model: Uint8Array;
  files: string[];
}

/** The merged model (base + the trainer's adapters as they are now) as a transformers.js folder, zipped. */
export async function buildOnnxExport(
  trainer: Trainer,
  model: LoadedModel,
  opts: { source: ModelSource; labels: string[] | null; eosIds: readonly number[] | null },
): Promise<OnnxExport> {
  const input = await exportInput(trainer, model);
  const weights = mergeWeights(model.weights.tensors, input);
  const labels = opts.labels && model.task === 'seq-cls' ? opts.labels : undefined;
  const files = onnxFolder({
    config: model.config,
    weights,
    tokenizerJson: (await opts.source.get('tokenizer.json'))!,
    tokenizerConfig: await opts.source.get('tokenizer_config.json', true),
    labels: labels && labels.length === model.arch.numLabels(model.config) ? labels : undefined,
    eosIds: opts.eosIds ?? undefined,
  });
  // model.onnx is already dense float32: store it uncompressed (level 0) so zipping stays quick.
  const zip = zipSync(Object.fromEntries(files), { level: 0 });
  return { zip, model: files.get('onnx/model.onnx')!, files: [...files.keys()] };
}
