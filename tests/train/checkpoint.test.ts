// Stopping after step k and resuming from the checkpoint reproduces the uninterrupted run: exactly on the CPU backend,
// within a stated tolerance on WebGPU. The run crosses prune events, the final mask and the compaction.

import { describe, expect, it } from 'vitest';
import { instantiate } from '../../src/models/load';
import { parseConfig } from '../../src/models/config';
import type { TextTokenizer } from '../../src/models/tokenizer';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { BatchStream, type LmSource } from '../../src/train/data/batches';
import { readCheckpointMeta, restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';
import { DEFAULT_RUN, runSteps, type RunConfig } from '../../src/train/run';
import { taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer } from '../../src/train/trainer';
import { gpuBackend } from '../helpers/gpu';
import { randomGpt2 } from '../helpers/randomModel';

const V = 41, STEPS = 30;
const tok: TextTokenizer = { encode: () => ({ ids: [], typeIds: [] }), decode: () => '', padId: 0, eosId: 0, vocabSize: V };
const weights = randomGpt2({ V, P: 16, C: 16, L: 2 });
const cfg: RunConfig = { ...DEFAULT_RUN, batch: 2, seq: 6, pruneInterval: 2, logEvery: 1 };
const r = new Rng(11);
const source: LmSource = { kind: 'lm', seq: 6, windows: Array.from({ length: 9 }, () => Int32Array.from({ length: 7 }, () => r.int(V))) };

function fresh(be: Backend): Trainer {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
  const model = instantiate(be, config, tok, { tensors: weights, initialized: [], ignored: [] }, 'tiny');
  return new Trainer(be, taskFor(be, model), {
    method: 'dora', targets: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'], budget: 2, pruneInterval: 2,
    adapter: { method: 'dora', R0: 3, alpha: 8, dropout: 0.1, seed: 7 },
  }, { ...DEFAULT_OPTIM, lr: 1e-2, totalSteps: STEPS, dem: { eta: 0.1, variant: 'code' } });
}

async function losses(trainer: Trainer, stream: BatchStream, until: number): Promise<number[]> {
  const out: number[] = [];
  await runSteps(trainer, stream, until, cfg, (m) => { out.push(m.loss); });
  return out;
}

async function resumeMatches(be: () => Promise<Backend>, k: number, tol: number): Promise<void> {
  const whole = await losses(fresh(await be()), new BatchStream(source, 2, 1), STEPS);
  const first = fresh(await be()), stream = new BatchStream(source, 2, 1);
  await losses(first, stream, k);
  const bytes = await saveCheckpoint(first, stream.state(), cfg, { model: 'tiny' });
  expect(readCheckpointMeta(bytes).step).toBe(k);
  const second = fresh(await be());
  const meta = restoreCheckpoint(second, bytes);
  const rest = await losses(second, BatchStream.restore(source, meta.stream), STEPS);
  expect(rest.length).toBe(STEPS - k);
  rest.forEach((l, i) => expect(Math.abs(l - whole[k + i]), `step ${k + i + 1}: ${l} vs ${whole[k + i]}`).toBeLessThanOrEqual(tol));
}

describe('checkpoint and resume', () => {
  it.each([3, 12, 22])('CPU: resuming after step %i reproduces the uninterrupted losses exactly', async (k) => {
    await resumeMatches(async () => new CpuBackend(), k, 0);
  });

  it('WebGPU: resuming after step 12 reproduces the losses within 1e-4', async () => {
    await resumeMatches(gpuBackend, 12, 1e-4);
  });

  it('refuses a checkpoint of another configuration', async () => {
    const t = fresh(new CpuBackend());
    const bytes = await saveCheckpoint(t, new BatchStream(source, 2, 1).state(), cfg, {});
    const other = new Trainer(t.be, t.task, { method: 'lora', targets: ['attn.c_attn'], adapter: { method: 'lora', R0: 2, alpha: 4, dropout: 0, seed: 1 } },
      { ...DEFAULT_OPTIM, lr: 1e-3, totalSteps: 5 });
    expect(() => restoreCheckpoint(other, bytes)).toThrow(/another/);
  });
});
