// Pure derivations from store data: trainable-parameter counts before a run, the rank grid of the heatmap,
// and whether the chosen data suits the chosen model. No React, no worker.

import { ARCHITECTURES, archFor, parseModelConfig, type Task } from '../models/arch/index';
import { recomputeMode } from '../nn/recompute';
import { matchesTarget } from '../peft/adapters';
import { type MemoryPlan, PlanError, planMemory } from '../train/plan';
import type { ModelSummary, RunSettings } from '../worker/protocol';
import { type DataPreview, DEMO_SETS, type DemoSet } from './dataSlice';

/** The plan's options in words, for the page (ui imports the store, not train). */
export { describeOptions } from '../train/plan';

/** R0: the chosen value, else ceil(1.5 b(T)) as in the authors' code. */
export function effectiveR0(s: RunSettings): number {
  return s.r0 ?? Math.ceil(1.5 * s.budget);
}

/** The learning rate the trainer uses when none is set (train/run.ts createTrainer). */
export function defaultLr(method: RunSettings['method']): number {
  return method === 'lora' ? 1e-3 : 2e-3;
}

/** lora_alpha the trainer uses when none is set: PEFT's default 8 for both methods (peft/adapters.ts DEFAULT_ALPHA). */
export const DEFAULT_ALPHA = 8;

export interface TrainableCount {
  /** Adapted modules. */
  modules: number;
  /** Adapter parameters trained (all R0 components during training for dynamic rank). */
  adapter: number;
  /** The classification head (encoders). */
  head: number;
  total: number;
  /** Components left at the end: M * b(T) (dynamic rank) or M * r (LoRA). */
  finalComponents: number;
}

/** What the trainer will train for these settings (Trainer.trainableParameters, computed on the page). */
export function trainableCount(summary: ModelSummary, s: RunSettings, numLabels: number): TrainableCount {
  const mods = summary.modules.filter((m) => matchesTarget(m.type, s.targets));
  const R = s.method === 'dora' ? effectiveR0(s) : s.rank;
  const adapter = mods.reduce((n, m) => n + R * (m.inF + m.outF), 0) + (s.method === 'dora' ? mods.length * R : 0);
  const head = summary.task === 'causal-lm' ? 0 : summary.head.fixed + summary.head.perLabel * numLabels;
  return {
    modules: mods.length,
    adapter,
    head,
    total: adapter + head,
    finalComponents: mods.length * (s.method === 'dora' ? s.budget : s.rank),
  };
}

export interface RankGrid {
  rows: string[];
  layers: number;
  /** rows x layers: live components, null where the module is not adapted. */
  cells: (number | null)[][];
}

/** `h.3.attn.c_attn` -> { layer: 3, type: 'attn.c_attn' }, by the layer lead of each family
 * (`model.layers.2.mlp.up_proj` -> { layer: 2, type: 'mlp.up_proj' }). */
export function splitModuleName(name: string): { layer: number; type: string } | null {
  for (const a of ARCHITECTURES) {
    const m = a.layerPattern.exec(name);
    if (m) return { layer: Number(m[1]), type: name.slice(m[0].length) };
  }
  return null;
}

/** The paper's Figure 2: rows = module types (in `typeOrder`), columns = layers, cells = live components. */
export function rankGrid(modules: string[], live: number[], typeOrder: string[]): RankGrid {
  const parsed = modules.map(splitModuleName);
  const used = new Set(parsed.map((p) => p?.type));
  const rows = [
    ...typeOrder.filter((t) => used.has(t)),
    ...[...used].filter((t): t is string => !!t && !typeOrder.includes(t)),
  ];
  const layers = parsed.reduce((n, p) => Math.max(n, (p?.layer ?? -1) + 1), 0);
  const cells = rows.map(() => new Array<number | null>(layers).fill(null));
  parsed.forEach((p, i) => {
    if (p) cells[rows.indexOf(p.type)][p.layer] = live[i] ?? null;
  });
  return { rows, layers, cells };
}

/** Why this data cannot train this model, or null when it can. */
export function dataProblem(preview: DataPreview | null, task: Task | undefined): string | null {
  if (!preview || !task) return null;
  if (task === 'seq-cls' && preview.format === 'text') {
    return `${preview.fileName} is plain text, but a classification model needs a table with a text column and a label column (CSV, TSV or JSON Lines).`;
  }
  if (task === 'seq-cls' && preview.columns.length < 2) {
    return `${preview.fileName} has one column (${preview.columns[0]}); a classification model needs a text column and a label column.`;
  }
  return null;
}

/** The demo sets offered for the model's task, each marked `chosen` when it is the data in use (or being loaded). */
export function demoOptions(s: {
  summary: ModelSummary | null;
  dataOrigin: 'demo' | 'upload';
  demoChoice: Record<Task, string>;
}): (DemoSet & { chosen: boolean })[] {
  const task = s.summary?.task;
  if (!task) return [];
  return DEMO_SETS[task].map((d) => ({ ...d, chosen: s.dataOrigin === 'demo' && s.demoChoice[task] === d.file }));
}

/** Whether the data is an instruction file the model can be instruction-tuned on (a causal LM). */
export function sftOffered(preview: DataPreview | null, task: Task | undefined): boolean {
  return task === 'causal-lm' && !!preview?.instructionFormat;
}

/** Whether a run started now would be instruction tuning: offered, and switched on. */
export function sftActive(s: {
  preview: DataPreview | null;
  summary: ModelSummary | null;
  settings: RunSettings;
}): boolean {
  return sftOffered(s.preview, s.summary?.task) && !!s.settings.sft;
}

/** Every n-th point so a chart never draws more than `max` (the last point always kept). */
export function thinPoints<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const stride = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % stride === 0 || i === xs.length - 1);
}

/** The memory plan `Start` will apply (src/train/plan.ts) for these settings, from the summary's shapes; the
 * PlanError's message when nothing fits; null before the shapes are known. */
export function memoryPlanOf(
  summary: ModelSummary,
  s: RunSettings,
  numLabels?: number,
): { plan: MemoryPlan } | { error: string } | null {
  if (!summary.shapes) return null;
  const task = summary.task;
  const config = parseModelConfig(summary.shapes.config, { task, numLabels: numLabels || undefined, padTokenId: 0 });
  const shapes = { arch: archFor(config), config, weights: new Map(summary.shapes.weights) };
  const run = {
    method: s.method,
    batch: s.batch,
    seq: s.seq,
    budget: s.budget,
    r0: effectiveR0(s),
    rank: s.rank,
    dropout: s.dropout,
    targets: s.targets.length ? s.targets : undefined,
  };
  try {
    // The options the page set are kept, as Start keeps them (worker/runInfo.ts runConfig, train/plan.ts fixedOptions).
    const fixed = {
      microBatch: s.microBatch ?? undefined,
      recompute: recomputeMode(s.recompute),
      weightPrecision: s.weightPrecision,
    };
    return { plan: planMemory({ shapes, run, fixed }) };
  } catch (e) {
    if (e instanceof PlanError) return { error: e.message };
    throw e;
  }
}
