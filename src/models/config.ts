// config.json of Hugging Face GPT-2, BERT and RoBERTa checkpoints -> the engine's architecture configs.
// Aliases and defaults follow transformers' configuration_gpt2.py / configuration_bert.py (FORMATS.md §7).

import type { BertConfig } from '../nn/bert';
import type { Gpt2Config } from '../nn/gpt2';
import { ModelFormatError } from './errors';

export class ConfigError extends ModelFormatError {}

export type ModelConfig =
  | { kind: 'gpt2'; task: 'causal-lm'; arch: Gpt2Config; raw: Record<string, unknown> }
  | { kind: 'bert' | 'roberta'; task: 'seq-cls'; arch: BertConfig; labels: string[]; raw: Record<string, unknown> };

const FILE = 'config.json';

function num(raw: Record<string, unknown>, names: string[], dflt?: number): number {
  for (const n of names) {
    const v = raw[n];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(FILE, n, `${FILE}: field "${n}" must be a number, got ${JSON.stringify(v)}. Fix the file or re-export the model.`);
    }
    return v;
  }
  if (dflt === undefined) throw new ConfigError(FILE, names[0], `${FILE}: required field "${names[0]}" is missing.`);
  return dflt;
}

function positiveInt(raw: Record<string, unknown>, names: string[], dflt?: number): number {
  const v = num(raw, names, dflt);
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(FILE, names[0], `${FILE}: field "${names[0]}" must be a positive integer, got ${v}.`);
  return v;
}

/** A dropout probability from config.json: a number in [0, 1), transformers' 0.1 when absent. */
function prob(raw: Record<string, unknown>, names: string[], dflt: number): number {
  const v = num(raw, names, dflt);
  if (!(v >= 0 && v < 1)) {
    throw new ConfigError(FILE, names[0],
      `${FILE}: field "${names[0]}" must be a dropout probability in [0, 1), got ${v}. Fix the file.`);
  }
  return v;
}

/** Class names in id order from id2label (or `num_labels` generic names); 2 labels by default as transformers. */
export function labelNames(raw: Record<string, unknown>, override?: number): string[] {
  const id2label = raw.id2label as Record<string, string> | undefined;
  const n = override ?? (id2label ? Object.keys(id2label).length : num(raw, ['num_labels'], 2));
  return Array.from({ length: n }, (_, i) => (id2label && typeof id2label[String(i)] === 'string' ? id2label[String(i)] : `LABEL_${i}`));
}

/** Parses config.json text (or an already parsed object). `numLabels` overrides the head size for a new task. */
export function parseConfig(input: string | Record<string, unknown>, opts: { numLabels?: number } = {}): ModelConfig {
  let raw: Record<string, unknown>;
  if (typeof input === 'string') {
    const head = input.trimStart().slice(0, 20).toLowerCase();
    if (head.startsWith('<!doctype') || head.startsWith('<html')) {
      throw new ConfigError(FILE, '(file)', `${FILE}: got an HTML page instead of JSON; the URL or hub id is probably wrong, or the model is gated.`);
    }
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new ConfigError(FILE, '(file)', `${FILE}: not valid JSON (${(e as Error).message}).`);
    }
  } else raw = input;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(FILE, '(file)', `${FILE}: expected a JSON object.`);
  const type = raw.model_type;
  if (type === 'gpt2') {
    const C = positiveInt(raw, ['n_embd', 'hidden_size'], 768);
    const H = positiveInt(raw, ['n_head', 'num_attention_heads'], 12);
    if (C % H) throw new ConfigError(FILE, 'n_head', `${FILE}: n_embd ${C} is not divisible by n_head ${H}.`);
    const act = raw.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
      throw new ConfigError(FILE, 'activation_function', `${FILE}: activation_function "${String(act)}" is not supported (gelu_new only).`);
    }
    const inner = raw.n_inner;
    return {
      kind: 'gpt2', task: 'causal-lm', raw,
      arch: {
        vocabSize: positiveInt(raw, ['vocab_size'], 50257), nPositions: positiveInt(raw, ['n_positions', 'max_position_embeddings'], 1024),
        nEmbd: C, nLayer: positiveInt(raw, ['n_layer', 'num_hidden_layers'], 12), nHead: H,
        nInner: typeof inner === 'number' ? inner : 4 * C, eps: num(raw, ['layer_norm_epsilon'], 1e-5),
        dropout: {
          embd: prob(raw, ['embd_pdrop'], 0.1), resid: prob(raw, ['resid_pdrop'], 0.1),
          attn: prob(raw, ['attn_pdrop'], 0.1),
        },
      },
    };
  }
  if (type === 'bert' || type === 'roberta') {
    const C = positiveInt(raw, ['hidden_size'], 768);
    const H = positiveInt(raw, ['num_attention_heads'], 12);
    if (C % H) throw new ConfigError(FILE, 'num_attention_heads', `${FILE}: hidden_size ${C} is not divisible by num_attention_heads ${H}.`);
    const act = raw.hidden_act ?? 'gelu';
    if (act !== 'gelu') throw new ConfigError(FILE, 'hidden_act', `${FILE}: hidden_act "${String(act)}" is not supported (exact gelu only).`);
    const pet = raw.position_embedding_type ?? 'absolute';
    if (pet !== 'absolute') throw new ConfigError(FILE, 'position_embedding_type', `${FILE}: position_embedding_type "${String(pet)}" is not supported.`);
    const labels = labelNames(raw, opts.numLabels);
    return {
      kind: type, task: 'seq-cls', raw, labels,
      arch: {
        variant: type, vocabSize: positiveInt(raw, ['vocab_size'], type === 'bert' ? 30522 : 50265), hidden: C,
        layers: positiveInt(raw, ['num_hidden_layers'], 12), heads: H, intermediate: positiveInt(raw, ['intermediate_size'], 3072),
        maxPositions: positiveInt(raw, ['max_position_embeddings'], 512), typeVocab: positiveInt(raw, ['type_vocab_size'], 2),
        eps: num(raw, ['layer_norm_eps'], 1e-12), numLabels: labels.length,
        padTokenId: num(raw, ['pad_token_id'], type === 'bert' ? 0 : 1),
        dropout: {
          hidden: prob(raw, ['hidden_dropout_prob'], 0.1), attn: prob(raw, ['attention_probs_dropout_prob'], 0.1),
          classifier: prob(raw, ['classifier_dropout', 'hidden_dropout_prob'], 0.1),
        },
      },
    };
  }
  throw new ConfigError(FILE, 'model_type',
    `${FILE}: model_type ${JSON.stringify(type)} is not supported. dynrank runs "gpt2" (causal LM) and "bert"/"roberta" (sequence classification).`);
}
