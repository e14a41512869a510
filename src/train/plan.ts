// The memory plan: from a model's shapes (config.json and the safetensors header; no weight data) and the run's
// settings, the fastest combination of weight precision, activation recomputation and micro-batch whose estimate
// (./memory.ts) fits the memory budget, chosen before anything is allocated on the GPU. When nothing fits, a PlanError
// names settings that do, each one computed by the same estimate.

import { adaptableModules } from '../models/arch/index';
import type { Recompute } from '../nn/recompute';
import { type EstimateConfig, estimateShapes, formatBytes, type MemoryEstimate, type ModelShapes } from './memory';
import type { RunConfig } from './run';

/** The options the plan chooses (RunConfig's weightPrecision, recompute and microBatch, resolved). */
export interface PlanOptions {
  weightPrecision: 'f32' | 'f16';
  recompute: Recompute;
  microBatch: number;
}

/** What the device tells about its memory: a reported size where the platform gives one, and the largest buffer. */
export interface DeviceMemoryLimits {
  memoryBytes?: number;
  maxBufferSize?: number;
}

/** The run settings the plan reads (the estimate's, without the options it chooses). */
export type PlanRun = Omit<EstimateConfig, 'microBatch' | 'recompute' | 'weightPrecision'>;

export interface PlanRequest {
  shapes: ModelShapes;
  run: PlanRun;
  /** RunConfig.memoryBudgetGiB: the budget when set; otherwise the device's reported memory, at most 4 GiB. */
  memoryBudgetGiB?: number;
  limits?: DeviceMemoryLimits;
  /** Options the user set: the plan keeps them and chooses only the others. */
  fixed?: Partial<PlanOptions>;
}

export interface MemoryPlan {
  options: PlanOptions;
  estimate: MemoryEstimate;
  budgetBytes: number;
}

export const DEFAULT_BUDGET_BYTES = 4 * 2 ** 30;

const RECOMPUTE_WORDS: Record<Recompute, string> = {
  none: 'no recompute',
  selective: 'selective recompute',
  blocks: 'block recompute',
};

/** The options in words, as the page, the CLI and the benchmarks show them: "f16 weights, selective recompute,
 * micro-batch 8". */
export function describeOptions(o: PlanOptions): string {
  return `${o.weightPrecision} weights, ${RECOMPUTE_WORDS[o.recompute]}, micro-batch ${o.microBatch}`;
}

/** Settings that fit, found when the requested ones do not; each absent field is not needed or did not help. */
export interface PlanFix {
  /** The longest sequence that fits at the requested batch (or batch 1, then `batch` is set). */
  seq?: number;
  batch?: number;
  /** The module types to adapt (most first) that fit at the requested batch and sequence length. */
  targets?: string[];
  /** The budget the leanest plan needs, in GiB (two decimals, rounded up). */
  memoryGiB: number;
}

/** Nothing fits the budget; `fix` holds the computed alternatives the message names. */
export class PlanError extends Error {
  override name = 'PlanError';
  constructor(
    readonly estimate: MemoryEstimate,
    readonly budgetBytes: number,
    readonly fix: PlanFix,
    detail: string,
  ) {
    super(detail);
  }
}

/** The budget in bytes: memoryBudgetGiB when set, else the device's reported memory capped at 4 GiB. */
export function planBudget(memoryBudgetGiB: number | undefined, limits: DeviceMemoryLimits = {}): number {
  if (memoryBudgetGiB !== undefined) {
    if (!(Number.isFinite(memoryBudgetGiB) && memoryBudgetGiB > 0))
      throw new RangeError(`memoryBudgetGiB must be a positive number of GiB (--memory-gib), got ${memoryBudgetGiB}`);
    return Math.floor(memoryBudgetGiB * 2 ** 30);
  }
  return Math.min(DEFAULT_BUDGET_BYTES, limits.memoryBytes ?? Infinity);
}

/** Divisors of `batch`, largest first. */
function divisors(batch: number): number[] {
  const out: number[] = [];
  for (let d = batch; d >= 1; d--) if (batch % d === 0) out.push(d);
  return out;
}

/** The options in the order the plan tries them, fastest first: f32 weights, no recompute, the whole batch; then f16
 * weights (not with full fine-tuning, which trains them); then selective recomputation (the attention probabilities
 * and norm outputs: one attention forward and two norms more per block), then whole blocks (about a third more
 * compute); then smaller micro-batches. Fixed options replace the chosen ones. */
export function planCandidates(
  batch: number,
  method: RunConfig['method'],
  fixed: Partial<PlanOptions> = {},
): PlanOptions[] {
  const precisions: PlanOptions['weightPrecision'][] = method === 'full' ? ['f32'] : ['f32', 'f16'];
  const lean = precisions[precisions.length - 1];
  const ladder: PlanOptions[] = [
    ...precisions.map((p) => ({ weightPrecision: p, recompute: 'none' as const, microBatch: batch })),
    { weightPrecision: lean, recompute: 'selective', microBatch: batch },
    { weightPrecision: lean, recompute: 'blocks', microBatch: batch },
    ...divisors(batch)
      .slice(1)
      .map((m) => ({ weightPrecision: lean, recompute: 'blocks' as const, microBatch: m })),
  ];
  const seen = new Set<string>(),
    out: PlanOptions[] = [];
  for (const c of ladder) {
    const o = { ...c, ...definedOnly(fixed) };
    const key = `${o.weightPrecision}/${o.recompute}/${o.microBatch}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(o);
    }
  }
  return out;
}

function definedOnly(o: Partial<PlanOptions>): Partial<PlanOptions> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The widest weight row the options allocate: a tensor beyond a buffer's limit is stored in row-range parts
 * (src/gpu/context.ts), so one row is what must fit a buffer. */
function largestWeight(shapes: ModelShapes, o: PlanOptions, method: RunConfig['method']): number {
  let most = 0;
  for (const shape of shapes.weights.values()) {
    const n = shape.slice(1).reduce((a, b) => a * b, 1);
    const bytes = (o.weightPrecision === 'f16' && method !== 'full' && shape.length >= 2 ? 2 : 4) * n;
    most = Math.max(most, bytes);
  }
  return most;
}

function fits(req: PlanRequest, run: PlanRun, o: PlanOptions, budget: number): MemoryEstimate | null {
  const estimate = estimateShapes(req.shapes, { ...run, ...o });
  if (estimate.total > budget) return null;
  const maxBuffer = req.limits?.maxBufferSize;
  if (maxBuffer !== undefined && largestWeight(req.shapes, o, run.method) > maxBuffer) return null;
  return estimate;
}

/** The fastest options whose estimate fits the budget; a PlanError naming settings that fit when none does. */
export function planMemory(request: PlanRequest): MemoryPlan {
  // Without targets the run adapts the family's default module types (trainMethod in ./run.ts), and so does the plan.
  const targets = request.run.targets ?? [...request.shapes.arch.defaultTargets];
  const req = { ...request, run: { ...request.run, targets } };
  const budgetBytes = planBudget(req.memoryBudgetGiB, req.limits);
  const candidates = planCandidates(req.run.batch, req.run.method, req.fixed);
  for (const options of candidates) {
    const estimate = fits(req, req.run, options, budgetBytes);
    if (estimate) return { options, estimate, budgetBytes };
  }
  throw refusal(req, budgetBytes, candidates[candidates.length - 1]);
}

/** The leanest options at another batch size (the micro-batch follows the batch unless fixed). */
function leanestAt(req: PlanRequest, batch: number): PlanOptions {
  const c = planCandidates(batch, req.run.method, req.fixed);
  return c[c.length - 1];
}

/** The largest value in [lo, hi] for which `ok` holds (`ok` monotone: true up to some point), or null. */
function largest(lo: number, hi: number, ok: (v: number) => boolean): number | null {
  if (hi < lo || !ok(lo)) return null;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function refusal(req: PlanRequest, budget: number, leanest: PlanOptions): PlanError {
  const { run } = req;
  const estimate = estimateShapes(req.shapes, { ...run, ...leanest });
  const fix: PlanFix = { memoryGiB: Math.ceil((estimate.total / 2 ** 30) * 100) / 100 };
  const maxBuffer = req.limits?.maxBufferSize;
  const bufferBound = maxBuffer !== undefined && largestWeight(req.shapes, leanest, run.method) > maxBuffer;
  if (!bufferBound) {
    const at = (batch: number) => (seq: number) =>
      fits(req, { ...run, batch, seq }, leanestAt(req, batch), budget) !== null;
    const seq = largest(1, run.seq - 1, at(run.batch));
    if (seq !== null) fix.seq = seq;
    else if (run.batch > 1) {
      const seq1 = largest(1, run.seq, at(1));
      if (seq1 !== null) {
        fix.seq = seq1;
        fix.batch = 1;
      }
    }
    if (run.method !== 'full') fix.targets = fewerTargets(req, budget, leanest);
  }
  const flags: string[] = [];
  if (fix.seq !== undefined) flags.push(`--seq ${fix.seq}${fix.batch !== undefined ? ` --batch ${fix.batch}` : ''}`);
  if (fix.targets) flags.push(`--target ${fix.targets.join(',')}`);
  flags.push(`--memory-gib ${fix.memoryGiB}`);
  const lean = describeOptions(leanest);
  const buffer = bufferBound
    ? ` A row of a weight tensor is larger than the device's largest buffer (${formatBytes(maxBuffer!)}); use a smaller ` +
      'model.'
    : '';
  const detail =
    `the run does not fit the memory budget of ${formatBytes(budget)}: its leanest plan (${lean}) needs ` +
    `${formatBytes(estimate.total)} (weights ${formatBytes(estimate.weights)}, activations ` +
    `${formatBytes(estimate.activations)}, adapters and optimizer ${formatBytes(estimate.adapterAndOptimizer)}, ` +
    `engine ${formatBytes(estimate.engine)}).` +
    `${buffer} It fits with ${flags.join('; or with ')}` +
    `${run.method === 'full' ? '; or train adapters instead (--method lora or dora)' : ''}.`;
  return new PlanError(estimate, budget, fix, detail);
}

/** The most module types (dropping the costliest first) that fit at the run's batch and sequence, or undefined. */
function fewerTargets(req: PlanRequest, budget: number, leanest: PlanOptions): string[] | undefined {
  const { run } = req;
  const all = adaptableModules(req.shapes.config);
  const types = run.targets!;
  const cost = (t: string) => all.filter((m) => m.type === t).reduce((s, m) => s + m.inF + m.outF, 0);
  const order = [...types].sort((a, b) => cost(a) - cost(b));
  for (let k = order.length - 1; k >= 1; k--) {
    const targets = order.slice(0, k);
    if (fits(req, { ...run, targets }, leanest, budget)) return types.filter((t) => targets.includes(t));
  }
  return undefined;
}

/** The options of RunConfig the user set (the plan keeps them); undefined ones are the plan's to choose. */
export function fixedOptions(cfg: Pick<RunConfig, 'microBatch' | 'recompute' | 'weightPrecision'>) {
  return { microBatch: cfg.microBatch, recompute: cfg.recompute, weightPrecision: cfg.weightPrecision };
}

/** The run with the plan's options where the user set none; an option at its default (f32, no recompute, the whole
 * batch) stays absent, so a run that needs no plan keeps today's configuration. */
export function applyPlan<C extends RunConfig>(cfg: C, o: PlanOptions): C {
  const out = { ...cfg };
  if (cfg.weightPrecision === undefined && o.weightPrecision !== 'f32') out.weightPrecision = o.weightPrecision;
  if (cfg.recompute === undefined && o.recompute !== 'none') out.recompute = o.recompute;
  if (cfg.microBatch === undefined && o.microBatch !== cfg.batch) out.microBatch = o.microBatch;
  return out;
}
