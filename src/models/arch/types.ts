// What an architecture family tells the rest of dynrank: config parsing, checkpoint names, adaptable module types and
// their PEFT names, weight layout, heads, the memory formula and how to build the network. One descriptor per family
// (gpt2.ts, bert.ts, llama.ts); the registry (index.ts) maps config.json's model_type to it. Not here: the networks
// themselves (src/nn/) and the training loop (src/train/).

import type { EncoderBatch } from '../../nn/bert';
import type { Linear } from '../../nn/linear';
import type { LmLossOptions } from '../../nn/lmHead';
import type { ParamStore } from '../../nn/params';
import type { Recompute } from '../../nn/recompute';
import type { Backend, Tensor } from '../../tensor/backend';
import type { HostEncoderBatch } from '../batch';
import type { MappedWeights } from '../weights';

/** What the model is trained for: next-token prediction or sequence classification. */
export type Task = 'causal-lm' | 'seq-cls';

/** The parsed config.json every family returns; `arch` is the family's own network config. */
interface ConfigBase {
  kind: string;
  task: Task;
  raw: Record<string, unknown>;
}

/** A checkpoint tensor before mapping: its shape and its data as f32, converted on demand. */
interface CheckpointTensor {
  shape: number[];
  read(): Float32Array;
}

/** Every tensor of a checkpoint (one file or all shards) by its checkpoint name, with the file it came from. */
export type Checkpoint = Map<string, CheckpointTensor & { file: string }>;

/** One adaptable module type of a block, in the paper's Figure 2 row order. */
export interface ModuleTypeInfo {
  /** The module path after the layer lead (`attn.c_attn`, `self_attn.q_proj`): trainer targets and PEFT suffixes. */
  type: string;
  /** Row name in rank_map.json and the heatmap. */
  row: string;
  inF: number;
  outF: number;
}

/** The sizes a summary shows. */
interface NetDims {
  layers: number;
  hidden: number;
  heads: number;
  vocab: number;
  maxPositions: number;
}

/** The causal-LM entry points (Gpt2, Llama). */
export interface CausalLmNet {
  /** Every position's logits (B*T, V): inference and tests. */
  forward(ids: Tensor, B: number, T: number): Tensor;
  /** The forward without the head: what `loss` and `backward` need, no logits. */
  forwardHidden(ids: Tensor, B: number, T: number): void;
  /** Cross-entropy of the last forward, the head in row chunks (withGrad: the head's backward too). */
  loss(targets: Tensor, opts?: LmLossOptions): { lossSum: Tensor; count: Tensor };
  backward(ids: Tensor, targets: Tensor): void;
  linears(): Linear[];
  enableAllGradients(): void;
  /** Train mode with the model's own dropout from this seed, or null (eval); absent: the net has no dropout. */
  dropoutSeed?: number | null;
  /** First row of the current micro-batch within the step's batch, where its dropout masks are drawn (0: none). */
  dropoutFirstRow?: number;
  /** Activation recomputation (src/nn/recompute.ts; absent: the net keeps every block's activations). */
  recompute?: Recompute;
}

/** The sequence-classification entry points (BertClassifier; LlamaClassifier through its adapter). */
export interface SeqClsNet {
  forward(batch: EncoderBatch): Tensor;
  loss(labels: Tensor): { lossSum: Tensor; count: Tensor };
  backward(batch: EncoderBatch, labels: Tensor): void;
  linears(): Linear[];
  enableAllGradients(): void;
  dropoutSeed?: number | null;
  dropoutFirstRow?: number;
  recompute?: Recompute;
}

/** How a synthetic tensor (benchmarks) is drawn: normal(0, 0.02), ones (norm weights) or zeros (biases). */
export type SyntheticInit = 'normal' | 'one' | 'zero';

/** One architecture family. `C` is its parsed config. */
export interface ArchDescriptor<C extends ConfigBase = ConfigBase> {
  /** config.json model_type values this family reads. */
  readonly modelTypes: readonly C['kind'][];
  /** Human name for summaries and messages. */
  title(cfg: C): string;
  /** Parses and validates config.json (already JSON-parsed); `numLabels` sizes a new head, `task` overrides the
   * task the checkpoint implies where the family supports both. */
  parseConfig(raw: Record<string, unknown>, opts: { numLabels?: number; task?: Task; padTokenId?: number }): C;
  /** The HF prefix canonical names drop (`transformer.`, `bert.`, ``): PEFT module paths and merged models add it. */
  hfPrefix(kind: C['kind']): string;
  /** Checkpoint tensors -> the canonical tensors the network reads (missing heads initialised from `seed`). */
  mapWeights(checkpoint: Checkpoint, cfg: C, opts: { seed?: number }): MappedWeights;
  /** Canonical name of the token embedding, whose rows are the ids the model knows (the tokenizer check). */
  readonly embeddingName: string;
  /** Canonical layer lead of an adaptable module: group 1 is the layer index (`/^h\.(\d+)\./`). */
  readonly layerPattern: RegExp;
  /** The same lead for messages (`h.N.`). */
  readonly layerLead: string;
  /** Row name (rank_map.json, heatmap) and module type (path after the layer lead) of every adaptable linear of a
   * block, in the paper's Figure 2 order. */
  readonly rows: readonly (readonly [row: string, type: string])[];
  /** The same modules with their sizes under `cfg`. */
  moduleTypes(cfg: C): ModuleTypeInfo[];
  /** Module types adapted when the user names none. */
  readonly defaultTargets: readonly string[];
  /** Base weight layout of the adaptable linears: Conv1D (in,out) or nn.Linear (out,in). */
  readonly layout: 'conv1d' | 'linear';
  /** Canonical module names of the trained head of a task (PEFT modules_to_save); empty for a causal LM. */
  headModules(task: Task): string[];
  dims(cfg: C): NetDims;
  /** Trainable parameters of the seq-cls head: `fixed` + `perLabel` * labels (zero for a causal LM). */
  headSize(cfg: C): { fixed: number; perLabel: number };
  /** Classes of the head (seq-cls), 0 for a causal LM. */
  numLabels(cfg: C): number;
  /** Bytes of f32 activations the network keeps for its backward at batch (B, T), adapters not included. */
  activationBytes(cfg: C, B: number, T: number): number;
  /** The part of activationBytes one block keeps (what recomputing a block frees, less its input). */
  blockActivationBytes(cfg: C, B: number, T: number): number;
  /** Norm outputs (N x C each) a block keeps that recompute 'selective' shares across blocks (src/nn/recompute.ts):
   * 2 in pre-norm blocks, 0 where they are the residual stream (post-norm). */
  readonly selectiveNorms: number;
  /** Every canonical tensor with its shape and synthetic init (benchmarks). */
  weightShapes(cfg: C): Map<string, { shape: number[]; init: SyntheticInit }>;
  /** Builds the network on `be` from uploaded parameters. */
  build(be: Backend, cfg: C, params: ParamStore): CausalLmNet | SeqClsNet;
  /** Classification batch of token sequences, padded to T (default: the longest). */
  clsBatch(cfg: C, seqs: { ids: number[]; typeIds: number[] }[], T?: number): HostEncoderBatch;
  /** Longest sequence the model accepts. */
  maxSeq(cfg: C): number;
}
/** Canonical weights of a mapped checkpoint, re-exported for descriptors. */
