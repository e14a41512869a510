// Trying a trained run: validation loss, and text generated or classified with and without the adapters.

import { classify, type GenerativeModel, generate, generateIds, readEosIds } from '../models/generate';
import type { BatchSource } from '../train/data/batches';
import { endOfTurnIds } from '../train/data/chat';
import { evaluate } from '../train/run';
import type { Command, EvalResult } from './protocol';
import type { Run } from './runStart';
import { chatFor } from './sftData';
import { sourceFor } from './summary';

/** Validation items evaluated at most (and at most 16 batches beyond 64 items), so the page answers quickly. */
const EVAL_CAP = 256;

/**
 * The run's validation metrics on at most EVAL_CAP items. An instruction-tuning run's labels are -100 outside the
 * answers (unless it trains on the prompt too), so its loss and perplexity are over the answers' tokens only.
 */
export async function evaluateRun(r: Run): Promise<Omit<EvalResult, 'step'>> {
  const val = capped(r.data.val, r.cfg.batch);
  const m = await evaluate(r.trainer, val, r.cfg.batch);
  return r.cfg.sft && !r.cfg.sft.trainOnPrompt ? { ...m, answerTokensOnly: true } : m;
}

/** The run's causal decoder, or an error saying why this model cannot generate here. */
function decoderOf(r: Run): GenerativeModel {
  const model = r.model;
  if (model.task !== 'causal-lm') throw new Error('This model classifies text; use Classify.');
  if (!('prefill' in model.net)) {
    throw new Error(
      `${model.arch.title(model.config)} cannot generate here yet: its network has no KV-cache ` +
        'decoder. Train and export it; try it with `dynrank logits`.',
    );
  }
  return { ...model, net: model.net };
}

/** The prompt continued by the adapted model and by the base model. */
export async function generateBoth(
  r: Run,
  cmd: Extract<Command, { type: 'generate' }>,
): Promise<{ base: string; adapted: string }> {
  const decoder = decoderOf(r),
    be = r.trainer.be;
  const eosIds = await readEosIds(sourceFor(r.id.modelId), decoder);
  const opts = { maxTokens: cmd.maxTokens, temperature: cmd.temperature, topK: cmd.topK, seed: cmd.seed, eosIds };
  const adapted = await withEval(r, () => generate(be, decoder, cmd.prompt, opts));
  const base = await withoutAdapters(r, () => generate(be, decoder, cmd.prompt, opts));
  return { base, adapted };
}

/**
 * One user message answered by the adapted and by the base model: the message rendered with the model's chat template
 * and its generation prompt, then greedy decoding until an end of sequence or of the turn, or `maxTokens`.
 */
export async function chatBoth(
  r: Run,
  cmd: Extract<Command, { type: 'chat' }>,
): Promise<{ base: string; adapted: string }> {
  const decoder = decoderOf(r),
    be = r.trainer.be;
  const chat = await chatFor(r.id.modelId);
  const prompt = chat.template.render([{ role: 'user', content: cmd.message }], { addGenerationPrompt: true });
  const ids = chat.tokenizer.encode(prompt);
  const stop = new Set([...(await readEosIds(sourceFor(r.id.modelId), decoder)), ...endOfTurnIds(chat)]);
  const opts = { maxTokens: cmd.maxTokens, temperature: 0, topK: 0, seed: 0, eosIds: [...stop] };
  const answer = async () => chat.tokenizer.decode(await generateIds(be, decoder, ids, opts));
  const adapted = await withEval(r, answer);
  const base = await withoutAdapters(r, answer);
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
