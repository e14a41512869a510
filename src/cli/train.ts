// `dynrank train` and `dynrank eval`: the Node side of the same training loop the page runs in its Web Worker.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseModelConfig, type Task } from '../models/arch/index';
import { type LoadedModel, loadModel } from '../models/load';
import { resolveModelArg } from '../models/node';
import { writeSafetensors } from '../models/safetensorsWrite';
import type { ModelSource } from '../models/sources';
import { applyImportedAdapter } from '../peft/apply';
import { exportPeft } from '../peft/export';
import { importPeft } from '../peft/import';
import { mergeWeights } from '../peft/merge';
import { defaultR0 } from '../peft/schedule';
import type { Backend, KernelTuneReport } from '../tensor/backend';
import { checkInputs, hashingSource, type RunInputs, readCheckpointMeta, saveCheckpoint } from '../train/checkpoint';
import { chatFromSource } from '../train/data/chat';
import { buildClassificationSet, guessMapping } from '../train/data/dataset';
import { formatBadRowReport } from '../train/data/errors';
import { parseTable } from '../train/data/parse';
import { SFT_FORMATS, type SftFormat } from '../train/data/sft';
import { estimateMemory } from '../train/memory';
import { applyPlan, type DeviceMemoryLimits, fixedOptions, type MemoryPlan, planMemory } from '../train/plan';
import { trainResilient } from '../train/resilient';
import {
  checkMicroBatch,
  DEFAULT_RUN,
  evaluate,
  prepareData,
  type RunConfig,
  type SftRunOptions,
  totalSteps,
} from '../train/run';
import { exportInput } from '../train/snapshot';
import { taskFor } from '../train/task';
import { DEFAULT_OPTIM, Trainer } from '../train/trainer';
import { describeTuning } from '../train/tuning';
import { num, type ParsedArgs, recomputeOpt, str, UsageError, weightPrecisionOpt } from './args';
import { CHECKPOINT, checkOutDir, writeAtomic } from './files';
import { readModelShapes } from './plan';

export const TRAIN_OPTS = {
  task: 'value',
  method: 'value',
  budget: 'value',
  r0: 'value',
  rank: 'value',
  alpha: 'value',
  dropout: 'value',
  rslora: 'flag',
  target: 'value',
  steps: 'value',
  epochs: 'value',
  batch: 'value',
  'micro-batch': 'value',
  recompute: 'value',
  seq: 'value',
  lr: 'value',
  seed: 'value',
  'prune-interval': 'value',
  eta: 'value',
  'dem-variant': 'value',
  'log-every': 'value',
  out: 'value',
  data: 'value',
  merged: 'flag',
  adapter: 'value',
  'val-fraction': 'value',
  'no-model-dropout': 'flag',
  resume: 'value',
  'checkpoint-every': 'value',
  'stop-after': 'value',
  force: 'flag',
  'max-skipped-steps': 'value',
  'weight-precision': 'value',
  'memory-gib': 'value',
  'no-tune-kernels': 'flag',
} as const;

/** A whole number of at least `min`, or the default. */
function count(a: ParsedArgs, key: string, dflt: number, min: number): number {
  const n = num(a, key, dflt);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${key} must be a whole number of at least ${min}, got ${n}`);
  }
  return n;
}

export function runConfig(a: ParsedArgs): RunConfig {
  const method = str(a, 'method', 'dora');
  if (method !== 'dora' && method !== 'lora' && method !== 'full')
    throw new UsageError(`--method must be dora, lora or full, got ${method}`);
  const budget = num(a, 'budget', DEFAULT_RUN.budget);
  const dv = str(a, 'dem-variant', 'code');
  if (dv !== 'code' && dv !== 'paper') throw new UsageError('--dem-variant must be code or paper');
  const target = a.options.get('target');
  const weightPrecision = weightPrecisionOpt(a);
  if (method === 'full' && weightPrecision === 'f16') {
    throw new UsageError(
      '--weight-precision f16 keeps the base weights frozen, but --method full trains them: use ' +
        '--weight-precision f32 (the default) for full fine-tuning, or --method lora or dora',
    );
  }
  const cfg: RunConfig = {
    ...DEFAULT_RUN,
    ...(weightPrecision ? { weightPrecision } : {}),
    task: taskOpt(a),
    sft: sftOpt(a),
    method,
    budget,
    r0: num(a, 'r0', defaultR0(budget)),
    rank: num(a, 'rank', DEFAULT_RUN.rank),
    alpha: a.options.has('alpha') ? num(a, 'alpha') : undefined,
    dropout: num(a, 'dropout', DEFAULT_RUN.dropout),
    modelDropout: !a.options.has('no-model-dropout'),
    rslora: a.options.has('rslora'),
    targets:
      typeof target === 'string'
        ? target
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    steps: a.options.has('steps') ? num(a, 'steps') : undefined,
    epochs: a.options.has('epochs') ? num(a, 'epochs') : undefined,
    batch: num(a, 'batch', DEFAULT_RUN.batch),
    seq: num(a, 'seq', DEFAULT_RUN.seq),
    lr: a.options.has('lr') ? num(a, 'lr') : undefined,
    seed: num(a, 'seed', DEFAULT_RUN.seed),
    pruneInterval: num(a, 'prune-interval', DEFAULT_RUN.pruneInterval),
    valFraction: num(a, 'val-fraction', DEFAULT_RUN.valFraction),
    logEvery: count(a, 'log-every', DEFAULT_RUN.logEvery, 0),
    eta: num(a, 'eta', DEFAULT_RUN.eta),
    demVariant: dv,
    maxSkippedSteps: count(a, 'max-skipped-steps', DEFAULT_RUN.maxSkippedSteps, 1),
    ...memoryGiB(a),
  };
  if (a.options.has('micro-batch')) cfg.microBatch = num(a, 'micro-batch');
  if (a.options.has('recompute')) cfg.recompute = recomputeOpt(a);
  if (a.options.has('no-tune-kernels')) cfg.tuneKernels = false;
  checkMicroBatch(cfg);
  return cfg;
}

/** --memory-gib: the memory plan's budget (absent: the device's, at most 4 GiB). */
function memoryGiB(a: ParsedArgs): Pick<RunConfig, 'memoryBudgetGiB'> {
  if (!a.options.has('memory-gib')) return {};
  const g = num(a, 'memory-gib');
  if (!(g > 0)) throw new UsageError(`--memory-gib must be a positive number of GiB, got ${g}`);
  return { memoryBudgetGiB: g };
}

/** What the device tells about its memory (a WebGPU device's largest buffer); nothing on the CPU backend. */
function deviceLimits(be: Backend): DeviceMemoryLimits {
  const limits = (be as { ctx?: { device?: { limits?: { maxBufferSize?: number } } } }).ctx?.device?.limits;
  return limits?.maxBufferSize ? { maxBufferSize: limits.maxBufferSize } : {};
}

/** The most bytes any of the run's GPU backends held at once; null when none is a GPU backend. */
function peakBytes(backends: Backend[]): number | null {
  let peak: number | null = null;
  for (const be of backends) {
    const p = (be as { ctx?: { counters?: { bytesPeak?: number } } }).ctx?.counters?.bytesPeak;
    if (typeof p === 'number') peak = Math.max(peak ?? 0, p);
  }
  return peak;
}

/** --task: causal-lm or seq-cls (sft: instruction tuning of a causal LM), or undefined when not given. */
function taskOpt(a: ParsedArgs): Task | undefined {
  const task = a.options.get('task');
  if (task === undefined) return undefined;
  if (task === 'sft') return 'causal-lm';
  if (task !== 'causal-lm' && task !== 'seq-cls') {
    throw new UsageError(`--task must be causal-lm, seq-cls or sft, got ${task}`);
  }
  return task;
}

/** With --task sft: the data format, --train-on-prompt, --max-length and --template-name. */
function sftOpt(a: ParsedArgs): SftRunOptions | undefined {
  if (a.options.get('task') !== 'sft') {
    for (const k of ['format', 'train-on-prompt', 'max-length', 'template-name'])
      if (a.options.has(k)) throw new UsageError(`--${k} needs --task sft (instruction tuning)`);
    return undefined;
  }
  const format = str(a, 'format', 'auto');
  if (format !== 'auto' && !SFT_FORMATS.includes(format as SftFormat)) {
    throw new UsageError(`--format must be auto, ${SFT_FORMATS.join(', ')}; got ${format}`);
  }
  return {
    format: format as SftFormat | 'auto',
    trainOnPrompt: a.options.has('train-on-prompt'),
    maxLength: a.options.has('max-length') ? count(a, 'max-length', 0, 2) : undefined,
    templateName: a.options.has('template-name') ? str(a, 'template-name') : undefined,
  };
}

/** Loads the model for `task` (where the family supports both; else the checkpoint's), with a classification head
 * sized for the data's labels, or as a causal LM. */
async function modelForData(
  be: Backend,
  src: ModelSource,
  dataText: string,
  dataFile: string,
  seed: number,
  task: Task | undefined,
  weightPrecision?: RunConfig['weightPrecision'],
): Promise<LoadedModel> {
  const configText = new TextDecoder().decode((await src.get('config.json'))!);
  // Only the task is read here; the tokenizer's pad id is applied when the model loads.
  const probe = parseModelConfig(configText, { task, padTokenId: 0 }).task;
  if (probe === 'causal-lm') return loadModel(src, be, { seed, task, weightPrecision });
  const table = parseTable(dataText, dataFile);
  const mapping = guessMapping(table.columns);
  const labels = mapping ? buildClassificationSet(table, mapping, { seed, valFraction: 0 }).labels.length : undefined;
  return loadModel(src, be, { numLabels: labels, seed, task, weightPrecision });
}

function progress(step: number, steps: number, loss: number, tps: number, t0: number): void {
  const frac = step / steps,
    width = 24,
    bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
  const elapsed = (performance.now() - t0) / 1000,
    eta = frac > 0 ? (elapsed * (1 - frac)) / frac : 0;
  process.stderr.write(
    `\r[${bar}] ${step}/${steps} loss ${loss.toFixed(4)} ${tps.toFixed(0)} tok/s ETA ${eta.toFixed(0)}s `,
  );
}

const nodeSha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Trains (or, with --resume <dir>, continues the run saved in dir), checkpointing every N steps and on Ctrl-C. */
export async function train(
  a: ParsedArgs,
  be: Backend,
  srcArg: ModelSource | null,
  reopen: () => Promise<Backend>,
): Promise<string> {
  const resumeDir = a.options.get('resume');
  let cfg = runConfig(a),
    dataFile: string,
    outDir: string,
    src: ModelSource,
    ckpt: Uint8Array | null = null;
  let modelArg: string;
  let plan: MemoryPlan | null = null;
  if (typeof resumeDir === 'string') {
    const path = join(resumeDir, CHECKPOINT);
    if (!existsSync(path)) throw new UsageError(`--resume ${resumeDir}: no ${CHECKPOINT} there`);
    ckpt = new Uint8Array(await readFile(path));
    const meta = readCheckpointMeta(ckpt);
    cfg = meta.config;
    dataFile = String(meta.run.data);
    outDir = resumeDir;
    modelArg = String(meta.run.model);
    src = resolveModelArg(modelArg);
  } else {
    dataFile = str(a, 'data');
    outDir = str(a, 'out');
    modelArg = str(a, 'model');
    src = srcArg!;
    // The memory plan, from config.json and the weights' header, before anything is allocated: options the user
    // left unset are chosen so the run fits; a PlanError names settings that fit when nothing does.
    const shapes = await readModelShapes({ model: modelArg, source: src, task: cfg.task });
    plan = planMemory({
      shapes,
      run: cfg,
      memoryBudgetGiB: cfg.memoryBudgetGiB,
      limits: deviceLimits(be),
      fixed: fixedOptions(cfg),
    });
    cfg = applyPlan(cfg, plan.options);
    checkOutDir({ out: outDir, model: modelArg, data: dataFile, config: cfg, force: a.options.has('force') });
  }
  const hashed = hashingSource(src, nodeSha256);
  src = hashed.source;
  const task = cfg.task;
  const dataBytes = await readFile(dataFile);
  const dataText = dataBytes.toString('utf8');
  const model = await modelForData(be, src, dataText, dataFile, cfg.seed, task, cfg.weightPrecision);
  const inputs: RunInputs = { weights: hashed.weights(), data: { file: dataFile, sha256: nodeSha256(dataBytes) } };
  if (ckpt) checkInputs(readCheckpointMeta(ckpt).inputs, inputs);
  if (typeof task === 'string' && task !== model.config.task) {
    throw new UsageError(`--task ${task} does not fit a ${model.kind} model (it is a ${model.config.task} model)`);
  }
  const chat = cfg.sft ? await chatFromSource(src, cfg.sft.templateName) : undefined;
  const data = prepareData(model, dataText, dataFile, cfg, chat);
  if (data.skipped) process.stderr.write(formatBadRowReport(dataFile, data.skipped));
  const steps = totalSteps(data.train, cfg);
  const runInfo = { model: modelArg, data: dataFile };
  await mkdir(outDir, { recursive: true });
  const metricsPath = join(outDir, 'metrics.jsonl');
  let lines: string[] = [];
  if (ckpt) {
    const step = readCheckpointMeta(ckpt).step;
    // Keep the metrics of the steps already done; later lines continue them.
    if (existsSync(metricsPath))
      lines = (await readFile(metricsPath, 'utf8')).split('\n').filter((l) => l && JSON.parse(l).step <= step);
    process.stderr.write(`resuming at step ${step} of ${steps}\n`);
  }
  const every = count(a, 'checkpoint-every', 50, 0);
  let stop = false,
    current: Trainer | null = null,
    opened = 0;
  const backends: Backend[] = [be];
  // --stop-after k behaves like Ctrl-C after step k (tests and demos of the resume path).
  const stopAfter = Number(a.options.get('stop-after') ?? 0);
  const onSigint = () => {
    stop = true;
    process.stderr.write('\nstopping after this step; saving a checkpoint…\n');
  };
  process.once('SIGINT', onSigint);
  const t0 = performance.now();
  let tuning: KernelTuneReport | null = null;
  let result: Awaited<ReturnType<typeof trainResilient>>;
  try {
    result = await trainResilient(
      data,
      cfg,
      {
        // The first device is the one given; after a device loss, a new one with the model loaded again.
        open: async () => {
          if (opened++ === 0) return { be, model };
          const fresh = await reopen();
          backends.push(fresh);
          const again = await modelForData(fresh, src, dataText, dataFile, cfg.seed, cfg.task, cfg.weightPrecision);
          return { be: fresh, model: again };
        },
        onTrainer: (t) => {
          current = t;
        },
        onMetrics: (m) => {
          lines.push(
            JSON.stringify({
              step: m.step,
              loss: m.loss,
              lr: m.lr,
              live: m.live,
              liveByModule: m.liveByModule,
              tokensPerSecond: m.tokensPerSecond,
              skipped: m.skipped,
            }),
          );
          progress(m.step, steps, m.loss, m.tokensPerSecond, t0);
        },
        onCheckpoint: async (bytes) => {
          await writeAtomic(join(outDir, CHECKPOINT), bytes);
          await writeAtomic(metricsPath, `${lines.join('\n')}\n`);
        },
        onRecovered: ({ step, reason }) =>
          process.stderr.write(
            `\nthe GPU device was lost at step ${step} (${reason}); continuing from the last checkpoint on a new device\n`,
          ),
        onSkipped: ({ step, what, lrScale }) =>
          process.stderr.write(
            `\nstep ${step}: the ${what} was NaN or infinite; ` +
              `its update was skipped and the learning-rate scale halves to ${lrScale} from step ${step + 2}\n`,
          ),
        onTuned: (r) => {
          tuning = r;
          process.stderr.write(`\n${describeTuning(r)}\n`);
        },
        shouldStop: () => stop || (stopAfter > 0 && current !== null && current.step >= stopAfter),
      },
      { checkpointEvery: every, maxRecoveries: 3, resumeFrom: ckpt, run: runInfo, inputs },
    );
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  const { trainer, stream } = result;
  const finalModel = result.model;
  process.stderr.write('\n');
  await writeAtomic(join(outDir, CHECKPOINT), await saveCheckpoint(trainer, stream.state(), cfg, runInfo, inputs));
  await writeAtomic(metricsPath, `${lines.join('\n')}\n`);
  if (trainer.step < steps)
    return JSON.stringify({
      out: outDir,
      interrupted: true,
      step: trainer.step,
      resume: `dynrank train --resume ${outDir}`,
    });
  const evalMetrics = await evaluate(trainer, data.val, cfg.batch);
  const files = ['metrics.jsonl', CHECKPOINT];
  if (trainer.adapters) {
    const input = await exportInput(trainer, finalModel);
    const { adapterConfig, adapterModel, rankMap } = exportPeft(input);
    await writeAtomic(join(outDir, 'adapter_config.json'), JSON.stringify(adapterConfig, null, 2));
    await writeAtomic(join(outDir, 'adapter_model.safetensors'), adapterModel);
    await writeAtomic(join(outDir, 'rank_map.json'), JSON.stringify(rankMap, null, 2));
    if (rankMap.provisional) process.stderr.write('note: provisional adapter (before the final pruning event)\n');
    files.push('adapter_config.json', 'adapter_model.safetensors', 'rank_map.json');
    if (a.options.has('merged')) {
      const merged = mergeWeights(finalModel.weights.tensors, input);
      const tensors = [...merged].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
      await writeAtomic(join(outDir, 'model.safetensors'), writeSafetensors(tensors));
      files.push('model.safetensors');
    }
  }
  const peak = peakBytes(backends);
  const memory = {
    estimateBytes: plan?.estimate.total ?? estimateMemory(finalModel, cfg).total,
    ...(peak === null ? {} : { peakBytes: peak }),
    ...(plan ? { budgetBytes: plan.budgetBytes, plan: plan.options } : {}),
  };
  const summary = {
    model: model.name,
    method: cfg.method,
    steps,
    trainableParameters: trainer.trainableParameters,
    labels: data.labels,
    eval: evalMetrics,
    data: data.summary,
    memory,
    ...(tuning ? { kernelTuning: tuning } : {}),
  };
  await writeAtomic(join(outDir, 'dynrank.json'), JSON.stringify({ ...summary, config: cfg, inputs }, null, 2));
  files.push('dynrank.json');
  return JSON.stringify({ out: outDir, files, eval: evalMetrics }, null, 2);
}

/** Loads an exported PEFT adapter folder onto the model (LoRA math, any ranks). */
export async function attachAdapter(be: Backend, model: LoadedModel, dir: string): Promise<void> {
  const cfgText = await readFile(join(dir, 'adapter_config.json'), 'utf8');
  const bytes = new Uint8Array(await readFile(join(dir, 'adapter_model.safetensors')));
  applyImportedAdapter(be, model, importPeft(cfgText, bytes, model.kind));
}

export async function evalCommand(a: ParsedArgs, be: Backend, src: ModelSource): Promise<string> {
  const cfg = runConfig(a),
    dataFile = str(a, 'data');
  const dataText = await readFile(dataFile, 'utf8');
  const model = await modelForData(be, src, dataText, dataFile, cfg.seed, cfg.task, cfg.weightPrecision);
  const adapter = a.options.get('adapter');
  if (typeof adapter === 'string') await attachAdapter(be, model, adapter);
  // With --val-fraction the same seeded validation split as training is scored; without it, the whole file.
  const split = a.options.has('val-fraction');
  const chat = cfg.sft ? await chatFromSource(src, cfg.sft.templateName) : undefined;
  const data = prepareData(model, dataText, dataFile, { ...cfg, valFraction: split ? cfg.valFraction : 0 }, chat);
  if (data.skipped) process.stderr.write(formatBadRowReport(dataFile, data.skipped));
  const trainer = new Trainer(
    be,
    taskFor(be, model),
    { method: 'full', targets: [] },
    { ...DEFAULT_OPTIM, lr: 0, totalSteps: 1 },
  );
  const scored = split ? data.val : data.train;
  const metrics = await evaluate(trainer, scored, cfg.batch);
  if (!cfg.sft || scored.kind !== 'lm') return JSON.stringify(metrics, null, 2);
  // Instruction tuning: the loss is over the answer tokens only (their count is `examples`, as for any causal LM).
  return JSON.stringify(
    {
      ...metrics,
      task: 'sft',
      answerTokens: metrics.examples,
      conversations: scored.windows.length,
      template: data.summary.template,
    },
    null,
    2,
  );
}
