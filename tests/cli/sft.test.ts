// `dynrank train --task sft`: instruction tuning through the CLI on the CPU backend, with gpt2-tiny (fallback chat
// template) and public/models/llama-demo (its own ChatML template); bad rows are reported on stderr with their lines,
// dynrank.json records the sft data summary, and the answer-only loss goes down.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli as run } from '../helpers/cli';

afterEach(() => vi.restoreAllMocks());

const dir = mkdtempSync(join(tmpdir(), 'dynrank-sft-'));
const data = join(dir, 'chat.jsonl');
const convo = (i: number) => ({
  messages: [
    { role: 'user', content: `Say the number ${i % 4}.` },
    { role: 'assistant', content: `The number is ${i % 4}.` },
  ],
});
writeFileSync(
  data,
  [
    ...Array.from({ length: 6 }, (_, i) => JSON.stringify(convo(i))),
    '{"messages": [{"role": "robot", "content": "beep"}]}',
    ...Array.from({ length: 6 }, (_, i) => JSON.stringify(convo(i + 6))),
  ].join('\n'),
);

const common = (model: string, out: string) => [
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
  '4',
  '--lr',
  '0.01',
  '--steps',
  '12',
  '--batch',
  '4',
  '--log-every',
  '1',
  '--no-model-dropout',
  '--max-length',
  '48',
  '--backend',
  'cpu',
  '--out',
  out,
];

const losses = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).loss as number);

describe('dynrank train --task sft', () => {
  for (const [model, origin] of [
    ['gpt2-tiny', 'fallback'],
    ['public/models/llama-demo', 'tokenizer_config'],
  ] as const) {
    it(`${model}: answer-only loss goes down, bad rows reported, sft summary in dynrank.json`, async () => {
      const out = mkdtempSync(join(dir, 'run-'));
      const r = await run(common(model, out));
      expect(r.code, r.err).toBe(0);
      expect(r.stderr).toMatch(/line 7/);
      const j = JSON.parse(readFileSync(join(out, 'dynrank.json'), 'utf8'));
      expect(j.config.task).toBe('causal-lm');
      expect(j.config.sft).toEqual({ format: 'auto', trainOnPrompt: false, maxLength: 48 });
      expect(j.data).toMatchObject({ sft: true, format: 'messages', examples: 12, badRows: 1 });
      // The same examples and truncations as `dynrank data` shows for the file.
      const shown = JSON.parse((await run(['data', '--model', model, '--data', data, '--max-length', '48'])).out);
      expect(j.data.truncated).toBe(shown.counts.truncated);
      expect(j.data.trainableTokens).toBe(shown.counts.trainableTokens);
      expect(j.data.template.origin).toContain(origin);
      expect(j.data.firstBadRows[0].line).toBe(7);
      expect(j.data.trainableTokens).toBeLessThan(j.data.tokens / 2);
      const l = losses(out);
      expect(l.slice(-3).reduce((a, b) => a + b) / 3).toBeLessThan((l[0] + l[1] + l[2]) / 3);
      expect(Number.isFinite(j.eval.perplexity)).toBe(true);
    });
  }

  it('an interrupted sft run resumes to the same losses as the whole run', async () => {
    const whole = mkdtempSync(join(dir, 'whole-')),
      parts = mkdtempSync(join(dir, 'parts-'));
    const args = (out: string) => [...common('gpt2-tiny', out), '--checkpoint-every', '4'];
    expect((await run(args(whole))).code).toBe(0);
    expect(JSON.parse((await run([...args(parts), '--stop-after', '5'])).out).interrupted).toBe(true);
    const resumed = await run(['train', '--resume', parts, '--backend', 'cpu']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(losses(parts)).toEqual(losses(whole));
  });

  it('--format without --task sft is a usage error', async () => {
    const r = await run(['train', '--model', 'gpt2-tiny', '--data', data, '--format', 'messages', '--out', dir]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--format needs --task sft/);
  });
});
