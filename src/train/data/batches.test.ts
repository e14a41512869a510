// Batches from the real bert-tiny tokenizer (truncation keeps [SEP], padding to the longest, masks) and from LM windows;
// the stream's epoch shuffles and its save/restore for checkpoints.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encoderBatch } from '../../models/batch';
import { loadTokenizer } from '../../models/tokenizer';
import type { BertConfig } from '../../nn/bert';
import type { HostBatch } from '../task';
import { type BatchSource, BatchStream, type ClsSource, encodeTruncated, evalBatches } from './batches';
import { buildLmSet, type ClsExample } from './dataset';
import { DataError } from './errors';

const dir = new URL('../../../public/models/bert-tiny/', import.meta.url);
const bert = loadTokenizer(
  readFileSync(new URL('tokenizer.json', dir), 'utf8'),
  readFileSync(new URL('tokenizer_config.json', dir), 'utf8'),
);
const CLS = 2,
  SEP = 3,
  PAD = 0;
const cfg: BertConfig = {
  variant: 'bert',
  vocabSize: 4096,
  hidden: 64,
  layers: 2,
  heads: 2,
  intermediate: 256,
  maxPositions: 128,
  typeVocab: 2,
  eps: 1e-12,
  numLabels: 2,
  padTokenId: 0,
};
const examples: ClsExample[] = [
  { text: 'the whale', label: 0 },
  {
    text: 'call me ishmael some years ago never mind how long precisely having little or no money in my purse',
    label: 1,
  },
  { text: 'it is a way i have of driving off the spleen', label: 0 },
  { text: 'sea', label: 1 },
  { text: 'whenever i find myself growing grim about the mouth', label: 1 },
];
const clsSource = (seq: number, ex = examples): ClsSource => ({
  kind: 'cls',
  examples: ex,
  tokenizer: bert,
  layout: { batch: (s, T) => encoderBatch(s, cfg, T), maxSeq: cfg.maxPositions },
  seq,
});

describe('classification batches', () => {
  it('truncates to seq keeping the final [SEP], and pads to the longest sequence in the batch', () => {
    const [b] = [...evalBatches(clsSource(8), 4)];
    if (b.kind !== 'cls') throw new Error('expected a classification batch');
    const { enc } = b;
    expect([enc.B, enc.T]).toEqual([4, 8]);
    const row = (i: number, a: Int32Array) => [...a.subarray(i * 8, i * 8 + 8)];
    expect(row(0, enc.ids)).toEqual([...bert.encode('the whale').ids, PAD, PAD, PAD, PAD]);
    expect(row(0, enc.mask)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    const long = bert.encode(examples[1].text).ids;
    expect(row(1, enc.ids)).toEqual([...long.slice(0, 7), SEP]);
    expect(row(1, enc.mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(row(3, enc.ids)[0]).toBe(CLS);
    expect([...b.labels]).toEqual([0, 1, 0, 1]);
    expect([...enc.clsRows]).toEqual([0, 8, 16, 24]);
  });

  it('pads only as far as the longest sequence when all are shorter than seq', () => {
    const b = [...evalBatches(clsSource(64, [examples[0], examples[3]]), 2)][0];
    if (b.kind !== 'cls') throw new Error('expected a classification batch');
    expect(b.enc.T).toBe(bert.encode('the whale').ids.length);
  });

  it('cuts a sentence pair longest-first and keeps both segments and their separators', () => {
    const a = 'one two three four five six seven eight nine ten',
      p = 'alpha beta';
    const e = encodeTruncated(bert, a, p, 10);
    const ea = bert.encode(a).ids.slice(1, -1),
      eb = bert.encode(p).ids.slice(1, -1);
    expect([ea.length, eb.length]).toEqual([13, 5]);
    // 7 tokens of room: trim the longer side until both have 5, then alternate (pair first on ties) -> 4 + 3.
    expect(e.ids).toEqual([CLS, ...ea.slice(0, 4), SEP, ...eb.slice(0, 3), SEP]);
    expect(e.typeIds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(encodeTruncated(bert, 'short', 'pair', 10)).toEqual(bert.encode('short', 'pair'));
  });

  it('evaluates every validation item once, in order, with a smaller last batch', () => {
    const bs = [...evalBatches(clsSource(16), 2)];
    expect(bs.map((b) => (b.kind === 'cls' ? [...b.labels] : []))).toEqual([[0, 1], [0, 1], [1]]);
    expect([...evalBatches(clsSource(16, []), 2)]).toEqual([]);
  });
});

const sig = (b: HostBatch) =>
  b.kind === 'lm' ? [...b.ids].join(',') : `${[...b.enc.ids].join(',')}|${[...b.labels].join(',')}`;

describe('LM batches', () => {
  const set = buildLmSet(
    ['abcdefghijklmnopqrstuvwxyz'],
    {
      encode: (t) => ({ ids: [...t].map((c) => c.charCodeAt(0)), typeIds: [] }),
      decode: () => '',
      padId: 0,
      eosId: 0,
      vocabSize: 128,
    },
    { seq: 4, seed: 1, valFraction: 0 },
  );
  const src: BatchSource = { kind: 'lm', windows: set.train, seq: 4 };

  it('are B windows with targets shifted by one', () => {
    const [b] = [...evalBatches(src, 2)];
    if (b.kind !== 'lm') throw new Error('expected an LM batch');
    expect([b.B, b.T]).toEqual([2, 4]);
    expect(String.fromCharCode(...b.ids)).toBe('abcdefgh');
    expect(String.fromCharCode(...b.targets)).toBe('bcdefghi');
  });

  it('cover every window once per epoch in a seeded order, and fill a batch across the epoch boundary', () => {
    const s = new BatchStream(src, 4, 42);
    expect([s.size, s.stepsPerEpoch]).toEqual([6, 2]);
    const firsts = (b: HostBatch) => (b.kind === 'lm' ? Array.from({ length: b.B }, (_, i) => b.ids[i * 4]) : []);
    const e0 = [...firsts(s.next()), ...firsts(s.next())];
    expect(s.epoch).toBe(1);
    expect(e0.slice(0, 6).sort((x, y) => x - y)).toEqual([...'aeimqu'].map((c) => c.charCodeAt(0)));
    expect(new BatchStream(src, 4, 42).next()).toEqual(new BatchStream(src, 4, 42).next());
    expect(sig(new BatchStream(src, 4, 43).next())).not.toBe(sig(new BatchStream(src, 4, 42).next()));
  });
});

describe('BatchStream state', () => {
  for (const [name, src, B] of [
    ['classification', clsSource(12), 2],
    ['LM', null, 3],
  ] as const) {
    it(`save/restore reproduces the same batches (${name}), across epochs and through JSON`, () => {
      const source: BatchSource = src ?? {
        kind: 'lm',
        windows: buildLmSet(['the quick brown fox jumps over the lazy dog'.repeat(3)], bert, {
          seq: 5,
          seed: 2,
          valFraction: 0,
        }).train,
        seq: 5,
      };
      const s = new BatchStream(source, B, 9);
      for (let i = 0; i < 7; i++) s.next();
      const saved = JSON.parse(JSON.stringify(s.state()));
      const want = Array.from({ length: 11 }, () => sig(s.next()));
      const r = BatchStream.restore(source, saved);
      expect([r.epoch, r.position]).toEqual([saved.epoch, saved.position]);
      expect(Array.from({ length: 11 }, () => sig(r.next()))).toEqual(want);
      expect(r.state()).toEqual(s.state());
    });
  }

  it('refuses a state taken on other data, and bad batch sizes', () => {
    const s = new BatchStream(clsSource(12), 2, 1);
    s.next();
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(DataError);
        return (e as DataError).code;
      }
      return 'none';
    };
    expect(err(() => BatchStream.restore(clsSource(12, examples.slice(0, 3)), s.state()))).toBe('StateMismatch');
    expect(err(() => BatchStream.restore(clsSource(12), { ...s.state(), position: 99 }))).toBe('StateMismatch');
    expect(err(() => new BatchStream(clsSource(12), 0, 1))).toBe('BadOptions');
    expect(err(() => new BatchStream(clsSource(2), 2, 1))).toBe('BadOptions');
    expect(err(() => new BatchStream(clsSource(129), 2, 1))).toBe('BadOptions');
    expect(err(() => new BatchStream(clsSource(12, []), 2, 1))).toBe('NoRows');
  });
});
