// The architecture registry: config.json's model_type -> the family descriptor that knows its config, checkpoint
// names, adaptable modules, layout, heads and memory formula. The model kinds dynrank runs are the model_types listed
// here, and nowhere else.

import { ConfigError } from '../config';
import { parseJsonObject } from '../files';
import { bertArch, type EncoderModelConfig } from './bert';
import { type Gpt2ModelConfig, gpt2Arch } from './gpt2';
import { type LlamaModelConfig, llamaArch } from './llama';
import type { ArchDescriptor, Task } from './types';

/** Every family, in the order messages list them. */
export const ARCHITECTURES = [gpt2Arch, bertArch, llamaArch] as const;

type ConfigOf<D> = D extends ArchDescriptor<infer C> ? C : never;

/** A parsed config.json of any supported family. */
export type ModelConfig = ConfigOf<(typeof ARCHITECTURES)[number]>;
/** config.json model_type values dynrank runs. */
export type ModelKind = ModelConfig['kind'];
export type { EncoderModelConfig, Gpt2ModelConfig, LlamaModelConfig, Task };

/** Every supported model_type. */
export const MODEL_KINDS: readonly ModelKind[] = ARCHITECTURES.flatMap((a) => [...a.modelTypes]);

const FILE = 'config.json';

/** The descriptor of a config (or a model_type). Refuses an unknown model_type naming config.json and the field. */
export function archFor(cfg: { kind: string } | string): ArchDescriptor<ModelConfig> {
  const kind: unknown = typeof cfg === 'string' ? cfg : cfg.kind;
  const arch = ARCHITECTURES.find((a) => (a.modelTypes as readonly unknown[]).includes(kind));
  if (!arch) {
    const got = kind === undefined ? '(missing)' : JSON.stringify(kind);
    throw new ConfigError(
      FILE,
      'model_type',
      `${FILE}: model_type ${got} is not supported. dynrank runs ` +
        `${MODEL_KINDS.map((k) => `"${k}"`).join(', ')}; use a checkpoint of one of these families, or fix the field.`,
    );
  }
  return arch as unknown as ArchDescriptor<ModelConfig>;
}

export interface ParseModelConfigOptions {
  /** Size of a new classification head. */
  numLabels?: number;
  /** The task to train, where the family supports both (Llama: a causal-LM checkpoint fine-tuned as classifier). */
  task?: Task;
  /** pad_token_id when config.json has none (the tokenizer's). */
  padTokenId?: number;
}

/** Parses config.json text (or an already parsed object) with the descriptor of its model_type. */
export function parseModelConfig(
  input: string | Record<string, unknown>,
  opts: ParseModelConfigOptions = {},
): ModelConfig {
  const raw: unknown = typeof input === 'string' ? parseJsonObject(input, FILE, ConfigError) : input;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(FILE, '(file)', `${FILE}: expected a JSON object.`);
  }
  const obj = raw as Record<string, unknown>;
  return archFor({ kind: obj.model_type as string }).parseConfig(obj, opts);
}

/** One adaptable linear of a model: canonical name, module type, layer and sizes. */
export interface ModuleInfo {
  name: string;
  type: string;
  layer: number;
  inF: number;
  outF: number;
}

/** The adaptable linears of a config, in the paper's Figure 2 row order within each layer. */
export function adaptableModules(config: ModelConfig): ModuleInfo[] {
  const arch = archFor(config);
  return Array.from({ length: arch.dims(config).layers }, (_, l) =>
    arch.moduleTypes(config).map(({ type, inF, outF }) => ({
      name: `${arch.layerLead.replace('N', String(l))}${type}`,
      type,
      layer: l,
      inF,
      outF,
    })),
  ).flat();
}
