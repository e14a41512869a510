// Building a run: the Run record, and a run made from a model, data and settings (fresh, or from a checkpoint's
// saved model, data and state).

import { parseModelConfig } from '../models/arch/index';
import { browserCache } from '../models/browserCache';
import type { Window } from '../models/generate';
import { instantiate, type LoadedModel, readModelFiles } from '../models/load';
import {
  checkInputs,
  hashingSource,
  type RunInputs,
  readCheckpointMeta,
  restoreCheckpoint,
  sha256Hex,
} from '../train/checkpoint';
import { BatchStream } from '../train/data/batches';
import { buildClassificationSet, guessMapping } from '../train/data/dataset';
import { DataError } from '../train/data/errors';
import { parseTable } from '../train/data/parse';
import { previewOf } from '../train/data/preview';
import { shapesOf } from '../train/memory';
import { applyPlan, fixedOptions, planMemory } from '../train/plan';
import { createTrainer, DEFAULT_RUN, type PreparedData, prepareData, type RunConfig } from '../train/run';
import type { Trainer } from '../train/trainer';
import { type CheckpointRecord, checkpointInfo, getCheckpoint, getData, putData } from './checkpointStore';
import { loadFiles } from './droppedFiles';
import type { Engine } from './engine';
import type { DataFile, HistoryData, RunSettings, WorkerEvent } from './protocol';
import { findRunData, rememberedUploads } from './runData';
import { describeData, runConfig, scheduleTargets } from './runInfo';
import { chatFor } from './sftData';
import { isRegistered, modelIdOf, modelLabel, registerModel, sourceFor, summarize } from './summary';

export type Post = (ev: WorkerEvent, transfer?: Transferable[]) => void;

export interface Run {
  model: LoadedModel;
  data: PreparedData;
  cfg: RunConfig;
  trainer: Trainer;
  stream: BatchStream;
  steps: number;
  targets: string[];
  /** Budget target (live components) after each step; index 0 = before training. */
  targetAt: Int32Array;
  window: Window;
  lastLive: number[];
  /** What a checkpoint records about the run, so a resume rebuilds the same one. */
  id: {
    runId: string;
    runName: string;
    modelId: string;
    data: DataFile;
    dataKey: string | null;
    dataSha256: string;
    settings: RunSettings;
  };
  history: HistoryData;
  /** sha256 of the base weights and the data, recorded in each checkpoint and checked on resume. */
  inputs: RunInputs;
  /** The person was told that the dropped model files could not be stored with the checkpoints. */
  warnedUnstored?: boolean;
}

/**
 * Finds a saved run's model and data again, posts 'restoring' and 'loaded', and returns what start() needs to
 * rebuild the run from the checkpoint.
 */
export async function restoreRunInputs(
  id: string,
  post: Post,
): Promise<{ modelId: string; data: DataFile; rec: CheckpointRecord }> {
  const rec = await getCheckpoint(id);
  if (!rec)
    throw new DataError({
      code: 'NoRows',
      file: '',
      message: 'That checkpoint is gone (deleted, or the browser cleared the site data).',
    });
  let modelId: string;
  const ref = rec.modelRef;
  if (ref.kind === 'files') {
    const cache = browserCache();
    const files = cache ? await loadFiles(ref, cache) : null;
    // Not in the cache: the same files dropped again since the reload serve as well.
    if (files) modelId = registerModel(files);
    else if (isRegistered(modelIdOf(ref))) modelId = modelIdOf(ref);
    else
      throw new DataError({
        code: 'NoRows',
        file: '',
        message:
          `This run used dropped model files (${ref.name}) that the browser does not keep: drop the same ` +
          'files again, then press Resume.',
      });
  } else {
    modelId = registerModel(ref, (p) => post({ type: 'modelProgress', ...p }));
  }
  const data = await findRunData(rec, {
    stored: getData,
    fetchBundled: (name) =>
      fetch(new URL(`${import.meta.env.BASE_URL}datasets/${encodeURIComponent(name)}`, globalThis.location.origin)),
    uploads: rememberedUploads,
  });
  const { text } = data;
  const summary = await summarize(modelId);
  let preview = null;
  try {
    preview = previewOf(text, rec.dataName);
  } catch {
    /* start() reports the data's error itself */
  }
  post({
    type: 'restoring',
    modelId,
    modelLabel: modelLabel(rec.modelRef),
    task: summary.task,
    settings: rec.settings,
    data,
    preview,
    checkpoint: checkpointInfo(rec),
  });
  post({ type: 'loaded', summary });
  return { modelId, data, rec };
}

/**
 * Loads the model on the engine `acquireEngine` gives, prepares the data and creates the trainer (restored from
 * `resume` when given); returns the run and the 'started' event that announces it.
 */
export async function buildRun(
  modelId: string,
  file: DataFile,
  s: RunSettings,
  resume: CheckpointRecord | null,
  acquireEngine: () => Promise<Engine>,
): Promise<{ run: Run; started: WorkerEvent }> {
  const { name: fileName, text } = file;
  const src = sourceFor(modelId);
  const configBytes = await src.get('config.json');
  // Only the task is read here; the tokenizer's pad id is applied when the model loads.
  const task = parseModelConfig(new TextDecoder().decode(configBytes!), { padTokenId: 0 }).task;
  // A classifier's head gets one output per label in the data.
  const numLabels = task === 'causal-lm' ? undefined : countLabels(text, fileName, s.seed);
  const engine = await acquireEngine();
  const hashed = hashingSource(src);
  // The memory plan (src/train/plan.ts) from the files' shapes, before any weight is on the GPU, as `dynrank train`
  // plans it: its weight precision decides how the model loads. A PlanError names what fits.
  const files = await readModelFiles(hashed.source, { numLabels, seed: s.seed });
  const asked = runConfig(s);
  const maxBufferSize = engine.ctx?.device.limits.maxBufferSize;
  const plan = planMemory({
    shapes: shapesOf(files),
    run: asked,
    memoryBudgetGiB: asked.memoryBudgetGiB,
    limits: maxBufferSize ? { maxBufferSize } : {},
    fixed: fixedOptions(asked),
  });
  const cfg = applyPlan(asked, plan.options);
  const model = instantiate(engine.be, files.config, files.tokenizer, files.weights, hashed.source.name, {
    weightPrecision: cfg.weightPrecision,
  });
  const chat = cfg.sft ? await chatFor(modelId) : undefined;
  const data = prepareData(model, text, fileName, cfg, chat);
  const dataHash = await sha256Hex(new TextEncoder().encode(text));
  const inputs: RunInputs = { weights: hashed.weights(), data: { file: fileName, sha256: dataHash } };
  if (resume) checkInputs(readCheckpointMeta(resume.data).inputs, inputs);
  const created = createTrainer(engine.be, model, data, cfg);
  const { trainer, steps } = created;
  let stream = created.stream;
  if (resume) {
    const meta = readCheckpointMeta(resume.data);
    if (meta.totalSteps !== steps)
      throw new DataError({
        code: 'StateMismatch',
        file: fileName,
        message: `The checkpoint is for a ${meta.totalSteps}-step run, this one has ${steps}; start a new run.`,
      });
    stream = BatchStream.restore(data.train, restoreCheckpoint(trainer, resume.data).stream);
  }
  const modules = trainer.adapters!.modules;
  const targetAt = scheduleTargets(trainer, steps);
  // An upload is stored again on resume: it may have come back as a new upload after the stored copy was lost.
  let dataKey: string | null = null;
  if (file.origin === 'upload') dataKey = await putData(fileName, text).catch(() => resume?.dataKey ?? null);
  const dataSha256 = dataHash;
  const runId = resume?.runId ?? `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const runName =
    resume?.runName ??
    `${modelId} · ${s.method === 'dora' ? 'dynamic rank' : 'LoRA'}${cfg.sft ? ' · instruction tuning' : ''} · ` +
      `${fileName} · ${new Date().toLocaleString('en-GB')}`;
  const run: Run = {
    model,
    data,
    cfg,
    trainer,
    stream,
    steps,
    targets: cfg.targets!,
    targetAt,
    lastLive: modules.map((m) => m.liveCount),
    window: { B: cfg.batch, T: data.train.seq },
    id: { runId, runName, modelId, data: file, dataKey, dataSha256, settings: s },
    history: resume ? structuredClone(resume.history) : { points: [], prunes: [] },
    inputs,
  };
  const stride = Math.max(1, Math.ceil(steps / 300));
  const schedule: { step: number; live: number }[] = [];
  for (let t = 0; t <= steps; t++)
    if (t % stride === 0 || t === steps || targetAt[t] !== targetAt[Math.max(0, t - 1)])
      schedule.push({ step: t, live: targetAt[t] });
  const started: WorkerEvent = {
    type: 'started',
    steps,
    modules: modules.map((m) => m.linear.name),
    R0: trainer.adapters!.opts.R0,
    budgetTotal: targetAt[steps],
    trainable: trainer.trainableParameters,
    schedule: thin(schedule, 600),
    labels: data.labels,
    dataSummary: describeData(fileName, data),
    ...(resume ? { resumedFrom: trainer.step, history: run.history } : {}),
  };
  return { run, started };
}

function countLabels(text: string, fileName: string, seed: number): number {
  const table = parseTable(text, fileName);
  const mapping = guessMapping(table.columns);
  if (!mapping)
    throw new DataError({
      code: 'BadMapping',
      file: fileName,
      message:
        `${fileName}: cannot tell which columns hold the text and the label ` +
        `(columns: ${table.columns.join(', ')}). Name them "text" and "label".`,
    });
  return buildClassificationSet(table, mapping, { seed, valFraction: DEFAULT_RUN.valFraction }).labels.length;
}

function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const stride = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % stride === 0 || i === xs.length - 1);
}
