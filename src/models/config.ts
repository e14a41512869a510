// config.json of Hugging Face GPT-2, BERT and RoBERTa checkpoints -> the engine's architecture configs.
// Aliases and defaults follow transformers' configuration_gpt2.py / configuration_bert.py (FORMATS.md §7).

import type { BertConfig } from '../nn/bert';
import type { Gpt2Config } from '../nn/gpt2';
import { ConfigError } from './errors';
import { parseJsonObject } from './files';

export { ConfigError };

export type ModelConfig =
  | { kind: 'gpt2'; task: 'causal-lm'; arch: Gpt2Config; raw: Record<string, unknown> }
  | { kind: 'bert' | 'roberta'; task: 'seq-cls'; arch: BertConfig; labels: string[]; raw: Record<string, unknown> };

const FILE = 'config.json';

/** Largest values config.json may give. Above them the model cannot run in a page anyway, and checking before
 * anything is allocated keeps a typo (or a hostile file) from asking for terabytes. */
export const CONFIG_LIMITS = {
  vocab: 1 << 20,
  positions: 1 << 20,
  hidden: 16_384,
  inner: 65_536,
  layers: 256,
  heads: 256,
  typeVocab: 1024,
  labels: 10_000,
} as const;

const show = (v: unknown): string => {
  if (typeof v === 'number') return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

const REFIX = 'Fix the field, or re-export the model with transformers.';

function bad(field: string, v: unknown, want: string, fix = REFIX): never {
  throw new ConfigError(FILE, field, `${FILE}: field "${field}" must be ${want}, got ${show(v)}. ${fix}`);
}

/** The first of `names` present (not null), with the name it was found under. */
function field(raw: Record<string, unknown>, names: string[]): [string, unknown] | null {
  for (const n of names) if (raw[n] !== undefined && raw[n] !== null) return [n, raw[n]];
  return null;
}

function num(raw: Record<string, unknown>, names: string[], dflt?: number): number {
  const f = field(raw, names);
  if (!f) {
    if (dflt === undefined) {
      throw new ConfigError(FILE, names[0], `${FILE}: required field "${names[0]}" is missing. Add it.`);
    }
    return dflt;
  }
  const [n, v] = f;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(n, v, 'a number');
  return v;
}

/** A dropout probability from config.json: a number in [0, 1), transformers' 0.1 when absent. */
function prob(raw: Record<string, unknown>, names: string[], dflt: number): number {
  const v = num(raw, names, dflt);
  if (!(v >= 0 && v < 1)) {
    throw new ConfigError(
      FILE,
      names[0],
      `${FILE}: field "${names[0]}" must be a dropout probability in [0, 1), got ${v}. Fix the file.`,
    );
  }
  return v;
}

/** An integer in [min, max]; `max` is a sanity bound (CONFIG_LIMITS). */
function int(raw: Record<string, unknown>, names: string[], range: { min: number; max: number; dflt?: number }) {
  const f = field(raw, names);
  const v = f ? f[1] : range.dflt;
  const n = f ? f[0] : names[0];
  if (v === undefined) throw new ConfigError(FILE, n, `${FILE}: required field "${n}" is missing. Add it.`);
  if (typeof v !== 'number' || !Number.isInteger(v)) bad(n, v, `an integer from ${range.min} to ${range.max}`);
  if (v < range.min || v > range.max) {
    const fix = v > range.max ? 'That is beyond what dynrank can load; check the value.' : undefined;
    bad(n, v, `from ${range.min} to ${range.max}`, fix);
  }
  return v;
}

/** A layer-norm epsilon: finite and in (0, 1). */
function eps(raw: Record<string, unknown>, name: string, dflt: number): number {
  const v = num(raw, [name], dflt);
  if (!(v > 0 && v < 1)) bad(name, v, 'a small positive number (e.g. 1e-5)');
  return v;
}

/** Class names in id order from id2label (or `num_labels` generic names); 2 labels by default as transformers.
 * `override` (the data set's label count) wins over both. Everything is checked before the list is built. */
function labelNames(raw: Record<string, unknown>, override?: number): string[] {
  const max = CONFIG_LIMITS.labels;
  if (override !== undefined && !(Number.isInteger(override) && override >= 1 && override <= max)) {
    throw new ConfigError(
      '(options)',
      'numLabels',
      `The number of labels asked for (${show(override)}) must be an integer from 1 to ${max}. ` +
        'Check the label column of the data set (or --num-labels).',
    );
  }
  const id2label = raw.id2label;
  let names: Record<string, unknown> | null = null;
  let n: number;
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) {
      bad('id2label', id2label, 'an object {"0": "label", ...}');
    }
    names = id2label as Record<string, unknown>;
    const keys = Object.keys(names);
    if (keys.length < 1 || keys.length > max) bad('id2label', `${keys.length} labels`, `1 to ${max} labels`);
    n = keys.length;
    for (const k of keys) {
      if (!/^(0|[1-9]\d*)$/.test(k) || Number(k) >= n) {
        bad(`id2label.${k}`, k, `a label id from 0 to ${n - 1} (ids count up from 0)`);
      }
      if (typeof names[k] !== 'string') bad(`id2label.${k}`, names[k], 'a string (the label name)');
    }
    const given = raw.num_labels;
    if (given !== undefined && given !== null && given !== n) {
      bad(
        'num_labels',
        given,
        `${n}, the number of entries in id2label`,
        'Make num_labels and id2label agree (or remove num_labels).',
      );
    }
  } else {
    n = int(raw, ['num_labels'], { min: 1, max, dflt: 2 });
  }
  const count = override ?? n;
  const nameOf = (i: number) => names?.[String(i)];
  return Array.from({ length: count }, (_, i) => {
    const s = nameOf(i);
    return typeof s === 'string' ? s : `LABEL_${i}`;
  });
}

/** Parses config.json text (or an already parsed object). `numLabels` overrides the head size for a new task. */
export function parseConfig(input: string | Record<string, unknown>, opts: { numLabels?: number } = {}): ModelConfig {
  let raw: Record<string, unknown>;
  if (typeof input === 'string') raw = parseJsonObject(input, FILE, ConfigError);
  else raw = input;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(FILE, '(file)', `${FILE}: expected a JSON object.`);
  const type = raw.model_type;
  const L = CONFIG_LIMITS;
  if (type === 'gpt2') {
    const C = int(raw, ['n_embd', 'hidden_size'], { min: 1, max: L.hidden, dflt: 768 });
    const H = int(raw, ['n_head', 'num_attention_heads'], { min: 1, max: L.heads, dflt: 12 });
    if (C % H) {
      throw new ConfigError(FILE, 'n_head', `${FILE}: n_embd ${C} is not divisible by n_head ${H}. Fix one.`);
    }
    const act = raw.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
      throw new ConfigError(
        FILE,
        'activation_function',
        `${FILE}: activation_function ${show(act)} is not supported (gelu_new only).`,
      );
    }
    return {
      kind: 'gpt2',
      task: 'causal-lm',
      raw,
      arch: {
        vocabSize: int(raw, ['vocab_size'], { min: 1, max: L.vocab, dflt: 50257 }),
        nPositions: int(raw, ['n_positions', 'max_position_embeddings'], { min: 1, max: L.positions, dflt: 1024 }),
        nEmbd: C,
        nLayer: int(raw, ['n_layer', 'num_hidden_layers'], { min: 1, max: L.layers, dflt: 12 }),
        nHead: H,
        // null (the usual value) means 4·n_embd, as in transformers.
        nInner: int(raw, ['n_inner'], { min: 1, max: L.inner, dflt: 4 * C }),
        eps: eps(raw, 'layer_norm_epsilon', 1e-5),
        dropout: {
          embd: prob(raw, ['embd_pdrop'], 0.1),
          resid: prob(raw, ['resid_pdrop'], 0.1),
          attn: prob(raw, ['attn_pdrop'], 0.1),
        },
      },
    };
  }
  if (type === 'bert' || type === 'roberta') {
    const C = int(raw, ['hidden_size'], { min: 1, max: L.hidden, dflt: 768 });
    const H = int(raw, ['num_attention_heads'], { min: 1, max: L.heads, dflt: 12 });
    if (C % H) {
      throw new ConfigError(
        FILE,
        'num_attention_heads',
        `${FILE}: hidden_size ${C} is not divisible by num_attention_heads ${H}. Fix one of the two fields.`,
      );
    }
    const act = raw.hidden_act ?? 'gelu';
    if (act !== 'gelu') {
      throw new ConfigError(FILE, 'hidden_act', `${FILE}: hidden_act ${show(act)} is not supported (exact gelu only).`);
    }
    const pet = raw.position_embedding_type ?? 'absolute';
    if (pet !== 'absolute') {
      throw new ConfigError(
        FILE,
        'position_embedding_type',
        `${FILE}: position_embedding_type ${show(pet)} is not supported (absolute only).`,
      );
    }
    const vocabSize = int(raw, ['vocab_size'], { min: 1, max: L.vocab, dflt: type === 'bert' ? 30522 : 50265 });
    const std = num(raw, ['initializer_range'], 0.02);
    if (!(std >= 0 && std <= 1)) bad('initializer_range', std, 'from 0 to 1 (usually 0.02)');
    const labels = labelNames(raw, opts.numLabels);
    return {
      kind: type,
      task: 'seq-cls',
      raw,
      labels,
      arch: {
        variant: type,
        vocabSize,
        hidden: C,
        layers: int(raw, ['num_hidden_layers'], { min: 1, max: L.layers, dflt: 12 }),
        heads: H,
        intermediate: int(raw, ['intermediate_size'], { min: 1, max: L.inner, dflt: 3072 }),
        maxPositions: int(raw, ['max_position_embeddings'], { min: 1, max: L.positions, dflt: 512 }),
        typeVocab: int(raw, ['type_vocab_size'], { min: 1, max: L.typeVocab, dflt: 2 }),
        eps: eps(raw, 'layer_norm_eps', 1e-12),
        numLabels: labels.length,
        padTokenId: int(raw, ['pad_token_id'], { min: 0, max: vocabSize - 1, dflt: type === 'bert' ? 0 : 1 }),
        dropout: {
          hidden: prob(raw, ['hidden_dropout_prob'], 0.1),
          attn: prob(raw, ['attention_probs_dropout_prob'], 0.1),
          classifier: prob(raw, ['classifier_dropout', 'hidden_dropout_prob'], 0.1),
        },
      },
    };
  }
  throw new ConfigError(
    FILE,
    'model_type',
    `${FILE}: model_type ${JSON.stringify(type)} is not supported. dynrank runs "gpt2" (causal LM) and "bert"/"roberta" (sequence classification).`,
  );
}
