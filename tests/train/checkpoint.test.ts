// Stopping after step k and resuming from the checkpoint reproduces the uninterrupted run: exactly on the CPU backend,
// within a stated tolerance on WebGPU. The run crosses prune events, the final mask and the compaction. Checkpoints
// keep the learning-rate scale left by skipped steps and the hashes of the weights and data, and come on their own
// interval.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/models/config';
import { instantiate } from '../../src/models/load';
import type { ModelSource } from '../../src/models/sources';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import {
  checkInputs,
  hashingSource,
  InputMismatchError,
  type RunInputs,
  readCheckpointMeta,
  restoreCheckpoint,
  saveCheckpoint,
  sha256Hex,
} from '../../src/train/checkpoint';
import { BatchStream, type LmSource } from '../../src/train/data/batches';
import { trainResilient } from '../../src/train/resilient';
import { DEFAULT_RUN, type PreparedData, type RunConfig, runSteps } from '../../src/train/run';
import { taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer } from '../../src/train/trainer';
import { gpuBackend } from '../helpers/gpu';
import { idsTokenizer, randomGpt2 } from '../helpers/randomModel';

const V = 41,
  STEPS = 30;
const tok = idsTokenizer(V);
const weights = randomGpt2({ V, P: 16, C: 16, L: 2 });
const cfg: RunConfig = { ...DEFAULT_RUN, batch: 2, seq: 6, pruneInterval: 2, logEvery: 1 };
const r = new Rng(11);
const source: LmSource = {
  kind: 'lm',
  seq: 6,
  windows: Array.from({ length: 9 }, () => Int32Array.from({ length: 7 }, () => r.int(V))),
};

function tinyModel(be: Backend) {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
  return instantiate(be, config, tok, { tensors: weights, initialized: [], ignored: [] }, 'tiny');
}

function fresh(be: Backend): Trainer {
  const model = tinyModel(be);
  return new Trainer(
    be,
    taskFor(be, model),
    {
      method: 'dora',
      targets: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
      budget: 2,
      pruneInterval: 2,
      adapter: { method: 'dora', R0: 3, alpha: 8, dropout: 0.1, seed: 7 },
    },
    { ...DEFAULT_OPTIM, lr: 1e-2, totalSteps: STEPS, dem: { eta: 0.1, variant: 'code' } },
  );
}

/** NaN gradients at these steps (the update is skipped and the learning rate halves). */
function nanAt(trainer: Trainer, steps: number[]): Trainer {
  trainer.beforeOptimizer = (s) => {
    if (steps.includes(s)) trainer.be.fill(trainer.adapters!.grad, NaN);
  };
  return trainer;
}

async function losses(trainer: Trainer, stream: BatchStream, until: number): Promise<number[]> {
  const out: number[] = [];
  await runSteps(trainer, stream, until, cfg, (m) => {
    out.push(m.loss);
  });
  return out;
}

async function resumeMatches(be: () => Promise<Backend>, k: number, tol: number): Promise<void> {
  const whole = await losses(fresh(await be()), new BatchStream(source, 2, 1), STEPS);
  const first = fresh(await be()),
    stream = new BatchStream(source, 2, 1);
  await losses(first, stream, k);
  const bytes = await saveCheckpoint(first, stream.state(), cfg, { model: 'tiny' });
  expect(readCheckpointMeta(bytes).step).toBe(k);
  const second = fresh(await be());
  const meta = restoreCheckpoint(second, bytes);
  const rest = await losses(second, BatchStream.restore(source, meta.stream), STEPS);
  expect(rest.length).toBe(STEPS - k);
  rest.forEach((l, i) =>
    expect(Math.abs(l - whole[k + i]), `step ${k + i + 1}: ${l} vs ${whole[k + i]}`).toBeLessThanOrEqual(tol),
  );
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
    const other = new Trainer(
      t.be,
      t.task,
      { method: 'lora', targets: ['attn.c_attn'], adapter: { method: 'lora', R0: 2, alpha: 4, dropout: 0, seed: 1 } },
      { ...DEFAULT_OPTIM, lr: 1e-3, totalSteps: 5 },
    );
    expect(() => restoreCheckpoint(other, bytes)).toThrow(/another/);
  });

  it("reads an earlier version's boolean recompute as a mode (true: whole blocks; false: not set)", async () => {
    const t = fresh(new CpuBackend()),
      state = new BatchStream(source, 2, 1).state();
    const legacy = (v: boolean) => ({ ...cfg, recompute: v }) as unknown as RunConfig;
    expect(readCheckpointMeta(await saveCheckpoint(t, state, legacy(true), {})).config.recompute).toBe('blocks');
    expect(readCheckpointMeta(await saveCheckpoint(t, state, legacy(false), {})).config.recompute).toBeUndefined();
    const now = { ...cfg, recompute: 'selective' as const };
    expect(readCheckpointMeta(await saveCheckpoint(t, state, now, {})).config.recompute).toBe('selective');
  });

  it.each([5, 6])('CPU: a resume after skipped steps (stopped after step %i) keeps the lower lr exactly', async (k) => {
    const skips = [3, 5];
    const whole = await losses(nanAt(fresh(new CpuBackend()), skips), new BatchStream(source, 2, 1), STEPS);
    const first = nanAt(fresh(new CpuBackend()), skips),
      stream = new BatchStream(source, 2, 1);
    await losses(first, stream, k);
    const bytes = await saveCheckpoint(first, stream.state(), cfg, {});
    // Step 5's halving is still pending after step 5 (it applies from step 7); after step 6 it is in lrScale.
    const pending = k === 5 ? 1 : 0;
    const meta = readCheckpointMeta(bytes);
    expect(meta).toMatchObject({ skippedSteps: 2, lrScale: 0.5 ** (2 - pending), lrHalvingsPending: pending });
    const second = nanAt(fresh(new CpuBackend()), skips);
    const rest = await losses(second, BatchStream.restore(source, restoreCheckpoint(second, bytes).stream), STEPS);
    expect(second.lrScale).toBe(0.25);
    expect(second.skippedSteps).toBe(2);
    expect(rest).toEqual(whole.slice(k));
  });

  it.each([10, 0])('saves every checkpointEvery steps whatever logEvery is (logEvery %i)', async (logEvery) => {
    const data: PreparedData = { train: source, val: { ...source, windows: [] }, labels: null, summary: {} };
    const saved: number[] = [];
    await trainResilient(
      data,
      { ...cfg, steps: 45, logEvery },
      {
        open: async () => {
          const be = new CpuBackend();
          return { be, model: tinyModel(be) };
        },
        onMetrics: () => {},
        onCheckpoint: (bytes, step) => {
          saved.push(step);
          expect(readCheckpointMeta(bytes).step).toBe(step);
        },
      },
      { checkpointEvery: 15, maxRecoveries: 0 },
    );
    expect(saved).toEqual([15, 30, 45]);
  });
});

describe('the weights and data a run was trained on', () => {
  const inputs: RunInputs = {
    weights: { file: 'tiny/model.safetensors', sha256: 'a'.repeat(64) },
    data: { file: 'd.csv', sha256: 'b'.repeat(64) },
  };

  it('are recorded in the checkpoint', async () => {
    const t = fresh(new CpuBackend());
    const bytes = await saveCheckpoint(t, new BatchStream(source, 2, 1).state(), cfg, {}, inputs);
    expect(readCheckpointMeta(bytes).inputs).toEqual(inputs);
  });

  it('a resume on other weights or data is refused, naming which, the file and both hashes', () => {
    expect(() => checkInputs(inputs, inputs)).not.toThrow();
    expect(() => checkInputs(undefined, inputs)).not.toThrow();
    const data = { ...inputs, data: { file: 'd.csv', sha256: 'c'.repeat(64) } };
    expect(() => checkInputs(inputs, data)).toThrow(InputMismatchError);
    const both = `d\\.csv \\(sha256 ${'b'.repeat(12)}….*d\\.csv \\(sha256 ${'c'.repeat(12)}…`;
    expect(() => checkInputs(inputs, data)).toThrow(new RegExp(`the data differ.*${both}.*original data file`));
    const w = { ...inputs, weights: { file: 'tiny/model.safetensors', sha256: 'd'.repeat(64) } };
    expect(() => checkInputs(inputs, w)).toThrow(/the model weights differ.*tiny\/model\.safetensors \(sha256 a{12}/);
    expect(() => checkInputs(inputs, w)).toThrow(/sha256 d{12}….*original model/);
  });

  it('the weights are hashed as the loader reads them', async () => {
    const bytes = new TextEncoder().encode('weights');
    const src: ModelSource = { name: 'm', get: async (f) => (f === 'model.safetensors' ? bytes : new Uint8Array(1)) };
    const h = hashingSource(src);
    expect(() => h.weights()).toThrow(/not been read/);
    expect(await h.source.get('model.safetensors')).toBe(bytes);
    expect(h.weights()).toEqual({ file: 'm/model.safetensors', sha256: await sha256Hex(bytes) });
    // `printf weights | sha256sum`
    expect(h.weights().sha256).toBe('9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c');
  });
});
