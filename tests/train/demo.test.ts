// A short run on each bundled demo model with its demo data lowers the loss, for both methods (CPU backend: the
// WebGPU step is checked against it in trainer.test.ts).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { CpuBackend } from '../../src/tensor/cpu';
import { BatchStream } from '../../src/train/data/batches';
import { createTrainer, DEFAULT_RUN, prepareData, type RunConfig } from '../../src/train/run';

const cases = [
  {
    model: 'gpt2-tiny',
    data: 'sotu.txt',
    text: () => readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 30_000),
    labels: undefined,
  },
  {
    model: 'bert-tiny',
    data: 'spam.csv',
    text: () => readFileSync('public/datasets/spam.csv', 'utf8').split('\n').slice(0, 121).join('\n'),
    labels: 2,
  },
];

describe.each(cases)('$model on $data', ({ model, data, text, labels }) => {
  it.each(['dora', 'lora'] as const)('%s lowers the training loss on a fixed batch', async (method) => {
    const be = new CpuBackend();
    const m = await loadModel(dirSource(`public/models/${model}`), be, { numLabels: labels });
    const cfg: RunConfig = {
      ...DEFAULT_RUN,
      method,
      budget: 2,
      rank: 2,
      batch: 8,
      seq: 32,
      steps: 25,
      pruneInterval: 2,
      lr: 1e-2,
      dropout: 0,
    };
    const prepared = prepareData(m, text(), data, cfg);
    const { trainer } = createTrainer(be, m, prepared, cfg);
    const batch = new BatchStream(prepared.train, cfg.batch, 1).next();
    trainer.trainStep(batch);
    const first = await trainer.lastLoss();
    for (let s = 2; s <= 25; s++) trainer.trainStep(batch);
    const last = await trainer.lastLoss();
    expect(last, `${first} -> ${last}`).toBeLessThan(first * 0.95);
  });
});
