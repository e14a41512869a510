// Facts about a run for the page: its trainer config, the budget schedule's target per step and a one-line
// description of the data.

import { recomputeMode } from '../nn/recompute';
import { planStep } from '../peft/schedule';
import { DEFAULT_RUN, type PreparedData, type RunConfig } from '../train/run';
import type { Trainer } from '../train/trainer';
import type { RunSettings } from './protocol';

/** The trainer's config for the page's settings: epochs, when set, decide the step count from the data's size. */
export function runConfig(s: RunSettings): RunConfig {
  return {
    ...DEFAULT_RUN,
    method: s.method,
    budget: s.budget,
    r0: s.r0 ?? undefined,
    rank: s.rank,
    alpha: s.alpha ?? undefined,
    dropout: s.dropout,
    modelDropout: s.modelDropout ?? true,
    targets: s.targets,
    steps: s.epochs ? undefined : s.steps,
    epochs: s.epochs ?? undefined,
    batch: s.batch,
    microBatch: s.microBatch ?? undefined,
    recompute: recomputeMode(s.recompute),
    seq: s.seq,
    lr: s.lr ?? undefined,
    seed: s.seed,
    pruneInterval: s.pruneInterval,
    eta: s.eta,
    logEvery: 1,
    // Instruction tuning cuts each example at the sequence length (and at the model's positions).
    sft: s.sft ? { format: s.sft.format, trainOnPrompt: s.sft.trainOnPrompt, maxLength: s.seq } : undefined,
    weightPrecision: s.weightPrecision,
  };
}

/**
 * Target live components after each step 0..steps: the budget schedule b(t) summed over modules for dynamic rank
 * (as peft/schedule.ts expectedLive, in one pass), M*r throughout for LoRA.
 */
export function scheduleTargets(trainer: Trainer, steps: number): Int32Array {
  const a = trainer.adapters!,
    out = new Int32Array(steps + 1);
  const total = a.modules.length * a.opts.R0;
  let live = total;
  out[0] = total;
  for (let s = 1; s <= steps; s++) {
    if (trainer.allocator) {
      const p = planStep(s, trainer.allocator.schedule);
      if (p.prune) live = total - p.k;
    }
    out[s] = live;
  }
  return out;
}

export function describeData(fileName: string, data: PreparedData): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  if (data.summary.sft && data.train.kind === 'lm' && data.val.kind === 'lm') {
    const s = data.summary as { trainableTokens: number; tokens: number; truncated: number; badRows: number };
    return (
      `${fileName}: ${fmt(data.train.windows.length)} training and ${fmt(data.val.windows.length)} validation ` +
      `conversations; ${fmt(s.trainableTokens)} of ${fmt(s.tokens)} tokens trained on` +
      (s.truncated ? `; ${fmt(s.truncated)} cut to ${data.summary.maxLength} tokens` : '') +
      (s.badRows ? `; ${fmt(s.badRows)} rows skipped.` : '.')
    );
  }
  if (data.train.kind === 'lm' && data.val.kind === 'lm') {
    const tokens = (data.summary.tokens as { total?: number } | undefined)?.total ?? 0;
    return `${fileName}: ${fmt(tokens)} tokens in ${fmt(data.train.windows.length)} training and ${fmt(data.val.windows.length)} validation windows of ${data.train.seq} tokens.`;
  }
  if (data.train.kind === 'cls' && data.val.kind === 'cls') {
    const bad = Number(data.summary.badRows ?? 0);
    return (
      `${fileName}: ${fmt(data.train.examples.length)} training and ${fmt(data.val.examples.length)} validation examples; labels ${(data.labels ?? []).join(', ')}` +
      (bad ? `; ${fmt(bad)} rows skipped.` : '.')
    );
  }
  return fileName;
}
