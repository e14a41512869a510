// The budget targets sent to the page follow the schedule exactly (peft/schedule.ts expectedLive), and the page's
// settings become the trainer's config (steps or epochs).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LoadedModel } from '../models/load';
import { expectedLive } from '../peft/schedule';
import { type BatchSource, evalBatches } from '../train/data/batches';
import { chatTemplateFrom, loadChatTokenizer } from '../train/data/chat';
import { IGNORE_INDEX } from '../train/data/sft';
import { prepareData, totalSteps } from '../train/run';
import type { Trainer } from '../train/trainer';
import type { RunSettings } from './protocol';
import { describeData, runConfig, scheduleTargets } from './runInfo';

describe('scheduleTargets', () => {
  it('matches expectedLive at every step for dynamic rank, and M*r for LoRA', () => {
    const schedule = { totalSteps: 57, R0: 3, budget: 2, modules: 8, pruneInterval: 2 };
    const dora = {
      adapters: { modules: new Array(8), opts: { R0: 3 } },
      allocator: { schedule },
    } as unknown as Trainer;
    const t = scheduleTargets(dora, 57);
    for (let s = 1; s <= 57; s++) expect(t[s], `step ${s}`).toBe(expectedLive(s, schedule));
    expect(t[57]).toBe(16);
    const lora = { adapters: { modules: new Array(5), opts: { R0: 4 } }, allocator: null } as unknown as Trainer;
    expect([...scheduleTargets(lora, 3)]).toEqual([20, 20, 20, 20]);
  });
});

describe('runConfig', () => {
  const settings: RunSettings = {
    method: 'lora',
    budget: 2,
    r0: null,
    rank: 4,
    targets: ['attn.c_attn'],
    lr: null,
    batch: 4,
    seq: 32,
    steps: 7,
    epochs: 3,
    seed: 1,
    pruneInterval: 10,
    eta: 0.1,
    dropout: 0,
    alpha: null,
    checkpointEvery: 0,
  };
  const train = { kind: 'cls', examples: new Array(10) } as unknown as BatchSource;

  it('takes the step count from the epochs when they are set, else from the steps', () => {
    expect(totalSteps(train, runConfig(settings))).toBe(9); // ceil(10 / 4) batches per epoch, 3 epochs
    expect(totalSteps(train, runConfig({ ...settings, epochs: 1, batch: 10 }))).toBe(1);
    expect(totalSteps(train, runConfig({ ...settings, epochs: null }))).toBe(7);
    // Settings saved with a checkpoint before epochs existed.
    const { epochs: _, ...older } = settings;
    expect(totalSteps(train, runConfig(older))).toBe(7);
  });
});

describe('an instruction-tuning run from the page', () => {
  const read = (p: string) => readFileSync(new URL(`../../public/models/llama-demo/${p}`, import.meta.url), 'utf8');
  const tokenizer = loadChatTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
  const chat = { tokenizer, template: chatTemplateFrom(tokenizer.config) };
  // prepareData reads only the task and the positions of the model.
  const model = {
    task: 'causal-lm',
    arch: { dims: () => ({ maxPositions: 256 }) },
    config: {},
  } as unknown as LoadedModel;
  const answers = Array.from({ length: 10 }, (_, i) => `Answer number ${i}.`);
  const text = answers
    .map((a, i) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: `Question ${i}?` },
          { role: 'assistant', content: a },
        ],
      }),
    )
    .join('\n');
  const settings: RunSettings = {
    method: 'lora',
    budget: 2,
    r0: null,
    rank: 2,
    targets: ['q_proj'],
    lr: null,
    batch: 2,
    seq: 64,
    steps: 3,
    seed: 1,
    pruneInterval: 10,
    eta: 0.1,
    dropout: 0,
    alpha: null,
    checkpointEvery: 0,
    sft: { format: 'auto', trainOnPrompt: false },
  };

  it('carries the options into the run config, with the sequence length as the longest example', () => {
    expect(runConfig(settings).sft).toEqual({ format: 'auto', trainOnPrompt: false, maxLength: 64 });
    expect(runConfig({ ...settings, sft: null }).sft).toBeUndefined();
  });

  it('trains and evaluates on the answer tokens only', () => {
    const data = prepareData(model, text, 'chat.jsonl', runConfig(settings), chat);
    expect(data.summary.sft).toBe(true);
    if (data.val.kind !== 'lm') throw new Error('expected a language-model source');
    expect(data.val.windows).toHaveLength(1);
    // Every target the masked loss counts is a token of an answer (its content and end of turn), nothing else.
    let counted = 0;
    for (const b of evalBatches(data.val, 2)) {
      if (b.kind !== 'lm') continue;
      const targets = Array.from(b.targets).filter((t) => t !== IGNORE_INDEX);
      counted += targets.length;
      const decoded = tokenizer.decode(targets);
      expect(answers.some((a) => decoded === `${a}<|im_end|>\n`)).toBe(true);
    }
    expect(counted).toBe((data.summary.trainableTokens as number) - trainedIn(data.train));
    expect(describeData('chat.jsonl', data)).toMatch(
      /^chat\.jsonl: 9 training and 1 validation conversations; \d+ of \d+ tokens trained on\.$/,
    );
  });
});

/** Trained (not -100) labels of a language-model source. */
function trainedIn(src: BatchSource): number {
  if (src.kind !== 'lm') return 0;
  return (src.labels ?? []).reduce((n, l) => n + l.filter((x) => x !== IGNORE_INDEX).length, 0);
}
