// The bundled instruction-tuning demo (public/datasets/instruct-demo*.jsonl, tools/make_instruct_demo.mjs): both files
// read cleanly as conversations whose every answer is in the fixed format, match the sha256 in their README, and keep
// the held-out questions out of the training file; and the format-rate measurement (src/bench/sftFormat.ts) answers
// the held-out prompts through llama-demo's chat template, where the base model never writes the format and a short
// LoRA run on the demo set makes it open its answers with it.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FORMAT_EXACT, FORMAT_START, formatRates, heldOutPrompts, trainerFormatRates } from '../../src/bench/sftFormat';
import { readEosIds } from '../../src/models/generate';
import { loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { CpuBackend } from '../../src/tensor/cpu';
import { chatTemplateFrom, loadChatTokenizer } from '../../src/train/data/chat';
import { readSftRecords } from '../../src/train/data/sft';
import { createTrainer, DEFAULT_RUN, prepareData, type RunConfig, runSteps } from '../../src/train/run';

const DATA = 'public/datasets/';
const LLAMA = 'public/models/llama-demo';
const read = (f: string) => readFileSync(f, 'utf8');
const TRAIN = `${DATA}instruct-demo.jsonl`,
  HELD_OUT = `${DATA}instruct-demo-heldout.jsonl`;

describe('instruct-demo data', () => {
  it('match the sha256 values in public/datasets/README.md', () => {
    const readme = read(`${DATA}README.md`);
    const section = readme.slice(readme.indexOf('## instruct-demo.jsonl'));
    const shas = [...section.matchAll(/sha256: `([0-9a-f]{64})`/g)].map((m) => m[1]);
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(shas.slice(0, 2)).toEqual([sha(TRAIN), sha(HELD_OUT)]);
  });

  it('are conversations whose every answer is in the format; held-out questions are not in the training file', () => {
    const train = readSftRecords(read(TRAIN), TRAIN);
    const held = readSftRecords(read(HELD_OUT), HELD_OUT);
    for (const set of [train, held]) {
      expect(set).toMatchObject({ format: 'messages', badRows: [] });
      for (const r of set.records) {
        expect(r.messages.at(-1)!.role).toBe('assistant');
        expect(r.messages.at(-1)!.content).toMatch(FORMAT_EXACT);
      }
    }
    expect(train.records.length).toBeGreaterThanOrEqual(200);
    expect(held.records.length).toBeGreaterThanOrEqual(40);
    expect(train.records.some((r) => r.messages[0].role === 'system')).toBe(true);
    expect(held.records.every((r) => r.messages[0].role === 'user')).toBe(true);
    const asked = new Set(train.records.map((r) => r.messages.at(-2)!.content));
    expect(held.records.filter((r) => asked.has(r.messages.at(-2)!.content))).toEqual([]);
  });
});

async function llamaDemo() {
  const be = new CpuBackend();
  const src = dirSource(LLAMA);
  const model = await loadModel(src, be, { seed: 1 });
  const tokenizer = loadChatTokenizer(read(`${LLAMA}/tokenizer.json`), read(`${LLAMA}/tokenizer_config.json`));
  const chat = { tokenizer, template: chatTemplateFrom(tokenizer.config) };
  return { be, model, chat, eosIds: await readEosIds(src, model as never) };
}

describe('format rates', () => {
  it('FORMAT_START takes answers that begin in the format; FORMAT_EXACT only those that also end there', () => {
    expect('ANSWER: cold.').toMatch(FORMAT_EXACT);
    expect('ANSWER: cold. And more').toMatch(FORMAT_START);
    expect('ANSWER: cold. And more').not.toMatch(FORMAT_EXACT);
    for (const bad of ['answer: cold.', 'ANSWER: Cold.', 'ANSWER: cold', 'The ANSWER: cold.', 'ANSWER:cold.']) {
      expect(bad).not.toMatch(FORMAT_START);
    }
  });

  it('the held-out prompts are the turns before each answer; llama-demo as pretrained never answers in the format', async () => {
    const prompts = heldOutPrompts(read(HELD_OUT), HELD_OUT);
    expect(prompts[0].messages.at(-1)!.role).toBe('user');
    expect(prompts[0].reference).toMatch(FORMAT_EXACT);
    const { be, model, chat, eosIds } = await llamaDemo();
    const r = await formatRates(be, model, chat, prompts.slice(0, 6), { maxTokens: 6, eosIds });
    expect(r.answers).toHaveLength(6);
    expect(r.answers.every((a) => a.length > 0)).toBe(true);
    expect(r.start).toBe(0);
    expect(r.exact).toBe(0);
  });

  it('a short LoRA run on instruct-demo opens more held-out answers in the format than the base model', async () => {
    const { be, model, chat, eosIds } = await llamaDemo();
    const cfg: RunConfig = {
      ...DEFAULT_RUN,
      sft: { format: 'messages', trainOnPrompt: false },
      method: 'lora',
      rank: 4,
      lr: 3e-2,
      batch: 4,
      steps: 16,
      valFraction: 0,
      logEvery: 0,
      modelDropout: false,
    };
    const data = prepareData(model, read(TRAIN), TRAIN, cfg, chat);
    const { trainer, stream, steps } = createTrainer(be, model, data, cfg);
    const prompts = heldOutPrompts(read(HELD_OUT), HELD_OUT).slice(0, 8);
    const opts = { maxTokens: 10, eosIds };
    const base = await trainerFormatRates(trainer, chat, prompts, { ...opts, base: true });
    await runSteps(trainer, stream, steps, cfg, () => {});
    const adapted = await trainerFormatRates(trainer, chat, prompts, { ...opts, base: false });
    // A dozen small steps teach the format's opening word; the whole format takes a few dozen (docs/results.md).
    const opening = (r: { answers: string[] }) => r.answers.filter((a) => a.startsWith('ANSWER')).length;
    expect(opening(base)).toBe(0);
    expect(opening(adapted), adapted.answers.join(' | ')).toBeGreaterThan(opening(base));
    expect(adapted.start).toBeGreaterThanOrEqual(base.start);
  });
});
