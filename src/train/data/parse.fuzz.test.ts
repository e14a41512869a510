// Seeded mutation fuzzing of the data readers: truncated, byte-flipped and garbage-laced CSV/TSV/JSONL/text must give
// a well-formed table (and a classification set or a DataError from it) or a DataError; never another exception or a hang.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../tensor/rng';
import { buildClassificationSet, guessMapping } from './dataset';
import { DataError } from './errors';
import { MAX_COLUMNS, type ParsedTable, parseTable } from './parse';

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];
const WORDS = [
  'great',
  'film',
  'naïve café',
  'spam',
  '🤗',
  'a,b',
  'say "hi"',
  'tab\there',
  'line\nbreak',
  '{"k":1}',
  '',
  ' ',
  '__proto__',
  'constructor',
];
const GARBAGE = [
  '"',
  '""',
  ',',
  '\t',
  '\n',
  '\r\n',
  '\r',
  '{',
  '}',
  '[',
  ']',
  ':',
  '\\',
  '\u0000',
  '\ufeff',
  '\ufffd',
  '\u2028',
  'null',
  '"a',
  '\\u12',
  '=',
  ';',
  '|',
];

function sentence(rng: Rng): string {
  return Array.from({ length: 1 + rng.int(5) }, () => pick(rng, WORDS)).join(' ');
}

/** A valid file of a random format, with its name. */
function validFile(rng: Rng): [string, string] {
  const n = rng.int(12);
  const labels = ['pos', 'neg', '0', '1', 'x', '__proto__', 'toString'];
  switch (rng.int(4)) {
    case 0: {
      const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
      return [
        ['text,label', ...Array.from({ length: n }, () => `${q(sentence(rng))},${pick(rng, labels)}`)].join(
          pick(rng, ['\n', '\r\n']),
        ),
        'f.csv',
      ];
    }
    case 1:
      return [
        [
          'sentence\tlabel',
          ...Array.from({ length: n }, () => `${sentence(rng).replace(/[\t\n"]/g, ' ')}\t${pick(rng, labels)}`),
        ].join('\n'),
        'f.tsv',
      ];
    case 2:
      return [
        Array.from({ length: n }, () =>
          JSON.stringify({
            text: sentence(rng),
            label: pick(rng, labels),
            n: rng.int(9),
            [pick(rng, ['__proto__', 'constructor', 'k'])]: 'v',
          }),
        ).join('\n'),
        'f.jsonl',
      ];
    default:
      return [Array.from({ length: n }, () => sentence(rng)).join('\n'), 'f.txt'];
  }
}

function mutate(rng: Rng, text: string): string {
  const bytes = new TextEncoder().encode(text);
  let b: Uint8Array = bytes;
  const ops = 1 + rng.int(4);
  for (let k = 0; k < ops; k++) {
    const op = rng.int(5);
    if (op === 0 && b.length)
      b = b.slice(0, rng.int(b.length)); // truncation, possibly inside a UTF-8 sequence
    else if (op === 1 && b.length) {
      b = b.slice();
      for (let i = 0; i < 1 + rng.int(4); i++) b[rng.int(b.length)] ^= 1 << rng.int(8);
    } else if (op === 2) {
      const at = rng.int(b.length + 1);
      b = concat(b.slice(0, at), new TextEncoder().encode(pick(rng, GARBAGE).repeat(1 + rng.int(3))), b.slice(at));
    } else if (op === 3)
      b = concat(
        b,
        Uint8Array.from({ length: rng.int(64) }, () => rng.int(256)),
      ); // random bytes
    else if (b.length) {
      const at = rng.int(b.length);
      b = concat(b, b.slice(at, at + rng.int(200)));
    } // repeated tail
  }
  return new TextDecoder().decode(b);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function checkTable(t: ParsedTable): void {
  expect(new Set(t.columns).size).toBe(t.columns.length);
  expect(t.columns.length).toBeLessThanOrEqual(MAX_COLUMNS);
  expect(t.rows.length).toBeGreaterThan(0);
  expect(t.lines).toHaveLength(t.rows.length);
  for (const r of t.rows) for (const c of t.columns) expect(typeof r[c]).toBe('string');
  for (let i = 1; i < t.lines.length; i++) expect(t.lines[i]).toBeGreaterThan(t.lines[i - 1]);
  for (const b of t.badRows) {
    expect(Number.isInteger(b.line) && b.line >= 1).toBe(true);
    expect(typeof b.reason).toBe('string');
    expect(b.excerpt.length).toBeLessThanOrEqual(80);
  }
}

describe('data reader fuzzing', () => {
  it('mutated files give a table or a DataError, never another exception', () => {
    const rng = new Rng(0xda7a);
    const names = ['f.csv', 'f.tsv', 'f.jsonl', 'f.txt', 'f.dat', 'f.json', 'noext'];
    const outcome = { table: 0, set: 0, dataError: 0 };
    for (let i = 0; i < 1500; i++) {
      const [valid, ownName] = validFile(rng);
      const text = rng.int(10) === 0 ? valid : mutate(rng, valid);
      const name = rng.int(4) === 0 ? pick(rng, names) : ownName;
      try {
        const t = parseTable(text, name);
        checkTable(t);
        outcome.table++;
        const m = guessMapping(t.columns);
        if (m) {
          const s = buildClassificationSet(t, m, { seed: i, valFraction: rng.next() * 0.5 });
          expect(s.train.length + s.val.length + s.badRows.length).toBeGreaterThanOrEqual(t.rows.length);
          for (const e of [...s.train, ...s.val]) expect(e.label >= 0 && e.label < s.labels.length).toBe(true);
          outcome.set++;
        }
      } catch (e) {
        if (!(e instanceof DataError))
          throw new Error(`case ${i} (${name}, ${JSON.stringify(text.slice(0, 200))}): ${e}`, { cause: e });
        expect(e.message.length).toBeGreaterThan(20);
        outcome.dataError++;
      }
    }
    // Each path must be exercised, or the fuzzer is not testing what it claims.
    expect(outcome.table).toBeGreaterThan(300);
    expect(outcome.set).toBeGreaterThan(50);
    expect(outcome.dataError).toBeGreaterThan(100);
  });

  it('files around the column cap give a table within it or a DataError naming the limit', () => {
    const rng = new Rng(0xc01);
    const outcome = { table: 0, capped: 0 };
    for (let i = 0; i < 60; i++) {
      const width = pick(rng, [MAX_COLUMNS - 1, MAX_COLUMNS, MAX_COLUMNS + 1, MAX_COLUMNS + 1 + rng.int(5000)]);
      const name = (k: number) => (rng.int(3) === 0 ? pick(rng, ['x', '', ' ', 'x (2)', '__proto__']) : `c${k}`);
      const format = pick(rng, ['csv', 'tsv', 'jsonl'] as const);
      const rows = 1 + rng.int(4);
      let text: string;
      if (format === 'jsonl') {
        // Keys spread over the lines, so that the cap is crossed part-way through the file.
        const keys = Array.from({ length: width }, (_, k) => `k${k}`);
        const per = Math.ceil(width / rows);
        const line = (r: number) =>
          JSON.stringify(Object.fromEntries(keys.slice(r * per, (r + 1) * per).map((k) => [k, r])));
        text = Array.from({ length: rows }, (_, r) => line(r)).join('\n');
      } else {
        const d = format === 'csv' ? ',' : '\t';
        const header = Array.from({ length: width }, (_, k) => name(k)).join(d);
        const row = () => Array.from({ length: width }, () => String(rng.int(9))).join(d);
        text = [header, ...Array.from({ length: rows }, row)].join('\n');
      }
      try {
        const t = parseTable(text, `wide.${format}`);
        checkTable(t);
        expect(t.columns.length).toBe(width);
        outcome.table++;
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        expect(width).toBeGreaterThan(MAX_COLUMNS);
        expect(e.code).toBe('TooManyColumns');
        expect(e.message).toContain(`wide.${format}: `);
        expect(e.message).toContain(`at most ${MAX_COLUMNS} columns`);
        outcome.capped++;
      }
    }
    expect(outcome.table).toBeGreaterThan(10);
    expect(outcome.capped).toBeGreaterThan(10);
  });

  it('pure garbage of any length is handled', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 300; i++) {
      const n = rng.int(4) === 0 ? rng.int(20000) : rng.int(300);
      const text = new TextDecoder().decode(
        Uint8Array.from({ length: n }, () => (rng.int(3) ? 32 + rng.int(95) : rng.int(256))),
      );
      try {
        checkTable(parseTable(text, pick(rng, ['g.csv', 'g.tsv', 'g.jsonl', 'g.txt', 'g'])));
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
      }
    }
  });
});
