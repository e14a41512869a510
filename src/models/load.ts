// Assembles a model from a source: config.json, tokenizer, weights mapped to canonical names, uploaded to a backend.

import { BertClassifier } from '../nn/bert';
import { Gpt2 } from '../nn/gpt2';
import { ParamStore, WeightError } from '../nn/params';
import type { Backend, Tensor } from '../tensor/backend';
import { parseConfig, type ModelConfig } from './config';
import { DownloadError, type ModelSource } from './sources';
import { checkTokenizerFits, loadTokenizer, type TextTokenizer } from './tokenizer';
import { embeddingName, materialize, planWeights, type MappedWeights } from './weights';

export type LoadedModel =
  | { kind: 'gpt2'; config: ModelConfig & { kind: 'gpt2' }; net: Gpt2; tokenizer: TextTokenizer; params: ParamStore; weights: MappedWeights; name: string }
  | { kind: 'bert' | 'roberta'; config: ModelConfig & { kind: 'bert' | 'roberta' }; net: BertClassifier; tokenizer: TextTokenizer; params: ParamStore; weights: MappedWeights; name: string };

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function required(src: ModelSource, file: string): Promise<Uint8Array> {
  const b = await src.get(file);
  if (!b) throw new DownloadError(file, '(file)', `${file} is missing from ${src.name}.`);
  return b;
}

/** Reads and checks every file (no backend needed), config.json against the weights' shapes and the tokenizer's ids
 * against the embedding, before any tensor is converted or created. The CLI's `info` and the page's summary use
 * this. */
export async function readModelFiles(src: ModelSource, opts: { numLabels?: number; seed?: number } = {}) {
  const config = parseConfig(text(await required(src, 'config.json')), { numLabels: opts.numLabels });
  const tokenizerJson = await required(src, 'tokenizer.json');
  const tokenizerConfig = await src.get('tokenizer_config.json', true);
  const tokenizer = loadTokenizer(text(tokenizerJson), tokenizerConfig ? text(tokenizerConfig) : null);
  // Shapes first (the header only), so that nothing is converted or initialised for files that do not fit together.
  const plan = planWeights(await required(src, 'model.safetensors'), config);
  const embedding = embeddingName(config.kind);
  const rows = plan.entries.get(embedding)!.shape[0];
  checkTokenizerFits(tokenizer, { vocabSize: config.arch.vocabSize, embedding, rows });
  const weights = materialize(plan, config, { seed: opts.seed });
  return { config, tokenizer, weights };
}

/** Loads the model onto `be`. Shapes are checked against config.json as the network is built. */
export async function loadModel(src: ModelSource, be: Backend, opts: { numLabels?: number; seed?: number } = {}): Promise<LoadedModel> {
  const { config, tokenizer, weights } = await readModelFiles(src, opts);
  return instantiate(be, config, tokenizer, weights, src.name);
}

export function instantiate(be: Backend, config: ModelConfig, tokenizer: TextTokenizer, weights: MappedWeights, name: string): LoadedModel {
  const tensors = new Map<string, Tensor>();
  for (const [n, t] of weights.tensors) tensors.set(n, be.fromArray(t.data, t.shape, n));
  const params = new ParamStore(be, tensors);
  try {
    if (config.kind === 'gpt2') return { kind: 'gpt2', config, net: new Gpt2(be, config.arch, params), tokenizer, params, weights, name };
    return { kind: config.kind, config, net: new BertClassifier(be, config.arch, params), tokenizer, params, weights, name };
  } catch (e) {
    // ParamStore names the tensor; say which file it came from and what the expected shape is based on.
    if (e instanceof WeightError) {
      throw new WeightError(`model.safetensors: ${e.message} (the shapes follow config.json of ${name})`, { cause: e });
    }
    throw e;
  }
}

/** Parameter count of the checkpoint as loaded (tied weights counted once). */
export function parameterCount(weights: MappedWeights): number {
  let n = 0;
  for (const t of weights.tensors.values()) n += t.data.length;
  return n;
}
