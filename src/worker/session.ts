// One training session in the worker: the engine, the current run (model, data, trainer) and the commands on it.
// Everything the page sees leaves through `post` as a WorkerEvent.

import type { InferenceSession } from 'onnxruntime-web';
import { GpuBackend } from '../gpu/backend';
import { runSelfTest } from '../gpu/selftest';
import { readEosIds } from '../models/generate';
import { DataError } from '../train/data/errors';
import { runSteps } from '../train/run';
import { describeTuning, summarizeTuning } from '../train/tuning';
import { type CheckpointRecord, deleteCheckpoint, listCheckpoints } from './checkpointStore';
import { type BackendPreference, createEngine, type Engine } from './engine';
import { describeError } from './errors';
import { buildExport, buildOnnxExport } from './exporter';
import type { Command, DataFile, ErrorArea, RunPhase, RunSettings } from './protocol';
import { buildRun, type Post, type Run, restoreRunInputs } from './runStart';
import { reportMetrics, saveRunCheckpoint, yieldToEvents } from './runTraining';
import { sourceFor } from './summary';
import {
  chatBoth,
  classifyBoth,
  evaluateRun,
  generateBoth,
  onnxChatBeside,
  onnxClassifyBeside,
  onnxGenerateBeside,
  onnxSession,
} from './tryRun';

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
  /** Test hook: run the GPU kernels' path (and kernel tuning) on a CPU-emulated adapter. */
  private gpuPath = false;
  /** The run's last ONNX export (the adapter at `step`), which try-it runs beside our engine while it is current. */
  private onnx: { run: Run; step: number; model: Uint8Array; session: InferenceSession | null } | null = null;

  constructor(
    private readonly post: Post,
    private readonly pref: BackendPreference,
  ) {}

  /** Pause and stop act at once (between two steps); they are not queued behind the running loop. */
  interrupt(cmd: Command): boolean {
    // The fault-injection switch (?debug) must hit a running loop, so it is not queued either.
    if (cmd.type === 'debugGpuPath') {
      this.gpuPath = true;
      return true;
    }
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
        : cmd.type === 'export' || cmd.type === 'exportOnnx'
          ? 'export'
          : cmd.type === 'generate' || cmd.type === 'classify' || cmd.type === 'chat'
            ? 'try'
            : 'training';
    try {
      if (cmd.type === 'start') await this.start(cmd.model, cmd.data, cmd.settings, null);
      else if (cmd.type === 'resumeCheckpoint') await this.resumeCheckpoint(cmd.id);
      else if (cmd.type === 'resume') await this.train();
      else if (cmd.type === 'generate') await this.generate(cmd);
      else if (cmd.type === 'classify') await this.classify(cmd.text);
      else if (cmd.type === 'chat') await this.chat(cmd);
      else if (cmd.type === 'evaluate') await this.evaluate();
      else if (cmd.type === 'export') await this.export();
      else if (cmd.type === 'exportOnnx') await this.exportOnnx();
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
    const { modelId, data, rec } = await restoreRunInputs(id, this.post);
    await this.start(modelId, data, rec.settings, rec);
  }

  private async start(modelId: string, file: DataFile, s: RunSettings, resume: CheckpointRecord | null): Promise<void> {
    this.setPhase('preparing');
    const { run, started } = await buildRun(modelId, file, s, resume, async () => {
      const engine = await this.ensureEngine();
      this.engineUsed = true;
      return engine;
    });
    this.run = run;
    this.post(started);
    await this.train();
  }

  private async train(): Promise<void> {
    const r = this.requireRun();
    if (r.trainer.step >= r.steps) return;
    this.pauseRequested = this.stopRequested = false;
    if (this.gpuPath && this.engine?.ctx) this.engine.ctx.barrierFree = false;
    this.setPhase('training');
    const every = r.id.settings.checkpointEvery;
    await runSteps(
      r.trainer,
      r.stream,
      r.steps,
      // The test hook times every shape, however slowly a CPU adapter compiles the tiled kernels.
      this.gpuPath ? { ...r.cfg, tuneKernels: { budgetMs: 1e9 } } : r.cfg,
      async (m) => {
        const counters = this.engine?.ctx?.counters;
        reportMetrics(r, m, this.post, counters?.bytesLive ?? null, counters?.bytesPeak ?? null);
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
        onTuned: (report) =>
          this.post({ type: 'tuned', text: describeTuning(report), summary: summarizeTuning(report) }),
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
      if (this.loseAtCheckpoints > 0) {
        this.loseAtCheckpoints--;
        this.engine?.ctx?.device.destroy();
      }
      await saveRunCheckpoint(r, this.post);
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
    const m = await evaluateRun(r);
    this.post({ type: 'eval', result: { step: r.trainer.step, ...m } });
  }

  private async generate(cmd: Extract<Command, { type: 'generate' }>): Promise<void> {
    const r = this.requireIdle('generate text');
    const { base, adapted } = await generateBoth(r, cmd);
    const onnx = await this.currentOnnx(r);
    const beside = onnx ? await onnxGenerateBeside(r, onnx.session, cmd, onnx.step) : undefined;
    this.post({ type: 'generated', prompt: cmd.prompt, base, adapted, onnx: beside });
  }

  private async chat(cmd: Extract<Command, { type: 'chat' }>): Promise<void> {
    const r = this.requireIdle('chat with the model');
    const answers = await chatBoth(r, cmd);
    const onnx = await this.currentOnnx(r);
    const beside = onnx ? await onnxChatBeside(r, onnx.session, answers, cmd.maxTokens, onnx.step) : undefined;
    this.post({ type: 'chatted', message: cmd.message, base: answers.base, adapted: answers.adapted, onnx: beside });
  }

  private async classify(text: string): Promise<void> {
    const r = this.requireIdle('classify text');
    const { base, adapted } = await classifyBoth(r, text);
    const onnx = await this.currentOnnx(r);
    const beside = onnx ? await onnxClassifyBeside(r, onnx.session, text, adapted, onnx.step) : undefined;
    this.post({ type: 'classified', text, labels: r.data.labels ?? [], base, adapted, onnx: beside });
  }

  private async export(): Promise<void> {
    const r = this.requireIdle('export');
    const out = await buildExport(r.trainer, r.model);
    this.post({ type: 'exported', ...out }, [out.zip.buffer, out.merged.buffer]);
  }

  private async exportOnnx(): Promise<void> {
    const r = this.requireIdle('export');
    const source = sourceFor(r.id.modelId);
    const m = r.model;
    const eosIds = m.task === 'causal-lm' ? await readEosIds(source, { ...m, net: m.net }) : null;
    const out = await buildOnnxExport(r.trainer, m, { source, labels: r.data.labels ?? null, eosIds });
    this.onnx = { run: r, step: r.trainer.step, model: out.model, session: null };
    this.post({ type: 'onnxExported', zip: out.zip, files: out.files, step: r.trainer.step }, [out.zip.buffer]);
  }

  /** The ONNX export of run `r` when it holds the adapter as it is now, with its onnxruntime-web session. */
  private async currentOnnx(r: Run): Promise<{ session: InferenceSession; step: number } | null> {
    const o = this.onnx;
    if (!o || o.run !== r || o.step !== r.trainer.step) return null;
    o.session ??= await onnxSession(o.model);
    return { session: o.session, step: o.step };
  }
}
