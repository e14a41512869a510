// The instruction-tuning preview with the bundled llama-demo's ChatML template: trained spans are exactly the
// assistant turns (content and end-of-turn), never the system or user text; counts follow tokenizeSft; the data
// preview says when a file is instruction data; the chat loader and the end-of-turn ids the chat box stops at.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DownloadError, type ModelSource } from '../../models/sources';
import { type ChatMessage, chatFromSource, chatTemplateFrom, endOfTurnIds, loadChatTokenizer } from './chat';
import { previewOf } from './preview';
import { sftPreviewOf, tokenSpans } from './sftPreview';

const DIR = 'public/models/llama-demo/';
const read = (p: string) => readFileSync(new URL(`../../../${p}`, import.meta.url), 'utf8');
const tokenizer = loadChatTokenizer(read(`${DIR}tokenizer.json`), read(`${DIR}tokenizer_config.json`));
const chat = { tokenizer, template: chatTemplateFrom(tokenizer.config) };

const multi: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name a colour.' },
  { role: 'assistant', content: 'Blue.' },
  { role: 'user', content: 'Another one?' },
  { role: 'assistant', content: 'Red, like a rose.' },
];
const single = (q: string, a: string): ChatMessage[] => [
  { role: 'user', content: q },
  { role: 'assistant', content: a },
];
const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
const FILE = jsonl([
  { messages: multi },
  { messages: single('What is 2 + 2?', 'Four.') },
  'not json',
  { messages: [{ role: 'user', content: 'No answer here.' }] },
  { messages: single('Say hi.', 'Hi!') },
]);

describe('sftPreviewOf', () => {
  const p = sftPreviewOf({ text: FILE, fileName: 'chat.jsonl' }, chat, {
    format: 'auto',
    trainOnPrompt: false,
    maxLength: 256,
  });

  it('highlights exactly the assistant turns of a multi-turn chat, none of the system or user text', () => {
    const ex = p.examples[0];
    expect(ex.line).toBe(1);
    const trained = ex.spans.filter((s) => s.trained).map((s) => s.text);
    expect(trained).toEqual(['Blue.<|im_end|>\n', 'Red, like a rose.<|im_end|>\n']);
    const plain = ex.spans
      .filter((s) => !s.trained)
      .map((s) => s.text)
      .join('');
    for (const m of multi.filter((m) => m.role !== 'assistant')) expect(plain).toContain(m.content);
    // The spans join up to the rendered conversation, which the template wrote with its special tokens.
    expect(ex.spans.map((s) => s.text).join('')).toBe(chat.template.render(multi, { addGenerationPrompt: false }));
    expect(ex.spans.every((s, i) => i === 0 || s.trained !== ex.spans[i - 1].trained)).toBe(true);
    expect(ex.trainedTokens).toBe(tokenizer.encode(trained.join('')).length);
    expect(ex.truncated).toBe(false);
  });

  it('shows the first three examples and counts the rows that are not usable', () => {
    expect(p.examples.map((e) => e.line)).toEqual([1, 2, 5]);
    expect(p.examples[1].spans.filter((s) => s.trained).map((s) => s.text)).toEqual(['Four.<|im_end|>\n']);
    expect(p.format).toBe('messages');
    expect(p.template).toEqual({ origin: 'tokenizer_config.json', name: null, eos: '<|end_of_text|>' });
    expect(p.counts.examples).toBe(3);
    expect(p.counts.badRows).toBe(2);
    expect(p.badRows.map((b) => b.line)).toEqual([3, 4]);
    expect(p.badRows[1].reason).toContain('no assistant turn');
  });

  it('trains every token with trainOnPrompt, and counts the examples cut to maxLength', () => {
    const all = sftPreviewOf({ text: FILE, fileName: 'chat.jsonl' }, chat, {
      format: 'messages',
      trainOnPrompt: true,
      maxLength: 12,
    });
    expect(all.examples[0].spans).toHaveLength(1);
    expect(all.examples[0].spans[0].trained).toBe(true);
    expect(all.examples[0].tokens).toBe(12);
    expect(all.examples[0].truncated).toBe(true);
    expect(all.counts.truncated).toBe(3);
    expect(all.counts.trainableTokens).toBe(all.counts.tokens);
  });

  it('reads an overridden format, and a CSV of prompts and completions', () => {
    const csv = 'prompt,completion\n"Capital of France?","Paris."\n';
    const c = sftPreviewOf({ text: csv, fileName: 'qa.csv' }, chat, {
      format: 'prompt-completion',
      trainOnPrompt: false,
      maxLength: 256,
    });
    expect(c.examples[0].spans.filter((s) => s.trained).map((s) => s.text)).toEqual(['Paris.<|im_end|>\n']);
    expect(() =>
      sftPreviewOf({ text: csv, fileName: 'qa.csv' }, chat, { format: 'alpaca', trainOnPrompt: false, maxLength: 9 }),
    ).toThrow(/the alpaca format needs the columns "instruction" and "output"/);
  });
});

describe('tokenSpans', () => {
  it('joins up to the decoded text and splits where the labels change', () => {
    const ids = tokenizer.encode('hello there friend');
    const labels = ids.map((id, k) => (k === 0 ? -100 : id));
    const spans = tokenSpans(tokenizer, ids, labels);
    expect(spans.map((s) => s.trained)).toEqual([false, true]);
    expect(spans.map((s) => s.text).join('')).toBe(tokenizer.decode(ids));
    expect(tokenSpans(tokenizer, [], [])).toEqual([]);
  });
});

describe('previewOf instructionFormat', () => {
  it('names the instruction format of a table, and none for text or other tables', () => {
    expect(previewOf(FILE, 'chat.jsonl').instructionFormat).toBe('messages');
    expect(previewOf('prompt,completion\na,b\n', 'a.csv').instructionFormat).toBe('prompt-completion');
    expect(previewOf(jsonl([{ instruction: 'a', input: '', output: 'b' }]), 'a.jsonl').instructionFormat).toBe(
      'alpaca',
    );
    expect(previewOf('text,label\nhi,ham\n', 'a.csv').instructionFormat).toBeNull();
    expect(previewOf('some prose\n', 'a.txt').instructionFormat).toBeNull();
  });
});

describe('chatFromSource and endOfTurnIds', () => {
  const files: Record<string, string> = {
    'tokenizer.json': read(`${DIR}tokenizer.json`),
    'tokenizer_config.json': read(`${DIR}tokenizer_config.json`),
  };
  // A dev server answers a missing optional file with its HTML page, which the URL source reports as a DownloadError.
  const src: ModelSource = {
    name: 'llama-demo',
    get: async (f) => {
      if (f in files) return new TextEncoder().encode(files[f]);
      throw new DownloadError(f, `/models/llama-demo/${f}`, `${f}: returned an HTML page instead of the file`);
    },
  };

  it('loads the tokenizer and the ChatML template, a missing chat_template.jinja being absent', async () => {
    const c = await chatFromSource(src);
    expect(c.template.origin).toBe('tokenizer_config.json');
    expect(c.template.render(single('Hi', 'Yo'), { addGenerationPrompt: false })).toContain(
      '<|im_start|>assistant\nYo<|im_end|>',
    );
  });

  it("stops an answer at the eos token and at the template's end-of-turn token", () => {
    const im = tokenizer.encode('<|im_end|>');
    expect(im).toHaveLength(1);
    expect(endOfTurnIds(chat).sort()).toEqual([tokenizer.eosId!, im[0]].sort());
  });
});
