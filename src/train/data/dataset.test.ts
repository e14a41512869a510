// Column mapping, label inference, bad-row reporting and seeded splits for classification; packing for causal LMs.

import { describe, expect, it } from 'vitest';
import type { TextTokenizer } from '../../models/tokenizer';
import { buildClassificationSet, buildLmSet, guessMapping } from './dataset';
import { DataError } from './errors';
import { parseTable } from './parse';

/** One token per character (its code), eos 0: easy to check packing by eye. */
function charTokenizer(eosId: number | null = 0): TextTokenizer {
  return {
    encode: (text) => ({ ids: [...text].map((c) => c.codePointAt(0)!), typeIds: [...text].map(() => 0) }),
    decode: (ids) => String.fromCodePoint(...ids.filter((i) => i !== eosId)),
    padId: 0,
    eosId,
    vocabSize: 0x110000,
  };
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return (e as DataError).code;
  }
  return 'no error';
};

function table(n: number, labelOf: (i: number) => string) {
  return parseTable(
    ['text,label', ...Array.from({ length: n }, (_, i) => `row ${i},${labelOf(i)}`)].join('\n'),
    't.csv',
  );
}

describe('guessMapping', () => {
  it('recognises common names in any case and spacing', () => {
    expect(guessMapping(['id', 'Sentence', 'Label'])).toEqual({ text: 'Sentence', label: 'Label' });
    expect(guessMapping(['category', 'content', 'source'])).toEqual({ text: 'content', label: 'category' });
    expect(guessMapping(['sentence1', 'sentence2', 'gold label'])).toEqual({
      text: 'sentence1',
      textPair: 'sentence2',
      label: 'gold label',
    });
    expect(guessMapping(['premise', 'hypothesis', 'class'])).toEqual({
      text: 'premise',
      textPair: 'hypothesis',
      label: 'class',
    });
  });

  it('falls back to first column = text, last column = label; null with one column', () => {
    expect(guessMapping(['review_body', 'stars'])).toEqual({ text: 'review_body', label: 'stars' });
    expect(guessMapping(['label', 'words'])).toEqual({ text: 'words', label: 'label' });
    expect(guessMapping(['text'])).toBeNull();
  });
});

describe('buildClassificationSet', () => {
  it('infers a sorted label set (numerically for numbers), counts labels and maps examples to indices', () => {
    const s = buildClassificationSet(
      table(30, (i) => ['10', '2', '1'][i % 3]),
      { text: 'text', label: 'label' },
      { seed: 1, valFraction: 0 },
    );
    expect(s.labels).toEqual(['1', '2', '10']);
    expect(s.labelCounts).toEqual({ 1: 10, 2: 10, 10: 10 });
    expect(s.train[0]).toEqual({ text: 'row 0', label: 2 });
    expect(s.val).toEqual([]);
    const w = buildClassificationSet(
      table(6, (i) => ['spam', 'Ham', 'ham'][i % 3]),
      { text: 'text', label: 'label' },
      { seed: 1, valFraction: 0 },
    );
    expect(w.labels).toEqual(['Ham', 'ham', 'spam']);
  });

  it('reports rows without text or label together with unreadable rows, in file order, and keeps a pair column', () => {
    const t = parseTable('q1,q2,label\nwhat,why,dup\n  ,x,dup\nbroken\ny,,diff\nz,w,\na,b,diff\n', 'p.csv');
    const s = buildClassificationSet(t, { text: 'q1', textPair: 'q2', label: 'label' }, { seed: 3, valFraction: 0 });
    expect(s.labels).toEqual(['diff', 'dup']);
    expect(s.train).toEqual([
      { text: 'what', pair: 'why', label: 1 },
      { text: 'a', pair: 'b', label: 0 },
    ]);
    expect(s.badRows.map((b) => [b.line, b.reason])).toEqual([
      [3, 'empty text ("q1")'],
      [4, '1 field, but the header has 3'],
      [5, 'empty second text ("q2")'],
      [6, 'empty label ("label")'],
    ]);
    expect(s.badRows[0].excerpt).toBe('| x | dup');
  });

  it('gives the same split for the same seed, another for another seed, stratified by label', () => {
    const t = table(200, (i) => (i % 4 === 0 ? 'rare' : 'common'));
    const m = { text: 'text', label: 'label' };
    const a = buildClassificationSet(t, m, { seed: 7, valFraction: 0.2 });
    const b = buildClassificationSet(t, m, { seed: 7, valFraction: 0.2 });
    const c = buildClassificationSet(t, m, { seed: 8, valFraction: 0.2 });
    expect(b).toEqual(a);
    expect(c.val).not.toEqual(a.val);
    expect(a.split).toEqual({ method: 'stratified', seed: 7, valFraction: 0.2, train: 160, val: 40 });
    const rare = a.labels.indexOf('rare');
    expect(a.val.filter((e) => e.label === rare)).toHaveLength(10);
    const all = [...a.train, ...a.val].map((e) => e.text).sort();
    expect(all).toEqual(t.rows.map((r) => r.text).sort());
    // Splits keep file order, so only the batch stream decides the training order.
    expect(a.train.map((e) => Number(e.text.slice(4)))).toEqual(
      [...a.train.map((e) => Number(e.text.slice(4)))].sort((x, y) => x - y),
    );
  });

  it('treats column names and labels such as "__proto__" and "constructor" as plain strings', () => {
    for (const t of [
      parseTable('__proto__,constructor\na,constructor\nb,__proto__\nc,toString\nd,constructor\n', 'p.csv'),
      parseTable(
        ['a', 'b', 'c', 'd']
          .map(
            (x, i) =>
              `{"__proto__":"${x}","constructor":"${['constructor', '__proto__', 'toString', 'constructor'][i]}"}`,
          )
          .join('\n'),
        'p.jsonl',
      ),
    ]) {
      expect(t.columns).toEqual(['__proto__', 'constructor']);
      const s = buildClassificationSet(t, guessMapping(t.columns)!, { seed: 1, valFraction: 0 });
      expect(s.labels).toEqual(['__proto__', 'constructor', 'toString']);
      expect(Object.entries(s.labelCounts)).toEqual([
        ['__proto__', 1],
        ['constructor', 2],
        ['toString', 1],
      ]);
      expect(s.train.map((e) => e.text)).toEqual(['a', 'b', 'c', 'd']);
    }
  });

  it('is a DataError for bad mappings, a single label, label-like text and unusable rows', () => {
    const t = table(50, (i) => String(i % 2));
    expect(code(() => buildClassificationSet(t, { text: 'body', label: 'label' }, { seed: 1, valFraction: 0.1 }))).toBe(
      'BadMapping',
    );
    expect(code(() => buildClassificationSet(t, { text: 'text', label: 'text' }, { seed: 1, valFraction: 0.1 }))).toBe(
      'BadMapping',
    );
    expect(code(() => buildClassificationSet(t, { text: 'text', label: 'label' }, { seed: 1, valFraction: 1 }))).toBe(
      'BadOptions',
    );
    expect(
      code(() =>
        buildClassificationSet(
          table(5, () => 'x'),
          { text: 'text', label: 'label' },
          { seed: 1, valFraction: 0.1 },
        ),
      ),
    ).toBe('TooFewLabels');
    expect(code(() => buildClassificationSet(t, { text: 'label', label: 'text' }, { seed: 1, valFraction: 0.1 }))).toBe(
      'TooManyLabels',
    );
    const empty = parseTable('text,label\n,a\n,b\n', 'e.csv');
    expect(
      code(() => buildClassificationSet(empty, { text: 'text', label: 'label' }, { seed: 1, valFraction: 0.1 })),
    ).toBe('NoRows');
  });
});

describe('buildLmSet', () => {
  it('joins documents with eos and packs windows of seq+1 whose targets are the inputs shifted by one', () => {
    const s = buildLmSet(['abcd', '  ', 'efghij'], charTokenizer(0), { seq: 3, seed: 1, valFraction: 0 });
    // a b c d <eos> e f g h i j = 11 tokens -> floor(10/3) = 3 windows at stride 3, one token dropped.
    const all = [...'abcd']
      .map((c) => c.charCodeAt(0))
      .concat(
        [0],
        [...'efghij'].map((c) => c.charCodeAt(0)),
      );
    expect(s.train.map((w) => [...w])).toEqual([all.slice(0, 4), all.slice(3, 7), all.slice(6, 10)]);
    expect(s.tokens).toEqual({ documents: 2, emptyDocuments: 1, total: 11, train: 9, val: 0, dropped: 1 });
    for (const w of s.train) expect([...w.subarray(1)]).toEqual([...w].slice(1));
  });

  it('concatenates directly when the tokenizer has no eos', () => {
    const s = buildLmSet(['ab', 'cd'], charTokenizer(null), { seq: 3, seed: 1, valFraction: 0 });
    expect(s.train.map((w) => String.fromCharCode(...w))).toEqual(['abcd']);
  });

  it('splits windows with the seed: same seed same split, other seed other split, nothing lost', () => {
    // 410 tokens -> floor(409 / 4) = 102 windows, 26 of them (25%) for validation.
    const text = 'x'.repeat(10) + Array.from({ length: 400 }, (_, i) => String.fromCharCode(65 + (i % 50))).join('');
    const a = buildLmSet([text], charTokenizer(), { seq: 4, seed: 5, valFraction: 0.25 });
    const b = buildLmSet([text], charTokenizer(), { seq: 4, seed: 5, valFraction: 0.25 });
    const c = buildLmSet([text], charTokenizer(), { seq: 4, seed: 6, valFraction: 0.25 });
    const starts = (s: typeof a, k: 'train' | 'val') => s[k].map((w) => w.byteOffset / 4 / 4);
    expect(starts(b, 'val')).toEqual(starts(a, 'val'));
    expect(starts(c, 'val')).not.toEqual(starts(a, 'val'));
    expect(a.split).toEqual({ method: 'simple', seed: 5, valFraction: 0.25, train: 76, val: 26 });
    expect([...starts(a, 'train'), ...starts(a, 'val')].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 102 }, (_, i) => i),
    );
  });

  it('is a DataError when there is not enough text or the options are out of range', () => {
    expect(code(() => buildLmSet(['abc'], charTokenizer(), { seq: 3, seed: 1, valFraction: 0 }))).toBe('TooShort');
    expect(code(() => buildLmSet(['', ' \n'], charTokenizer(), { seq: 3, seed: 1, valFraction: 0 }))).toBe('Empty');
    expect(code(() => buildLmSet(['abcdef'], charTokenizer(), { seq: 0, seed: 1, valFraction: 0 }))).toBe('BadOptions');
    expect(code(() => buildLmSet(['abcdef'], charTokenizer(), { seq: 2, seed: 1, valFraction: -0.1 }))).toBe(
      'BadOptions',
    );
  });
});
