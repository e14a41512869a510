// The bundled demo data sets (public/datasets, built by tools/make_datasets.mjs) read cleanly with the expected
// sizes, feed the demo tokenizers, and still match the checksums their README gives.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encoderBatch } from '../../models/batch';
import { loadTokenizer } from '../../models/tokenizer';
import { BatchStream } from './batches';
import { buildClassificationSet, buildLmSet, guessMapping } from './dataset';
import { parseTable } from './parse';

const DATA = new URL('../../../public/datasets/', import.meta.url);
const MODELS = new URL('../../../public/models/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, DATA), 'utf8');
const tokenizer = (dir: string) =>
  loadTokenizer(
    readFileSync(new URL(`${dir}/tokenizer.json`, MODELS), 'utf8'),
    readFileSync(new URL(`${dir}/tokenizer_config.json`, MODELS), 'utf8'),
  );

describe('demo data sets', () => {
  it('are under 600 KB each and match the sha256 in their README', () => {
    const readme = read('README.md');
    for (const name of ['sotu.txt', 'spam.csv']) {
      expect(statSync(new URL(name, DATA)).size).toBeLessThan(600_000);
      const sha = createHash('sha256')
        .update(readFileSync(new URL(name, DATA)))
        .digest('hex');
      const section = readme.slice(readme.indexOf(`## ${name}`));
      expect(/sha256: `([0-9a-f]{64})`/.exec(section)?.[1]).toBe(sha);
    }
  });

  it('spam.csv: 1200 rows, no bad ones, balanced ham/spam, mapping guessed', () => {
    const t = parseTable(read('spam.csv'), 'spam.csv');
    expect(t).toMatchObject({ format: 'csv', columns: ['text', 'label'], badRows: [] });
    expect(t.rows).toHaveLength(1200);
    const mapping = guessMapping(t.columns)!;
    expect(mapping).toEqual({ text: 'text', label: 'label' });
    const s = buildClassificationSet(t, mapping, { seed: 0, valFraction: 0.2 });
    expect(s.labels).toEqual(['ham', 'spam']);
    expect(s.labelCounts).toEqual({ ham: 600, spam: 600 });
    expect(s.split).toMatchObject({ train: 960, val: 240 });
    expect(s.badRows).toEqual([]);
    const b = new BatchStream(
      {
        kind: 'cls',
        examples: s.train,
        tokenizer: tokenizer('bert-tiny'),
        layout: {
          batch: (seqs, T) =>
            encoderBatch(
              seqs,
              {
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
              },
              T,
            ),
          maxSeq: 128,
        },
        seq: 128,
      },
      16,
      0,
    ).next();
    expect(b.kind === 'cls' && b.enc.T).toBe(128);
  });

  it('sotu.txt: one document of 11 addresses that packs into GPT-2 windows', () => {
    const t = parseTable(read('sotu.txt'), 'sotu.txt');
    expect(t).toMatchObject({ format: 'text', columns: ['text'] });
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0].text.match(/^State of the Union Address, \d{4}, /gm)).toHaveLength(11);
    const s = buildLmSet(
      t.rows.map((r) => r.text),
      tokenizer('gpt2-demo'),
      { seq: 128, seed: 0, valFraction: 0.1 },
    );
    expect(s.tokens.documents).toBe(1);
    expect(s.train.length + s.val.length).toBe(Math.floor((s.tokens.total - 1) / 128));
    expect(s.tokens.total).toBeGreaterThan(60_000);
    expect(s.val.length).toBe(Math.round((s.train.length + s.val.length) * 0.1));
  });
});
