// Instruction tuning (cfg.sft) on gpt2-tiny with the fallback chat template, CPU backend: the causal-LM loss counts
// only the answer tokens (it equals a hand computation over them from the logits), and a short run lowers it.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/load';
import { resolveModelArg } from '../../src/models/node';
import { CpuBackend } from '../../src/tensor/cpu';
import { type BatchSource, evalBatches } from '../../src/train/data/batches';
import { chatTemplateFrom, loadChatTokenizer } from '../../src/train/data/chat';
import {
  createTrainer,
  DEFAULT_RUN,
  evaluate,
  prepareData,
  type RunConfig,
  runSteps,
  type SftChat,
} from '../../src/train/run';
import { type HostBatch, taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer } from '../../src/train/trainer';

const ROWS = Array.from({ length: 12 }, (_, i) =>
  JSON.stringify({ prompt: `What is ${i} plus one?`, completion: `It is ${i + 1}.` }),
);
const DATA = [...ROWS.slice(0, 5), '{"prompt": "no answer"}', ...ROWS.slice(5)].join('\n');

async function setup() {
  const be = new CpuBackend();
  const src = resolveModelArg('gpt2-tiny');
  const model = await loadModel(src, be, { seed: 1 });
  const text = async (f: string) => {
    const b = await src.get(f, true);
    return b ? new TextDecoder().decode(b) : null;
  };
  const tokenizer = loadChatTokenizer((await text('tokenizer.json'))!, await text('tokenizer_config.json'));
  const chat: SftChat = { tokenizer, template: chatTemplateFrom(tokenizer.config, {}) };
  return { be, model, chat };
}

function firstLmBatch(src: BatchSource): Extract<HostBatch, { kind: 'lm' }> {
  const b = evalBatches(src, 4).next().value;
  if (b?.kind !== 'lm') throw new Error('expected an LM batch');
  return b;
}

const cfgOf = (over: Partial<RunConfig> = {}): RunConfig => ({
  ...DEFAULT_RUN,
  method: 'full',
  valFraction: 0,
  batch: 4,
  sft: { format: 'auto', trainOnPrompt: false },
  ...over,
});

describe('sft training data', () => {
  it('counts only the answer tokens: the loss equals the hand computation over them from the logits', async () => {
    const { be, model, chat } = await setup();
    const data = prepareData(model, DATA, 'sft.jsonl', cfgOf(), chat);
    expect(data.summary).toMatchObject({ sft: true, format: 'prompt-completion', examples: 12, badRows: 1 });
    expect(data.skipped!.first[0].line).toBe(6);
    const trainer = new Trainer(
      be,
      taskFor(be, model),
      { method: 'full', targets: [] },
      {
        ...DEFAULT_OPTIM,
        lr: 0,
        totalSteps: 1,
      },
    );
    const b = firstLmBatch(data.train);
    const trained = b.targets.filter((t) => t !== -100).length;
    // Answers only: far fewer targets than real tokens (prompt, template and padding are ignored).
    expect(trained).toBeGreaterThan(0);
    expect(trained).toBeLessThan(b.ids.length / 2);
    const r = await trainer.evalLoss(b);
    expect(r.count).toBe(trained);
    const logits = (await be.read(trainer.task.logits())) as Float32Array;
    const V = logits.length / (b.B * b.T);
    let hand = 0;
    b.targets.forEach((t, n) => {
      if (t === -100) return;
      const row = logits.subarray(n * V, (n + 1) * V);
      const max = row.reduce((m, x) => Math.max(m, x), -Infinity);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      hand += lse - row[t];
    });
    expect(r.lossSum).toBeCloseTo(hand, 2);
    // With --train-on-prompt every real token after the first is a target.
    const all = prepareData(model, DATA, 'sft.jsonl', cfgOf({ sft: { format: 'auto', trainOnPrompt: true } }), chat);
    const ball = firstLmBatch(all.train);
    expect(ball.targets.filter((t) => t !== -100).length).toBeGreaterThan(trained);
  });

  it('a short run lowers the answer-only loss', async () => {
    const { be, model, chat } = await setup();
    const cfg = cfgOf({ steps: 24, lr: 3e-3, modelDropout: false });
    const data = prepareData(model, DATA, 'sft.jsonl', cfg, chat);
    const { trainer, stream, steps } = createTrainer(be, model, data, cfg);
    const before = await evaluate(trainer, data.train, 4);
    await runSteps(trainer, stream, steps, cfg, () => {});
    const after = await evaluate(trainer, data.train, 4);
    expect(after.loss).toBeLessThan(before.loss * 0.8);
    expect('perplexity' in after && after.perplexity).toBeCloseTo(Math.exp(after.loss), 5);
  });

  it('rejects sft on a classifier', async () => {
    const be = new CpuBackend();
    const model = await loadModel(resolveModelArg('bert-tiny'), be, { seed: 1, numLabels: 2 });
    const { chat } = await setup();
    expect(() => prepareData(model, DATA, 'sft.jsonl', cfgOf(), chat)).toThrow(/causal LM/);
  });
});
