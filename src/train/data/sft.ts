// Instruction-tuning data: conversations read from JSONL/CSV/text in one of four formats, rendered with the model's
// chat template, tokenized with labels only on the assistant's tokens (-100 elsewhere, aligned with input_ids; the
// shift happens in the loss), truncated to a maximum length, split train/val with a seed, and padded into batches.

import { Rng } from '../../tensor/rng';
import type { HostBatch } from '../task';
import { type ChatMessage, type ChatRole, type ChatTemplate, type ChatTokenizer, TemplateRenderError } from './chat';
import { type BadRow, DataError, describeBadRows, excerpt } from './errors';
import { type ParsedTable, parseTable } from './parse';

export type SftFormat = 'messages' | 'prompt-completion' | 'alpaca' | 'text';
export const SFT_FORMATS: readonly SftFormat[] = ['messages', 'prompt-completion', 'alpaca', 'text'];

/** transformers' ignore index: labels with this value are not trained on. */
export const IGNORE_INDEX = -100;

/** One usable row: a conversation (or, for 'text', one document in `text`) and the line it starts on. */
export interface SftRecord {
  line: number;
  messages: ChatMessage[];
  /** Only for the 'text' format: the document, trained on whole, without a template. */
  text?: string;
}

export interface SftRecords {
  fileName: string;
  format: SftFormat;
  records: SftRecord[];
  /** Rows not used, in file order: unreadable ones and those that are not a valid example of the format. */
  badRows: BadRow[];
}

const ROLES = new Set<ChatRole>(['system', 'user', 'assistant']);
const norm = (c: string) => c.trim().toLowerCase();
const FORMAT_HINT =
  'Use JSON Lines with {"messages": [{"role": "user", "content": ...}, {"role": "assistant", ' +
  '"content": ...}]}, {"prompt", "completion"} or {"instruction", "input", "output"}, a CSV with prompt/completion ' +
  'or instruction/input/output columns, or plain text; or name the format (messages, prompt-completion, alpaca, text).';

/** The format the columns say, or null: messages, prompt+completion, instruction+output, text (case ignored). */
export function detectSftFormat(table: Pick<ParsedTable, 'format' | 'columns'>): SftFormat | null {
  if (table.format === 'text') return 'text';
  const cols = new Set(table.columns.map(norm));
  if (cols.has('messages')) return 'messages';
  if (cols.has('prompt') && cols.has('completion')) return 'prompt-completion';
  if (cols.has('instruction') && cols.has('output')) return 'alpaca';
  if (cols.has('text')) return 'text';
  return null;
}

const REQUIRED: Record<SftFormat, string[]> = {
  messages: ['messages'],
  'prompt-completion': ['prompt', 'completion'],
  alpaca: ['instruction', 'output'],
  text: ['text'],
};

class BadRecord extends Error {}

/** A string field; a missing one is '' (CSV cells and absent JSON keys), anything else not a string is bad. */
function stringField(row: Record<string, unknown>, key: string): string {
  const v = row[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') {
    throw new BadRecord(`"${key}" is ${Array.isArray(v) ? 'a list' : `a ${typeof v}`}, not a string`);
  }
  return v;
}

/** Checks a list of messages; `where` names the field in the reasons ("messages", "prompt"). */
function messageList(v: unknown, where: string, needAssistant: boolean): ChatMessage[] {
  let list = v;
  if (typeof list === 'string') {
    // A CSV cell holding the JSON list.
    try {
      list = JSON.parse(list);
    } catch {
      throw new BadRecord(`"${where}" is not a JSON list of {"role", "content"} messages`);
    }
  }
  if (!Array.isArray(list)) throw new BadRecord(`"${where}" is not a list of {"role", "content"} messages`);
  const out: ChatMessage[] = [];
  list.forEach((m: unknown, i) => {
    const at = `${where} ${i + 1}`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) {
      throw new BadRecord(`${at} is not a {"role", "content"} object`);
    }
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role as ChatRole)) {
      throw new BadRecord(`${at} has the role ${JSON.stringify(role ?? null)}; use "system", "user" or "assistant"`);
    }
    if (typeof content !== 'string') {
      throw new BadRecord(
        `${at} (${role}) has ${
          content === undefined
            ? 'no'
            : `a non-string (${Array.isArray(content) ? 'list' : content === null ? 'null' : typeof content})`
        } "content"`,
      );
    }
    if (role === 'assistant' && content.trim() === '') throw new BadRecord(`${at} is an empty assistant turn`);
    out.push({ role: role as ChatRole, content });
  });
  if (needAssistant && !out.some((m) => m.role === 'assistant')) {
    throw new BadRecord(`"${where}" has no assistant turn to learn from`);
  }
  return out;
}

function recordOf(
  row: Record<string, unknown>,
  format: SftFormat,
  col: (k: string) => string,
): Omit<SftRecord, 'line'> {
  switch (format) {
    case 'messages':
      return { messages: messageList(row[col('messages')], 'messages', true) };
    case 'prompt-completion': {
      const p = row[col('prompt')],
        c = row[col('completion')];
      // TRL's conversational form: prompt and completion are lists of messages.
      if (Array.isArray(p) || Array.isArray(c)) {
        const prompt = messageList(p ?? [], 'prompt', false),
          completion = messageList(c ?? [], 'completion', true);
        return { messages: [...prompt, ...completion] };
      }
      const prompt = stringField(row, col('prompt')),
        completion = stringField(row, col('completion'));
      if (completion.trim() === '') throw new BadRecord('empty "completion"');
      return {
        messages: [
          { role: 'user', content: prompt },
          { role: 'assistant', content: completion },
        ],
      };
    }
    case 'alpaca': {
      const instruction = stringField(row, col('instruction')),
        output = stringField(row, col('output'));
      const input = col('input') in row ? stringField(row, col('input')) : '';
      if (output.trim() === '') throw new BadRecord('empty "output"');
      const user = input.trim() === '' ? instruction : instruction === '' ? input : `${instruction}\n\n${input}`;
      return {
        messages: [
          { role: 'user', content: user },
          { role: 'assistant', content: output },
        ],
      };
    }
    case 'text': {
      const text = stringField(row, col('text'));
      if (text.trim() === '') throw new BadRecord('empty "text"');
      return { messages: [], text };
    }
  }
}

/**
 * Reads a data file for instruction tuning. The table is read by parseTable (same errors, same unreadable-row
 * report); JSON Lines rows are read again from their lines so nested messages and non-string values are seen as they
 * are. `format` 'auto' takes it from the columns (detectSftFormat). Each row that is not a valid example (unknown role,
 * empty assistant turn, non-string content, no assistant turn, empty completion/output) is a bad row with its line.
 */
export function readSftRecords(text: string, fileName: string, opts: { format?: SftFormat | 'auto' } = {}): SftRecords {
  const table = parseTable(text, fileName);
  const wanted = opts.format ?? 'auto';
  const have = table.columns.map((c) => `"${c}"`).join(', ');
  const format = wanted === 'auto' ? detectSftFormat(table) : wanted;
  if (format === null) {
    throw new DataError({
      code: 'BadMapping',
      file: fileName,
      message: `${fileName}: cannot tell the instruction format from the columns ${have}. ${FORMAT_HINT}`,
    });
  }
  if (!SFT_FORMATS.includes(format)) {
    throw new DataError({
      code: 'BadOptions',
      file: fileName,
      message: `Unknown data format "${String(format)}"; use auto, ${SFT_FORMATS.join(', ')}.`,
    });
  }
  const byNorm = new Map<string, string>();
  for (const c of table.columns) if (!byNorm.has(norm(c))) byNorm.set(norm(c), c);
  const col = (k: string) => byNorm.get(k) ?? k;
  const missing = table.format === 'text' && format === 'text' ? [] : REQUIRED[format].filter((k) => !byNorm.has(k));
  if (missing.length) {
    throw new DataError({
      code: 'BadMapping',
      file: fileName,
      message:
        `${fileName}: the ${format} format needs the column${missing.length > 1 ? 's' : ''} ` +
        `${missing.map((m) => `"${m}"`).join(' and ')}, but the columns are ${have}. ${FORMAT_HINT}`,
    });
  }
  let rows: Record<string, unknown>[] = table.rows;
  if (table.format === 'jsonl') {
    const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r\n|\n|\r/);
    rows = table.lines.map((l) => JSON.parse(lines[l - 1].trim()) as Record<string, unknown>);
  }
  const records: SftRecord[] = [],
    bad: BadRow[] = [];
  rows.forEach((row, i) => {
    const line = table.lines[i] ?? 0;
    try {
      records.push({ line, ...recordOf(row, format, col) });
    } catch (e) {
      if (!(e instanceof BadRecord)) throw e;
      const raw = table.format === 'jsonl' ? JSON.stringify(row) : Object.values(table.rows[i]).join(' | ');
      bad.push({ line, reason: e.message, excerpt: excerpt(raw) });
    }
  });
  const badRows = [...table.badRows, ...bad].sort((a, b) => a.line - b.line);
  if (!records.length) {
    throw new DataError({
      code: 'NoRows',
      file: fileName,
      message:
        `${fileName} (read as ${format}): no row is a usable example (${describeBadRows(badRows)}). ` +
        'Fix the rows or pick another format.',
      examples: badRows.slice(0, 5),
    });
  }
  return { fileName, format, records, badRows };
}

/** One tokenized example: ids, labels (-100 where not trained; aligned with ids) and the rendered text. */
export interface SftExample {
  inputIds: Int32Array;
  labels: Int32Array;
  /** The text the ids were encoded from (the whole rendered conversation, also when the ids were truncated). */
  text: string;
  /** The line of the file the example comes from. */
  line: number;
}

export interface SftOptions {
  /** Longest example in tokens; longer ones are truncated (see truncateExample). */
  maxLength: number;
  /** Train on every token, not only the assistant's. */
  trainOnPrompt?: boolean;
}

interface SftStats {
  /** Rows read as examples (before multi-turn conversations are split). */
  records: number;
  examples: number;
  /** Conversations cut to maxLength (see truncateExample). */
  truncated: number;
  /** Plain-text documents longer than maxLength, cut into consecutive windows (nothing dropped). */
  chunkedDocuments: number;
  /**
   * Conversations the template does not render prefix-stably (a turn renders differently once later turns follow,
   * as Qwen3 drops reasoning from earlier turns); each assistant turn became its own example with its history.
   */
  splitConversations: number;
  /**
   * Turn boundaries where the tokens of the text before an assistant turn are not a prefix of the whole text's
   * tokens (a token spans the boundary); the boundary was placed by decoded character offsets instead.
   */
  boundaryFallbacks: number;
  tokens: number;
  trainableTokens: number;
}

export interface SftTokenized {
  examples: SftExample[];
  /**
   * The split group of each example: the examples of one conversation share one (so a split conversation's turns
   * stay on one side of the split), each window of a document has its own.
   */
  groups: number[];
  /** Rows the template rejected (raise_exception), with their lines. */
  badRows: BadRow[];
  stats: SftStats;
}

function checkMaxLength(maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new DataError({
      code: 'BadOptions',
      file: '',
      message: `The maximum length must be a whole number of tokens of at least 2 (got ${maxLength}).`,
    });
  }
}

/** Character spans of the text to train on: [start, end) of each assistant turn. */
interface Rendered {
  text: string;
  spans: [number, number][];
}

/**
 * The texts a conversation trains on. For each assistant turn i the conversation is rendered up to it with the
 * generation prompt (P_i) and including it (R_i); the turn's trainable part is R_i after P_i. When every P_i is a
 * prefix of R_i and every R_i a prefix of the whole rendering, that rendering is one example with all the spans;
 * otherwise each turn becomes the example R_i with its one span (what the model sees when answering that turn).
 */
function renderConversation(template: ChatTemplate, messages: ChatMessage[]): { parts: Rendered[]; split: boolean } {
  const full = template.render(messages, { addGenerationPrompt: false });
  const turns: { p: string; r: string }[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const p = template.render(messages.slice(0, i), { addGenerationPrompt: true });
    const r =
      i === messages.length - 1 ? full : template.render(messages.slice(0, i + 1), { addGenerationPrompt: false });
    if (!r.startsWith(p)) {
      throw new TemplateRenderError(
        `the chat template does not render assistant turn ${i + 1} after its generation ` +
          'prompt, so the answer cannot be told from the prompt',
      );
    }
    turns.push({ p, r });
  });
  if (turns.every((t) => full.startsWith(t.r))) {
    return { parts: [{ text: full, spans: turns.map((t) => [t.p.length, t.r.length]) }], split: false };
  }
  return { parts: turns.map((t) => ({ text: t.r, spans: [[t.p.length, t.r.length]] })), split: true };
}

const isPrefix = (p: number[], ids: number[]) => p.length <= ids.length && p.every((x, k) => x === ids[k]);

/**
 * The token index of character offset `c` of `text` (ids = encode(text)): the length of encode(text[:c]) when those
 * ids are a prefix of ids; otherwise from decoded lengths, with a token spanning the boundary counted on the answer's
 * side (`side` 'start': the last k whose decoded text ends at or before c; 'end': the first k reaching c).
 */
function tokenBoundary(
  tok: ChatTokenizer,
  text: string,
  ids: number[],
  c: number,
  side: 'start' | 'end',
  stats: SftStats,
): number {
  if (c <= 0) return 0;
  if (c >= text.length) return ids.length;
  const p = tok.encode(text.slice(0, c));
  if (isPrefix(p, ids)) return p.length;
  stats.boundaryFallbacks++;
  const len = (k: number) => tok.decode(ids.slice(0, k)).length;
  let lo = 0,
    hi = ids.length;
  if (side === 'start') {
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (len(mid) <= c) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (len(mid) >= c) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Cuts an example to `maxLength` tokens keeping the start of the first trained token s: the window [w, w+maxLength)
 * with w = max(0, s + room - maxLength), room = min(tokens from s on, ceil(maxLength/2)); so the prompt is cut from
 * the left only when the answer would otherwise keep fewer than half the window, and the answer's tail (or later turns)
 * is cut otherwise. A leading bos token is kept when the prompt is cut. Examples within the limit are returned as is.
 */
export function truncateExample(ex: SftExample, maxLength: number, bosId: number | null): SftExample {
  const n = ex.inputIds.length;
  if (n <= maxLength) return ex;
  let s = ex.labels.findIndex((l) => l !== IGNORE_INDEX);
  if (s < 0) s = 0;
  const room = Math.min(n - s, Math.ceil(maxLength / 2));
  const w = Math.max(0, s + room - maxLength);
  if (w > 0 && bosId !== null && ex.inputIds[0] === bosId) {
    const cut = (a: Int32Array) => {
      const out = new Int32Array(maxLength);
      out[0] = a[0];
      out.set(a.subarray(w + 1, w + maxLength), 1);
      return out;
    };
    return { ...ex, inputIds: cut(ex.inputIds), labels: cut(ex.labels) };
  }
  return { ...ex, inputIds: ex.inputIds.slice(w, w + maxLength), labels: ex.labels.slice(w, w + maxLength) };
}

/**
 * Tokenized examples from records: conversations rendered with `template` (see renderConversation), labels on the
 * assistant spans only, truncated by those spans (truncateExample), then with trainOnPrompt labelled everywhere;
 * 'text' records are trained on whole, followed by eos when the tokenizer has one, in windows of maxLength tokens.
 * A conversation the template rejects is a bad row.
 */
export function tokenizeSft(
  records: SftRecord[],
  tok: ChatTokenizer,
  template: ChatTemplate,
  opts: SftOptions,
): SftTokenized {
  checkMaxLength(opts.maxLength);
  const stats: SftStats = {
    records: records.length,
    examples: 0,
    truncated: 0,
    chunkedDocuments: 0,
    splitConversations: 0,
    boundaryFallbacks: 0,
    tokens: 0,
    trainableTokens: 0,
  };
  const examples: SftExample[] = [],
    groups: number[] = [],
    badRows: BadRow[] = [];
  let group = 0;
  const push = (ex: SftExample, g: number) => {
    stats.tokens += ex.inputIds.length;
    for (const l of ex.labels) if (l !== IGNORE_INDEX) stats.trainableTokens++;
    examples.push(ex);
    groups.push(g);
  };
  for (const rec of records) {
    let parts: Rendered[];
    if (rec.text !== undefined) {
      parts = [{ text: rec.text, spans: [[0, rec.text.length]] }];
    } else {
      try {
        const r = renderConversation(template, rec.messages);
        parts = r.parts;
        if (r.split) stats.splitConversations++;
      } catch (e) {
        if (!(e instanceof TemplateRenderError)) throw e;
        const raw = rec.messages.map((m) => m.content).join(' | ');
        badRows.push({ line: rec.line, reason: e.message, excerpt: excerpt(raw) });
        continue;
      }
    }
    for (const part of parts) {
      const ids = tok.encode(part.text);
      if (rec.text !== undefined) {
        // A document is trained on whole, in consecutive windows of maxLength tokens (each its own split group).
        if (tok.eosId !== null) ids.push(tok.eosId);
        if (ids.length > opts.maxLength) stats.chunkedDocuments++;
        for (let o = 0; o < ids.length; o += opts.maxLength) {
          const w = Int32Array.from(ids.slice(o, o + opts.maxLength));
          push({ inputIds: w, labels: w.slice(), text: part.text, line: rec.line }, group++);
        }
        continue;
      }
      const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
      for (const [a, b] of part.spans) {
        const s = tokenBoundary(tok, part.text, ids, a, 'start', stats);
        const e = tokenBoundary(tok, part.text, ids, b, 'end', stats);
        for (let k = s; k < e; k++) labels[k] = ids[k];
      }
      let ex: SftExample = { inputIds: Int32Array.from(ids), labels, text: part.text, line: rec.line };
      if (ex.inputIds.length > opts.maxLength) {
        ex = truncateExample(ex, opts.maxLength, tok.bosId);
        stats.truncated++;
      }
      if (opts.trainOnPrompt) ex.labels = ex.inputIds.slice();
      push(ex, group);
    }
    group++;
  }
  stats.examples = examples.length;
  return { examples, groups, badRows, stats };
}

export interface SftSet {
  format: SftFormat;
  train: SftExample[];
  val: SftExample[];
  /** Rows not used, in file order (unreadable, invalid for the format, rejected by the template). */
  badRows: BadRow[];
  stats: SftStats;
  split: { method: 'simple'; seed: number; valFraction: number; train: number; val: number };
}

// The same split stream as dataset.ts (seed mixed so the batch shuffles driven by the same seed do not correlate).
const splitRng = (seed: number) => new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x5eed5eed) >>> 0);

/**
 * Tokenizes and splits: of the G split groups (conversations; windows of documents), round(G * valFraction) picked
 * with the seed (at least 1 when valFraction > 0 and G >= 2, at most G - 1) go to validation with all their
 * examples, so no conversation's turns are on both sides; both splits keep file order.
 */
export function buildSftSet(
  data: SftRecords,
  tok: ChatTokenizer,
  template: ChatTemplate,
  opts: SftOptions & { seed: number; valFraction: number },
): SftSet {
  const file = data.fileName;
  if (!(opts.valFraction >= 0 && opts.valFraction < 1)) {
    throw new DataError({
      code: 'BadOptions',
      file,
      message: `The validation fraction must be at least 0 and below 1 (got ${opts.valFraction}); 0.1 is a good start.`,
    });
  }
  const t = tokenizeSft(data.records, tok, template, opts);
  const badRows = [...data.badRows, ...t.badRows].sort((a, b) => a.line - b.line);
  const n = t.examples.length;
  if (!n) {
    throw new DataError({
      code: 'NoRows',
      file,
      message: `${file}: the chat template rejected every conversation (${describeBadRows(badRows)}).`,
      examples: badRows.slice(0, 5),
    });
  }
  const ids = [...new Set(t.groups)];
  const G = ids.length;
  let nVal = opts.valFraction > 0 && G >= 2 ? Math.max(1, Math.round(G * opts.valFraction)) : 0;
  nVal = Math.min(nVal, G - 1);
  const valGroups = new Set(splitRng(opts.seed).shuffle(ids).slice(0, nVal));
  const isVal = t.groups.map((g) => valGroups.has(g));
  const train = t.examples.filter((_, i) => !isVal[i]),
    val = t.examples.filter((_, i) => isVal[i]);
  return {
    format: data.format,
    train,
    val,
    badRows,
    stats: t.stats,
    split: { method: 'simple', seed: opts.seed, valFraction: opts.valFraction, train: train.length, val: val.length },
  };
}

/** Examples padded on the right to the longest one: B rows of T, row-major. */
export interface SftBatch {
  B: number;
  T: number;
  inputIds: Int32Array;
  /** -100 on padding and on untrained tokens; aligned with inputIds. */
  labels: Int32Array;
  /** 1 on real tokens, 0 on padding. */
  attentionMask: Int32Array;
}

/** Pads `examples` with `padId` (labels -100, mask 0) to the longest, or to `length` when given and not shorter. */
export function sftBatch(examples: SftExample[], opts: { padId: number; length?: number }): SftBatch {
  const B = examples.length;
  const longest = Math.max(0, ...examples.map((e) => e.inputIds.length));
  const T = Math.max(longest, opts.length ?? 0);
  const inputIds = new Int32Array(B * T).fill(opts.padId),
    labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const attentionMask = new Int32Array(B * T);
  examples.forEach((e, b) => {
    inputIds.set(e.inputIds, b * T);
    labels.set(e.labels, b * T);
    attentionMask.fill(1, b * T, b * T + e.inputIds.length);
  });
  return { B, T, inputIds, labels, attentionMask };
}

/**
 * The batch as a causal-LM host batch: targets[t] = labels[t+1] within each row and -100 at the row's end, so the
 * loss at position t predicts token t+1 and ignores untrained and padded tokens. Right padding needs no attention
 * mask under causal attention: real tokens never attend to the padding after them.
 */
export function sftLmBatch(batch: SftBatch): HostBatch {
  const { B, T } = batch;
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) targets.set(batch.labels.subarray(b * T + 1, (b + 1) * T), b * T);
  return { kind: 'lm', B, T, ids: batch.inputIds, targets };
}
