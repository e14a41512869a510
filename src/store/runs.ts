// The runs made in the page, kept side by side: what each one was (method, budget or rank, parameters), its loss
// curve (downsampled) and its final rank map; and the LoRA rank that matches a dynamic-rank run's parameter count
// (the paper's comparison: LoRA and dynamic rank at the same number of trainable parameters). No React, no worker.

import type { Task } from '../models/arch/index';
import type { DataFile, ModelSummary, RunSettings } from '../worker/protocol';
import { thinPoints } from './derived';

/** Loss points kept per stored run: a few hundred draw the curve at any chart width the page has. */
export const RUN_LOSS_POINTS = 300;

export interface RunRecord {
  id: string;
  name: string;
  modelId: string;
  task: Task;
  method: 'dora' | 'lora';
  /** b(T) (dynamic rank) or r (LoRA). */
  budget: number;
  /** Components per module at the start: R0 (dynamic rank) or r (LoRA). */
  R0: number;
  /** Parameters trained during the run (every R0 component for dynamic rank; the head included). */
  trainable: number;
  /** Adapter parameters at the final budget (finalAdapterParams), or null when the module sizes are unknown. */
  finalParams: number | null;
  /** in + out features of every adapted module, in `modules` order, or null when unknown. */
  dims: number[] | null;
  modules: string[];
  steps: number;
  /** The loss by step, at most RUN_LOSS_POINTS (every n-th point, the last kept). */
  loss: { step: number; loss: number }[];
  /** Live components per module at `rankStep` (the latest allocation), in `modules` order. */
  rankMap: number[] | null;
  rankStep: number;
  settings: RunSettings;
  data: DataFile;
  /** The phase the run was last seen in. */
  phase: 'training' | 'paused' | 'stopped' | 'done' | 'failed';
}

/** in + out features of each module by its name in `summary`, or null when one of them is not there. */
export function moduleDims(summary: ModelSummary | null, modules: readonly string[]): number[] | null {
  if (!summary || modules.length === 0) return null;
  const byName = new Map(summary.modules.map((m) => [m.name, m.inF + m.outF]));
  const dims = modules.map((m) => byName.get(m));
  return dims.every((d) => d !== undefined) ? (dims as number[]) : null;
}

/** Dynamic rank at budget b: b components per module, each a + b + c = in + out + 1 parameters. */
export const doraParams = (dims: readonly number[], budget: number): number =>
  dims.reduce((n, d) => n + budget * (d + 1), 0);

/** LoRA at rank r: r * (in + out) parameters per module. */
export const loraParams = (dims: readonly number[], rank: number): number => dims.reduce((n, d) => n + rank * d, 0);

/** A run's adapter parameters at its final budget (b(T) per module, or r per module for LoRA). */
export function finalAdapterParams(method: RunRecord['method'], dims: readonly number[], budget: number): number {
  return method === 'dora' ? doraParams(dims, budget) : loraParams(dims, budget);
}

export interface LoraMatch {
  /** The LoRA rank (an integer >= 1) whose parameter count is closest to the dynamic-rank run's. */
  rank: number;
  /** Parameters of the dynamic-rank run at its final budget b(T), and of LoRA at `rank`. */
  doraParams: number;
  loraParams: number;
}

/** Typed error for a comparison the page cannot make; the message says what the person should do. */
export class CompareError extends Error {
  readonly code: 'NotDynamicRank' | 'NoModuleSizes' | 'BadBudget';
  constructor(code: CompareError['code'], message: string) {
    super(message);
    this.name = 'CompareError';
    this.code = code;
  }
}

/**
 * The LoRA rank whose trainable-parameter count r * sum(in + out) is closest to the dynamic-rank count
 * b(T) * sum(in + out + 1); on a tie the smaller rank (never more parameters than needed).
 */
export function matchLoraRank(dims: readonly number[], budget: number): LoraMatch {
  if (dims.length === 0) {
    throw new CompareError('NoModuleSizes', 'The run adapts no modules, so there is no parameter count to match.');
  }
  if (!(Number.isInteger(budget) && budget >= 1)) {
    throw new CompareError(
      'BadBudget',
      `The run's final budget b(T) is ${budget}; set "Final budget b(T)" to a whole number of at least 1.`,
    );
  }
  const target = doraParams(dims, budget);
  const per = loraParams(dims, 1);
  const lo = Math.max(1, Math.floor(target / per));
  const hi = lo + 1;
  const rank = Math.abs(per * hi - target) < Math.abs(per * lo - target) ? hi : lo;
  return { rank, doraParams: target, loraParams: per * rank };
}

/** The LoRA comparison for a dynamic-rank run: its match and the settings of the LoRA run to queue. */
export function loraComparison(run: RunRecord): { match: LoraMatch; settings: RunSettings } {
  if (run.method !== 'dora') {
    throw new CompareError('NotDynamicRank', `${run.name} is a LoRA run; compare a dynamic-rank run with LoRA.`);
  }
  if (!run.dims) {
    throw new CompareError(
      'NoModuleSizes',
      `The module sizes of ${run.name} are unknown (its model is not loaded); load ${run.modelId} and try again.`,
    );
  }
  const match = matchLoraRank(run.dims, run.budget);
  // Same data, seed, steps (or epochs), modules and schedule settings; only the method and its rank change.
  return { match, settings: { ...run.settings, method: 'lora', rank: match.rank } };
}

/** The default name of the n-th run of the page: "Run 3 · dynamic rank b(T)=2" or "Run 4 · LoRA r=3". */
export function runName(n: number, settings: Pick<RunSettings, 'method' | 'budget' | 'rank'>): string {
  return `Run ${n} · ${settings.method === 'dora' ? `dynamic rank b(T)=${settings.budget}` : `LoRA r=${settings.rank}`}`;
}

/** The loss curve a run record keeps: every n-th point so at most RUN_LOSS_POINTS. */
export const lossHistory = (points: readonly { step: number; loss: number }[]): RunRecord['loss'] =>
  thinPoints(
    points.map((p) => ({ step: p.step, loss: p.loss })),
    RUN_LOSS_POINTS,
  );
