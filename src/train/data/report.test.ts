// The data report of a messy file: how many rows were skipped and the first few with their lines and reasons, the
// same in the prepared data (CLI, dynrank.json) and in the page's preview; and the DataError fields behind it.

import { describe, expect, it } from 'vitest';
import { bertArch } from '../../models/arch/bert';
import type { LoadedModel } from '../../models/load';
import { DEFAULT_RUN, prepareData, totalSteps } from '../run';
import { badRowReport, DataError, formatBadRowReport } from './errors';
import { previewOf } from './preview';

/** A header, 40 good rows, and 12 rows missing their label interleaved with 12 rows with an extra column. */
function messyCsv(): string {
  const lines = ['text,label'];
  for (let i = 0; i < 40; i++) {
    lines.push(i % 2 ? `"Meeting moved to ${i} pm",ham` : `"WIN a prize number ${i} now",spam`);
    if (i % 10 < 3) lines.push('"Your invoice is attached",');
    if (i % 10 >= 7) lines.push('"URGENT: verify your account",spam,extra');
  }
  return `${lines.join('\n')}\n`;
}

/** Just enough of an encoder for prepareData: the head size and the position limit. */
const encoder = (numLabels: number) =>
  ({
    kind: 'bert',
    task: 'seq-cls',
    arch: bertArch,
    tokenizer: {},
    config: { kind: 'bert', arch: { variant: 'bert', numLabels, maxPositions: 64, padTokenId: 0 } },
  }) as unknown as LoadedModel;

const thrown = (f: () => unknown): DataError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('no error');
};

describe('DataError', () => {
  it('takes an options object', () => {
    const rows = [{ line: 3, reason: 'empty label ("label")', excerpt: 'hi' }];
    const e = new DataError({ code: 'NoRows', file: 'a.csv', message: 'a.csv: no rows.', line: 3, examples: rows });
    expect([e.code, e.file, e.message, e.line, e.examples]).toEqual(['NoRows', 'a.csv', 'a.csv: no rows.', 3, rows]);
    const bare = new DataError({ code: 'Empty', file: 'b.csv', message: 'b.csv is empty.' });
    expect([bare.line, bare.examples]).toEqual([null, []]);
  });

  it('carries the message as message and the file as file in prepareData and totalSteps', () => {
    const one = thrown(() => prepareData(encoder(2), 'text\nhello\nbye\n', 'one.csv', DEFAULT_RUN));
    expect(one.code).toBe('BadMapping');
    expect(one.file).toBe('one.csv');
    expect(one.message).toMatch(/^one\.csv: cannot tell which columns hold the text and the label .*Name them "text"/);
    const heads = thrown(() => prepareData(encoder(3), messyCsv(), 'messy.csv', DEFAULT_RUN));
    expect([heads.code, heads.file]).toEqual(['BadMapping', 'messy.csv']);
    expect(heads.message).toBe(
      'messy.csv: the data has 2 labels but the model head has 3; load the model with numLabels = 2.',
    );
    const empty = thrown(() => totalSteps({ kind: 'lm', windows: [], seq: 8 }, DEFAULT_RUN));
    expect([empty.code, empty.file]).toEqual(['TooShort', '']);
    expect(empty.message).toMatch(/^The training split is empty: add more data/);
  });
});

describe('bad-row report', () => {
  it('keeps the count of all skipped rows and the first five, in file order, with lines and reasons', () => {
    const data = prepareData(encoder(2), messyCsv(), 'messy.csv', DEFAULT_RUN);
    expect(data.skipped?.count).toBe(24);
    expect(data.summary.badRows).toBe(24);
    expect(data.skipped?.first.map((r) => [r.line, r.reason])).toEqual([
      [3, 'empty label ("label")'],
      [5, 'empty label ("label")'],
      [7, 'empty label ("label")'],
      [13, '3 fields, but the header has 2'],
      [15, '3 fields, but the header has 2'],
    ]);
    expect(data.skipped?.first[3].excerpt).toBe('"URGENT: verify your account",spam,extra');
    expect(data.summary.firstBadRows).toEqual(data.skipped?.first);
    const { train, val } = data;
    expect(train.kind === 'cls' && val.kind === 'cls' ? train.examples.length + val.examples.length : 0).toBe(40);
  });

  it('reads as terminal lines with the count, each kept row and how many more; nothing without bad rows', () => {
    const rows = [
      { line: 3, reason: 'empty label ("label")', excerpt: 'Your invoice is attached |' },
      { line: 0, reason: 'r', excerpt: '' },
    ];
    expect(formatBadRowReport('m.csv', badRowReport(rows, 1))).toBe(
      'm.csv: 2 rows were skipped; fix them in the file to use them:\n' +
        '  line 3: empty label ("label") · Your invoice is attached |\n  …and 1 more\n',
    );
    expect(formatBadRowReport('m.csv', badRowReport(rows.slice(1)))).toBe(
      'm.csv: 1 row was skipped; fix it in the file to use it:\n  row: r\n',
    );
    expect(formatBadRowReport('m.csv', badRowReport([]))).toBe('');
  });

  it('is in the preview too: unreadable rows for every model, and those plus unlabelled rows for a classifier', () => {
    const p = previewOf(messyCsv(), 'messy.csv');
    expect(p.badCount).toBe(12);
    expect(p.badRows[0].line).toBe(13);
    expect(p.classificationSkipped?.count).toBe(24);
    expect(p.classificationSkipped?.first.slice(0, 4).map((r) => r.line)).toEqual([3, 5, 7, 13]);
    expect(previewOf('just some text\n', 'notes.txt').classificationSkipped).toBeNull();
  });
});
