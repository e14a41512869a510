// `dynrank train --task sft --template-name NAME` renders with that entry of tokenizer_config.json's named-template
// list (as `dynrank data --template-name` shows it), and `dynrank eval --task sft` scores the answer tokens only.
// The model is a copy of public/models/llama-demo whose tokenizer_config.json holds two named templates.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli as run } from '../helpers/cli';

afterEach(() => vi.restoreAllMocks());

const LLAMA = 'public/models/llama-demo';
const dir = mkdtempSync(join(tmpdir(), 'dynrank-sft-template-'));
const model = join(dir, 'llama-named');
mkdirSync(model);
for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']) {
  copyFileSync(join(LLAMA, f), join(model, f));
}
const tokConfig = JSON.parse(readFileSync(join(LLAMA, 'tokenizer_config.json'), 'utf8'));
// "plain": no system turn, "role: content" lines, the answer followed by a blank line.
const PLAIN =
  "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}";
writeFileSync(
  join(model, 'tokenizer_config.json'),
  JSON.stringify({
    ...tokConfig,
    chat_template: [
      { name: 'default', template: tokConfig.chat_template },
      { name: 'plain', template: PLAIN },
    ],
  }),
);

const data = join(dir, 'chat.jsonl');
writeFileSync(
  data,
  Array.from({ length: 8 }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `What comes after ${i}?` },
        { role: 'assistant', content: `ANSWER: ${i + 1}.` },
      ],
    }),
  ).join('\n'),
);

const train = (out: string, extra: string[]) =>
  run([
    'train',
    '--task',
    'sft',
    '--model',
    model,
    '--data',
    data,
    '--method',
    'lora',
    '--rank',
    '2',
    '--steps',
    '2',
    '--batch',
    '4',
    '--val-fraction',
    '0.25',
    '--backend',
    'cpu',
    '--out',
    out,
    ...extra,
  ]);
const shown = async (extra: string[]) =>
  JSON.parse((await run(['data', '--model', model, '--data', data, '--val-fraction', '0', ...extra])).out);

describe('dynrank train --task sft --template-name', () => {
  it('renders with the named template, as `dynrank data --template-name` shows it, and resumes with it', async () => {
    const plain = await shown(['--template-name', 'plain']);
    const dflt = await shown([]);
    expect(plain.template).toEqual({ origin: 'tokenizer_config.json', name: 'plain' });
    expect(dflt.template).toEqual({ origin: 'tokenizer_config.json', name: 'default' });
    expect(plain.examples[0].text).toBe('user: What comes after 0?\n\nassistant: ANSWER: 1.\n\n');
    expect(plain.counts.tokens).toBeLessThan(dflt.counts.tokens);

    const out = mkdtempSync(join(dir, 'run-'));
    const r = await train(out, ['--template-name', 'plain', '--checkpoint-every', '1', '--stop-after', '1']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).interrupted).toBe(true);
    const resumed = await run(['train', '--resume', out, '--backend', 'cpu']);
    expect(resumed.code, resumed.err).toBe(0);
    const j = JSON.parse(readFileSync(join(out, 'dynrank.json'), 'utf8'));
    expect(j.config.sft.templateName).toBe('plain');
    expect(j.data.template).toEqual({ origin: 'tokenizer_config.json', name: 'plain' });
    expect(j.data.tokens).toBe(plain.counts.tokens);
  });

  it('without it, the list entry "default" renders', async () => {
    const out = mkdtempSync(join(dir, 'run-'));
    const r = await train(out, []);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(readFileSync(join(out, 'dynrank.json'), 'utf8'));
    expect(j.data.template).toEqual({ origin: 'tokenizer_config.json', name: 'default' });
    expect(j.data.tokens).toBe((await shown([])).counts.tokens);
  });

  it('an unknown name is an error naming the templates there are', async () => {
    const r = await train(mkdtempSync(join(dir, 'run-')), ['--template-name', 'tools']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/tokenizer_config\.json.*"default", "plain" but none named "tools"/);
  });

  it('--template-name without --task sft is a usage error', async () => {
    const r = await run(['train', '--model', model, '--data', data, '--template-name', 'plain', '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--template-name needs --task sft/);
  });
});

describe('dynrank eval --task sft', () => {
  it('scores the answer tokens only, with the named template', async () => {
    const args = ['eval', '--task', 'sft', '--model', model, '--data', data, '--backend', 'cpu'];
    const plain = await run([...args, '--template-name', 'plain']);
    expect(plain.code, plain.err).toBe(0);
    const e = JSON.parse(plain.out);
    const d = await shown(['--template-name', 'plain']);
    expect(e).toMatchObject({ task: 'sft', conversations: 8, template: { name: 'plain' } });
    // Every trained (answer) token is a target of the token before it; nothing else is scored.
    expect(e.answerTokens).toBe(d.counts.trainableTokens);
    expect(e.examples).toBe(e.answerTokens);
    expect(e.perplexity).toBeCloseTo(Math.exp(e.loss), 6);
    // The plain causal-LM evaluation of the same file scores every token of its text.
    const lm = JSON.parse((await run(['eval', '--model', model, '--data', data, '--backend', 'cpu'])).out);
    expect(lm.examples).toBeGreaterThan(e.answerTokens);
    expect(lm.task).toBeUndefined();
  });
});
