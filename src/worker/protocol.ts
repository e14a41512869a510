// The messages between the page and the training Web Worker: commands go in, events come out. Every payload is
// structured-clone data (numbers, strings, arrays, typed arrays), never a tensor or a GPU object.

import type { SelfTestResult } from '../gpu/selftest';
import type { ModelKind, Task } from '../models/arch/index';
import type { Recompute } from '../nn/recompute';
import type { RankMap } from '../peft/export';
import type { DataPreview } from '../train/data/preview';
import type { SftFormat } from '../train/data/sft';
import type { SftPreview } from '../train/data/sftPreview';
import type { TuningSummary } from '../train/tuning';

/** Instruction tuning of a causal LM (loss on the answers only); the longest example is the run's `seq`. */
export interface SftSettings {
  /** How the rows are read: 'auto' takes the format the columns say. */
  format: SftFormat | 'auto';
  /** Train on every token, the prompt's too. */
  trainOnPrompt: boolean;
}

/** The settings of one run, as the set-up panel edits them. null means "the method's default". */
export interface RunSettings {
  /** 'dora': the dynamic-rank method of Mao et al.; 'lora': plain LoRA. */
  method: 'dora' | 'lora';
  /** Dynamic rank: final average budget b(T) per module. */
  budget: number;
  /** Dynamic rank: initial components R0 (null: ceil(1.5 b(T))). */
  r0: number | null;
  /** LoRA rank r. */
  rank: number;
  /** Module types to adapt, e.g. ['attn.c_attn', 'mlp.c_fc']. */
  targets: string[];
  lr: number | null;
  batch: number;
  /** Rows per forward/backward pass, dividing `batch` (null or absent: the whole batch in one pass). */
  microBatch?: number | null;
  /** Activation recomputation (src/nn/recompute.ts); null or absent: the memory plan chooses. Older saves hold a
   * boolean (read through recomputeMode). */
  recompute?: Recompute | null;
  seq: number;
  steps: number;
  /** Passes over the training split: when set, it decides the step count instead of `steps` (absent in older saves). */
  epochs?: number | null;
  seed: number;
  pruneInterval: number;
  /** DEM regulariser weight. */
  eta: number;
  /** Adapter input dropout (lora_dropout). */
  dropout: number;
  /** The model's own dropout (config.json) while training (absent in older saves: on). */
  modelDropout?: boolean;
  /** lora_alpha (null: 8, PEFT's default, for both methods). */
  alpha: number | null;
  /** Save a checkpoint (IndexedDB) every this many steps, and on pause and stop; 0 saves only on pause and stop. */
  checkpointEvery: number;
  /** Instruction tuning; absent or null: the data is trained on as it is (plain text, or labelled rows). */
  sft?: SftSettings | null;
  /** Storage of the frozen base weights (RunConfig.weightPrecision); absent: 'f32'. */
  weightPrecision?: 'f32' | 'f16';
}

/** A data file's text, as read on the page (a bundled demo or an upload). */
export interface DataFile {
  name: string;
  text: string;
  /** A bundled demo (fetched again by name on resume) or an upload (stored with the run's checkpoints). */
  origin?: 'demo' | 'upload';
}

/** Where a model's files come from. */
export type ModelRef =
  | { kind: 'bundled'; id: string }
  | { kind: 'hub'; id: string; hubBase: string }
  | { kind: 'url'; url: string }
  /** Dropped or picked files, in the worker's memory; `stored`: the cache key a checkpoint keeps them under (droppedFiles.ts). */
  | { kind: 'files'; name: string; files: { name: string; bytes: Uint8Array }[]; stored?: string };

/** A saved checkpoint as the page lists it. */
export interface CheckpointInfo {
  id: string;
  runId: string;
  runName: string;
  modelId: string;
  dataName: string;
  method: 'dora' | 'lora';
  step: number;
  totalSteps: number;
  /** Date.now() when saved. */
  time: number;
  bytes: number;
}

/** A run's metrics so far (saved with its checkpoints so the charts continue after a resume). */
export interface HistoryData {
  points: { step: number; loss: number; lr: number; live: number; target: number; tokensPerSecond: number }[];
  prunes: { step: number; removed: number; revived: number; live: number; liveByModule: number[] }[];
}

/** One adaptable linear layer of the model. */
interface ModuleInfo {
  /** Canonical name, e.g. 'h.0.attn.c_attn'. */
  name: string;
  /** Module type, e.g. 'attn.c_attn'. */
  type: string;
  layer: number;
  inF: number;
  outF: number;
}

/** What the set-up panel shows about a model before any training. */
export interface ModelSummary {
  id: string;
  /** config.json model_type. */
  kind: ModelKind;
  /** The family's name for people (GPT-2, BERT, RoBERTa, Llama, Qwen2, Qwen3). */
  title: string;
  task: Task;
  /** Trainable parameters of the classification head: fixed + perLabel * labels (zero for a causal LM). */
  head: { fixed: number; perLabel: number };
  layers: number;
  hidden: number;
  heads: number;
  vocab: number;
  maxPositions: number;
  parameters: number;
  /** Adaptable module types in the paper's Figure 2 order. */
  moduleTypes: string[];
  modules: ModuleInfo[];
  /** Module types adapted by default (PEFT's defaults widened to the paper's: every linear). */
  defaultTargets: string[];
  /** What the page's memory plan reads (src/train/plan.ts): config.json and every canonical tensor's shape. */
  shapes?: { config: Record<string, unknown>; weights: [string, number[]][] };
}

export type Command =
  /** The first command: acquire the engine ('cpu' forces the CPU backend) and run the kernel self-test. */
  | { type: 'init'; backend: 'auto' | 'cpu' }
  | { type: 'inspect'; model: string }
  /** Registers a model source (hub id, URL, files) and inspects it; the summary's id is the model id to use. */
  | { type: 'addModel'; ref: ModelRef }
  /** Parses a data file for the set-up panel's preview (off the page's main thread); answered by a 'preview' event. */
  | { type: 'preview'; id: number; data: DataFile }
  /** Renders an instruction file with `model`'s chat template for the set-up panel; answered by 'sftPreview'. */
  | { type: 'sftPreview'; id: number; model: string; data: DataFile; sft: SftSettings; maxLength: number }
  | { type: 'listCheckpoints' }
  | { type: 'deleteCheckpoint'; id: string }
  /** Restores the checkpoint's model, data and settings and continues its run from the saved step. */
  | { type: 'resumeCheckpoint'; id: string }
  | { type: 'start'; model: string; data: DataFile; settings: RunSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'generate'; prompt: string; maxTokens: number; temperature: number; topK: number; seed: number }
  | { type: 'classify'; text: string }
  /** One user message through the chat template, answered greedily by the base and the adapted model. */
  | { type: 'chat'; message: string; maxTokens: number }
  | { type: 'evaluate' }
  | { type: 'export' }
  /** The merged model as a transformers.js folder (zip); the worker keeps its model.onnx for try-it. */
  | { type: 'exportOnnx' }
  /**
   * Destroys the GPU device as a driver reset would, to exercise the device-lost path (the page's ?debug hook): now,
   * or inside each of the next `times` (default 1) checkpoints, where a loss cuts a readback short.
   */
  | { type: 'debugLoseDevice'; during?: 'checkpoint'; times?: number }
  | { type: 'debugGpuPath' };

/** Which part of the page an error belongs to, so it is shown next to what the person can change. */
export type ErrorArea = 'engine' | 'model' | 'data' | 'settings' | 'training' | 'try' | 'export';

export type RunPhase = 'idle' | 'preparing' | 'training' | 'paused' | 'stopped' | 'done';

export interface StepEvent {
  type: 'step';
  step: number;
  loss: number;
  lr: number;
  /** Live components over all modules (dynamic rank) or M*r (LoRA). */
  live: number;
  /** The budget schedule's target for this step. */
  target: number;
  liveByModule: number[];
  tokensPerSecond: number;
  /** EMA importance of every component (modules x R0), dynamic rank only. */
  importance: number[] | null;
  /** GPU memory held by the engine (bytes; null on the CPU backend) and the run's analytic estimate. */
  gpuBytes: number | null;
  estimateBytes: number;
  /** The most bytes the engine has held on the GPU (its counters' high-water mark); null on the CPU backend. */
  peakBytes?: number | null;
}

export interface EvalResult {
  step: number;
  loss: number;
  perplexity?: number;
  accuracy?: number;
  f1?: number;
  mcc?: number;
  /** Tokens (language models) or examples scored. */
  examples: number;
  /** The loss is over the answers' tokens only (instruction tuning without trainOnPrompt). */
  answerTokensOnly?: boolean;
}

export type WorkerEvent =
  | {
      type: 'engine';
      backend: 'webgpu' | 'cpu';
      adapter: { vendor: string; architecture: string; description: string; isFallback: boolean } | null;
      warning: string | null;
    }
  | { type: 'selftest'; results: SelfTestResult[]; error: string | null }
  | { type: 'loaded'; summary: ModelSummary }
  | {
      type: 'started';
      steps: number;
      /** Adapted modules in the trainer's order (liveByModule follows it). */
      modules: string[];
      R0: number;
      /** Final total budget: M * b(T) for dynamic rank, M * r for LoRA. */
      budgetTotal: number;
      trainable: number;
      /** Target live components by step, down-sampled (step ascending). */
      schedule: { step: number; live: number }[];
      labels: string[] | null;
      dataSummary: string;
      /** Set when the run continues from a checkpoint: the saved step and the metrics before it. */
      resumedFrom?: number;
      history?: HistoryData;
    }
  | StepEvent
  /** The allocation changed at `step`: components pruned, and components whose importance rose back above the threshold. */
  | { type: 'prune'; step: number; removed: number; revived: number; live: number; liveByModule: number[] }
  | { type: 'phase'; phase: RunPhase }
  /** The kernels were tuned for this GPU after the run's first step: one line to show, and its figures. */
  | { type: 'tuned'; text: string; summary: TuningSummary }
  | { type: 'eval'; result: EvalResult }
  | { type: 'generated'; prompt: string; base: string; adapted: string; onnx?: OnnxGeneration }
  | { type: 'classified'; text: string; labels: string[]; base: number[]; adapted: number[]; onnx?: OnnxClassification }
  | { type: 'chatted'; message: string; base: string; adapted: string; onnx?: OnnxGeneration }
  | { type: 'onnxExported'; zip: Uint8Array; files: string[]; step: number }
  | { type: 'exported'; zip: Uint8Array; merged: Uint8Array; rankMap: RankMapData }
  | { type: 'error'; area: ErrorArea; code: string; message: string }
  | { type: 'checkpoints'; list: CheckpointInfo[] }
  /** The answer to a 'preview' command: the preview, or why the file cannot be used. */
  | { type: 'preview'; id: number; preview: DataPreview | null; error: { code: string; message: string } | null }
  /** The answer to an 'sftPreview' command: the rendered examples, or why the file cannot be instruction-tuned on. */
  | { type: 'sftPreview'; id: number; preview: SftPreview | null; error: { code: string; message: string } | null }
  /** A resume is about to rebuild this run: the page shows its model, data and settings. */
  | {
      type: 'restoring';
      modelId: string;
      modelLabel: string;
      task: Task;
      settings: RunSettings;
      data: DataFile;
      preview: DataPreview | null;
      checkpoint: CheckpointInfo;
    }
  /** A model added through addModel: its id and label for the picker (sent before its 'loaded'). */
  | { type: 'modelAdded'; modelId: string; label: string; task: Task }
  | { type: 'modelProgress'; file: string; loaded: number; total: number | null };

/** rank_map.json as exported (the paper's Figure 2). */
export type RankMapData = RankMap;

/**
 * The exported ONNX model's greedy continuation in onnxruntime-web beside the adapted model's greedy one (of the
 * prompt, or of a chat message rendered with the chat template).
 */
export interface OnnxGeneration {
  text: string;
  /** The adapted model's greedy continuation (our engine). */
  ours: string;
  /** The two greedy token sequences are equal. */
  agrees: boolean;
  /** The step of the adapter that was exported. */
  step: number;
}

/** The exported ONNX classifier's probabilities in onnxruntime-web beside the adapted model's. */
export interface OnnxClassification {
  probs: number[];
  /** max |p_onnx - p_ours| over the labels. */
  maxDiff: number;
  /** Same top label and probabilities within 1e-3. */
  agrees: boolean;
  step: number;
}
