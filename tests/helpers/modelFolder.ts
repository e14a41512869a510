// A model instantiated straight from a folder's config.json and weights, with a stand-in tokenizer: for tests that
// feed token ids themselves and compare backends or weight precisions.

import { readFileSync } from 'node:fs';
import { parseModelConfig } from '../../src/models/arch/index';
import { instantiate, type LoadedModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { readCheckpointFiles } from '../../src/models/shards';
import type { TextTokenizer } from '../../src/models/tokenizer';
import { mapCheckpoint } from '../../src/models/weights';
import type { Backend, WeightPrecision } from '../../src/tensor/backend';

/** A tokenizer that encodes nothing: the tests pass ids. */
const idsOnly = (vocabSize: number): TextTokenizer => ({
  encode: () => ({ ids: [], typeIds: [] }),
  decode: () => '',
  padId: 0,
  eosId: 0,
  vocabSize,
});

export async function loadFolder(be: Backend, dir: string, weightPrecision: WeightPrecision): Promise<LoadedModel> {
  const config = parseModelConfig(readFileSync(`${dir}/config.json`, 'utf8'));
  const weights = mapCheckpoint(await readCheckpointFiles(dirSource(dir)), config);
  return instantiate(be, config, idsOnly(1 << 20), weights, dir, { weightPrecision });
}
