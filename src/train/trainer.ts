// One training step, the same in the Web Worker and the Node CLI: forward, loss, backward, global gradient clipping,
// AdamW with a linear warm-up/decay schedule, then the rank allocator. The whole step is recorded into one submission;
// nothing is read back inside it: the loss stays on the device until someone asks for it, or its status (loss and
// clip factor) is copied out at the end of the step and read asynchronously while the next step is recorded.

import type { Recompute } from '../nn/recompute';
import { type AdapterOptions, AdapterSet, selectLinears } from '../peft/adapters';
import { RankAllocator } from '../peft/allocator';
import { planStep, type ScheduleOptions, type StepPlan } from '../peft/schedule';
import type { Backend, Tensor } from '../tensor/backend';
import { batchRows, type HostBatch, lossCount, sliceBatch, type TaskModel } from './task';

export interface OptimOptions {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip (1.0 in the authors' code). */
  clip: number;
  /** Fraction of steps of linear warm-up (6%), then linear decay to 0. */
  warmupFraction: number;
  totalSteps: number;
  /** DEM regulariser (dynamic rank only): weight eta; divisor 2 M R0 ('code', the authors' code) or M R0 ('paper'). */
  dem?: { eta: number; variant: 'code' | 'paper' } | null;
  /** The model's own dropout (config.json) during the training step, as transformers' train mode; on unless false.
   * Evaluation and generation never drop. */
  modelDropout?: boolean;
}

export const DEFAULT_OPTIM: Omit<OptimOptions, 'lr' | 'totalSteps'> = {
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clip: 1.0,
  warmupFraction: 0.06,
  modelDropout: true,
};

export type TrainMethod =
  | { method: 'dora'; adapter: AdapterOptions; targets: string[]; budget: number; pruneInterval: number; beta?: number }
  | { method: 'lora'; adapter: AdapterOptions; targets: string[] }
  | { method: 'full'; targets: string[] };

/** transformers' get_linear_schedule_with_warmup, evaluated for 1-based optimizer step `step`. */
export function learningRate(step: number, o: OptimOptions): number {
  const t = step - 1,
    warm = Math.floor(o.warmupFraction * o.totalSteps);
  if (t < warm) return (o.lr * t) / Math.max(1, warm);
  return o.lr * Math.max(0, (o.totalSteps - t) / Math.max(1, o.totalSteps - warm));
}

export interface Group {
  name: string;
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
}

/** A step's loss and gradient health, read back after the step ran. */
export interface StepStatus {
  step: number;
  /** Mean loss of the step's batch. */
  loss: number;
  /** The global clip factor; -1 when the gradient norm was NaN or infinite (the update was skipped on the device). */
  clipFactor: number;
}

export interface StepRecord {
  step: number;
  lr: number;
  plan: StepPlan | null;
  /** With `readStatus`, the step's status: its readback travels in the step's own submission and resolves later. */
  status: Promise<StepStatus> | null;
}

/** How a step is computed (not what it computes: every choice gives the same step up to float rounding). */
export interface TrainerOptions {
  /** Rows per forward/backward pass: a step runs ceil(rows / microBatch) passes into the same gradients, so
   * activations are sized by microBatch. The whole batch in one pass unless given. */
  microBatch?: number;
  /** Activation recomputation (src/nn/recompute.ts): 'none' unless given. */
  recompute?: Recompute;
}

export interface TrainStepOptions {
  /** Read the step's loss and clip factor back (asynchronously, in the same submission as the step). */
  readStatus?: boolean;
}

export class Trainer {
  readonly adapters: AdapterSet | null;
  readonly allocator: RankAllocator | null;
  step = 0;
  /** Multiplies the scheduled learning rate of the next step; halved after each step with a non-finite loss or
   * gradient norm. */
  lrScale = 1;
  /** Halvings noted for the latest recorded step: they apply from the step after the next one (see halveLrAfter). */
  lrHalvingsPending = 0;
  /** Steps whose loss or gradient norm was not finite, in all and in a row up to the latest checked step. */
  skippedSteps = 0;
  consecutiveSkips = 0;
  /** Fault injection for tests: called after the backward, before clipping and the optimizer. */
  beforeOptimizer: ((step: number) => void) | null = null;
  /** Parameter groups the optimizer updates (adapter theta, head tensors, or base weights), with their moments. */
  readonly groups: Group[] = [];
  private readonly sumsq: Tensor;
  private readonly clipFactor: Tensor;
  /** [loss sum, token count, clip factor] of the latest step, where the next step cannot overwrite it before a read. */
  private readonly status: Tensor;
  private readonly demPartials: Tensor | null;
  private readonly demValue: Tensor | null;
  /** Micro-batching: the step's loss sum over its passes, and its label count (written before the step is recorded). */
  private readonly lossTotal: Tensor;
  private readonly countTotal: Tensor;

  constructor(
    readonly be: Backend,
    readonly task: TaskModel,
    readonly method: TrainMethod,
    readonly optim: OptimOptions,
    readonly opts: TrainerOptions = {},
  ) {
    const mb = opts.microBatch;
    if (mb !== undefined && !(Number.isInteger(mb) && mb >= 1)) {
      throw new RangeError(`microBatch must be a positive integer, got ${mb}`);
    }
    const linears = selectLinears(task.linears(), method.targets);
    const params = task.model.params;
    if (method.method === 'full') {
      for (const l of linears) {
        l.dW = params.grad(`${l.name}.weight`);
        l.db = l.b ? params.grad(`${l.name}.bias`) : null;
      }
      this.adapters = null;
    } else {
      this.adapters = new AdapterSet(be, linears, method.adapter);
      this.addGroup('adapters', this.adapters.theta, this.adapters.grad);
    }
    this.allocator =
      method.method === 'dora' && this.adapters
        ? new RankAllocator(be, this.adapters, this.scheduleOptions(method), method.beta ?? 0.9)
        : null;
    // Every other parameter with a gradient (a classification head; base weights in full fine-tuning) is trained too.
    for (const [name, grad] of params.grads) this.addGroup(name, params.tensors.get(name)!, grad);
    this.sumsq = be.zeros([1], 'f32', 'grad sumsq');
    this.clipFactor = be.zeros([1], 'f32', 'clip factor');
    this.status = be.zeros([3], 'f32', 'step status');
    const useDem = Boolean(this.allocator && optim.dem && optim.dem.eta > 0);
    this.demPartials = useDem
      ? be.zeros([this.adapters!.modules.length * 2 * this.adapters!.opts.R0], 'f32', 'dem partials')
      : null;
    this.demValue = useDem ? be.zeros([1], 'f32', 'dem value') : null;
    const recompute = opts.recompute ?? 'none';
    const rerun = recompute !== 'none' && task.setRecompute(recompute);
    // Adapters share their saved activations across blocks only where the blocks rerun their whole forward.
    if (rerun && recompute === 'blocks' && this.adapters) this.adapters.shareActivations = true;
    this.lossTotal = be.zeros([1], 'f32', 'step loss sum');
    this.countTotal = be.zeros([1], 'f32', 'step label count');
  }

  /** The passes a step on `batch` runs: consecutive row ranges of microBatch rows (the last one may be shorter). */
  microBatches(batch: HostBatch): HostBatch[] {
    const rows = batchRows(batch),
      mb = Math.min(this.opts.microBatch ?? rows, rows);
    if (mb === rows) return [batch];
    const parts: HostBatch[] = [];
    for (let first = 0; first < rows; first += mb) parts.push(sliceBatch(batch, first, Math.min(mb, rows - first)));
    return parts;
  }

  /** Adds the DEM term's gradient (and records its value) while the schedule keeps it on (until pruning ends). */
  private demStep(): void {
    const a = this.adapters!,
      d = this.optim.dem!,
      R0 = a.opts.R0,
      M = a.modules.length;
    const coef = d.eta / (d.variant === 'code' ? 2 * M * R0 : M * R0);
    this.be.dem(this.demPartials!, a.grad, a.theta, a.slots, coef);
    this.be.sum(this.demValue!, this.demPartials!);
  }

  private scheduleOptions(m: Extract<TrainMethod, { method: 'dora' }>): ScheduleOptions {
    return {
      totalSteps: this.optim.totalSteps,
      R0: m.adapter.R0,
      budget: m.budget,
      modules: selectLinears(this.task.linears(), m.targets).length,
      pruneInterval: m.pruneInterval,
    };
  }

  private addGroup(name: string, param: Tensor, grad: Tensor): void {
    const z = (l: string) => this.be.zeros(param.shape, 'f32', `${l} ${name}`);
    this.groups.push({ name, param, grad, m: z('adam m'), v: z('adam v') });
  }

  /** Trainable parameters (all adapter components and the head, or the adapted base weights in full fine-tuning). */
  get trainableParameters(): number {
    return this.groups.reduce((n, g) => n + g.param.size, 0);
  }

  /**
   * Lowers the learning-rate scale after step `step` turned out non-finite. Its status is known only once the next
   * step is recorded, so the halving always applies from step + 2: at once when step + 1 is already recorded, else
   * after step + 1 is (a resumed run then continues exactly like an uninterrupted one).
   */
  halveLrAfter(step: number): void {
    if (this.step > step) this.lrScale *= 0.5;
    else this.lrHalvingsPending++;
  }

  /** The scale the step after next will use. */
  get nextLrScale(): number {
    return this.lrScale * 0.5 ** this.lrHalvingsPending;
  }

  /** Records and submits one optimizer step on `batch` (one submission; with `readStatus` it carries the readback). */
  trainStep(batch: HostBatch, opts: TrainStepOptions = {}): StepRecord {
    const be = this.be;
    this.step++;
    if (this.adapters) {
      this.adapters.training = true;
      this.adapters.stepSeed = this.step;
    }
    const parts = this.microBatches(batch),
      many = parts.length > 1;
    // Every upload precedes the recording, so the passes below share one submission.
    this.task.setBatches(parts);
    // The loss is the mean over the whole batch's labels: each pass's gradient is divided by the whole count.
    if (many) be.write(this.countTotal, new Float32Array([lossCount(batch)]));
    for (const g of this.groups) be.fill(g.grad, 0);
    // Masks drawn from the step, so the backward redraws the forward's and a resumed run draws the same ones; a pass
    // draws them at its rows' place in the batch, so micro-batches drop what one batch would.
    const seed = this.optim.modelDropout === false ? null : this.step;
    let first = 0;
    parts.forEach((part, k) => {
      const rows = batchRows(part);
      this.task.usePart(k);
      this.task.setDropout(seed, first);
      if (this.adapters) this.adapters.microRows = many ? { first, count: rows } : null;
      const { lossSum, count } = this.task.forwardLoss({
        withGrad: true,
        gradCount: many ? this.countTotal : undefined,
      });
      if (many) be.sum(this.lossTotal, lossSum, k > 0);
      else {
        // Keep this step's loss where the next step's forward cannot overwrite it before an asynchronous read.
        be.copy(this.status, lossSum, 1, 0, 0);
        be.copy(this.status, count, 1, 0, 1);
      }
      this.task.backward();
      first += rows;
    });
    if (many) {
      be.copy(this.status, this.lossTotal, 1, 0, 0);
      be.copy(this.status, this.countTotal, 1, 0, 1);
    }
    this.task.setDropout(null);
    if (this.adapters) this.adapters.microRows = null;
    const plan = this.allocator ? planStep(this.step, this.allocator.schedule) : null;
    if (this.demPartials && plan?.dem) this.demStep();
    this.beforeOptimizer?.(this.step);
    be.fill(this.sumsq, 0);
    for (const g of this.groups) be.sumSquares(this.sumsq, g.grad, true);
    be.clipScale(this.clipFactor, this.sumsq, this.optim.clip);
    const lr = learningRate(this.step, this.optim) * this.lrScale;
    this.lrScale *= 0.5 ** this.lrHalvingsPending;
    this.lrHalvingsPending = 0;
    const o = this.optim;
    for (const g of this.groups) {
      be.adamw(g.param, g.grad, g.m, g.v, this.clipFactor, {
        lr,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
        weightDecay: o.weightDecay,
        step: this.step,
      });
    }
    if (this.allocator) this.allocator.afterOptimizerStep(this.step);
    be.copy(this.status, this.clipFactor, 1, 0, 2);
    if (!opts.readStatus) {
      be.flush();
      return { step: this.step, lr, plan, status: null };
    }
    // read() records its copy into this step's encoder and submits both together.
    const step = this.step;
    const status = be.read(this.status).then((s) => ({ step, loss: s[0] / Math.max(1, s[1]), clipFactor: s[2] }));
    return { step, lr, plan, status };
  }

  /** The latest step's clip factor: -1 means its gradients were not finite and the update was skipped. */
  async lastClipFactor(): Promise<number> {
    return (await this.be.read(this.clipFactor))[0];
  }

  /** Mean loss of the latest step (one small readback). */
  async lastLoss(): Promise<number> {
    const s = await this.be.read(this.status);
    return s[0] / Math.max(1, s[1]);
  }

  /** Loss of a batch without updating anything (adapters in eval mode). */
  async evalLoss(batch: HostBatch): Promise<{ lossSum: number; count: number }> {
    if (this.adapters) this.adapters.training = false;
    this.task.setBatch(batch);
    const { lossSum, count } = this.task.forwardLoss();
    this.be.flush();
    const r = { lossSum: (await this.be.read(lossSum))[0], count: (await this.be.read(count))[0] };
    if (this.adapters) this.adapters.training = true;
    return r;
  }
}
