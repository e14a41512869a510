// parseTable on the formats users bring: CSV with quoting, TSV, JSONL with bad lines, plain text, and files that
// cannot be used at all (each a DataError with a useful message).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataError } from './errors';
import { headerNames, MAX_COLUMNS, parseTable } from './parse';

function dataError(f: () => unknown): DataError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('CSV', () => {
  it('reads quoted fields with commas, doubled quotes and newlines, and numbers lines from the file', () => {
    const csv = 'text,label\n"Hello, world",pos\n"He said ""no""",neg\n"two\nlines, here",pos\n\nplain,neg\n';
    const t = parseTable(csv, 'reviews.csv');
    expect(t.format).toBe('csv');
    expect(t.columns).toEqual(['text', 'label']);
    expect(t.rows).toEqual([
      { text: 'Hello, world', label: 'pos' },
      { text: 'He said "no"', label: 'neg' },
      { text: 'two\nlines, here', label: 'pos' },
      { text: 'plain', label: 'neg' },
    ]);
    expect(t.lines).toEqual([2, 3, 4, 7]);
    expect(t.badRows).toEqual([]);
  });

  it('handles CRLF, a missing final newline, and trailing empty fields', () => {
    const t = parseTable('a,b\r\n1,2,\r\n3,4', 'x.csv');
    expect(t.rows).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: '4' },
    ]);
    expect(t.lines).toEqual([2, 3]);
  });

  it('reports rows with the wrong number of fields and an unclosed quote as bad rows, with lines', () => {
    const t = parseTable(
      'text,label\ngood,1\nonly one field\ntoo,many,fields,here\nfine,0\n"never closed,1\nlost,0\n',
      'x.csv',
    );
    expect(t.rows).toEqual([
      { text: 'good', label: '1' },
      { text: 'fine', label: '0' },
    ]);
    expect(t.badRows.map((b) => b.line)).toEqual([3, 4, 6]);
    expect(t.badRows[0]).toMatchObject({ reason: '1 field, but the header has 2', excerpt: 'only one field' });
    expect(t.badRows[1].reason).toBe('4 fields, but the header has 2');
    expect(t.badRows[2].reason).toMatch(/never closed/);
  });

  it('names blank and duplicate header cells so every column can be mapped', () => {
    const t = parseTable('text,,text\na,b,c\n', 'x.csv');
    expect(t.columns).toEqual(['text', 'column 2', 'text (2)']);
    expect(t.rows[0]).toEqual({ text: 'a', 'column 2': 'b', 'text (2)': 'c' });
  });

  it('sniffs a semicolon delimiter in a .csv and a comma in a file without extension', () => {
    expect(parseTable('text;label\nbonjour, monde;fr\n', 'x.csv')).toMatchObject({
      delimiter: ';',
      rows: [{ text: 'bonjour, monde', label: 'fr' }],
    });
    expect(parseTable('text,label\nhi,en\nbye,en\n', 'upload')).toMatchObject({
      format: 'csv',
      delimiter: ',',
      rows: [
        { text: 'hi', label: 'en' },
        { text: 'bye', label: 'en' },
      ],
    });
  });

  it('is an error when there is only a header, or no row can be read', () => {
    const e = dataError(() => parseTable('text,label\n\n', 'h.csv'));
    expect(e.code).toBe('NoRows');
    expect(e.message).toMatch(/h\.csv.*header row but no data rows/);
    const e2 = dataError(() => parseTable('a,b\n1\n2\n3,4,5\n', 'bad.csv'));
    expect(e2.code).toBe('NoRows');
    expect(e2.message).toMatch(/none of its 3 rows could be read \(line 2: 1 field/);
    expect(e2.examples).toHaveLength(3);
  });
});

describe('TSV', () => {
  it('splits on tabs only, so commas stay inside fields', () => {
    const t = parseTable('sentence\tlabel\nfirst, with comma\t0\nsecond\t1\n', 'x.tsv');
    expect(t).toMatchObject({ format: 'tsv', delimiter: '\t', columns: ['sentence', 'label'] });
    expect(t.rows).toEqual([
      { sentence: 'first, with comma', label: '0' },
      { sentence: 'second', label: '1' },
    ]);
  });

  it('sniffs tabs in a file with an unknown extension', () => {
    expect(parseTable('a\tb\n1\t2\n', 'data.dat')).toMatchObject({ format: 'tsv', rows: [{ a: '1', b: '2' }] });
  });
});

describe('JSONL', () => {
  it('keeps good lines, reports bad ones with line numbers, and fills missing keys with ""', () => {
    const text =
      '{"text":"a","label":"x"}\n\n{"text": "b", "label": 1, "extra": true}\n{"text": broken\n[1,2]\n{"text":"c","label":null,"meta":{"k":1}}\n';
    const t = parseTable(text, 'd.jsonl');
    expect(t.format).toBe('jsonl');
    expect(t.columns).toEqual(['text', 'label', 'extra', 'meta']);
    expect(t.rows).toEqual([
      { text: 'a', label: 'x', extra: '', meta: '' },
      { text: 'b', label: '1', extra: 'true', meta: '' },
      { text: 'c', label: '', extra: '', meta: '{"k":1}' },
    ]);
    expect(t.lines).toEqual([1, 3, 6]);
    expect(t.badRows.map((b) => [b.line, b.reason.slice(0, 18)])).toEqual([
      [4, 'not valid JSON (Un'],
      [5, 'not a JSON object '],
    ]);
  });

  it('is sniffed from a leading "{" and rejects a JSON array with advice', () => {
    expect(parseTable('{"text":"a"}\n', 'noext').format).toBe('jsonl');
    expect(dataError(() => parseTable('[{"text":"a"}]', 'd.json')).message).toMatch(/JSON Lines/);
  });

  it('is an error when every line is bad', () => {
    const e = dataError(() => parseTable('nope\n{"a":\n', 'd.jsonl'));
    expect(e.code).toBe('NoRows');
    expect(e.message).toMatch(/line 1: not valid JSON.*line 2: not valid JSON/);
  });
});

describe('any format', () => {
  it('strips a byte-order mark', () => {
    expect(parseTable('\ufefftext,label\nx,1\n', 'b.csv').columns).toEqual(['text', 'label']);
    expect(parseTable('\ufeff{"text":"x"}\n', 'b.jsonl').rows).toEqual([{ text: 'x' }]);
    expect(parseTable('\ufeffCall me Ishmael.\r\nSome years ago', 'b.txt').rows).toEqual([
      { text: 'Call me Ishmael.\nSome years ago' },
    ]);
  });

  it('reads .txt as one document', () => {
    const t = parseTable('para one,\twith, commas\n\npara two\n', 'book.txt');
    expect(t).toMatchObject({
      format: 'text',
      columns: ['text'],
      rows: [{ text: 'para one,\twith, commas\n\npara two\n' }],
      lines: [1],
    });
  });

  it('rejects empty, binary and spreadsheet files with what to do', () => {
    for (const [text, name] of [
      ['', 'e.csv'],
      ['  \n\t\n', 'e.jsonl'],
      ['\ufeff', 'e.txt'],
    ]) {
      const e = dataError(() => parseTable(text, name));
      expect(e.code).toBe('Empty');
      expect(e.message).toMatch(/is empty.*CSV or TSV/);
      expect(e.file).toBe(name);
    }
    expect(dataError(() => parseTable('PK\u0003\u0004\u0000\u0000garbage', 'sheet.csv')).code).toBe('Binary');
    const x = dataError(() => parseTable('whatever', 'sheet.xlsx'));
    expect(x.code).toBe('UnsupportedFormat');
    expect(x.message).toMatch(/Export or save the data as CSV/);
  });
});

describe('wide files: linear work and a column cap', () => {
  afterEach(() => vi.restoreAllMocks());

  it('4,000 JSONL lines that each bring a new key are a DataError naming the file, the line and the limit', () => {
    const line = (i: number) => JSON.stringify({ text: `t${i}`, label: 'a', [`k${i}`]: i });
    const text = Array.from({ length: 4000 }, (_, i) => line(i)).join('\n');
    const e = dataError(() => parseTable(text, 'wide.jsonl'));
    expect(e.code).toBe('TooManyColumns');
    expect(e.file).toBe('wide.jsonl');
    const at = MAX_COLUMNS - 1; // line i brings the file to i + 2 keys
    expect(e.message).toContain(`wide.jsonl: its objects have ${MAX_COLUMNS + 1} different keys by line ${at}`);
    expect(e.message).toContain(`at most ${MAX_COLUMNS} columns`);
  });

  it('JSONL up to the cap is read, every row holding every column', () => {
    const n = MAX_COLUMNS - 2;
    const line = (i: number) => JSON.stringify({ text: `t${i}`, label: 'a', [`k${i}`]: i });
    const text = Array.from({ length: n }, (_, i) => line(i)).join('\n');
    const t = parseTable(text, 'wide.jsonl');
    expect(t.columns).toHaveLength(MAX_COLUMNS);
    expect(t.rows).toHaveLength(n);
    expect(t.rows[5]).toMatchObject({ text: 't5', label: 'a', k5: '5', k4: '', k6: '' });
    expect(Object.keys(t.rows[n - 1])).toHaveLength(MAX_COLUMNS);
  });

  it('a CSV header of 8,000 duplicate names is a DataError naming the file, the count and the limit', () => {
    const csv = `${Array(8000).fill('x').join(',')}\n${Array(8000).fill('1').join(',')}\n`;
    const e = dataError(() => parseTable(csv, 'dups.csv'));
    expect(e.code).toBe('TooManyColumns');
    expect(e.message).toContain('dups.csv: the header row has 8000 comma-separated columns');
    expect(e.message).toContain(`at most ${MAX_COLUMNS} columns`);
  });

  it('duplicate header names at the cap are numbered as before', () => {
    const row = (v: string) => Array(MAX_COLUMNS).fill(v).join(',');
    const t = parseTable(`${row('x')}\n${row('1')}\n`, 'dups.csv');
    expect(t.columns.slice(0, 3)).toEqual(['x', 'x (2)', 'x (3)']);
    expect(t.columns.at(-1)).toBe(`x (${MAX_COLUMNS})`);
    expect(new Set(t.columns).size).toBe(MAX_COLUMNS);
    expect(headerNames(['a', 'a (2)', 'a', 'a', ' ', '', 'column 5'])).toEqual([
      'a',
      'a (2)',
      'a (3)',
      'a (4)',
      'column 5',
      'column 6',
      'column 5 (2)',
    ]);
  });

  it('numbering n duplicate names takes a number of set look-ups linear in n (it was quadratic)', () => {
    const lookups = (n: number) => {
      const has = vi.spyOn(Set.prototype, 'has');
      headerNames([...Array(n).fill('x'), ...Array(n).fill('x (2)'), ...Array(n).fill('')]);
      const calls = has.mock.calls.length;
      has.mockRestore();
      return calls;
    };
    const small = lookups(500),
      big = lookups(4000);
    expect(big).toBeLessThanOrEqual(4 * 3 * 4000);
    expect(big / small).toBeLessThan(8 * 1.2); // 8 times the names: about 8 times the work, not 64
  });
});
