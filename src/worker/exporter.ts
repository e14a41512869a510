// The export downloads: a zip of the PEFT adapter (adapter_config.json, adapter_model.safetensors, rank_map.json) and
// the merged model as model.safetensors under Hugging Face tensor names.

import { strToU8, zipSync } from 'fflate';
import type { LoadedModel } from '../models/load';
import { writeSafetensors } from '../models/safetensorsWrite';
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
