// Adapter options are checked before a run: R0 beyond what the importance kernel supports is a clear error at
// construction, and the page's largest budget (b(T) = 64, R0 = 96) trains a step on WebGPU with finite scores.

import { describe, expect, it } from 'vitest';
import { gpuBackend } from '../../tests/helpers/gpu';
import { randomGpt2 } from '../../tests/helpers/randomModel';
import { parseConfig } from '../models/config';
import { instantiate } from '../models/load';
import type { TextTokenizer } from '../models/tokenizer';
import { MAX_IMPORTANCE_R0 } from '../ops/adapter';
import type { Backend } from '../tensor/backend';
import { CpuBackend } from '../tensor/cpu';
import { Rng } from '../tensor/rng';
import { DEFAULT_RUN, trainMethod } from '../train/run';
import { taskFor } from '../train/task';
import { DEFAULT_OPTIM, Trainer } from '../train/trainer';
import { AdapterSet } from './adapters';

const V = 31;
const tok: TextTokenizer = {
  encode: () => ({ ids: [], typeIds: [] }),
  decode: () => '',
  padId: 0,
  eosId: 0,
  vocabSize: V,
};

function tiny(be: Backend) {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 });
  const weights = { tensors: randomGpt2({ V, P: 16, C: 16, L: 1 }), initialized: [], ignored: [] };
  return instantiate(be, config, tok, weights, 'tiny');
}

describe('R0 limits', () => {
  it('an R0 above MAX_IMPORTANCE_R0 is refused when the adapters are built, naming the options to change', () => {
    const be = new CpuBackend(),
      model = tiny(be);
    const opts = { method: 'dora' as const, R0: MAX_IMPORTANCE_R0 + 1, alpha: 8, dropout: 0, seed: 1 };
    expect(() => new AdapterSet(be, model.net.linears(), opts)).toThrow(/R0 = 257 .*--r0.*b\(T\) <= 170/);
    expect(new AdapterSet(be, model.net.linears(), { ...opts, R0: MAX_IMPORTANCE_R0 }).modules.length).toBe(4);
  });

  it('b(T) = 64 (R0 = 96) trains a step on WebGPU and gives finite importance scores', async () => {
    const be = await gpuBackend(),
      model = tiny(be);
    const method = trainMethod(model, { ...DEFAULT_RUN, budget: 64 });
    const trainer = new Trainer(be, taskFor(be, model), method, { ...DEFAULT_OPTIM, lr: 1e-2, totalSteps: 10 });
    expect(trainer.adapters!.opts.R0).toBe(96);
    const r = new Rng(2),
      ids = Int32Array.from({ length: 12 }, () => r.int(V));
    const targets = Int32Array.from(ids, (_, i) => (i % 6 === 5 ? -100 : ids[i + 1]));
    trainer.trainStep({ kind: 'lm', B: 2, T: 6, ids, targets });
    const scores = await be.read(trainer.allocator!.scores);
    expect(scores.length).toBe(4 * 96);
    expect(Array.from(scores).every((s) => Number.isFinite(s) && s >= 0)).toBe(true);
    expect(Math.max(...scores)).toBeGreaterThan(0);
  });
});
