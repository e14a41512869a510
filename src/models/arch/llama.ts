// The Llama family's config.json and checkpoint layout: model_type llama, qwen2 and qwen3 with the ForCausalLM and
// ForSequenceClassification heads. Field names, defaults and per-family rules follow transformers 4.50's
// configuration_llama.py / configuration_qwen2.py / configuration_qwen3.py and the matching modeling files:
// - Llama: q/k/v/o biases iff attention_bias, gate/up/down biases iff mlp_bias, head_dim default hidden / heads;
// - Qwen2: q/k/v biases always, no o bias, no mlp bias;
// - Qwen3: q/k/v/o biases iff attention_bias, per-head RMSNorm of q and k (q_norm, k_norm) before RoPE.
// Every field is checked (type, integer, range, consistency) and a refusal names config.json and the field. Not
// supported and refused by name: sliding-window attention, rope types other than default and llama3, partial rotary
// embeddings, activations other than silu. attention_dropout is read but the engine runs the base model without
// dropout (fine-tuning keeps it in eval mode; adapters carry their own dropout).

import type { EncoderBatch } from '../../nn/bert';
import { Llama } from '../../nn/llamaCausal';
import { LlamaClassifier, lastTokenRows } from '../../nn/llamaClassifier';
import { LLAMA_ADAPTABLE, type LlamaArch } from '../../nn/llamaConfig';
import type { RopeConfig, RopeScaling } from '../../ops/rope';
import type { Tensor } from '../../tensor/backend';
import { Rng } from '../../tensor/rng';
import type { HostEncoderBatch } from '../batch';
import { ConfigError } from '../config';
import { ModelFormatError } from '../errors';
import { fileOf, lazyTensor } from './checkpoint';
import type { ArchDescriptor, ModuleTypeInfo, SeqClsNet, SyntheticInit } from './types';

/** A config.json rope field the engine cannot use; names the file and the field. */
export class RopeConfigError extends ConfigError {}

/** A checkpoint tensor that does not fit the architecture config.json describes; names the file and the tensor. */
export class LlamaWeightError extends ModelFormatError {}

type LlamaFamily = 'llama' | 'qwen2' | 'qwen3';
type LlamaTask = 'causal-lm' | 'seq-cls';

/** The engine's view (LlamaArch, what src/nn/llamaBody.ts builds from) plus what config.json says about the task. */
export interface LlamaConfig extends LlamaArch {
  family: LlamaFamily;
  task: LlamaTask;
  /** architectures[0] of config.json, or the one implied by family and task. */
  architecture: string;
  /** Read for information; the engine applies no attention dropout. */
  attentionDropout: number;
  initializerRange: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Class names in id order (seq-cls); empty for a causal LM. */
  labels: string[];
}

export interface ParseLlamaConfigOptions {
  /** Named in error messages; config.json unless given. */
  file?: string;
  /** Overrides the task the architectures field implies (a causal-LM checkpoint fine-tuned as a classifier). */
  task?: LlamaTask;
  /** Overrides num_labels / id2label: the size of a new classification head. */
  numLabels?: number;
  /** Used when config.json has no pad_token_id (e.g. the tokenizer's pad token); a seq-cls model needs one. */
  padTokenId?: number;
}

/** Sane upper bounds: far above any released model, low enough to refuse a corrupt or hostile file early. */
const LLAMA_LIMITS = {
  vocab_size: 1 << 22,
  hidden_size: 1 << 16,
  intermediate_size: 1 << 18,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  head_dim: 1024,
  max_position_embeddings: 1 << 24,
  num_labels: 1 << 16,
} as const;

const FAMILIES: Record<LlamaFamily, { prefix: string; defaults: Record<string, number> }> = {
  llama: {
    prefix: 'Llama',
    defaults: {
      vocab_size: 32000,
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-6,
    },
  },
  qwen2: {
    prefix: 'Qwen2',
    defaults: {
      vocab_size: 151936,
      hidden_size: 4096,
      intermediate_size: 22016,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
    },
  },
  qwen3: {
    prefix: 'Qwen3',
    defaults: {
      vocab_size: 151936,
      hidden_size: 4096,
      intermediate_size: 22016,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      head_dim: 128,
    },
  },
};

const HEADS: Record<string, LlamaTask> = { ForCausalLM: 'causal-lm', ForSequenceClassification: 'seq-cls' };

const REEXPORT = 'Fix the file or re-export the model with transformers';

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Field readers that throw ConfigError naming the file and the field. */
class Fields {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly file: string,
  ) {}

  fail(field: string, problem: string, fix = REEXPORT): never {
    throw new ConfigError(this.file, field, `${this.file}: field "${field}" ${problem}. ${fix}.`);
  }

  present(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  num(field: string, dflt?: number): number {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(field, 'is missing');
      return dflt as number;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `must be a number, got ${JSON.stringify(v)}`);
    return v as number;
  }

  /** An integer in [lo, hi]. */
  int(field: string, lo: number, hi: number, dflt?: number): number {
    const v = this.num(field, dflt);
    if (!Number.isInteger(v) || v < lo || v > hi) this.fail(field, `must be an integer in [${lo}, ${hi}], got ${v}`);
    return v;
  }

  bool(field: string, dflt: boolean): boolean {
    const v = this.raw[field];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  }

  /** A token id (integer in [0, vocab)) or null when absent. */
  tokenId(field: string, vocab: number, value: unknown = this.raw[field]): number | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= vocab) {
      this.fail(
        field,
        `must be a token id in [0, ${vocab - 1}] (vocab_size ${vocab}) or null, got ${JSON.stringify(value)}`,
      );
    }
    return value as number;
  }
}

/** Parses config.json text (or an already parsed object) of a Llama, Qwen2 or Qwen3 checkpoint. */
export function parseLlamaConfig(
  input: string | Record<string, unknown>,
  opts: ParseLlamaConfigOptions = {},
): LlamaConfig {
  const file = opts.file ?? 'config.json';
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new ConfigError(file, '(file)', `${file}: not valid JSON (${(e as Error).message}). ${REEXPORT}.`);
    }
  }
  if (!isObject(raw)) throw new ConfigError(file, '(file)', `${file}: expected a JSON object. ${REEXPORT}.`);
  const f = new Fields(raw, file);

  const family = raw.model_type;
  if (family !== 'llama' && family !== 'qwen2' && family !== 'qwen3') {
    f.fail(
      'model_type',
      `is ${JSON.stringify(family)}; this parser reads "llama", "qwen2" and "qwen3"`,
      'Use a Llama, SmolLM2, Qwen2/2.5 or Qwen3 checkpoint',
    );
  }
  const fam = FAMILIES[family as LlamaFamily];
  const d = fam.defaults;

  // architectures: the head, which must belong to the family.
  let task: LlamaTask = 'causal-lm';
  let architecture = `${fam.prefix}ForCausalLM`;
  if (f.present('architectures')) {
    const archs = raw.architectures;
    if (!Array.isArray(archs) || archs.length !== 1 || typeof archs[0] !== 'string') {
      f.fail('architectures', `must be a list of one class name, got ${JSON.stringify(archs)}`);
    }
    architecture = (archs as string[])[0];
    const head = architecture.startsWith(fam.prefix) ? architecture.slice(fam.prefix.length) : '';
    if (!Object.hasOwn(HEADS, head)) {
      f.fail(
        'architectures',
        `is ${JSON.stringify(architecture)}, which is not ${fam.prefix}ForCausalLM or ` +
          `${fam.prefix}ForSequenceClassification (model_type "${family}")`,
        'Use a causal-LM or sequence-classification checkpoint of this family',
      );
    }
    task = HEADS[head];
  }
  if (opts.task) {
    task = opts.task;
    architecture = `${fam.prefix}${task === 'causal-lm' ? 'ForCausalLM' : 'ForSequenceClassification'}`;
  }

  const L = LLAMA_LIMITS;
  const vocabSize = f.int('vocab_size', 1, L.vocab_size, d.vocab_size);
  const hidden = f.int('hidden_size', 1, L.hidden_size, d.hidden_size);
  const intermediate = f.int('intermediate_size', 1, L.intermediate_size, d.intermediate_size);
  const layers = f.int('num_hidden_layers', 1, L.num_hidden_layers, d.num_hidden_layers);
  const heads = f.int('num_attention_heads', 1, L.num_attention_heads, d.num_attention_heads);
  const kvHeads = f.int('num_key_value_heads', 1, heads, heads);
  if (heads % kvHeads !== 0) {
    f.fail('num_key_value_heads', `(${kvHeads}) must divide num_attention_heads (${heads})`);
  }
  let headDim: number;
  if (f.present('head_dim') || d.head_dim !== undefined) {
    headDim = f.int('head_dim', 1, L.head_dim, d.head_dim);
  } else {
    if (hidden % heads !== 0) {
      f.fail('num_attention_heads', `(${heads}) must divide hidden_size (${hidden}) when head_dim is not given`);
    }
    headDim = hidden / heads;
  }
  if (headDim % 2 !== 0) f.fail('head_dim', `must be even for rotary embeddings, got ${headDim}`);
  const eps = f.num('rms_norm_eps', d.rms_norm_eps);
  if (!(eps > 0 && eps < 1)) f.fail('rms_norm_eps', `must be in (0, 1), got ${eps}`);
  const maxPositions = f.int('max_position_embeddings', 1, L.max_position_embeddings, d.max_position_embeddings);

  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu' && act !== 'swish') {
    f.fail('hidden_act', `is ${JSON.stringify(act)}; the Llama family's SwiGLU MLP needs "silu"`, REEXPORT);
  }
  if (f.bool('use_sliding_window', false)) {
    f.fail(
      'use_sliding_window',
      'is true; sliding-window attention is not supported',
      'Set it to false (Qwen2.5 and Qwen3 checkpoints ship with false)',
    );
  }
  const attentionDropout = f.num('attention_dropout', 0);
  if (!(attentionDropout >= 0 && attentionDropout < 1)) {
    f.fail('attention_dropout', `must be in [0, 1), got ${attentionDropout}`);
  }
  const initializerRange = f.num('initializer_range', 0.02);
  if (!(initializerRange > 0 && initializerRange <= 1)) {
    f.fail('initializer_range', `must be in (0, 1], got ${initializerRange}`);
  }
  const tieWordEmbeddings = f.bool('tie_word_embeddings', false);
  const attentionBias = f.bool('attention_bias', false);
  // Qwen2 has no mlp_bias field; a stray one is ignored as transformers does.
  const mlpBias = family === 'llama' ? f.bool('mlp_bias', false) : false;
  const rope = parseRopeConfig(raw, { headDim, file });

  const bosTokenId = f.tokenId('bos_token_id', vocabSize);
  const eosRaw = raw.eos_token_id;
  const eosTokenIds = Array.isArray(eosRaw)
    ? eosRaw.map((v) => f.tokenId('eos_token_id', vocabSize, v) as number)
    : [f.tokenId('eos_token_id', vocabSize)].filter((v): v is number => v !== null);
  let padTokenId = f.tokenId('pad_token_id', vocabSize);
  if (padTokenId === null && opts.padTokenId !== undefined) {
    padTokenId = f.tokenId('pad_token_id', vocabSize, opts.padTokenId);
  }

  let labels: string[] = [];
  if (task === 'seq-cls') {
    if (padTokenId === null) {
      f.fail(
        'pad_token_id',
        'is missing; a sequence classifier pools the last token before the padding',
        "Set pad_token_id in config.json (often to eos_token_id) or pass the tokenizer's pad token",
      );
    }
    labels = llamaLabelNames(f, opts.numLabels);
  }

  return {
    family: family as LlamaFamily,
    task,
    architecture,
    vocabSize,
    hidden,
    intermediate,
    layers,
    heads,
    kvHeads,
    headDim,
    eps,
    maxPositions,
    rope,
    tieWordEmbeddings,
    qkvBias: family === 'qwen2' ? true : attentionBias,
    oBias: family === 'qwen2' ? false : attentionBias,
    mlpBias,
    qkNorm: family === 'qwen3',
    attentionDropout,
    initializerRange,
    padTokenId,
    bosTokenId,
    eosTokenIds,
    labels,
    numLabels: labels.length,
  };
}

/** Class names in id order: id2label, else num_labels generic names (2 by default, as transformers). */
function llamaLabelNames(f: Fields, override: number | undefined): string[] {
  const id2label = f.raw.id2label;
  if (id2label !== undefined && id2label !== null && !isObject(id2label)) {
    f.fail('id2label', `must be an object of class names, got ${JSON.stringify(id2label)}`);
  }
  let n: number;
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 1 || override > LLAMA_LIMITS.num_labels) {
      f.fail(
        'num_labels',
        `override must be an integer in [1, ${LLAMA_LIMITS.num_labels}], got ${override}`,
        'Pass a positive number of classes',
      );
    }
    n = override;
  } else if (isObject(id2label)) {
    n = Object.keys(id2label).length;
    if (n < 1 || n > LLAMA_LIMITS.num_labels) f.fail('id2label', `has ${n} classes`);
  } else {
    n = f.int('num_labels', 1, LLAMA_LIMITS.num_labels, 2);
  }
  return Array.from({ length: n }, (_, i) => {
    const name = isObject(id2label) ? id2label[String(i)] : undefined;
    return typeof name === 'string' ? name : `LABEL_${i}`;
  });
}

// ---------------------------------------------------------------------------------------------------------- rope

export interface RopeConfigOptions {
  /** head_dim of the model (config `head_dim`, or hidden_size / num_attention_heads). */
  headDim: number;
  /** Named in error messages. */
  file?: string;
}

/** rope_type values parseRopeConfig accepts. */
const SUPPORTED_ROPE_TYPES = ['default', 'llama3'] as const;

/**
 * The rope settings of a config.json: `rope_theta` (default 10000, as transformers' LlamaConfig) and `rope_scaling`
 * (null, or an object with `rope_type`, or the older key `type`), or the newer combined `rope_parameters` object.
 * Refuses rope types other than default and llama3 (linear, dynamic, yarn, longrope, ...) by name, and partial rotary
 * embeddings, with a RopeConfigError naming the field.
 */
export function parseRopeConfig(raw: Record<string, unknown>, opts: RopeConfigOptions): RopeConfig {
  const file = opts.file ?? 'config.json';
  const fail = (field: string, problem: string, fix: string): never => {
    throw new RopeConfigError(file, field, `${file}: ${field}: ${problem}. ${fix}`);
  };
  const { headDim } = opts;
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    fail(
      'head_dim',
      `rotary embeddings need an even, positive head size, got ${headDim}`,
      'Check head_dim (or hidden_size / num_attention_heads) in the file',
    );
  }
  const combined = raw.rope_parameters;
  if (combined !== undefined && combined !== null && !isObject(combined)) {
    fail('rope_parameters', `expected an object, got ${JSON.stringify(combined)}`, REEXPORT);
  }
  const scalingField = isObject(combined) ? 'rope_parameters' : 'rope_scaling';
  const scalingRaw = isObject(combined) ? combined : raw.rope_scaling;
  if (scalingRaw !== undefined && scalingRaw !== null && !isObject(scalingRaw)) {
    fail(scalingField, `expected an object or null, got ${JSON.stringify(scalingRaw)}`, REEXPORT);
  }
  const scalingObj = (scalingRaw ?? {}) as Record<string, unknown>;

  const thetaInCombined = isObject(combined) && combined.rope_theta !== undefined;
  const thetaField = thetaInCombined ? 'rope_parameters.rope_theta' : 'rope_theta';
  const thetaRaw = thetaInCombined ? (combined as Record<string, unknown>).rope_theta : raw.rope_theta;
  const theta = thetaRaw === undefined || thetaRaw === null ? 10000 : thetaRaw;
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 1) {
    fail(thetaField, `expected a number > 1, got ${JSON.stringify(thetaRaw)}`, REEXPORT);
  }

  const partial = raw.partial_rotary_factor ?? scalingObj.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) {
    fail(
      'partial_rotary_factor',
      `partial rotary embeddings (${JSON.stringify(partial)}) are not supported`,
      'Use a Llama, SmolLM2, Qwen2.5 or Qwen3 model, which rotate the whole head',
    );
  }

  const typeKey = scalingObj.rope_type !== undefined ? 'rope_type' : 'type';
  const type = scalingObj[typeKey] ?? 'default';
  if (type === 'default') return { headDim, theta: theta as number, scaling: { type: 'default' } };
  if (type !== 'llama3') {
    fail(
      `${scalingField}.${typeKey}`,
      `rope type ${JSON.stringify(type)} is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`,
      'Use a model whose config.json has no rope scaling or rope_type "llama3"',
    );
  }
  const positive = (key: string): number => {
    const v = scalingObj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      fail(`${scalingField}.${key}`, `llama3 rope scaling needs a positive number, got ${JSON.stringify(v)}`, REEXPORT);
    }
    return v as number;
  };
  const scaling: RopeScaling = {
    type: 'llama3',
    factor: positive('factor'),
    lowFreqFactor: positive('low_freq_factor'),
    highFreqFactor: positive('high_freq_factor'),
    originalMaxPositionEmbeddings: positive('original_max_position_embeddings'),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
    fail(
      `${scalingField}.high_freq_factor`,
      `must exceed low_freq_factor (${scaling.lowFreqFactor}), got ${scaling.highFreqFactor}`,
      REEXPORT,
    );
  }
  return { headDim, theta: theta as number, scaling };
}

// ------------------------------------------------------------------------------------------------------- weights

/** The checkpoint tensors a config needs, by checkpoint name (`model.layers.0.self_attn.q_proj.weight`), with their
 * shapes. nn.Linear weights are (out, in). lm_head.weight only when untied (causal LM); score.weight for seq-cls. */
export function llamaWeightShapes(cfg: LlamaConfig): Map<string, number[]> {
  const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D, vocabSize: V } = cfg;
  const m = new Map<string, number[]>();
  const lin = (name: string, inF: number, outF: number, bias: boolean) => {
    m.set(`${name}.weight`, [outF, inF]);
    if (bias) m.set(`${name}.bias`, [outF]);
  };
  m.set('model.embed_tokens.weight', [V, C]);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [C]);
    lin(`${p}self_attn.q_proj`, C, H * D, cfg.qkvBias);
    lin(`${p}self_attn.k_proj`, C, KVH * D, cfg.qkvBias);
    lin(`${p}self_attn.v_proj`, C, KVH * D, cfg.qkvBias);
    lin(`${p}self_attn.o_proj`, H * D, C, cfg.oBias);
    if (cfg.qkNorm) {
      m.set(`${p}self_attn.q_norm.weight`, [D]);
      m.set(`${p}self_attn.k_norm.weight`, [D]);
    }
    m.set(`${p}post_attention_layernorm.weight`, [C]);
    lin(`${p}mlp.gate_proj`, C, F, cfg.mlpBias);
    lin(`${p}mlp.up_proj`, C, F, cfg.mlpBias);
    lin(`${p}mlp.down_proj`, F, C, cfg.mlpBias);
  }
  m.set('model.norm.weight', [C]);
  if (cfg.task === 'causal-lm' && !cfg.tieWordEmbeddings) m.set('lm_head.weight', [V, C]);
  if (cfg.task === 'seq-cls') m.set('score.weight', [cfg.numLabels, C]);
  return m;
}

export interface HostWeight {
  shape: number[];
  data: Float32Array;
}

export interface LlamaWeights {
  tensors: Map<string, HostWeight>;
  /** Names initialised because the checkpoint lacked them (a new score head). */
  initialized: string[];
  /** Checkpoint names dropped: RoPE buffers, a tied or unused lm_head, a score head replaced for a new task. */
  ignored: string[];
}

export interface MapLlamaWeightsOptions {
  /** Named in error messages; model.safetensors unless given. */
  file?: string;
  /** Seed of a new score head's normal(0, initializer_range) init. */
  seed?: number;
}

// Buffers some exporters save, and heads a task does not use.
const ROPE_BUFFER = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * Checks checkpoint tensors (checkpoint names, f32 data) against the config and returns exactly the tensors the model
 * reads. Refuses a missing or misshapen tensor, and an unexpected one, with a LlamaWeightError naming the tensor.
 * Dropped: RoPE inv_freq buffers; lm_head.weight when tied or for seq-cls; score.weight for a causal LM. A seq-cls
 * model whose checkpoint lacks score.weight, or has one of another class count (a new task), gets a fresh head drawn
 * as transformers does: normal(0, initializer_range).
 */
export function mapLlamaWeights(
  checkpoint: Map<string, HostWeight>,
  cfg: LlamaConfig,
  opts: MapLlamaWeightsOptions = {},
): LlamaWeights {
  const file = opts.file ?? 'model.safetensors';
  const expected = llamaWeightShapes(cfg);
  const tensors = new Map<string, HostWeight>();
  const ignored: string[] = [];
  const initialized: string[] = [];
  const newHead =
    cfg.task === 'seq-cls' && checkpoint.get('score.weight')?.shape.join() !== expected.get('score.weight')!.join();
  for (const [name, t] of checkpoint) {
    const droppable =
      ROPE_BUFFER.test(name) ||
      (name === 'lm_head.weight' && !expected.has(name)) ||
      (name === 'score.weight' && (cfg.task === 'causal-lm' || newHead));
    if (droppable) {
      ignored.push(name);
      continue;
    }
    const shape = expected.get(name);
    if (!shape) {
      throw new LlamaWeightError(
        file,
        name,
        `${file}: tensor "${name}" is not part of a ${cfg.architecture} with ` +
          `this config.json (${llamaSummary(cfg)}). Check that config.json belongs to this checkpoint.`,
      );
    }
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
      throw new LlamaWeightError(
        file,
        name,
        `${file}: tensor "${name}" has shape [${t.shape.join(', ')}], ` +
          `config.json implies [${shape.join(', ')}] (${llamaSummary(cfg)}). Check that config.json belongs to this ` +
          'checkpoint.',
      );
    }
    tensors.set(name, t);
  }
  if (newHead) {
    const shape = expected.get('score.weight')!,
      rng = new Rng(opts.seed ?? 42);
    const data = new Float32Array(shape[0] * shape[1]);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * cfg.initializerRange;
    tensors.set('score.weight', { shape, data });
    initialized.push('score.weight');
  }
  for (const [name, shape] of expected) {
    if (!tensors.has(name)) {
      throw new LlamaWeightError(
        file,
        name,
        `${file}: tensor "${name}" (shape [${shape.join(', ')}]) is missing; ` +
          `a ${cfg.architecture} with this config.json (${llamaSummary(cfg)}) needs it. Check that the checkpoint ` +
          'is complete and config.json belongs to it.',
      );
    }
  }
  return { tensors, initialized, ignored };
}

function llamaSummary(cfg: LlamaConfig): string {
  return (
    `hidden_size ${cfg.hidden}, ${cfg.layers} layers, ${cfg.heads} heads / ${cfg.kvHeads} kv heads of ` +
    `head_dim ${cfg.headDim}, intermediate_size ${cfg.intermediate}, vocab_size ${cfg.vocabSize}`
  );
}

// ---------------------------------------------------------------------------------------------------- descriptor

/** The parsed config.json of a Llama-family checkpoint as the registry returns it. */
export interface LlamaModelConfig {
  kind: LlamaFamily;
  task: LlamaTask;
  arch: LlamaConfig;
  labels: string[];
  raw: Record<string, unknown>;
}

/** LlamaClassifier behind the SeqClsNet entry points: an encoder batch's clsRows are the pooled (last non-pad)
 * rows, its mask the padding mask; type and position ids are not read. */
export class LlamaClsNet implements SeqClsNet {
  constructor(readonly net: LlamaClassifier) {}
  private batch(b: EncoderBatch) {
    return { ids: b.ids, mask: b.mask, poolRows: b.clsRows, B: b.B, T: b.T };
  }
  forward(b: EncoderBatch) {
    return this.net.forward(this.batch(b));
  }
  loss(labels: Tensor) {
    return this.net.loss(labels);
  }
  backward(b: EncoderBatch, labels: Tensor) {
    this.net.backward(this.batch(b), labels);
  }
  linears() {
    return this.net.linears();
  }
  enableAllGradients() {
    this.net.enableAllGradients();
  }
}

/** Right-padded decoder classification batch: pad_token_id after each sequence (longer ones keep their first
 * T - 1 tokens and their last), pooled at the last non-pad token as transformers does. */
function decoderClsBatch(cfg: LlamaConfig, seqs: { ids: number[] }[], T?: number): HostEncoderBatch {
  const B = seqs.length,
    len = T ?? Math.max(...seqs.map((s) => s.ids.length)),
    N = B * len;
  const pad = cfg.padTokenId ?? 0;
  const b: HostEncoderBatch = {
    B,
    T: len,
    ids: new Int32Array(N).fill(pad),
    typeIds: new Int32Array(N),
    posIds: Int32Array.from({ length: N }, (_, i) => i % len),
    mask: new Int32Array(N),
    clsRows: new Int32Array(B),
  };
  seqs.forEach((s, i) => {
    const ids = s.ids.length > len ? [...s.ids.slice(0, len - 1), s.ids[s.ids.length - 1]] : s.ids;
    b.ids.set(ids, i * len);
    b.mask.fill(1, i * len, i * len + ids.length);
  });
  b.clsRows.set(lastTokenRows(b.ids, B, len, pad));
  return b;
}

const TITLES: Record<LlamaFamily, string> = { llama: 'Llama', qwen2: 'Qwen2', qwen3: 'Qwen3' };

/** Llama, SmolLM2, TinyLlama, Qwen2/2.5 and Qwen3: causal LM or sequence classification, nn.Linear weights under
 * their checkpoint names (`model.layers.N.self_attn.q_proj`), every linear of the block adaptable. */
export const llamaArch: ArchDescriptor<LlamaModelConfig> = {
  modelTypes: ['llama', 'qwen2', 'qwen3'],
  title: (cfg) => TITLES[cfg.kind],
  parseConfig(raw, opts) {
    const arch = parseLlamaConfig(raw, { task: opts.task, numLabels: opts.numLabels, padTokenId: opts.padTokenId });
    return { kind: arch.family, task: arch.task, arch, labels: arch.labels, raw };
  },
  hfPrefix: () => '',
  mapWeights(checkpoint, cfg, opts) {
    // Lazy tensors: every name and shape is checked before any data is converted.
    const host = new Map<string, HostWeight>();
    for (const [name, t] of checkpoint) host.set(name, lazyTensor(t.shape, t.read));
    return mapLlamaWeights(host, cfg.arch, { file: fileOf(checkpoint), seed: opts.seed });
  },
  embeddingName: 'model.embed_tokens.weight',
  layerPattern: /^model\.layers\.(\d+)\./,
  layerLead: 'model.layers.N.',
  rows: LLAMA_ADAPTABLE.map((t) => [t, t] as const),
  moduleTypes(cfg): ModuleTypeInfo[] {
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D } = cfg.arch;
    const t = (type: string, inF: number, outF: number) => ({ type, row: type, inF, outF });
    return [
      t('self_attn.q_proj', C, H * D),
      t('self_attn.k_proj', C, KVH * D),
      t('self_attn.v_proj', C, KVH * D),
      t('self_attn.o_proj', H * D, C),
      t('mlp.gate_proj', C, F),
      t('mlp.up_proj', C, F),
      t('mlp.down_proj', F, C),
    ];
  },
  // Every linear of the block, as the paper adapts.
  defaultTargets: [
    'self_attn.q_proj',
    'self_attn.k_proj',
    'self_attn.v_proj',
    'self_attn.o_proj',
    'mlp.gate_proj',
    'mlp.up_proj',
    'mlp.down_proj',
  ],
  layout: 'linear',
  headModules: (task) => (task === 'seq-cls' ? ['score'] : []),
  dims: ({ arch: a }) => ({
    layers: a.layers,
    hidden: a.hidden,
    heads: a.heads,
    vocab: a.vocabSize,
    maxPositions: a.maxPositions,
  }),
  // score: (L, C), no bias.
  headSize: (cfg) => ({ fixed: 0, perLabel: cfg.task === 'seq-cls' ? cfg.arch.hidden : 0 }),
  numLabels: (cfg) => (cfg.task === 'seq-cls' ? cfg.arch.numLabels : 0),
  activationBytes(cfg, B, T) {
    const { hidden: C, intermediate: F, heads: H, kvHeads: KVH, headDim: D, layers: L, vocabSize: V } = cfg.arch;
    const N = B * T,
      QD = H * D,
      KD = KVH * D,
      qk = cfg.arch.qkNorm ? QD + KD + 2 * (H + KVH) : 0;
    // Per layer: h1, rstd1, q, k, v, attention probabilities, atty, x1, h2, rstd2, gate, up, act, x2 (+ Qwen3's
    // normed q/k); then the final norm, the logits and their gradient (LM), and the activation gradients.
    const perLayer = N * (4 * C + 2 + 2 * QD + 2 * KD + 3 * F + qk) + B * H * T * T;
    const head = cfg.task === 'causal-lm' ? 2 * N * V : 0;
    return 4 * (L * perLayer + N * (C + 1) + head + N * (3 * C + 2 * QD + 2 * KD + 3 * F));
  },
  weightShapes(cfg) {
    const m = new Map<string, { shape: number[]; init: SyntheticInit }>();
    for (const [name, shape] of llamaWeightShapes(cfg.arch)) {
      const init: SyntheticInit = name.endsWith('.bias') ? 'zero' : /norm\.weight$/.test(name) ? 'one' : 'normal';
      m.set(name, { shape, init });
    }
    return m;
  },
  build: (be, cfg, params) =>
    cfg.task === 'causal-lm'
      ? new Llama(be, cfg.arch, params)
      : new LlamaClsNet(new LlamaClassifier(be, cfg.arch, params)),
  clsBatch: (cfg, seqs, T) => decoderClsBatch(cfg.arch, seqs, T),
  maxSeq: (cfg) => cfg.arch.maxPositions,
};
