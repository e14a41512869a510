// Checkpoint tensor names -> the engine's canonical names (FORMATS.md §7): optional `transformer.`/`bert.`/`roberta.`
// prefixes, old LayerNorm `gamma`/`beta`, buffers to ignore, the tied GPT-2 LM head, and heads a new task must create.

import { Rng } from '../tensor/rng';
import { ModelFormatError } from './errors';
import type { ModelConfig } from './config';
import { parseSafetensors, toFloat32 } from './safetensors';

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

/** Maps a parsed checkpoint. Missing classification heads (and BERT's pooler) are initialised as transformers does:
 * normal(0, initializer_range) weights and zero biases, from `seed`. */
export function mapWeights(bytes: Uint8Array, cfg: ModelConfig, opts: { seed?: number; file?: string } = {}): MappedWeights {
  const file = opts.file ?? 'model.safetensors';
  const st = parseSafetensors(bytes, file);
  const tensors = new Map<string, HostTensor>();
  const ignored: string[] = [];
  for (const [name, entry] of st.tensors) {
    const c = canonical(name, cfg.kind);
    const ignore = cfg.kind === 'gpt2' ? IGNORE_GPT2 : cfg.kind === 'bert' ? IGNORE_BERT : IGNORE_ROBERTA;
    if (ignore.some((r) => r.test(c))) {
      ignored.push(name);
      continue;
    }
    if (tensors.has(c)) throw new WeightMapError(file, name, `${file}: tensor "${name}" appears twice after name normalisation (as "${c}").`);
    tensors.set(c, { shape: entry.shape, data: toFloat32(entry, file) });
  }
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
