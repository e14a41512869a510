// The dynamic-rank allocator (Mao et al. §3.2, the authors' code): importance of every component from its module's
// Gram matrices, an EMA of it, and global threshold pruning on the schedule. Everything runs on the backend inside
// the training step; only the final mask is read back once, to compact the adapters.

import type { Backend, Tensor } from '../tensor/backend';
import type { AdapterSet } from './adapters';
import { planStep, type ScheduleOptions, type StepPlan } from './schedule';

export class RankAllocator {
  readonly scores: Tensor;
  readonly ema: Tensor;
  /** 1 = live, 0 = pruned at the latest event; after the final event, the frozen allocation. */
  readonly mask: Tensor;
  private readonly thr: Tensor;
  finalReached = false;

  constructor(
    readonly be: Backend,
    readonly adapters: AdapterSet,
    readonly schedule: ScheduleOptions,
    readonly beta = 0.9,
  ) {
    const n = adapters.componentCount;
    if (n === 0) throw new Error('the rank allocator needs the dynamic-rank method (LoRA has no components to prune)');
    this.scores = be.zeros([n], 'f32', 'importance');
    this.ema = be.zeros([n], 'f32', 'importance ema');
    this.mask = be.fromArray(new Float32Array(n).fill(1), [n], 'component mask');
    this.thr = be.zeros([1], 'f32', 'prune threshold');
  }

  /** Records the allocator's work for optimizer step `step` (1-based), right after the AdamW update. */
  afterOptimizerStep(step: number): StepPlan {
    const plan = planStep(step, this.schedule),
      be = this.be,
      a = this.adapters;
    if (plan.enforceFinal) {
      be.applyMask(a.theta, this.mask, 0);
      return plan;
    }
    if (plan.updateEma) {
      be.adapterImportance(this.scores, a.theta, a.slots);
      be.ema(this.ema, this.scores, this.beta);
    }
    if (plan.prune) {
      be.kthSmallest(this.thr, this.ema, plan.k);
      be.thresholdMask(a.theta, this.mask, this.ema, this.thr, 0);
      if (plan.final) this.finalReached = true;
    }
    return plan;
  }

  /** The optimizer step of the final pruning event (the allocation is frozen after it), or null if none falls within
   * the run's steps. */
  finalStep(): number | null {
    for (let s = 1; s <= this.schedule.totalSteps; s++) if (planStep(s, this.schedule).final) return s;
    return null;
  }

  /** Live components per module from the mask (one small readback). */
  async liveCounts(): Promise<number[]> {
    const mask = await this.be.read(this.mask),
      R0 = this.adapters.opts.R0;
    return this.adapters.modules.map((m) => {
      let n = 0;
      for (let i = 0; i < R0; i++) n += mask[m.index * R0 + i] ? 1 : 0;
      return n;
    });
  }

  /** After the final event: drop pruned components from all further compute. */
  async compactToFinalMask(): Promise<void> {
    this.adapters.compact(await this.be.read(this.mask));
  }
}
