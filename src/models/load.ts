// Assembles a model from a source: config.json, tokenizer, weights mapped to canonical names, uploaded to a backend.

import type { BertClassifier } from '../nn/bert';
import type { Gpt2 } from '../nn/gpt2';
import type { Llama } from '../nn/llamaCausal';
import { ParamStore, WeightError } from '../nn/params';
import type { Backend, Tensor, WeightPrecision } from '../tensor/backend';
import {
  archFor,
  type EncoderModelConfig,
  type Gpt2ModelConfig,
  type LlamaModelConfig,
  type ModelConfig,
  parseModelConfig,
  type Task,
} from './arch/index';
import type { LlamaClsNet } from './arch/llama';
import type { ArchDescriptor } from './arch/types';
import { readCheckpointFiles } from './shards';
import { DownloadError, type ModelSource } from './sources';
import { checkTokenizerFits, loadTokenizer, type TextTokenizer } from './tokenizer';
import { type MappedWeights, mapCheckpoint } from './weights';

interface LoadedParts {
  tokenizer: TextTokenizer;
  params: ParamStore;
  weights: MappedWeights;
  name: string;
  /** The family descriptor (src/models/arch/). */
  arch: ArchDescriptor<ModelConfig>;
}

/** A model on a backend; `kind` is config.json's model_type, `task` what its network computes. */
export type LoadedModel =
  | (LoadedParts & { kind: Gpt2ModelConfig['kind']; task: 'causal-lm'; config: Gpt2ModelConfig; net: Gpt2 })
  | (LoadedParts & {
      kind: EncoderModelConfig['kind'];
      task: 'seq-cls';
      config: EncoderModelConfig;
      net: BertClassifier;
    })
  | (LoadedParts & { kind: LlamaModelConfig['kind']; task: 'causal-lm'; config: LlamaModelConfig; net: Llama })
  | (LoadedParts & { kind: LlamaModelConfig['kind']; task: 'seq-cls'; config: LlamaModelConfig; net: LlamaClsNet });

export interface ReadModelOptions {
  numLabels?: number;
  seed?: number;
  /** The task to train where the family supports both (Llama family). */
  task?: Task;
  /** Storage of the frozen base matrices (see InstantiateOptions); 'f32' unless given. */
  weightPrecision?: WeightPrecision;
}

export interface InstantiateOptions {
  /** 'f16' stores every matrix of the checkpoint (linear weights, embeddings, LM head) as an f16 weight, rounded on
   * the host from the file's f32/f16/bf16 values; vectors (norms, biases) and the task head, which trains, stay f32.
   * Such a model trains adapters only (ParamStore.grad refuses an f16 tensor). 'f32' unless given. */
  weightPrecision?: WeightPrecision;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function required(src: ModelSource, file: string): Promise<Uint8Array> {
  const b = await src.get(file);
  if (!b) throw new DownloadError(file, '(file)', `${file} is missing from ${src.name}.`);
  return b;
}

/** Reads and checks every file (no backend needed), config.json against the weights' shapes and the tokenizer's ids
 * against the embedding, before any checkpoint tensor is converted (mapped tensors convert on first access). The
 * CLI's `info` and the page's summary use this. */
export async function readModelFiles(src: ModelSource, opts: ReadModelOptions = {}) {
  const configText = text(await required(src, 'config.json'));
  const tokenizerJson = await required(src, 'tokenizer.json');
  const tokenizerConfig = await src.get('tokenizer_config.json', true);
  const tokenizer = loadTokenizer(text(tokenizerJson), tokenizerConfig ? text(tokenizerConfig) : null);
  const config = parseModelConfig(configText, {
    numLabels: opts.numLabels,
    task: opts.task,
    padTokenId: tokenizer.padId,
  });
  const weights = mapCheckpoint(await readCheckpointFiles(src), config, { seed: opts.seed });
  const arch = archFor(config),
    embedding = arch.embeddingName;
  const rows = weights.tensors.get(embedding)!.shape[0];
  checkTokenizerFits(tokenizer, { vocabSize: arch.dims(config).vocab, embedding, rows });
  return { config, tokenizer, weights };
}

/** Loads the model onto `be`. Shapes are checked against config.json as the network is built. */
export async function loadModel(src: ModelSource, be: Backend, opts: ReadModelOptions = {}): Promise<LoadedModel> {
  const { config, tokenizer, weights } = await readModelFiles(src, opts);
  return instantiate(be, config, tokenizer, weights, src.name, { weightPrecision: opts.weightPrecision });
}

export function instantiate(
  be: Backend,
  config: ModelConfig,
  tokenizer: TextTokenizer,
  weights: MappedWeights,
  name: string,
  opts: InstantiateOptions = {},
): LoadedModel {
  const arch = archFor(config);
  const heads = arch.headModules(config.task);
  const tensors = new Map<string, Tensor>();
  for (const [n, t] of weights.tensors) {
    const frozenMatrix = t.shape.length >= 2 && !heads.some((h) => n.startsWith(`${h}.`));
    const precision = frozenMatrix ? (opts.weightPrecision ?? 'f32') : 'f32';
    tensors.set(n, be.weight(t.data, t.shape, { precision, label: n }));
  }
  const params = new ParamStore(be, tensors);
  try {
    const net = arch.build(be, config, params);
    return { kind: config.kind, task: config.task, config, net, arch, tokenizer, params, weights, name } as LoadedModel;
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
