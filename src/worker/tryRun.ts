// Trying a trained run: validation loss, and text generated or classified with and without the adapters.

import { classify, generate, readEosIds } from '../models/generate';
import type { BatchSource } from '../train/data/batches';
import { evaluate } from '../train/run';
import type { Command } from './protocol';
import type { Run } from './runStart';
import { sourceFor } from './summary';

/** Validation items evaluated at most (and at most 16 batches beyond 64 items), so the page answers quickly. */
const EVAL_CAP = 256;

/** The run's validation metrics on at most EVAL_CAP items. */
export function evaluateRun(r: Run): ReturnType<typeof evaluate> {
  const val = capped(r.data.val, r.cfg.batch);
  return evaluate(r.trainer, val, r.cfg.batch);
}

/** The prompt continued by the adapted model and by the base model. */
export async function generateBoth(
  r: Run,
  cmd: Extract<Command, { type: 'generate' }>,
): Promise<{ base: string; adapted: string }> {
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
  return { base, adapted };
}

/** The text's label probabilities from the adapted model and from the base model. */
export async function classifyBoth(r: Run, text: string): Promise<{ base: number[]; adapted: number[] }> {
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
  return { base, adapted };
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
