// Host batches for training and evaluation: a seeded, epoch-shuffled stream whose whole state fits in a checkpoint,
// and an in-order pass over a validation split. Classification text is tokenized, truncated and padded here.

import { archFor, type ModelConfig } from '../../models/arch/index';
import type { HostEncoderBatch } from '../../models/batch';
import type { TextTokenizer } from '../../models/tokenizer';
import { Rng } from '../../tensor/rng';
import type { HostBatch } from '../task';
import type { ClsExample } from './dataset';
import { DataError } from './errors';

/** How a model family pads token sequences into a classification batch, and the longest sequence it accepts. */
export interface ClsLayout {
  batch(seqs: { ids: number[]; typeIds: number[] }[], T?: number): HostEncoderBatch;
  maxSeq: number;
}

/** The classification layout of a model, from its family descriptor. */
export function clsLayout(config: ModelConfig): ClsLayout {
  const arch = archFor(config);
  return { batch: (seqs, T) => arch.clsBatch(config, seqs, T), maxSeq: arch.maxSeq(config) };
}

/** Classification examples with what it takes to turn them into batches of at most `seq` tokens. */
export interface ClsSource {
  kind: 'cls';
  examples: ClsExample[];
  tokenizer: TextTokenizer;
  layout: ClsLayout;
  seq: number;
}

/** Causal-LM windows of seq+1 tokens (from buildLmSet). */
export interface LmSource {
  kind: 'lm';
  windows: Int32Array[];
  seq: number;
  /** Per window, seq+1 labels aligned with it (-100: not trained); absent: every next token is a target. */
  labels?: Int32Array[];
}

export type BatchSource = ClsSource | LmSource;

/** Everything needed to continue a BatchStream exactly where it was; plain JSON. */
export interface BatchStreamState {
  epoch: number;
  /** Items of this epoch's order already handed out. */
  position: number;
  /** The PRNG state this epoch's order was shuffled from. */
  rngState: number;
  /** Number of items, checked on restore so a state is not applied to other data. */
  size: number;
  batchSize: number;
}

interface Layout {
  prefix: number;
  specials: number;
}
const layouts = new WeakMap<TextTokenizer, Layout>();

/** How many special tokens the tokenizer puts around one text, and how many of them come first. */
function layoutOf(tok: TextTokenizer): Layout {
  let l = layouts.get(tok);
  if (!l) {
    const empty = tok.encode('').ids,
      one = tok.encode('a').ids;
    let prefix = 0;
    while (prefix < empty.length && empty[prefix] === one[prefix]) prefix++;
    l = { prefix, specials: empty.length };
    layouts.set(tok, l);
  }
  return l;
}

/**
 * Token ids and types of `text` (and `pair`) in at most `seq` tokens, keeping the special tokens (the final
 * [SEP]/</s> included). A pair is cut longest-first, one token at a time from the longer text, as transformers does.
 */
export function encodeTruncated(
  tok: TextTokenizer,
  text: string,
  pair: string | undefined,
  seq: number,
): { ids: number[]; typeIds: number[] } {
  const full = tok.encode(text, pair);
  if (full.ids.length <= seq) return full;
  const { prefix: P, specials } = layoutOf(tok);
  const S = specials - P;
  const cut = (ranges: [number, number][]) => ({
    ids: ranges.flatMap(([a, b]) => full.ids.slice(a, b)),
    typeIds: ranges.flatMap(([a, b]) => full.typeIds.slice(a, b)),
  });
  const n = full.ids.length;
  if (pair === undefined)
    return cut([
      [0, P + Math.max(0, seq - specials)],
      [n - S, n],
    ]);
  const lenA = tok.encode(text).ids.length - specials,
    lenB = tok.encode(pair).ids.length - specials;
  const mid = n - lenA - lenB - P - S;
  const budget = seq - (n - lenA - lenB);
  // Tokenizers whose pair layout is not prefix A mid B suffix fall back to keeping the start and the last token.
  if (lenA < 0 || lenB < 0 || mid < 0 || budget < 0)
    return cut([
      [0, seq - 1],
      [n - 1, n],
    ]);
  let a = lenA,
    b = lenB;
  while (a + b > budget)
    if (a > b) a--;
    else b--;
  return cut([
    [0, P + a],
    [P + lenA, P + lenA + mid + b],
    [n - S, n],
  ]);
}

function checkSource(src: BatchSource, batchSize: number, allowEmpty = false): number {
  const size = src.kind === 'cls' ? src.examples.length : src.windows.length;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new DataError({
      code: 'BadOptions',
      file: 'batches',
      message: `The batch size must be a positive whole number (got ${batchSize}).`,
    });
  if (!Number.isInteger(src.seq) || src.seq < 1)
    throw new DataError({
      code: 'BadOptions',
      file: 'batches',
      message: `The sequence length must be a positive whole number (got ${src.seq}).`,
    });
  if (!size && !allowEmpty)
    throw new DataError({
      code: 'NoRows',
      file: 'batches',
      message: 'There are no examples to make batches from; check the data set and the validation fraction.',
    });
  if (src.kind === 'cls') {
    const { specials } = layoutOf(src.tokenizer);
    if (src.seq <= specials + (src.examples.some((e) => e.pair !== undefined) ? specials : 0)) {
      throw new DataError({
        code: 'BadOptions',
        file: 'batches',
        message: `A sequence length of ${src.seq} leaves no room for text next to the special tokens; use at least 16.`,
      });
    }
    const maxSeq = src.layout.maxSeq;
    if (src.seq > maxSeq)
      throw new DataError({
        code: 'BadOptions',
        file: 'batches',
        message: `The sequence length ${src.seq} is longer than the model allows (${maxSeq}); lower it.`,
      });
  } else if (src.windows.some((w) => w.length !== src.seq + 1)) {
    throw new DataError({
      code: 'BadOptions',
      file: 'batches',
      message: `Causal-LM windows must hold seq + 1 = ${src.seq + 1} tokens; rebuild them with this sequence length.`,
    });
  }
  return size;
}

/** The batch of items `idx` of `src`. */
function makeBatch(src: BatchSource, idx: number[]): HostBatch {
  const B = idx.length;
  if (src.kind === 'lm') {
    const T = src.seq,
      ids = new Int32Array(B * T),
      targets = new Int32Array(B * T);
    idx.forEach((k, b) => {
      const w = src.windows[k];
      ids.set(w.subarray(0, T), b * T);
      targets.set((src.labels?.[k] ?? w).subarray(1, T + 1), b * T);
    });
    return { kind: 'lm', B, T, ids, targets };
  }
  const seqs = idx.map((k) => encodeTruncated(src.tokenizer, src.examples[k].text, src.examples[k].pair, src.seq));
  return { kind: 'cls', enc: src.layout.batch(seqs), labels: Int32Array.from(idx, (k) => src.examples[k].label) };
}

/**
 * An endless stream of training batches of exactly `batchSize` items. Each epoch visits every item once in an order
 * shuffled from the seed; a batch that runs past the end of an epoch is completed from the next epoch's order.
 */
export class BatchStream {
  readonly size: number;
  private rng: Rng;
  private order: number[] = [];
  private epochStart = 0;
  private epochNo = 0;
  private pos = 0;

  constructor(
    readonly source: BatchSource,
    readonly batchSize: number,
    seed: number,
  ) {
    this.size = checkSource(source, batchSize);
    this.rng = new Rng((seed ^ 0xba7c4e5) >>> 0);
    this.startEpoch(0);
  }

  /** A stream that continues exactly after the batch at which `state` was taken, on the same data. */
  static restore(source: BatchSource, state: BatchStreamState): BatchStream {
    const s = new BatchStream(source, state.batchSize, 0);
    const ok =
      [state.epoch, state.position, state.rngState].every((x) => Number.isInteger(x) && x >= 0) &&
      state.position <= s.size;
    if (!ok || state.size !== s.size) {
      throw new DataError({
        code: 'StateMismatch',
        file: 'checkpoint',
        message:
          `The saved batch position (${state.size} items) does not match this data set (${s.size} items); ` +
          'resume with the same data, or start a new run.',
      });
    }
    s.rng = new Rng(state.rngState);
    s.startEpoch(state.epoch);
    s.pos = state.position;
    return s;
  }

  get epoch(): number {
    return this.epochNo;
  }
  get position(): number {
    return this.pos;
  }
  get stepsPerEpoch(): number {
    return Math.ceil(this.size / this.batchSize);
  }

  next(): HostBatch {
    const idx: number[] = [];
    while (idx.length < this.batchSize) {
      if (this.pos === this.size) this.startEpoch(this.epochNo + 1);
      idx.push(this.order[this.pos++]);
    }
    return makeBatch(this.source, idx);
  }

  state(): BatchStreamState {
    return {
      epoch: this.epochNo,
      position: this.pos,
      rngState: this.epochStart,
      size: this.size,
      batchSize: this.batchSize,
    };
  }

  private startEpoch(epoch: number): void {
    this.epochStart = this.rng.state;
    this.order = this.rng.shuffle(Array.from({ length: this.size }, (_, i) => i));
    this.epochNo = epoch;
    this.pos = 0;
  }
}

/** The items of `source` once, in order, in batches of `batchSize` (the last one may be smaller; none when empty). */
export function* evalBatches(source: BatchSource, batchSize: number): Generator<HostBatch> {
  const size = checkSource(source, batchSize, true);
  for (let i = 0; i < size; i += batchSize) {
    yield makeBatch(
      source,
      Array.from({ length: Math.min(batchSize, size - i) }, (_, k) => i + k),
    );
  }
}
