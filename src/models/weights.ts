// Checkpoint tensor names -> the engine's canonical names (FORMATS.md §7): optional `transformer.`/`bert.`/`roberta.`
// prefixes, old LayerNorm `gamma`/`beta`, buffers to ignore, the tied GPT-2 LM head, and heads a new task must create.

import { Rng } from '../tensor/rng';
import { ConfigError, ModelFormatError } from './errors';
import type { ModelConfig } from './config';
import { parseSafetensors, toFloat32, type TensorEntry } from './safetensors';

export class WeightMapError extends ModelFormatError {}

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface MappedWeights {
  tensors: Map<string, HostTensor>;
  /** Canonical names that the checkpoint lacked and were initialised (e.g. a new classification head). */
  initialized: string[];
  /** Checkpoint names that were dropped (buffers, MLM heads, a tied LM head). */
  ignored: string[];
}

const IGNORE_GPT2 = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /^lm_head\.weight$/];
const IGNORE_BERT = [/^cls\./, /position_ids$/];
// RobertaForSequenceClassification has no pooler; its head is classifier.dense + out_proj.
const IGNORE_ROBERTA = [/^lm_head\./, /position_ids$/, /^pooler\./];

function canonical(name: string, kind: ModelConfig['kind']): string {
  let n = name;
  const prefix = kind === 'gpt2' ? 'transformer.' : `${kind}.`;
  if (n.startsWith(prefix)) n = n.slice(prefix.length);
  return n.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
}

/** A checkpoint's tensors under canonical names, checked against config.json but not yet converted (views only). */
export interface WeightPlan {
  file: string;
  entries: Map<string, TensorEntry>;
  ignored: string[];
}

/** The canonical name of the token embedding, whose rows are the ids the model knows. */
export const embeddingName = (kind: ModelConfig['kind']): string =>
  (kind === 'gpt2' ? 'wte.weight' : 'embeddings.word_embeddings.weight');

/** Reads the safetensors header and maps names; checks config.json against the tensors' shapes before anything is
 * allocated (the header alone gives the shapes). */
export function planWeights(bytes: Uint8Array, cfg: ModelConfig, file = 'model.safetensors'): WeightPlan {
  const st = parseSafetensors(bytes, file);
  const entries = new Map<string, TensorEntry>();
  const ignored: string[] = [];
  const ignore = cfg.kind === 'gpt2' ? IGNORE_GPT2 : cfg.kind === 'bert' ? IGNORE_BERT : IGNORE_ROBERTA;
  for (const [name, entry] of st.tensors) {
    const c = canonical(name, cfg.kind);
    if (ignore.some((r) => r.test(c))) {
      ignored.push(name);
      continue;
    }
    if (entries.has(c)) {
      throw new WeightMapError(file, name,
        `${file}: tensor "${name}" appears twice after name normalisation (as "${c}").`);
    }
    entries.set(c, entry);
  }
  checkShapes(cfg, entries, file);
  return { file, entries, ignored };
}

/** config.json's sizes against the shapes of the tensors that carry them: embeddings, layer count, MLP width. */
function checkShapes(cfg: ModelConfig, entries: Map<string, TensorEntry>, file: string): void {
  const fix = `config.json and ${file} belong to different models: use the config.json that came with these weights.`;
  const expect = (tensor: string, dim: number, field: string, want: number, required = false) => {
    const e = entries.get(tensor);
    if (!e) {
      if (!required) return;
      throw new WeightMapError(file, tensor, `${file}: tensor "${tensor}" is missing; is it a ${cfg.kind} checkpoint?`);
    }
    // A tensor of the wrong rank is the checkpoint's fault, reported with the expected shape when the net is built.
    if (e.shape.length !== 2 || e.shape[dim] === want) return;
    const got = `${e.shape[dim]} ${dim === 0 ? 'rows' : 'columns'}`;
    throw new ConfigError('config.json', field,
      `config.json: field "${field}" is ${want}, but ${file}: ${tensor} of shape [${e.shape.join(', ')}] has ${got}. ` +
      fix);
  };
  const layerCount = (re: RegExp) => {
    let n = 0;
    for (const name of entries.keys()) {
      const m = re.exec(name);
      if (m) n = Math.max(n, Number(m[1]) + 1);
    }
    return n;
  };
  const layers = (re: RegExp, field: string, want: number) => {
    const n = layerCount(re);
    if (n === want) return;
    throw new ConfigError('config.json', field,
      `config.json: field "${field}" is ${want}, but ${file} has ${n} layers. ${fix}`);
  };
  if (cfg.kind === 'gpt2') {
    const a = cfg.arch;
    expect('wte.weight', 0, 'vocab_size', a.vocabSize, true);
    expect('wte.weight', 1, 'n_embd', a.nEmbd);
    expect('wpe.weight', 0, 'n_positions', a.nPositions);
    expect('wpe.weight', 1, 'n_embd', a.nEmbd);
    layers(/^h\.(\d{1,6})\./, 'n_layer', a.nLayer);
    expect('h.0.mlp.c_fc.weight', 1, 'n_inner', a.nInner);
    return;
  }
  const a = cfg.arch;
  expect('embeddings.word_embeddings.weight', 0, 'vocab_size', a.vocabSize, true);
  expect('embeddings.word_embeddings.weight', 1, 'hidden_size', a.hidden);
  expect('embeddings.position_embeddings.weight', 0, 'max_position_embeddings', a.maxPositions);
  expect('embeddings.token_type_embeddings.weight', 0, 'type_vocab_size', a.typeVocab);
  layers(/^encoder\.layer\.(\d{1,6})\./, 'num_hidden_layers', a.layers);
  expect('encoder.layer.0.intermediate.dense.weight', 0, 'intermediate_size', a.intermediate);
}

/** Maps a parsed checkpoint. Missing classification heads (and BERT's pooler) are initialised as transformers does:
 * normal(0, initializer_range) weights and zero biases, from `seed`. */
export function mapWeights(bytes: Uint8Array, cfg: ModelConfig, opts: { seed?: number; file?: string } = {}) {
  return materialize(planWeights(bytes, cfg, opts.file), cfg, opts);
}

/** Converts a checked plan to float32 host tensors and initialises the heads a new task needs. */
export function materialize(plan: WeightPlan, cfg: ModelConfig, opts: { seed?: number } = {}): MappedWeights {
  const { file, ignored } = plan;
  const tensors = new Map<string, HostTensor>();
  for (const [c, entry] of plan.entries) tensors.set(c, { shape: entry.shape, data: toFloat32(entry, file) });
  const initialized: string[] = [];
  if (cfg.kind !== 'gpt2') {
    const { hidden: C, numLabels: L } = cfg.arch;
    const std = typeof cfg.raw.initializer_range === 'number' ? cfg.raw.initializer_range : 0.02;
    const rng = new Rng(opts.seed ?? 42);
    const init = (name: string, shape: number[], isBias: boolean) => {
      const existing = tensors.get(name);
      if (existing && existing.shape.join() === shape.join()) return;
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (!isBias) for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
      tensors.set(name, { shape, data });
      initialized.push(name);
    };
    const heads: [string, number[]][] = cfg.kind === 'bert'
      ? [['pooler.dense', [C, C]], ['classifier', [L, C]]]
      : [['classifier.dense', [C, C]], ['classifier.out_proj', [L, C]]];
    for (const [n, shape] of heads) {
      init(`${n}.weight`, shape, false);
      init(`${n}.bias`, [shape[0]], true);
    }
  }
  return { tensors, initialized, ignored };
}
