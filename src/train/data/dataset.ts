// From a parsed table to training sets: classification examples with an inferred label set and a seeded stratified
// split, or causal-LM token windows packed from documents with a seeded split by window. Unused rows are reported.

import type { TextTokenizer } from '../../models/tokenizer';
import { Rng } from '../../tensor/rng';
import { type BadRow, DataError, describeBadRows, excerpt } from './errors';
import type { ParsedTable } from './parse';

/** Which columns hold the text, the optional second text (sentence pairs) and the label. */
export interface ColumnMapping {
  text: string;
  textPair?: string;
  label: string;
}

/** One classification example; `label` indexes `ClassificationSet.labels`. */
export interface ClsExample {
  text: string;
  pair?: string;
  label: number;
}

interface SplitInfo {
  /** 'stratified': per label (classification); 'simple': over all items (LM windows). */
  method: 'stratified' | 'simple';
  seed: number;
  valFraction: number;
  train: number;
  val: number;
}

export interface ClassificationSet {
  train: ClsExample[];
  val: ClsExample[];
  /** Distinct labels, sorted (numerically when all are numbers, else by code unit), so indices are stable. */
  labels: string[];
  /** Examples per label over both splits. */
  labelCounts: Record<string, number>;
  /** Rows not used, in file order: unreadable rows from parsing and rows with a missing text or label. */
  badRows: BadRow[];
  split: SplitInfo;
}

export interface LmSet {
  seq: number;
  /** Windows of seq+1 tokens (inputs = first seq, targets = the last seq); views into one buffer. */
  train: Int32Array[];
  val: Int32Array[];
  tokens: { documents: number; emptyDocuments: number; total: number; train: number; val: number; dropped: number };
  split: SplitInfo;
}

const TEXT_NAMES = [
  'text',
  'sentence',
  'sentence1',
  'text_a',
  'content',
  'body',
  'message',
  'review',
  'document',
  'question',
  'question1',
  'premise',
  'input',
  'tweet',
  'comment',
];
const PAIR_NAMES = ['text_pair', 'text_b', 'text2', 'sentence2', 'question2', 'hypothesis', 'context', 'answer'];
const LABEL_NAMES = [
  'label',
  'labels',
  'class',
  'category',
  'target',
  'sentiment',
  'y',
  'gold_label',
  'tag',
  'topic',
  'intent',
  'output',
];

const norm = (c: string) =>
  c
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');

/**
 * Guesses the mapping from column names ('text'/'sentence'/'content'…, 'label'/'class'/'category'…; case and
 * spacing ignored). Without a recognised name the label is the last column and the text the first other one; a
 * second text is only taken from a recognised name. Null with fewer than two columns.
 */
export function guessMapping(columns: string[]): ColumnMapping | null {
  if (columns.length < 2) return null;
  const find = (names: string[], exclude: (string | undefined)[]) => {
    for (const n of names) {
      const c = columns.find((col) => norm(col) === n && !exclude.includes(col));
      if (c !== undefined) return c;
    }
    return undefined;
  };
  const label = find(LABEL_NAMES, []) ?? columns[columns.length - 1];
  const text = find(TEXT_NAMES, [label]) ?? columns.find((c) => c !== label)!;
  const textPair = find(PAIR_NAMES, [label, text]);
  return textPair === undefined ? { text, label } : { text, textPair, label };
}

function checkFraction(valFraction: number, file: string): void {
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new DataError({
      code: 'BadOptions',
      file,
      message: `The validation fraction must be at least 0 and below 1 (got ${valFraction}); 0.1 is a good start.`,
    });
  }
}

// The split gets its own stream, so that the same seed also driving batch shuffles does not correlate the two.
const splitRng = (seed: number) => new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x5eed5eed) >>> 0);

function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => /^[+-]?\d+(\.\d+)?$/.test(l));
  return labels.sort(
    numeric ? (a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0) : (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  );
}

/**
 * Classification examples from `table` under `mapping`. The split is stratified: each label's examples are shuffled
 * with the seed and round(n * valFraction) of them go to validation, so both splits keep the label proportions (a label
 * seen once stays in training). Both splits keep file order; batches shuffle later.
 */
export function buildClassificationSet(
  table: ParsedTable,
  mapping: ColumnMapping,
  opts: { seed: number; valFraction: number },
): ClassificationSet {
  const file = table.fileName;
  checkFraction(opts.valFraction, file);
  const have = table.columns.map((c) => `"${c}"`).join(', ');
  for (const [role, col] of [
    ['text', mapping.text],
    ['label', mapping.label],
    ['second text', mapping.textPair],
  ] as const) {
    if (col !== undefined && !table.columns.includes(col)) {
      throw new DataError({
        code: 'BadMapping',
        file,
        message: `${file}: there is no column "${col}" for the ${role}. The columns are ${have}.`,
      });
    }
  }
  if (mapping.text === mapping.label || mapping.textPair === mapping.label || mapping.textPair === mapping.text) {
    throw new DataError({
      code: 'BadMapping',
      file,
      message: `${file}: the text, second text and label must be different columns. The columns are ${have}.`,
    });
  }
  const { kept, badRows } = splitRows(table, mapping);
  if (!kept.length) {
    throw new DataError({
      code: 'NoRows',
      file,
      message: `${file}: no row has both a text and a label (${describeBadRows(badRows)}). Check the column mapping.`,
      examples: badRows.slice(0, 5),
    });
  }
  // A Map, not an object: labels such as "constructor" or "__proto__" must count like any other.
  const counts = new Map<string, number>();
  for (const k of kept) counts.set(k.label, (counts.get(k.label) ?? 0) + 1);
  const labels = sortLabels([...counts.keys()]);
  const labelCounts: Record<string, number> = Object.fromEntries(labels.map((l) => [l, counts.get(l)!]));
  if (labels.length < 2) {
    throw new DataError({
      code: 'TooFewLabels',
      file,
      message:
        `${file}: every row has the label "${labels[0]}" in column "${mapping.label}"; classification needs ` +
        'at least two labels. Check the label column.',
    });
  }
  if (labels.length > 20 && labels.length > kept.length / 2) {
    throw new DataError({
      code: 'TooManyLabels',
      file,
      message:
        `${file}: column "${mapping.label}" has ${labels.length} different values in ${kept.length} rows; ` +
        'it looks like text, not labels. Map the label to the column that holds the classes.',
    });
  }
  const index = new Map(labels.map((l, i) => [l, i]));
  const rng = splitRng(opts.seed);
  const isVal = new Uint8Array(kept.length);
  const byLabel = labels.map((): number[] => []);
  kept.forEach((k, i) => byLabel[index.get(k.label)!].push(i));
  for (const members of byLabel) {
    rng.shuffle(members);
    const nVal = Math.round(members.length * opts.valFraction);
    for (const i of members.slice(0, nVal)) isVal[i] = 1;
  }
  const train: ClsExample[] = [],
    val: ClsExample[] = [];
  kept.forEach((k, i) => (isVal[i] ? val : train).push({ ...k, label: index.get(k.label)! }));
  if (!train.length)
    throw new DataError({
      code: 'NoRows',
      file,
      message: `${file}: no rows are left for training; lower the validation fraction.`,
    });
  return {
    train,
    val,
    labels,
    labelCounts,
    badRows,
    split: {
      method: 'stratified',
      seed: opts.seed,
      valFraction: opts.valFraction,
      train: train.length,
      val: val.length,
    },
  };
}

type KeptRow = { text: string; pair?: string; label: string };

/** Rows with a text and a label under `mapping`, and the rows a classification set does not use, in file order. */
function splitRows(table: ParsedTable, mapping: ColumnMapping): { kept: KeptRow[]; badRows: BadRow[] } {
  const kept: KeptRow[] = [];
  const bad: BadRow[] = [];
  table.rows.forEach((row, i) => {
    const get = (c: string) => (Object.hasOwn(row, c) ? String(row[c]) : '').trim();
    const text = get(mapping.text),
      label = get(mapping.label);
    const pair = mapping.textPair === undefined ? undefined : get(mapping.textPair);
    const missing = [
      !text && `text ("${mapping.text}")`,
      pair === '' && `second text ("${mapping.textPair}")`,
      !label && `label ("${mapping.label}")`,
    ].filter(Boolean);
    if (missing.length) {
      const line = table.lines[i] ?? 0;
      bad.push({ line, reason: `empty ${missing.join(' and ')}`, excerpt: excerpt(Object.values(row).join(' | ')) });
      return;
    }
    kept.push(pair === undefined ? { text, label } : { text, pair, label });
  });
  return { kept, badRows: [...table.badRows, ...bad].sort((a, b) => a.line - b.line) };
}

/**
 * The rows a classification set built from `table` under `mapping` leaves out: unreadable rows from parsing and rows
 * with an empty text or label, in file order.
 */
export function classificationBadRows(table: ParsedTable, mapping: ColumnMapping): BadRow[] {
  return splitRows(table, mapping).badRows;
}

/**
 * Causal-LM windows: the documents (trimmed; empty ones skipped and counted) are tokenized, joined with the
 * tokenizer's eos between them when it has one, and cut into windows of seq+1 tokens at stride seq, so every token
 * after the first is a target exactly once; the tail that does not fill a window is dropped and counted. Windows are
 * split at random with the seed (a simple split: neighbouring windows can land in different splits).
 */
export function buildLmSet(
  texts: string[],
  tokenizer: TextTokenizer,
  opts: { seq: number; seed: number; valFraction: number },
): LmSet {
  const { seq } = opts,
    file = 'text';
  if (!Number.isInteger(seq) || seq < 1)
    throw new DataError({
      code: 'BadOptions',
      file,
      message: `The sequence length must be a positive whole number (got ${seq}).`,
    });
  checkFraction(opts.valFraction, file);
  const pieces: number[][] = [];
  let total = 0,
    emptyDocuments = 0;
  for (const t of texts) {
    const doc = t.trim();
    if (!doc) {
      emptyDocuments++;
      continue;
    }
    if (pieces.length && tokenizer.eosId !== null) {
      pieces.push([tokenizer.eosId]);
      total++;
    }
    const ids = tokenizer.encode(doc).ids;
    pieces.push(ids);
    total += ids.length;
  }
  const documents = texts.length - emptyDocuments;
  if (!documents)
    throw new DataError({
      code: 'Empty',
      file,
      message: 'There is no text to train on (every document is empty). Choose a file with text in it.',
    });
  const all = new Int32Array(total);
  let o = 0;
  for (const p of pieces) {
    all.set(p, o);
    o += p.length;
  }
  const n = Math.floor((total - 1) / seq);
  if (n < 1) {
    throw new DataError({
      code: 'TooShort',
      file,
      message:
        `The text has only ${total} tokens, but one training window needs ${seq + 1}. ` +
        'Add more text or lower the sequence length.',
    });
  }
  let nVal = opts.valFraction > 0 && n >= 2 ? Math.max(1, Math.round(n * opts.valFraction)) : 0;
  nVal = Math.min(nVal, n - 1);
  const order = splitRng(opts.seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const window = (i: number) => all.subarray(i * seq, i * seq + seq + 1);
  const val = order
    .slice(0, nVal)
    .sort((a, b) => a - b)
    .map(window);
  const train = order
    .slice(nVal)
    .sort((a, b) => a - b)
    .map(window);
  return {
    seq,
    train,
    val,
    tokens: {
      documents,
      emptyDocuments,
      total,
      train: train.length * seq,
      val: val.length * seq,
      dropped: total - 1 - n * seq,
    },
    split: { method: 'simple', seed: opts.seed, valFraction: opts.valFraction, train: train.length, val: val.length },
  };
}
