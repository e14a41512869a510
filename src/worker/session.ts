// One training session in the worker: the engine, the current run (model, data, trainer) and the commands on it.
// Everything the page sees leaves through `post` as a WorkerEvent.

import { GpuBackend } from '../gpu/backend';
import { runSelfTest } from '../gpu/selftest';
import { parseConfig } from '../models/config';
import { classify, generate, type Window } from '../models/generate';
import { loadModel, type LoadedModel } from '../models/load';
import type { BatchSource, BatchStream } from '../train/data/batches';
import { buildClassificationSet, guessMapping } from '../train/data/dataset';
import { DataError } from '../train/data/errors';
import { parseTable } from '../train/data/parse';
import { createTrainer, DEFAULT_RUN, evaluate, prepareData, runSteps, type PreparedData, type RunConfig, type StepMetrics } from '../train/run';
import type { Trainer } from '../train/trainer';
import { createEngine, type BackendPreference, type Engine } from './engine';
import { describeError } from './errors';
import { buildExport } from './exporter';
import type { Command, ErrorArea, RunPhase, RunSettings, WorkerEvent } from './protocol';
import { describeData, scheduleTargets } from './runInfo';
import { bundledSource } from './summary';

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
}

/** Validation items evaluated at most (and at most 16 batches beyond 64 items), so the page answers quickly. */
const EVAL_CAP = 256;

/** Lets queued messages (pause, stop) in between training steps: a zero-delay macrotask. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { ch.port1.close(); resolve(); };
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
  private stopRequested = false;

  constructor(private readonly post: Post, private readonly pref: BackendPreference) {}

  /** Pause and stop act at once (between two steps); they are not queued behind the running loop. */
  interrupt(cmd: Command): boolean {
    if (cmd.type === 'pause') this.pauseRequested = true;
    else if (cmd.type === 'stop' || cmd.type === 'start') this.stopRequested = true;
    else return false;
    if (cmd.type === 'stop' && this.phase === 'paused') this.setPhase('stopped');
    return cmd.type !== 'start';
  }

  /** Runs a queued command; failures become error events in the command's area. */
  async handle(cmd: Command): Promise<void> {
    const area: ErrorArea = cmd.type === 'start' ? 'training' : cmd.type === 'export' ? 'export' : cmd.type === 'generate' || cmd.type === 'classify' ? 'try' : 'training';
    try {
      if (cmd.type === 'start') await this.start(cmd.model, cmd.data.name, cmd.data.text, cmd.settings);
      else if (cmd.type === 'resume') await this.train();
      else if (cmd.type === 'generate') await this.generate(cmd);
      else if (cmd.type === 'classify') await this.classify(cmd.text);
      else if (cmd.type === 'evaluate') await this.evaluate();
      else if (cmd.type === 'export') await this.export();
      else if (cmd.type === 'debugLoseDevice') this.engine?.ctx?.device.destroy();
    } catch (e) {
      if (cmd.type === 'start' || cmd.type === 'resume') this.setPhase(this.run && this.run.trainer.step > 0 ? 'stopped' : 'idle');
      this.post({ type: 'error', ...describeError(e, area) });
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
      this.post({ type: 'error', area: 'engine', code: 'DeviceLost', message: `${e.message} Press Start to train again on a new device.` });
      if (this.phase === 'training') this.stopRequested = true;
    });
    this.engine = engine;
    this.engineUsed = false;
    this.post({ type: 'engine', backend: engine.ctx ? 'webgpu' : 'cpu', adapter: engine.info, warning: engine.warning });
    return engine;
  }

  private setPhase(phase: RunPhase): void {
    this.phase = phase;
    this.post({ type: 'phase', phase });
  }

  private async start(modelId: string, fileName: string, text: string, s: RunSettings): Promise<void> {
    this.setPhase('preparing');
    const src = bundledSource(modelId);
    const configBytes = await src.get('config.json');
    const kind = parseConfig(new TextDecoder().decode(configBytes!)).kind;
    // An encoder's classification head gets one output per label in the data.
    const numLabels = kind === 'gpt2' ? undefined : countLabels(text, fileName, s.seed);
    const engine = await this.ensureEngine();
    this.engineUsed = true;
    const model = await loadModel(src, engine.be, { numLabels, seed: s.seed });
    const cfg = runConfig(s);
    const data = prepareData(model, text, fileName, cfg);
    const { trainer, stream, steps } = createTrainer(engine.be, model, data, cfg);
    const modules = trainer.adapters!.modules;
    const targetAt = scheduleTargets(trainer, steps);
    this.run = {
      model, data, cfg, trainer, stream, steps, targets: cfg.targets!, targetAt, lastLive: modules.map((m) => m.liveCount),
      window: { B: cfg.batch, T: data.train.seq },
    };
    const stride = Math.max(1, Math.ceil(steps / 300));
    const schedule: { step: number; live: number }[] = [];
    for (let t = 0; t <= steps; t++) if (t % stride === 0 || t === steps || targetAt[t] !== targetAt[Math.max(0, t - 1)]) schedule.push({ step: t, live: targetAt[t] });
    this.post({
      type: 'started', steps, modules: modules.map((m) => m.linear.name), R0: trainer.adapters!.opts.R0,
      budgetTotal: targetAt[steps], trainable: trainer.trainableParameters, schedule: thin(schedule, 600), labels: data.labels,
      dataSummary: describeData(fileName, data),
    });
    await this.train();
  }

  private async train(): Promise<void> {
    const r = this.requireRun();
    if (r.trainer.step >= r.steps) return;
    this.pauseRequested = this.stopRequested = false;
    this.setPhase('training');
    await runSteps(r.trainer, r.stream, r.steps, r.cfg, async (m) => {
      this.onMetrics(r, m);
      await yieldToEvents();
    }, () => this.pauseRequested || this.stopRequested);
    if (r.trainer.step >= r.steps) {
      await this.evaluate();
      this.setPhase('done');
    } else {
      this.setPhase(this.stopRequested ? 'stopped' : 'paused');
    }
  }

  private onMetrics(r: Run, m: StepMetrics): void {
    const liveByModule = m.liveByModule ?? r.trainer.adapters!.modules.map((x) => x.liveCount);
    const live = liveByModule.reduce((a, b) => a + b, 0);
    this.post({ type: 'step', step: m.step, loss: m.loss, lr: m.lr, live, target: r.targetAt[Math.min(m.step, r.steps)], liveByModule, tokensPerSecond: m.tokensPerSecond });
    if (liveByModule.some((v, i) => v !== r.lastLive[i])) {
      let removed = 0, revived = 0;
      liveByModule.forEach((v, i) => { if (v < r.lastLive[i]) removed += r.lastLive[i] - v; else revived += v - r.lastLive[i]; });
      this.post({ type: 'prune', step: m.step, removed, revived, live, liveByModule });
      r.lastLive = liveByModule;
    }
  }

  private requireRun(): Run {
    if (!this.run) throw new DataError('NoRows', '', 'There is no trained adapter yet: press Start first.');
    return this.run;
  }

  private requireIdle(what: string): Run {
    const r = this.requireRun();
    if (this.phase === 'training' || this.phase === 'preparing') throw new Error(`Pause or stop training before you ${what}.`);
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
    if (r.model.kind !== 'gpt2') throw new Error('This model classifies text; use Classify.');
    const model = r.model, be = r.trainer.be, opts = { maxTokens: cmd.maxTokens, temperature: cmd.temperature, topK: cmd.topK, seed: cmd.seed };
    const adapted = await withEval(r, () => generate(be, model, cmd.prompt, opts, r.window));
    const base = await withoutAdapters(r, () => generate(be, model, cmd.prompt, opts, r.window));
    this.post({ type: 'generated', prompt: cmd.prompt, base, adapted });
  }

  private async classify(text: string): Promise<void> {
    const r = this.requireIdle('classify text');
    if (r.model.kind === 'gpt2') throw new Error('GPT-2 generates text; use Generate.');
    const model = r.model, be = r.trainer.be;
    const adapted = await withEval(r, () => classify(be, model, text, r.window));
    // The base model is the checkpoint as loaded: no adapters and its classification head as initialised.
    const head = [...model.params.grads.keys()].filter((n) => n.startsWith('classifier.'));
    const trained = await Promise.all(head.map(async (n) => (await be.read(model.params.tensors.get(n)!)) as Float32Array));
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
    const out = await buildExport(r.trainer, r.model, r.targets);
    this.post({ type: 'exported', ...out }, [out.zip.buffer, out.merged.buffer]);
  }
}

function runConfig(s: RunSettings): RunConfig {
  return {
    ...DEFAULT_RUN, method: s.method, budget: s.budget, r0: s.r0 ?? undefined, rank: s.rank, alpha: s.alpha ?? undefined,
    dropout: s.dropout, targets: s.targets, steps: s.steps, batch: s.batch, seq: s.seq, lr: s.lr ?? undefined, seed: s.seed,
    pruneInterval: s.pruneInterval, eta: s.eta, logEvery: 1,
  };
}

function countLabels(text: string, fileName: string, seed: number): number {
  const table = parseTable(text, fileName);
  const mapping = guessMapping(table.columns);
  if (!mapping) throw new DataError('BadMapping', fileName, `${fileName}: cannot tell which columns hold the text and the label (columns: ${table.columns.join(', ')}). Name them "text" and "label".`);
  return buildClassificationSet(table, mapping, { seed, valFraction: DEFAULT_RUN.valFraction }).labels.length;
}

/** At most EVAL_CAP items, in whole batches so the activation workspace keeps its shape. */
function capped(src: BatchSource, batch: number): BatchSource {
  const n = src.kind === 'lm' ? src.windows.length : src.examples.length;
  const cap = Math.min(EVAL_CAP, Math.max(64, 16 * batch));
  const keep = n <= batch ? n : Math.floor(Math.min(n, cap) / batch) * batch;
  return src.kind === 'lm' ? { ...src, windows: src.windows.slice(0, keep) } : { ...src, examples: src.examples.slice(0, keep) };
}

function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const stride = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % stride === 0 || i === xs.length - 1);
}

/** Runs `f` with the adapters in eval mode (no dropout). */
async function withEval<T>(r: Run, f: () => Promise<T>): Promise<T> {
  const a = r.trainer.adapters!, was = a.training;
  a.training = false;
  try { return await f(); } finally { a.training = was; }
}

/** Runs `f` on the base model: the adapters' hooks are taken off the linears and put back afterwards. */
async function withoutAdapters<T>(r: Run, f: () => Promise<T>): Promise<T> {
  const a = r.trainer.adapters!, hooks = a.modules.map((m) => m.linear.adapter);
  a.detach();
  try { return await f(); } finally { a.modules.forEach((m, i) => { m.linear.adapter = hooks[i]; }); }
}
