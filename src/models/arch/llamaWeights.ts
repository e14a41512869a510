// The checkpoint tensors a Llama-family config implies (names and shapes), and the check that maps a checkpoint's
// tensors onto them: dropping RoPE buffers and unused heads, drawing a new score head.

import { Rng } from '../../tensor/rng';
import { ModelFormatError } from '../errors';
import type { LlamaConfig } from './llamaConfig';

/** A checkpoint tensor that does not fit the architecture config.json describes; names the file and the tensor. */
export class LlamaWeightError extends ModelFormatError {}

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
