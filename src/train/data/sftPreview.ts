// The instruction-tuning preview: how an instruction file will be trained on, as the set-up panel shows it. The
// first examples rendered with the model's chat template and cut into spans of trained tokens (labels != -100) and
// untrained ones, and the counts of the data report (examples, truncated ones, bad rows). Plain data, no DOM.

import type { ModelChat } from './chat';
import { type BadRow, badRowReport } from './errors';
import { IGNORE_INDEX, readSftRecords, type SftFormat, tokenizeSft } from './sft';

/** One run of consecutive tokens that are all trained on, or all not. */
export interface TokenSpan {
  text: string;
  trained: boolean;
}

interface SftPreviewExample {
  /** The line of the file the example comes from. */
  line: number;
  /** The example's tokens decoded, in runs of trained and untrained tokens. */
  spans: TokenSpan[];
  tokens: number;
  trainedTokens: number;
  /** The rendered conversation had more than maxLength tokens and was cut. */
  truncated: boolean;
}

export interface SftPreview {
  fileName: string;
  /** The format the rows were read as (the override, or the one the columns say). */
  format: SftFormat;
  /** Where the template came from, the named entry picked, and the tokenizer's eos token (null when it names none):
   * the fallback template ends each answer with it, so without one the model gets no end of an answer to learn. */
  template: { origin: ModelChat['template']['origin']; name: string | null; eos: string | null };
  maxLength: number;
  trainOnPrompt: boolean;
  /** The first examples in file order. */
  examples: SftPreviewExample[];
  counts: {
    examples: number;
    truncated: number;
    badRows: number;
    tokens: number;
    trainableTokens: number;
    /** Conversations the template does not render prefix-stably, trained as one example per assistant turn. */
    splitConversations: number;
  };
  /** The first rows not used (unreadable, invalid for the format, rejected by the template), with their lines. */
  badRows: BadRow[];
}

export interface SftPreviewOptions {
  format: SftFormat | 'auto';
  trainOnPrompt: boolean;
  maxLength: number;
  /** Examples shown (default 3). */
  show?: number;
}

const BAD_SHOWN = 8;

/**
 * The example's ids cut where trained (label != -100) and untrained tokens meet, each run decoded. The cuts are taken
 * as character offsets of the whole decoded text (decode(ids[:k]).length), so the runs join up to exactly that text
 * even where a run boundary falls inside a multi-byte character.
 */
export function tokenSpans(
  tok: Pick<ModelChat['tokenizer'], 'decode'>,
  inputIds: ArrayLike<number>,
  labels: ArrayLike<number>,
): TokenSpan[] {
  const ids = Array.from(inputIds);
  const whole = tok.decode(ids);
  const spans: TokenSpan[] = [];
  let start = 0,
    from = 0;
  for (let k = 1; k <= ids.length; k++) {
    const trained = labels[start] !== IGNORE_INDEX;
    if (k < ids.length && (labels[k] !== IGNORE_INDEX) === trained) continue;
    const to = k === ids.length ? whole.length : tok.decode(ids.slice(0, k)).length;
    if (to > from) spans.push({ text: whole.slice(from, to), trained });
    start = k;
    from = Math.max(from, to);
  }
  return spans;
}

/**
 * Reads `text` as instruction data (readSftRecords: the same errors and bad rows as training), tokenizes every row
 * with the model's chat template as training does (tokenizeSft), and keeps the first examples as token spans.
 */
export function sftPreviewOf(
  file: { text: string; fileName: string },
  chat: ModelChat,
  opts: SftPreviewOptions,
): SftPreview {
  const records = readSftRecords(file.text, file.fileName, { format: opts.format });
  const t = tokenizeSft(records.records, chat.tokenizer, chat.template, {
    maxLength: opts.maxLength,
    trainOnPrompt: opts.trainOnPrompt,
  });
  const bad = badRowReport(
    [...records.badRows, ...t.badRows].sort((a, b) => a.line - b.line),
    BAD_SHOWN,
  );
  const examples = t.examples.slice(0, opts.show ?? 3).map((e) => {
    const spans = tokenSpans(chat.tokenizer, e.inputIds, e.labels);
    let trainedTokens = 0;
    for (const l of e.labels) if (l !== IGNORE_INDEX) trainedTokens++;
    return {
      line: e.line,
      spans,
      tokens: e.inputIds.length,
      trainedTokens,
      truncated: e.inputIds.length >= opts.maxLength && chat.tokenizer.encode(e.text).length > opts.maxLength,
    };
  });
  return {
    fileName: file.fileName,
    format: records.format,
    template: {
      origin: chat.template.origin,
      name: chat.template.name,
      eos: chat.tokenizer.eosId === null ? null : chat.tokenizer.decode([chat.tokenizer.eosId]),
    },
    maxLength: opts.maxLength,
    trainOnPrompt: opts.trainOnPrompt,
    examples,
    counts: {
      examples: t.stats.examples,
      truncated: t.stats.truncated,
      badRows: bad.count,
      tokens: t.stats.tokens,
      trainableTokens: t.stats.trainableTokens,
      splitConversations: t.stats.splitConversations,
    },
    badRows: bad.first,
  };
}
