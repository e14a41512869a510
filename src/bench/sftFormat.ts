// Format following after instruction tuning: held-out prompts answered greedily through the model's chat template,
// and the fraction of answers in the demo set's fixed format (public/datasets/instruct-demo*.jsonl: every assistant
// turn is `ANSWER: <word>.`). The same prompts are answered by the base model (adapters off) and the adapted one.

import { type GenerativeModel, generateIds } from '../models/generate';
import type { LoadedModel } from '../models/load';
import type { Backend } from '../tensor/backend';
import type { ChatMessage } from '../train/data/chat';
import { readSftRecords } from '../train/data/sft';
import type { SftChat } from '../train/run';
import type { Trainer } from '../train/trainer';

/** An answer that starts in the format: `ANSWER: ` then one to three lower-case words and a full stop. */
export const FORMAT_START = /^ANSWER: [a-z]+(?: [a-z]+){0,2}\./;
/** An answer that is exactly the format: it also stops (end of turn) right after the full stop. */
export const FORMAT_EXACT = /^ANSWER: [a-z]+(?: [a-z]+){0,2}\.$/;

export interface HeldOutPrompt {
  /** The conversation up to the last assistant turn, which the model answers. */
  messages: ChatMessage[];
  /** The assistant turn of the file (for reading samples; not scored). */
  reference: string;
}

/** The prompts of a messages file: each row's turns before its last assistant turn. */
export function heldOutPrompts(text: string, fileName: string): HeldOutPrompt[] {
  return readSftRecords(text, fileName, { format: 'messages' }).records.map((r) => {
    const last = r.messages.findLastIndex((m) => m.role === 'assistant');
    return { messages: r.messages.slice(0, last), reference: r.messages[last].content };
  });
}

export interface FormatRates {
  /** Fraction of answers matching FORMAT_START. */
  start: number;
  /** Fraction of answers matching FORMAT_EXACT. */
  exact: number;
  answers: string[];
}

export interface AnswerOptions {
  maxTokens: number;
  /** Ids that end an answer (generation_config.json's, e.g. <|end_of_text|> and <|im_end|>). */
  eosIds: readonly number[];
}

/**
 * Greedy answers to `prompts`: each rendered with the template and its generation prompt, encoded without adding
 * special tokens (the template writes them), continued by at most maxTokens tokens; then the format rates.
 */
export async function formatRates(
  be: Backend,
  model: LoadedModel,
  chat: SftChat,
  prompts: HeldOutPrompt[],
  opts: AnswerOptions,
): Promise<FormatRates> {
  if (model.task !== 'causal-lm' || !('prefill' in model.net)) {
    throw new Error(`${model.name}: format rates need a causal LM with a KV-cache decoder`);
  }
  const decoder = model as unknown as GenerativeModel;
  const answers: string[] = [];
  for (const p of prompts) {
    const ids = chat.tokenizer.encode(chat.template.render(p.messages, { addGenerationPrompt: true }));
    const out = await generateIds(be, decoder, ids, {
      maxTokens: opts.maxTokens,
      temperature: 0,
      topK: 0,
      seed: 0,
      eosIds: opts.eosIds,
    });
    answers.push(chat.tokenizer.decode(out));
  }
  const rate = (re: RegExp) => answers.filter((a) => re.test(a)).length / Math.max(answers.length, 1);
  return { start: rate(FORMAT_START), exact: rate(FORMAT_EXACT), answers };
}

/** formatRates with the trainer's adapters in eval mode (no dropout), or taken off the linears (`base`). */
export async function trainerFormatRates(
  trainer: Trainer,
  chat: SftChat,
  prompts: HeldOutPrompt[],
  opts: AnswerOptions & { base: boolean },
): Promise<FormatRates> {
  const a = trainer.adapters;
  const model = trainer.task.model;
  if (!a) return formatRates(trainer.be, model, chat, prompts, opts);
  const hooks = a.modules.map((m) => m.linear.adapter),
    was = a.training;
  a.training = false;
  if (opts.base) a.detach();
  try {
    return await formatRates(trainer.be, model, chat, prompts, opts);
  } finally {
    a.training = was;
    a.modules.forEach((m, i) => {
      m.linear.adapter = hooks[i];
    });
  }
}
