// Parses a Llama-family config.json (model_type llama, qwen2, qwen3; ForCausalLM or ForSequenceClassification) into
// a LlamaConfig; the rope fields are llamaRope.ts's.
// Field names, defaults and per-family rules follow transformers 4.50's configuration_llama.py /
// configuration_qwen2.py / configuration_qwen3.py and the matching modeling files:
// - Llama: q/k/v/o biases iff attention_bias, gate/up/down biases iff mlp_bias, head_dim default hidden / heads;
// - Qwen2: q/k/v biases always, no o bias, no mlp bias;
// - Qwen3: q/k/v/o biases iff attention_bias, per-head RMSNorm of q and k (q_norm, k_norm) before RoPE.
// Every field is checked (type, integer, range, consistency) and a refusal names config.json and the field. Not
// supported and refused by name: sliding-window attention, rope types other than default and llama3, partial rotary
// embeddings, activations other than silu. attention_dropout is read but the engine runs the base model without
// dropout (fine-tuning keeps it in eval mode; adapters carry their own dropout).

import type { LlamaArch } from '../../nn/llamaConfig';
import { ConfigError } from '../config';
import { isObject, parseRopeConfig, REEXPORT } from './llamaRope';

export type LlamaFamily = 'llama' | 'qwen2' | 'qwen3';
export type LlamaTask = 'causal-lm' | 'seq-cls';

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
