// The checkpoint of a model folder: model.safetensors, or the shards model.safetensors.index.json lists (as
// transformers saves big models: {"weight_map": {tensor name: shard file}}). Every shard is read and every tensor the
// index names must be in the shard it names.

import { readCheckpoint } from './arch/checkpoint';
import type { Checkpoint } from './arch/types';
import { ModelFormatError } from './errors';
import { DownloadError, type ModelSource } from './sources';

/** model.safetensors.index.json is unreadable or does not match its shards. */
export class ShardIndexError extends ModelFormatError {}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** Reads model.safetensors, or every shard of model.safetensors.index.json when the single file is absent. */
export async function readCheckpointFiles(src: ModelSource): Promise<Checkpoint> {
  const single = await src.get(SINGLE, true);
  if (single) return readCheckpoint(single, SINGLE);
  const indexBytes = await src.get(INDEX, true);
  // Neither file: ask for the single file again, so the source reports it missing in its own words (URL, status).
  if (!indexBytes) {
    await src.get(SINGLE);
    throw new DownloadError(
      SINGLE,
      '(file)',
      `${SINGLE} is missing from ${src.name} (and there is no ${INDEX} ` +
        'listing shards). Put the weights next to config.json.',
    );
  }
  const map = weightMap(new TextDecoder().decode(indexBytes));
  const files = [...new Set(Object.values(map))];
  const checkpoint: Checkpoint = new Map();
  for (const file of files) {
    const bytes = await src.get(file, true);
    if (!bytes) {
      throw new DownloadError(
        file,
        '(file)',
        `${file} is missing from ${src.name}: ${INDEX} lists it as a shard of ` +
          'the weights. Download every shard the index names.',
      );
    }
    readCheckpoint(bytes, file, checkpoint);
  }
  for (const [name, file] of Object.entries(map)) {
    const t = checkpoint.get(name);
    if (!t || t.file !== file) {
      throw new ShardIndexError(
        INDEX,
        `weight_map.${name}`,
        `${INDEX}: weight_map puts "${name}" in ${file}, but ${t ? `it is in ${t.file}` : 'no shard holds it'}. ` +
          'Re-download the model; the index and shards do not match.',
      );
    }
  }
  return checkpoint;
}

function weightMap(text: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ShardIndexError(INDEX, '(file)', `${INDEX}: not valid JSON (${(e as Error).message}). Re-download it.`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    throw new ShardIndexError(
      INDEX,
      'weight_map',
      `${INDEX}: field "weight_map" must be an object of tensor name -> shard file. Re-download the index.`,
    );
  }
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || !/^[\w.-]+\.safetensors$/.test(file) || file.startsWith('.')) {
      throw new ShardIndexError(
        INDEX,
        `weight_map.${name}`,
        `${INDEX}: weight_map.${name} must name a .safetensors ` +
          `file in the same folder, got ${JSON.stringify(file)}. Re-download the index.`,
      );
    }
  }
  return map as Record<string, string>;
}
