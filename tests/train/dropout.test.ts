// The model's own dropout in training: config.json's rates are read (transformers' names and defaults), the training
// step runs with them by default and leaves the model in eval mode, and --no-model-dropout / the page option /
// RunConfig.modelDropout = false turn it off.

import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args';
import { runConfig as cliRunConfig, TRAIN_OPTS } from '../../src/cli/train';
import { ConfigError, parseConfig } from '../../src/models/config';
import { instantiate } from '../../src/models/load';
import { DEFAULT_SETTINGS } from '../../src/store/configSlice';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { createTrainer, DEFAULT_RUN, type PreparedData } from '../../src/train/run';
import type { HostBatch } from '../../src/train/task';
import { runConfig as pageRunConfig } from '../../src/worker/runInfo';
import { idsTokenizer, randomGpt2 } from '../helpers/randomModel';

const V = 41,
  tok = idsTokenizer(V);

function batch(seed: number): HostBatch {
  const r = new Rng(seed),
    ids = Int32Array.from({ length: 12 }, () => r.int(V));
  return { kind: 'lm', B: 2, T: 6, ids, targets: Int32Array.from(ids, (_, i) => (i % 6 === 5 ? -100 : ids[i + 1])) };
}

/** A tiny GPT-2 with config.json's default dropout (transformers: 0.1 everywhere) and a one-batch data set. */
function setup(modelDropout: boolean | undefined) {
  const be = new CpuBackend();
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
  const model = instantiate(
    be,
    config,
    tok,
    { tensors: randomGpt2({ V, P: 16, C: 16, L: 2 }), initialized: [], ignored: [] },
    'tiny',
  );
  const r = new Rng(3),
    windows = [0, 1].map(() => Int32Array.from({ length: 7 }, () => r.int(V)));
  const data = {
    train: { kind: 'lm', windows, seq: 6 },
    val: { kind: 'lm', windows, seq: 6 },
    labels: null,
    summary: {},
  } as unknown as PreparedData;
  return {
    be,
    model,
    ...createTrainer(be, model, data, { ...DEFAULT_RUN, method: 'lora', batch: 2, seq: 6, steps: 4, modelDropout }),
  };
}

describe('config.json dropout rates', () => {
  it("reads transformers' fields and defaults; classifier_dropout null falls back to hidden_dropout_prob", () => {
    const g = parseConfig({ model_type: 'gpt2', embd_pdrop: 0.05, resid_pdrop: 0.2 });
    expect(g.kind === 'gpt2' && g.arch.dropout).toEqual({ embd: 0.05, resid: 0.2, attn: 0.1 });
    const b = parseConfig({
      model_type: 'roberta',
      hidden_dropout_prob: 0.3,
      attention_probs_dropout_prob: 0.15,
      classifier_dropout: null,
    });
    expect(b.kind !== 'gpt2' && b.arch.dropout).toEqual({ hidden: 0.3, attn: 0.15, classifier: 0.3 });
    const c = parseConfig({ model_type: 'bert', classifier_dropout: 0.4 });
    expect(c.kind !== 'gpt2' && c.arch.dropout).toEqual({ hidden: 0.1, attn: 0.1, classifier: 0.4 });
    expect(() => parseConfig({ model_type: 'gpt2', attn_pdrop: 1 })).toThrow(ConfigError);
    expect(() => parseConfig({ model_type: 'gpt2', attn_pdrop: 1 })).toThrow(/attn_pdrop.*\[0, 1\)/);
  });
});

describe('model dropout in the training step', () => {
  it('is on by default: the step loss differs from the same step without it; the model is left in eval mode', async () => {
    const on = setup(undefined),
      off = setup(false);
    expect(on.trainer.optim.modelDropout).toBe(true);
    expect(off.trainer.optim.modelDropout).toBe(false);
    on.trainer.trainStep(batch(1));
    off.trainer.trainStep(batch(1));
    // Same weights, adapter and adapter dropout: only the model's own dropout differs.
    expect(Math.abs((await on.trainer.lastLoss()) - (await off.trainer.lastLoss()))).toBeGreaterThan(1e-4);
    // After the step: eval mode, so two forwards of one batch agree exactly.
    on.trainer.adapters!.training = false;
    const logits = async () => {
      on.trainer.task.setBatch(batch(9));
      on.trainer.task.forwardLoss();
      return Array.from(await on.be.read(on.trainer.task.logits()));
    };
    expect(await logits()).toEqual(await logits());
    expect((on.model.net as { dropoutSeed: number | null }).dropoutSeed).toBeNull();
  });

  it('--no-model-dropout, the page option and RunConfig turn it off; the defaults keep it on', () => {
    expect(cliRunConfig(parseArgs([], TRAIN_OPTS)).modelDropout).toBe(true);
    expect(cliRunConfig(parseArgs(['--no-model-dropout'], TRAIN_OPTS)).modelDropout).toBe(false);
    expect(DEFAULT_SETTINGS.modelDropout).toBe(true);
    expect(pageRunConfig(DEFAULT_SETTINGS).modelDropout).toBe(true);
    expect(pageRunConfig({ ...DEFAULT_SETTINGS, modelDropout: false }).modelDropout).toBe(false);
    expect(pageRunConfig({ ...DEFAULT_SETTINGS, modelDropout: undefined }).modelDropout).toBe(true);
  });
});
