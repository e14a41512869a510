// The dynamic-rank budget schedule, exactly as the authors' code computes it (METHOD.md §3): warm-up to 15% of the
// steps, a back-loaded cubic pruning phase to 50%, then a frozen allocation. Pure arithmetic on the host; the GPU
// receives only k (how many components the next prune event removes).

export interface ScheduleOptions {
  /** Total optimizer steps T. */
  totalSteps: number;
  /** Initial components per module (R0 = ceil(1.5 b(T)) by default). */
  R0: number;
  /** Final average budget b(T) per module. */
  budget: number;
  /** Number of adapted modules M. */
  modules: number;
  /** Steps between prune events (the paper uses 10, 50 or 100). */
  pruneInterval: number;
  /** Fraction of steps before pruning starts (t_i = 15%). */
  warmupFraction?: number;
  /** Fraction of steps the pruning phase lasts (t_f - t_i = 35%). */
  pruneFraction?: number;
}

export interface StepPlan {
  /** t' = int(step - 0.15 T): negative during warm-up. */
  tPrime: number;
  /** T' = int(0.35 T), the length of the pruning phase. */
  TPrime: number;
  /** EMA of importance is updated after this step (every step until pruning ends). */
  updateEma: boolean;
  /** A prune event after this step: the k smallest EMA scores (at least 1, ties included) get c = 0. */
  prune: boolean;
  k: number;
  /** This event fixes the final mask. */
  final: boolean;
  /** The final mask is enforced after the optimizer step (allocation frozen). */
  enforceFinal: boolean;
  /** The DEM regulariser is part of the loss at this step (the code drops it once pruning is over). */
  dem: boolean;
}

/** R0 = ceil(1.5 b(T)) as in the official code (b(0) = 1.5 b(T)). */
export function defaultR0(budget: number): number {
  return Math.ceil(1.5 * budget);
}

/** The plan for 1-based optimizer step `step`. Python's int() truncates toward zero, and so does this. */
export function planStep(step: number, o: ScheduleOptions): StepPlan {
  const T = o.totalSteps,
    wf = o.warmupFraction ?? 0.15,
    pf = o.pruneFraction ?? 0.35;
  const tPrime = Math.trunc(step - wf * T);
  const TPrime = Math.trunc(pf * T);
  const inPruning = tPrime <= TPrime;
  const event = tPrime >= 0 && inPruning && (tPrime % o.pruneInterval === 0 || tPrime === TPrime);
  let k = 0;
  if (event) {
    const frac = TPrime > 0 ? tPrime / TPrime : 1;
    const q = ((o.R0 - o.budget) / o.R0) * frac ** 3;
    k = Math.max(Math.trunc(o.modules * o.R0 * q), 1);
  }
  return {
    tPrime,
    TPrime,
    updateEma: inPruning,
    prune: event,
    k,
    final: event && tPrime === TPrime,
    enforceFinal: !inPruning,
    dem: inPruning,
  };
}

/** Target number of live components after `step` when no ties occur (for charts and tests). */
export function expectedLive(step: number, o: ScheduleOptions): number {
  const total = o.modules * o.R0;
  let live = total;
  for (let s = 1; s <= step; s++) {
    const p = planStep(s, o);
    if (p.prune) live = total - p.k;
  }
  return live;
}
