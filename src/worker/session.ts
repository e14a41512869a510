// One training session in the worker: the engine, the current run (model, data, trainer) and the commands on it.
// Everything the page sees leaves through `post` as a WorkerEvent.

import { GpuBackend } from '../gpu/backend';
import { runSelfTest } from '../gpu/selftest';
import { parseModelConfig } from '../models/arch/index';
import { browserCache } from '../models/browserCache';
import { classify, generate, readEosIds, type Window } from '../models/generate';
import { type LoadedModel, loadModel } from '../models/load';
import {
  checkInputs,
  hashingSource,
  type RunInputs,
  readCheckpointMeta,
  restoreCheckpoint,
  saveCheckpoint,
  sha256Hex,
} from '../train/checkpoint';
import type { BatchSource } from '../train/data/batches';
import { BatchStream } from '../train/data/batches';
import { buildClassificationSet, guessMapping } from '../train/data/dataset';
import { DataError } from '../train/data/errors';
import { parseTable } from '../train/data/parse';
import { previewOf } from '../train/data/preview';
import { estimateMemory } from '../train/memory';
import {
  createTrainer,
  DEFAULT_RUN,
  evaluate,
  type PreparedData,
  prepareData,
  type RunConfig,
  runSteps,
  type StepMetrics,
} from '../train/run';
import type { Trainer } from '../train/trainer';
import {
  type CheckpointRecord,
  checkpointInfo,
  deleteCheckpoint,
  getCheckpoint,
  getData,
  listCheckpoints,
  putCheckpoint,
  putData,
} from './checkpointStore';
import { loadFiles } from './droppedFiles';
import { type BackendPreference, createEngine, type Engine } from './engine';
import { describeError } from './errors';
import { buildExport } from './exporter';
import type { Command, DataFile, ErrorArea, HistoryData, RunPhase, RunSettings, WorkerEvent } from './protocol';
import { findRunData, rememberedUploads } from './runData';
import { describeData, runConfig, scheduleTargets } from './runInfo';
import { isRegistered, modelIdOf, modelLabel, registerModel, savedRefOf, sourceFor, summarize } from './summary';

type Post = (ev: WorkerEvent, transfer?: Transferable[]) => void;

interface Run {
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

/** Validation items evaluated at most (and at most 16 batches beyond 64 items), so the page answers quickly. */
const EVAL_CAP = 256;

/** Lets queued messages (pause, stop) in between training steps: a zero-delay macrotask. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

export class Session {
  private engine: Engine | null = null;
  /** The engine's device holds an earlier run: the next run gets a fresh one. */
  private engineUsed = false;
  private run: Run | null = null;
  private phase: RunPhase = 'idle';
  private pauseRequested = false;
  /** Set when the device is lost mid-run: the run to continue from its newest checkpoint on a new device. */
  private recoverRunId: string | null = null;
  private stopRequested = false;
  /** Test hook: destroy the device at the start of this many of the next checkpoints. */
  private loseAtCheckpoints = 0;

  constructor(
    private readonly post: Post,
    private readonly pref: BackendPreference,
  ) {}

  /** Pause and stop act at once (between two steps); they are not queued behind the running loop. */
  interrupt(cmd: Command): boolean {
    // The fault-injection switch (?debug) must hit a running loop, so it is not queued either.
    if (cmd.type === 'debugLoseDevice') {
      if (cmd.during === 'checkpoint') this.loseAtCheckpoints = cmd.times ?? 1;
      else this.engine?.ctx?.device.destroy();
      return true;
    }
    if (cmd.type === 'pause') this.pauseRequested = true;
    else if (cmd.type === 'stop' || cmd.type === 'start') this.stopRequested = true;
    else return false;
    if (cmd.type === 'stop' && this.phase === 'paused') this.setPhase('stopped');
    return cmd.type !== 'start';
  }

  /** Runs a queued command; failures become error events in the command's area. */
  async handle(cmd: Command): Promise<void> {
    const area: ErrorArea =
      cmd.type === 'start' || cmd.type === 'resumeCheckpoint'
        ? 'training'
        : cmd.type === 'export'
          ? 'export'
          : cmd.type === 'generate' || cmd.type === 'classify'
            ? 'try'
            : 'training';
    try {
      if (cmd.type === 'start') await this.start(cmd.model, cmd.data, cmd.settings, null);
      else if (cmd.type === 'resumeCheckpoint') await this.resumeCheckpoint(cmd.id);
      else if (cmd.type === 'resume') await this.train();
      else if (cmd.type === 'generate') await this.generate(cmd);
      else if (cmd.type === 'classify') await this.classify(cmd.text);
      else if (cmd.type === 'evaluate') await this.evaluate();
      else if (cmd.type === 'export') await this.export();
    } catch (e) {
      const training = cmd.type === 'start' || cmd.type === 'resume' || cmd.type === 'resumeCheckpoint';
      if (training) {
        this.setPhase(this.run && this.run.trainer.step > 0 ? 'stopped' : 'idle');
        this.trainingFailed(e, area);
      } else {
        this.post({ type: 'error', ...describeError(e, area) });
      }
    }
    if (this.recoverRunId) await this.recover();
  }

  /** A device lost mid-run becomes a recovery (reported once); any other failure is shown in `area`. */
  private trainingFailed(e: unknown, area: ErrorArea): void {
    if (this.run && e instanceof Error && e.name === 'DeviceLostError') {
      if (!this.recoverRunId) this.markRecovery(e.message);
    } else {
      this.post({ type: 'error', ...describeError(e, area) });
    }
  }

  private markRecovery(reason: string): void {
    this.recoverRunId = this.run!.id.runId;
    this.post({
      type: 'error',
      area: 'engine',
      code: 'DeviceLost',
      message: `${reason} Continuing from the last checkpoint on a new device…`,
    });
  }

  /**
   * After a device loss during training: the run's newest checkpoint, resumed on a new device. A loss during the
   * resumed run is recovered the same way, unless the device is lost again before a newer checkpoint was saved
   * twice in a row (a device that cannot hold the run, where retrying would loop forever).
   */
  private async recover(): Promise<void> {
    let from = -1,
      stuck = 0;
    while (this.recoverRunId) {
      const runId = this.recoverRunId;
      this.recoverRunId = null;
      const latest = (await listCheckpoints()).find((c) => c.runId === runId);
      if (!latest) {
        this.post({
          type: 'error',
          area: 'engine',
          code: 'DeviceLost',
          message: 'No checkpoint of this run had been saved yet. Press Start to train again on a new device.',
        });
        return;
      }
      stuck = latest.step === from ? stuck + 1 : 0;
      if (stuck >= 2) {
        this.post({
          type: 'error',
          area: 'engine',
          code: 'DeviceLost',
          message: `The GPU device was lost again before training got past step ${latest.step}. Close other GPU-heavy tabs or lower the batch size, then press Resume on the checkpoint at step ${latest.step}.`,
        });
        return;
      }
      from = latest.step;
      try {
        await this.resumeCheckpoint(latest.id);
      } catch (e) {
        this.setPhase('stopped');
        this.trainingFailed(e, 'engine');
      }
    }
  }

  /** Acquires the engine at start-up and runs the kernel self-test on it. */
  async init(): Promise<void> {
    const engine = await this.ensureEngine();
    if (!(engine.be instanceof GpuBackend)) {
      this.post({ type: 'selftest', results: [], error: engine.warning });
      return;
    }
    try {
      this.post({ type: 'selftest', results: await runSelfTest(engine.be), error: null });
    } catch (e) {
      this.post({ type: 'selftest', results: [], error: describeError(e, 'engine').message });
    }
  }

  private async ensureEngine(): Promise<Engine> {
    if (this.engine && !this.engineUsed) return this.engine;
    this.engine?.dispose();
    this.run = null;
    const engine = await createEngine(this.pref, (e) => {
      if (this.engine !== engine) return;
      this.engine = null;
      if (this.recoverRunId) return; // the training loop saw the loss first and is recovering already
      if (this.phase === 'training' && this.run) {
        // Lost mid-run: once the training loop has ended, continue from the run's last checkpoint on a new device.
        this.markRecovery(e.message);
        this.stopRequested = true;
        return;
      }
      this.post({
        type: 'error',
        area: 'engine',
        code: 'DeviceLost',
        message: `${e.message} Press Start to train again on a new device.`,
      });
    });
    this.engine = engine;
    this.engineUsed = false;
    this.post({
      type: 'engine',
      backend: engine.ctx ? 'webgpu' : 'cpu',
      adapter: engine.info,
      warning: engine.warning,
    });
    return engine;
  }

  private setPhase(phase: RunPhase): void {
    this.phase = phase;
    this.post({ type: 'phase', phase });
  }

  /** Rebuilds a saved run (model, data, settings) and continues it from the checkpoint's step. */
  private async resumeCheckpoint(id: string): Promise<void> {
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
      modelId = registerModel(ref, (p) => this.post({ type: 'modelProgress', ...p }));
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
    this.post({
      type: 'restoring',
      modelId,
      modelLabel: modelLabel(rec.modelRef),
      task: summary.task,
      settings: rec.settings,
      data,
      preview,
      checkpoint: checkpointInfo(rec),
    });
    this.post({ type: 'loaded', summary });
    await this.start(modelId, data, rec.settings, rec);
  }

  private async start(modelId: string, file: DataFile, s: RunSettings, resume: CheckpointRecord | null): Promise<void> {
    const { name: fileName, text } = file;
    this.setPhase('preparing');
    const src = sourceFor(modelId);
    const configBytes = await src.get('config.json');
    // Only the task is read here; the tokenizer's pad id is applied when the model loads.
    const task = parseModelConfig(new TextDecoder().decode(configBytes!), { padTokenId: 0 }).task;
    // A classifier's head gets one output per label in the data.
    const numLabels = task === 'causal-lm' ? undefined : countLabels(text, fileName, s.seed);
    const engine = await this.ensureEngine();
    this.engineUsed = true;
    const hashed = hashingSource(src);
    const model = await loadModel(hashed.source, engine.be, { numLabels, seed: s.seed });
    const cfg = runConfig(s);
    const data = prepareData(model, text, fileName, cfg);
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
      `${modelId} · ${s.method === 'dora' ? 'dynamic rank' : 'LoRA'} · ${fileName} · ${new Date().toLocaleString('en-GB')}`;
    this.run = {
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
    this.post({
      type: 'started',
      steps,
      modules: modules.map((m) => m.linear.name),
      R0: trainer.adapters!.opts.R0,
      budgetTotal: targetAt[steps],
      trainable: trainer.trainableParameters,
      schedule: thin(schedule, 600),
      labels: data.labels,
      dataSummary: describeData(fileName, data),
      ...(resume ? { resumedFrom: trainer.step, history: this.run.history } : {}),
    });
    await this.train();
  }

  private async train(): Promise<void> {
    const r = this.requireRun();
    if (r.trainer.step >= r.steps) return;
    this.pauseRequested = this.stopRequested = false;
    this.setPhase('training');
    const every = r.id.settings.checkpointEvery;
    await runSteps(
      r.trainer,
      r.stream,
      r.steps,
      r.cfg,
      async (m) => {
        this.onMetrics(r, m);
        if (every > 0 && m.step % every === 0 && m.step < r.steps) await this.checkpoint(r);
        await yieldToEvents();
      },
      () => this.pauseRequested || this.stopRequested,
      {
        onSkipped: ({ step, what, lrScale }) =>
          this.post({
            type: 'error',
            area: 'training',
            code: 'StepSkipped',
            message:
              `Step ${step}: the ${what} was NaN or infinite, so its update was skipped and the learning rate ` +
              `is halved (scale ${lrScale}).`,
          }),
      },
    );
    if (r.trainer.step >= r.steps) {
      await this.evaluate();
      this.setPhase('done');
    } else {
      if (this.engine) await this.checkpoint(r);
      this.setPhase(this.stopRequested ? 'stopped' : 'paused');
    }
  }

  /** Saves the run's state to IndexedDB; a failure is reported but does not stop training (a lost device does). */
  private async checkpoint(r: Run): Promise<void> {
    try {
      const { runId, runName, modelId, data, dataKey, dataSha256, settings } = r.id;
      if (this.loseAtCheckpoints > 0) {
        this.loseAtCheckpoints--;
        this.engine?.ctx?.device.destroy();
      }
      const run = { runId, modelId, data: data.name };
      const bytes = await saveCheckpoint(r.trainer, r.stream.state(), r.cfg, run, r.inputs);
      const modelRef = await savedRefOf(modelId);
      if (modelRef.kind === 'files' && !modelRef.stored && !r.warnedUnstored) {
        r.warnedUnstored = true;
        this.post({
          type: 'error',
          area: 'training',
          code: 'ModelNotStored',
          message: `The dropped model files (${modelRef.name}) could not be kept with the checkpoints (is the browser's storage full?): after a reload, drop the same files again before you press Resume.`,
        });
      }
      await putCheckpoint({
        id: `${runId}@${r.trainer.step}`,
        runId,
        runName,
        modelId,
        dataName: data.name,
        method: settings.method,
        step: r.trainer.step,
        totalSteps: r.steps,
        time: Date.now(),
        bytes: bytes.byteLength,
        settings,
        modelRef,
        dataKey,
        dataOrigin: data.origin ?? 'demo',
        dataSha256,
        history: r.history,
        data: bytes,
      });
      await this.postCheckpoints();
    } catch (e) {
      // A checkpoint cut short by a device loss is part of that loss: the recovery path reports it, once.
      if (e instanceof Error && e.name === 'DeviceLostError') throw e;
      this.post({
        type: 'error',
        area: 'training',
        code: 'CheckpointFailed',
        message: `The checkpoint at step ${r.trainer.step} could not be saved: ${(e as Error).message}`,
      });
    }
  }

  /** Sends the saved checkpoints, newest first (IndexedDB only: answered at once, even while training). */
  async postCheckpoints(deleteId?: string): Promise<void> {
    if (deleteId) await deleteCheckpoint(deleteId);
    this.post({ type: 'checkpoints', list: await listCheckpoints() });
  }

  private onMetrics(r: Run, m: StepMetrics): void {
    const liveByModule = m.liveByModule ?? r.trainer.adapters!.modules.map((x) => x.liveCount);
    const live = liveByModule.reduce((a, b) => a + b, 0);
    const target = r.targetAt[Math.min(m.step, r.steps)];
    this.post({
      type: 'step',
      step: m.step,
      loss: m.loss,
      lr: m.lr,
      live,
      target,
      liveByModule,
      tokensPerSecond: m.tokensPerSecond,
      importance: m.importance,
      gpuBytes: this.engine?.ctx?.counters.bytesLive ?? null,
      estimateBytes: estimateMemory(r.model, r.cfg).total,
    });
    r.history.points.push({ step: m.step, loss: m.loss, lr: m.lr, live, target, tokensPerSecond: m.tokensPerSecond });
    if (liveByModule.some((v, i) => v !== r.lastLive[i])) {
      let removed = 0,
        revived = 0;
      liveByModule.forEach((v, i) => {
        if (v < r.lastLive[i]) removed += r.lastLive[i] - v;
        else revived += v - r.lastLive[i];
      });
      this.post({ type: 'prune', step: m.step, removed, revived, live, liveByModule });
      r.history.prunes.push({ step: m.step, removed, revived, live, liveByModule });
      r.lastLive = liveByModule;
    }
  }

  private requireRun(): Run {
    if (!this.run)
      throw new DataError({
        code: 'NoRows',
        file: '',
        message: 'There is no trained adapter yet: press Start first.',
      });
    return this.run;
  }

  private requireIdle(what: string): Run {
    const r = this.requireRun();
    if (this.phase === 'training' || this.phase === 'preparing')
      throw new Error(`Pause or stop training before you ${what}.`);
    return r;
  }

  private async evaluate(): Promise<void> {
    const r = this.requireRun();
    const val = capped(r.data.val, r.cfg.batch);
    const m = await evaluate(r.trainer, val, r.cfg.batch);
    this.post({ type: 'eval', result: { step: r.trainer.step, ...m } });
  }

  private async generate(cmd: Extract<Command, { type: 'generate' }>): Promise<void> {
    const r = this.requireIdle('generate text');
    const model = r.model;
    if (model.task !== 'causal-lm') throw new Error('This model classifies text; use Classify.');
    if (!('prefill' in model.net)) {
      throw new Error(
        `${model.arch.title(model.config)} cannot generate here yet: its network has no KV-cache ` +
          'decoder. Train and export it; try it with `dynrank logits`.',
      );
    }
    const decoder = { ...model, net: model.net },
      be = r.trainer.be;
    const eosIds = await readEosIds(sourceFor(r.id.modelId), decoder);
    const opts = { maxTokens: cmd.maxTokens, temperature: cmd.temperature, topK: cmd.topK, seed: cmd.seed, eosIds };
    const adapted = await withEval(r, () => generate(be, decoder, cmd.prompt, opts));
    const base = await withoutAdapters(r, () => generate(be, decoder, cmd.prompt, opts));
    this.post({ type: 'generated', prompt: cmd.prompt, base, adapted });
  }

  private async classify(text: string): Promise<void> {
    const r = this.requireIdle('classify text');
    const model = r.model;
    if (model.task !== 'seq-cls') throw new Error('This model generates text; use Generate.');
    const be = r.trainer.be;
    const adapted = await withEval(r, () => classify(be, model, text, r.window));
    // The base model is the checkpoint as loaded: no adapters and its classification head as initialised.
    const heads = model.arch.headModules(model.task);
    const head = [...model.params.grads.keys()].filter((n) => heads.some((h) => n.startsWith(`${h}.`)));
    const trained = await Promise.all(
      head.map(async (n) => (await be.read(model.params.tensors.get(n)!)) as Float32Array),
    );
    head.forEach((n) => be.write(model.params.tensors.get(n)!, model.weights.tensors.get(n)!.data));
    let base: number[];
    try {
      base = await withoutAdapters(r, () => classify(be, model, text, r.window));
    } finally {
      head.forEach((n, i) => be.write(model.params.tensors.get(n)!, trained[i]));
    }
    this.post({ type: 'classified', text, labels: r.data.labels ?? [], base, adapted });
  }

  private async export(): Promise<void> {
    const r = this.requireIdle('export');
    const out = await buildExport(r.trainer, r.model);
    this.post({ type: 'exported', ...out }, [out.zip.buffer, out.merged.buffer]);
  }
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

/** At most EVAL_CAP items, in whole batches so the activation workspace keeps its shape. */
function capped(src: BatchSource, batch: number): BatchSource {
  const n = src.kind === 'lm' ? src.windows.length : src.examples.length;
  const cap = Math.min(EVAL_CAP, Math.max(64, 16 * batch));
  const keep = n <= batch ? n : Math.floor(Math.min(n, cap) / batch) * batch;
  return src.kind === 'lm'
    ? { ...src, windows: src.windows.slice(0, keep) }
    : { ...src, examples: src.examples.slice(0, keep) };
}

function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const stride = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % stride === 0 || i === xs.length - 1);
}

/** Runs `f` with the adapters in eval mode (no dropout). */
async function withEval<T>(r: Run, f: () => Promise<T>): Promise<T> {
  const a = r.trainer.adapters!,
    was = a.training;
  a.training = false;
  try {
    return await f();
  } finally {
    a.training = was;
  }
}

/** Runs `f` on the base model: the adapters' hooks are taken off the linears and put back afterwards. */
async function withoutAdapters<T>(r: Run, f: () => Promise<T>): Promise<T> {
  const a = r.trainer.adapters!,
    hooks = a.modules.map((m) => m.linear.adapter);
  a.detach();
  try {
    return await f();
  } finally {
    a.modules.forEach((m, i) => {
      m.linear.adapter = hooks[i];
    });
  }
}
