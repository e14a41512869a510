// A whole fine-tuning run: data from a user's file, the trainer, periodic metrics, the final-mask compaction and
// evaluation. The Node CLI and the page's Web Worker both drive training through this module.

import type { Task } from '../models/arch/index';
import type { LoadedModel } from '../models/load';
import { WeightPrecisionError } from '../nn/params';
import type { Recompute } from '../nn/recompute';
import { DEFAULT_ALPHA } from '../peft/adapters';
import { defaultR0 } from '../peft/schedule';
import type { Backend, KernelTuneOptions, KernelTuneReport } from '../tensor/backend';
import { type BatchSource, BatchStream, clsLayout, evalBatches } from './data/batches';
import type { ChatTemplate, ChatTokenizer } from './data/chat';
import { buildClassificationSet, buildLmSet, type ColumnMapping, guessMapping } from './data/dataset';
import { type BadRowReport, badRowReport, DataError } from './data/errors';
import { parseTable } from './data/parse';
import { buildSftSet, IGNORE_INDEX, readSftRecords, type SftExample, type SftFormat } from './data/sft';
import { estimateMemory, TrainingMemoryError } from './memory';
import { classificationMetrics, type EvalMetrics } from './metrics';
import { taskFor } from './task';
import { DEFAULT_OPTIM, type StepStatus, Trainer, type TrainMethod } from './trainer';

export interface RunConfig {
  /** The task to train where the family supports both (a Llama-family causal LM trained as a classifier); absent:
   * the checkpoint's own. Saved with the run, so a resume loads the model for the same task. */
  task?: Task;
  method: 'dora' | 'lora' | 'full';
  /** Dynamic rank: final average budget b(T) and initial components R0 (ceil(1.5 b) by default). */
  budget: number;
  r0?: number;
  /** LoRA rank. */
  rank: number;
  alpha?: number;
  /** Adapter input dropout (lora_dropout). */
  dropout: number;
  /** The model's own dropout (config.json) while training; absent in older checkpoints, meaning on. */
  modelDropout?: boolean;
  rslora: boolean;
  targets?: string[];
  steps?: number;
  epochs?: number;
  batch: number;
  /** Rows per forward/backward pass (gradient accumulation over batch / microBatch passes; must divide batch): the
   * same steps with activations sized by microBatch. The whole batch unless given. */
  microBatch?: number;
  /** Activation recomputation (src/nn/recompute.ts): 'selective' keeps one block's attention probabilities and norm
   * outputs instead of every block's, 'blocks' one block's internal activations; the same steps either way. 'none'
   * unless given. */
  recompute?: Recompute;
  seq: number;
  lr?: number;
  seed: number;
  pruneInterval: number;
  valFraction: number;
  logEvery: number;
  /** DEM regulariser weight eta and its divisor: the authors' code (2 M R0, default) or the paper (M R0). */
  eta: number;
  demVariant: 'code' | 'paper';
  mapping?: ColumnMapping;
  /** Non-finite loss or gradients: skip the update and halve the learning rate ('skip'), or stop with a message. */
  onNonFinite: 'skip' | 'stop';
  /** With 'skip': this many non-finite steps in a row stop the run with a NonFiniteError. */
  maxSkippedSteps: number;
  /** Instruction tuning of a causal LM: the file holds conversations, trained on the answers only. */
  sft?: SftRunOptions;
  /** Storage of the frozen base weights (src/models/load.ts InstantiateOptions): 'f16' halves their memory, computing
   * in f32; adapters, heads, gradients and optimizer moments stay f32. Method 'full' needs 'f32'. Absent: 'f32'. */
  weightPrecision?: 'f32' | 'f16';
  /** The memory plan's budget in GiB (absent: the device's, at most 4). */
  memoryBudgetGiB?: number;
  /** Time each matmul shape of the first step with every tile size on this device and use the fastest (WebGPU on a
   * GPU; a few seconds at most, once per run; options: its time budget). The same results either way. On unless
   * false. */
  tuneKernels?: boolean | KernelTuneOptions;
}

export interface SftRunOptions {
  format: SftFormat | 'auto';
  /** Train on every token, not only the assistant's. */
  trainOnPrompt: boolean;
  /** Longest example in tokens (longer ones are truncated); absent: the model's positions. */
  maxLength?: number;
  /** The entry of tokenizer_config.json's named-template list to render with; absent: 'default'. */
  templateName?: string;
}

/** What instruction tuning renders with: the model's chat tokenizer and template. */
export interface SftChat {
  tokenizer: ChatTokenizer;
  template: ChatTemplate;
}

export const DEFAULT_RUN: RunConfig = {
  method: 'dora',
  budget: 2,
  rank: 8,
  dropout: 0.1,
  modelDropout: true,
  rslora: false,
  batch: 8,
  seq: 64,
  seed: 1,
  pruneInterval: 10,
  valFraction: 0.1,
  logEvery: 10,
  eta: 0.1,
  demVariant: 'code',
  onNonFinite: 'skip',
  maxSkippedSteps: 5,
};

/** A micro-batch size that is not a whole number dividing the batch size. */
export class MicroBatchError extends RangeError {
  override name = 'MicroBatchError';
  constructor(
    readonly microBatch: number,
    readonly batch: number,
  ) {
    const divisors = Array.from({ length: batch }, (_, i) => i + 1).filter((d) => batch % d === 0);
    super(
      `microBatch (--micro-batch, "Micro-batch" on the page, config.microBatch in dynrank.json) is ${microBatch}, ` +
        `which does not divide the batch size ${batch} (--batch): choose one of ${divisors.join(', ')}.`,
    );
  }
}

/** Throws a MicroBatchError unless cfg.microBatch is absent or a whole divisor of cfg.batch. */
export function checkMicroBatch(cfg: Pick<RunConfig, 'batch' | 'microBatch'>): void {
  const mb = cfg.microBatch;
  if (mb === undefined) return;
  if (!(Number.isInteger(mb) && mb >= 1 && cfg.batch % mb === 0)) throw new MicroBatchError(mb, cfg.batch);
}

/** A step whose loss or gradient norm was NaN or infinite. */
export interface NonFiniteStep {
  step: number;
  /** 'loss': the loss itself (and with it the gradients); 'gradient norm': a finite loss but non-finite gradients. */
  what: 'loss' | 'gradient norm';
  /** Non-finite steps in a row, ending with this one. */
  consecutive: number;
}

/** Training produced NaN/Inf: at the first such step (policy 'stop'), or at maxSkippedSteps of them in a row. */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
  readonly step: number;
  readonly what: NonFiniteStep['what'];
  readonly consecutive: number;
  constructor(info: NonFiniteStep) {
    const { step, what, consecutive } = info,
      first = step - consecutive + 1;
    const where =
      consecutive === 1
        ? `at step ${step}`
        : `at ${consecutive} steps in a row (steps ${first} to ${step}; each update was skipped and the learning rate ` +
          'halved)';
    const never =
      first === 1 && consecutive > 1 ? ' It was never finite: the model weights most likely hold NaN or Inf.' : '';
    super(
      `the ${what} was NaN or infinite ${where}.${never} Check the model weights for NaN/Inf values, lower the ` +
        'learning rate, and check the data for very long or empty rows.',
    );
    this.step = step;
    this.what = what;
    this.consecutive = consecutive;
  }
}

export interface PreparedData {
  train: BatchSource;
  val: BatchSource;
  labels: string[] | null;
  summary: Record<string, unknown>;
  /** Rows of the file that were not used: how many, and the first few with their lines and reasons. */
  skipped?: BadRowReport;
}

/**
 * Instruction-tuning sources: examples rendered with the chat template, each padded on the right to the longest
 * example of the data set, train and validation together (ids with the pad id, labels -100), so the causal-LM loss
 * counts only the trained (answer) tokens. One length for every batch: the networks size their activation workspaces
 * per (B, T) and reallocate them when T changes, so per-batch lengths would allocate on the GPU at most steps. No
 * packing: examples never share a row, as attention has no per-example mask within a row.
 */
function prepareSft(model: LoadedModel, text: string, fileName: string, cfg: RunConfig, chat?: SftChat): PreparedData {
  if (model.task !== 'causal-lm' || !chat) {
    throw new DataError({
      code: 'BadOptions',
      file: fileName,
      message: `${fileName}: instruction tuning (sft) needs a causal LM and its chat tokenizer; load a causal-LM model.`,
    });
  }
  const maxPositions = model.arch.dims(model.config).maxPositions;
  const maxLength = Math.min(cfg.sft!.maxLength ?? maxPositions, maxPositions);
  const records = readSftRecords(text, fileName, { format: cfg.sft!.format });
  const set = buildSftSet(records, chat.tokenizer, chat.template, {
    maxLength,
    trainOnPrompt: cfg.sft!.trainOnPrompt,
    seed: cfg.seed,
    valFraction: cfg.valFraction,
  });
  const longest = [...set.train, ...set.val].reduce((m, e) => Math.max(m, e.inputIds.length), 2);
  const source = (examples: SftExample[]): BatchSource => ({
    kind: 'lm',
    seq: longest - 1,
    windows: examples.map((e) => {
      const w = new Int32Array(longest).fill(chat.tokenizer.padId);
      w.set(e.inputIds);
      return w;
    }),
    labels: examples.map((e) => {
      const l = new Int32Array(longest).fill(IGNORE_INDEX);
      l.set(e.labels);
      return l;
    }),
  });
  const skipped = badRowReport(set.badRows);
  return {
    train: source(set.train),
    val: source(set.val),
    labels: null,
    skipped,
    summary: {
      sft: true,
      format: set.format,
      template: { origin: chat.template.origin, name: chat.template.name },
      maxLength,
      examples: set.stats.examples,
      truncated: set.stats.truncated,
      tokens: set.stats.tokens,
      trainableTokens: set.stats.trainableTokens,
      trainOnPrompt: cfg.sft!.trainOnPrompt,
      badRows: skipped.count,
      firstBadRows: skipped.first,
      split: set.split,
    },
  };
}

/**
 * Parses the user's file and builds the train/validation sources for the model's task (with cfg.sft, instruction
 * tuning rendered with `chat`).
 */
export function prepareData(
  model: LoadedModel,
  text: string,
  fileName: string,
  cfg: RunConfig,
  chat?: SftChat,
): PreparedData {
  if (cfg.sft) return prepareSft(model, text, fileName, cfg, chat);
  const table = parseTable(text, fileName);
  const maxSeq = model.arch.dims(model.config).maxPositions;
  if (model.task === 'causal-lm') {
    const col =
      table.format === 'text'
        ? null
        : (table.columns.find((c) => /^(text|content|sentence)$/i.test(c)) ?? table.columns[0]);
    const texts =
      table.format === 'text' ? [table.rows[0]?.[table.columns[0]] ?? ''] : table.rows.map((r) => r[col!] ?? '');
    const seq = Math.min(cfg.seq, maxSeq);
    const set = buildLmSet(texts, model.tokenizer, { seq, seed: cfg.seed, valFraction: cfg.valFraction });
    const skipped = badRowReport(table.badRows);
    return {
      train: { kind: 'lm', windows: set.train, seq },
      val: { kind: 'lm', windows: set.val, seq },
      labels: null,
      skipped,
      summary: { format: table.format, tokens: set.tokens, badRows: skipped.count, firstBadRows: skipped.first },
    };
  }
  const mapping = cfg.mapping ?? guessMapping(table.columns);
  if (!mapping)
    throw new DataError({
      code: 'BadMapping',
      file: fileName,
      message:
        `${fileName}: cannot tell which columns hold the text and the label ` +
        `(columns: ${table.columns.join(', ')}). Name them "text" and "label".`,
    });
  const set = buildClassificationSet(table, mapping, { seed: cfg.seed, valFraction: cfg.valFraction });
  const numLabels = model.arch.numLabels(model.config);
  if (set.labels.length !== numLabels) {
    throw new DataError({
      code: 'BadMapping',
      file: fileName,
      message:
        `${fileName}: the data has ${set.labels.length} labels but the model head has ` +
        `${numLabels}; load the model with numLabels = ${set.labels.length}.`,
    });
  }
  const seq = Math.min(cfg.seq, maxSeq),
    layout = clsLayout(model.config);
  const src = (examples: typeof set.train): BatchSource => ({
    kind: 'cls',
    examples,
    tokenizer: model.tokenizer,
    layout,
    seq,
  });
  const skipped = badRowReport(set.badRows);
  return {
    train: src(set.train),
    val: src(set.val),
    labels: set.labels,
    skipped,
    summary: {
      format: table.format,
      labels: set.labels,
      labelCounts: set.labelCounts,
      badRows: skipped.count,
      firstBadRows: skipped.first,
      split: set.split,
    },
  };
}

export function trainMethod(model: LoadedModel, cfg: RunConfig): TrainMethod {
  const targets = cfg.targets ?? [...model.arch.defaultTargets];
  if (cfg.method === 'full') return { method: 'full', targets };
  if (cfg.method === 'lora') {
    return {
      method: 'lora',
      targets,
      adapter: {
        method: 'lora',
        R0: cfg.rank,
        alpha: cfg.alpha ?? DEFAULT_ALPHA,
        dropout: cfg.dropout,
        rslora: cfg.rslora,
        seed: cfg.seed,
      },
    };
  }
  const R0 = cfg.r0 ?? defaultR0(cfg.budget);
  if (cfg.budget > R0) throw new RangeError(`the final budget b(T) = ${cfg.budget} exceeds R0 = ${R0}`);
  return {
    method: 'dora',
    targets,
    budget: cfg.budget,
    pruneInterval: cfg.pruneInterval,
    adapter: { method: 'dora', R0, alpha: cfg.alpha ?? DEFAULT_ALPHA, dropout: cfg.dropout, seed: cfg.seed },
  };
}

export function totalSteps(train: BatchSource, cfg: RunConfig): number {
  const n = train.kind === 'lm' ? train.windows.length : train.examples.length;
  if (n === 0)
    throw new DataError({
      code: 'TooShort',
      file: '',
      message: 'The training split is empty: add more data or lower the validation fraction.',
    });
  return cfg.steps ?? Math.max(1, Math.ceil(n / cfg.batch) * (cfg.epochs ?? 1));
}

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  /** Live components over all modules (dynamic rank), or the fixed rank total (LoRA). */
  live: number | null;
  liveByModule: number[] | null;
  tokensPerSecond: number;
  /** Steps so far whose loss or gradient norm was not finite (their updates skipped). */
  skipped: number;
  /** EMA importance of every component (M * R0, module-major), dynamic rank only. */
  importance: number[] | null;
}

export function createTrainer(
  be: Backend,
  model: LoadedModel,
  data: PreparedData,
  cfg: RunConfig,
): { trainer: Trainer; stream: BatchStream; steps: number } {
  if (cfg.method === 'full' && cfg.weightPrecision === 'f16') {
    throw new WeightPrecisionError(
      "RunConfig.weightPrecision 'f16' keeps the base weights frozen, but method 'full' trains them: use " +
        "weightPrecision 'f32' (--weight-precision f32) for full fine-tuning, or method lora or dora",
    );
  }
  const steps = totalSteps(data.train, cfg);
  checkMicroBatch(cfg);
  const defaultLr = cfg.method === 'full' ? 1e-4 : cfg.method === 'lora' ? 1e-3 : 2e-3;
  const stream = new BatchStream(data.train, cfg.batch, cfg.seed);
  try {
    const trainer = new Trainer(
      be,
      taskFor(be, model),
      trainMethod(model, cfg),
      {
        ...DEFAULT_OPTIM,
        lr: cfg.lr ?? defaultLr,
        totalSteps: steps,
        modelDropout: cfg.modelDropout !== false,
        dem: cfg.method === 'dora' ? { eta: cfg.eta, variant: cfg.demVariant } : null,
      },
      { microBatch: cfg.microBatch, recompute: cfg.recompute },
    );
    // Allocate the activations now (a forward on the first pass's shape), so a run that does not fit fails here,
    // with the estimate, rather than at some later step.
    trainer.task.setBatch(trainer.microBatches(BatchStream.restore(data.train, stream.state()).next())[0]);
    trainer.task.forwardLoss();
    be.flush();
    return { trainer, stream, steps };
  } catch (e) {
    if (e instanceof Error && e.name === 'GpuOutOfMemoryError')
      throw new TrainingMemoryError(estimateMemory(model, cfg), e.message);
    throw e;
  }
}

export interface StepHooks {
  /** A step's loss or gradient norm was not finite: its update was skipped; the learning rate halves from step + 2. */
  onSkipped?(info: NonFiniteStep & { lrScale: number }): void;
  /** Called after every `checkpointEvery` steps (whatever logEvery is), with every step's status checked. */
  checkpointEvery?: number;
  onCheckpoint?(step: number): void | Promise<void>;
  /** The kernels were tuned after the first step of this call (RunConfig.tuneKernels). */
  onTuned?(report: KernelTuneReport): void | Promise<void>;
}

/** Counts a non-finite step, halves the learning rate, and stops the run per the policy. */
function checkStatus(trainer: Trainer, s: StepStatus, cfg: RunConfig, hooks: StepHooks): void {
  const lossBad = !Number.isFinite(s.loss);
  if (!lossBad && s.clipFactor >= 0) {
    trainer.consecutiveSkips = 0;
    return;
  }
  trainer.skippedSteps++;
  trainer.consecutiveSkips++;
  const info: NonFiniteStep = {
    step: s.step,
    what: lossBad ? 'loss' : 'gradient norm',
    consecutive: trainer.consecutiveSkips,
  };
  if (cfg.onNonFinite === 'stop' || trainer.consecutiveSkips >= cfg.maxSkippedSteps) throw new NonFiniteError(info);
  trainer.halveLrAfter(s.step);
  hooks.onSkipped?.({ ...info, lrScale: trainer.nextLrScale });
}

/**
 * Runs the remaining steps, calling onMetrics every logEvery steps (and at the end). Every step's status is read back
 * in its own submission and checked once the next step is recorded, so the device never waits for the host.
 */
export async function runSteps(
  trainer: Trainer,
  stream: BatchStream,
  steps: number,
  cfg: RunConfig,
  onMetrics: (m: StepMetrics) => void | Promise<void>,
  shouldStop: () => boolean = () => false,
  hooks: StepHooks = {},
): Promise<void> {
  let t0 = performance.now(),
    tokens = 0;
  let pending: Promise<StepStatus> | null = null;
  const settle = async (): Promise<StepStatus | null> => {
    const p = pending;
    pending = null;
    if (!p) return null;
    const s = await p;
    checkStatus(trainer, s, cfg, hooks);
    return s;
  };
  const every = hooks.checkpointEvery ?? 0;
  const be = trainer.be;
  let tune = cfg.tuneKernels !== false && be.noteKernels !== undefined && be.tuneKernels !== undefined;
  while (trainer.step < steps && !shouldStop()) {
    if (tune) be.noteKernels!();
    const rec = trainer.trainStep(stream.next(), { readStatus: true });
    // Awaited by the next settle, or abandoned when an error ends the run first.
    rec.status!.catch(() => {});
    tokens += trainer.task.tokens();
    if (tune) {
      tune = false;
      const report = await be.tuneKernels!(typeof cfg.tuneKernels === 'object' ? cfg.tuneKernels : undefined);
      if (report && report.kernels.length + report.untimed > 0) await hooks.onTuned?.(report);
      // Throughput is measured from here: the first step ran during the tuning.
      t0 = performance.now();
      tokens = 0;
    }
    const previous = pending;
    pending = rec.status;
    if (previous) checkStatus(trainer, await previous, cfg, hooks);
    if (trainer.allocator?.finalReached && !trainer.adapters!.compacted) {
      await trainer.allocator.compactToFinalMask();
    }
    const log = (cfg.logEvery > 0 && rec.step % cfg.logEvery === 0) || rec.step === steps;
    const save = every > 0 && rec.step % every === 0;
    if (!log && !save) continue;
    const status = await settle();
    if (log) {
      const liveByModule = trainer.allocator ? await trainer.allocator.liveCounts() : null;
      const importance = trainer.allocator ? Array.from(await trainer.be.read(trainer.allocator.ema)) : null;
      const dt = (performance.now() - t0) / 1000;
      await onMetrics({
        step: rec.step,
        loss: status!.loss,
        lr: rec.lr,
        live: liveByModule ? liveByModule.reduce((a, b) => a + b, 0) : null,
        liveByModule,
        tokensPerSecond: tokens / Math.max(dt, 1e-9),
        skipped: trainer.skippedSteps,
        importance,
      });
      t0 = performance.now();
      tokens = 0;
    }
    if (save) await hooks.onCheckpoint?.(rec.step);
  }
  await settle();
}

/** Validation metrics: loss and perplexity for LM; also accuracy, F1 and Matthews correlation for classification.
 * Evaluated in batches of at most the trainer's micro-batch, so evaluation needs no larger activations than training. */
export async function evaluate(trainer: Trainer, val: BatchSource, maxBatch: number): Promise<EvalMetrics> {
  const batch = Math.min(maxBatch, trainer.opts.microBatch ?? maxBatch);
  let lossSum = 0,
    count = 0;
  const preds: number[] = [],
    gold: number[] = [];
  for (const b of evalBatches(val, batch)) {
    const r = await trainer.evalLoss(b);
    lossSum += r.lossSum;
    count += r.count;
    if (b.kind === 'cls') {
      const logits = (await trainer.be.read(trainer.task.logits())) as Float32Array,
        L = logits.length / b.enc.B;
      for (let i = 0; i < b.enc.B; i++) {
        let best = 0;
        for (let j = 1; j < L; j++) if (logits[i * L + j] > logits[i * L + best]) best = j;
        preds.push(best);
        gold.push(b.labels[i]);
      }
    }
  }
  const loss = lossSum / Math.max(count, 1);
  return val.kind === 'lm'
    ? { loss, perplexity: Math.exp(loss), examples: count }
    : { loss, ...classificationMetrics(preds, gold), examples: count };
}
