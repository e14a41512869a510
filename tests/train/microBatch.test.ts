// Micro-batches with gradient accumulation: a step of batch 8 run as 1x8, 4x2 or 8x1 passes gives the same losses,
// parameters and dynamic-rank state (masked SFT-style labels, model and adapter dropout on), on the CPU and on WebGPU;
// activations are sized by the micro-batch; the step stays one submission.

import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args';
import { runConfig as cliRunConfig, TRAIN_OPTS } from '../../src/cli/train';
import { parseConfig } from '../../src/models/config';
import { instantiate, type LoadedModel } from '../../src/models/load';
import { DEFAULT_SETTINGS } from '../../src/store/configSlice';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { readCheckpointMeta, restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';
import { BatchStream } from '../../src/train/data/batches';
import { estimateMemory } from '../../src/train/memory';
import {
  createTrainer,
  DEFAULT_RUN,
  MicroBatchError,
  type PreparedData,
  type RunConfig,
  runSteps,
} from '../../src/train/run';
import { type HostBatch, lossCount, sliceBatch, taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer, type TrainerOptions, type TrainMethod } from '../../src/train/trainer';
import { runConfig as pageRunConfig } from '../../src/worker/runInfo';
import { gpuBackend } from '../helpers/gpu';
import { idsTokenizer, randomGpt2 } from '../helpers/randomModel';

const V = 41,
  C = 16,
  L = 2,
  B = 8,
  T = 6;
const tok = idsTokenizer(V);

/** A tiny GPT-2 with transformers' default dropout (0.1 on embeddings, residuals and attention probabilities). */
function tinyGpt(be: Backend): LoadedModel {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: C, n_layer: L, n_head: 2 });
  return instantiate(be, config, tok, { tensors: randomGpt2({ V, P: 16, C, L }), initialized: [], ignored: [] }, 't');
}

/** SFT-style: each row's prompt (a random 1..3 leading positions) and its last position are masked (-100), so rows
 * count different numbers of labels. */
function batch(seed: number): HostBatch {
  const r = new Rng(seed),
    ids = Int32Array.from({ length: B * T }, () => r.int(V)),
    prompt = Array.from({ length: B }, () => 1 + r.int(3));
  const targets = Int32Array.from(ids, (_, i) => {
    const t = i % T;
    return t < prompt[Math.floor(i / T)] || t === T - 1 ? -100 : (ids[i + 1] * 7 + 3) % V;
  });
  return { kind: 'lm', B, T, ids, targets };
}

const targets = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];
const METHODS: Record<'dora' | 'lora', TrainMethod> = {
  dora: {
    method: 'dora',
    targets,
    budget: 2,
    pruneInterval: 1,
    adapter: { method: 'dora', R0: 3, alpha: 8, dropout: 0.1, seed: 5 },
  },
  lora: { method: 'lora', targets, adapter: { method: 'lora', R0: 4, alpha: 8, dropout: 0.1, seed: 5 } },
};

function trainer(be: Backend, method: TrainMethod, steps: number, opts: TrainerOptions): Trainer {
  const tr = new Trainer(
    be,
    taskFor(be, tinyGpt(be)),
    method,
    { ...DEFAULT_OPTIM, lr: 2e-2, totalSteps: steps, warmupFraction: 0, dem: { eta: 0.1, variant: 'code' } },
    opts,
  );
  // LoRA's B starts at 0: give it values so every adapter gradient flows from the first step.
  if (method.method === 'lora') {
    const r = new Rng(9);
    be.write(
      tr.adapters!.theta,
      Float32Array.from({ length: tr.adapters!.size }, () => r.uniform(-0.3, 0.3)),
    );
  }
  return tr;
}

interface Outcome {
  losses: number[];
  theta: Float32Array;
  ema: Float32Array | null;
  mask: Float32Array | null;
}

async function run(be: Backend, method: TrainMethod, steps: number, microBatch: number): Promise<Outcome> {
  const tr = trainer(be, method, steps, { microBatch });
  const losses: number[] = [];
  for (let s = 1; s <= steps; s++) {
    tr.trainStep(batch(s));
    losses.push(await tr.lastLoss());
  }
  const f = async (t: Parameters<Backend['read']>[0]) => (await be.read(t)) as Float32Array;
  return {
    losses,
    theta: await f(tr.adapters!.theta),
    ema: tr.allocator ? await f(tr.allocator.ema) : null,
    mask: tr.allocator ? await f(tr.allocator.mask) : null,
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function expectSame(one: Outcome, other: Outcome, tol: { loss: number; param: number }): void {
  expect(maxDiff(one.losses, other.losses)).toBeLessThan(tol.loss);
  expect(maxDiff(one.theta, other.theta)).toBeLessThan(tol.param);
  if (one.ema) expect(maxDiff(one.ema, other.ema!)).toBeLessThan(tol.param);
  if (one.mask) expect(Array.from(other.mask!)).toEqual(Array.from(one.mask));
}

describe('splitting a batch', () => {
  it('slices rows, re-bases classification rows, and counts the labels the loss averages over', () => {
    const b = batch(1),
      part = sliceBatch(b, 2, 3);
    expect(part.kind === 'lm' && [part.B, part.T, part.ids.length]).toEqual([3, T, 3 * T]);
    expect(part.kind === 'lm' && Array.from(part.targets)).toEqual(
      Array.from(b.kind === 'lm' ? b.targets : []).slice(12, 30),
    );
    const enc = { B: 4, T: 3, ids: new Int32Array(12), typeIds: new Int32Array(12), posIds: new Int32Array(12) };
    const cls: HostBatch = {
      kind: 'cls',
      enc: { ...enc, mask: new Int32Array(12), clsRows: Int32Array.from([0, 4, 6, 11]) },
      labels: Int32Array.from([1, 0, -100, 1]),
    };
    const c = sliceBatch(cls, 2, 2);
    expect(c.kind === 'cls' && [Array.from(c.enc.clsRows), Array.from(c.labels)]).toEqual([
      [0, 5],
      [-100, 1],
    ]);
    expect(lossCount(cls)).toBe(3);
    expect(lossCount(b)).toBe(Array.from(b.kind === 'lm' ? b.targets : []).filter((t) => t !== -100).length);
  });

  it('rejects a micro-batch that is not a positive integer', () => {
    const be = new CpuBackend();
    expect(() => trainer(be, METHODS.lora, 1, { microBatch: 0 })).toThrow(/microBatch must be a positive integer/);
    expect(() => trainer(be, METHODS.lora, 1, { microBatch: 1.5 })).toThrow(/microBatch/);
  });
});

describe('micro-batches equal one batch on the CPU backend', () => {
  it.each(['dora', 'lora'] as const)('%s: batch 8 as 1x8, 4x2 and 8x1 passes, one step and four steps', async (m) => {
    for (const steps of [1, 4]) {
      const one = await run(new CpuBackend(), METHODS[m], steps, 8);
      for (const mb of [2, 1]) {
        expectSame(one, await run(new CpuBackend(), METHODS[m], steps, mb), { loss: 1e-5, param: 2e-5 });
      }
    }
  });

  it('the memory estimate sizes activations by the micro-batch', () => {
    const model = tinyGpt(new CpuBackend()),
      cfg = { ...DEFAULT_RUN, batch: 8, seq: T };
    const [whole, micro] = [estimateMemory(model, cfg), estimateMemory(model, { ...cfg, microBatch: 2 })];
    expect(micro.activations * 4).toBeCloseTo(whole.activations, -1);
    expect(micro.weights).toBe(whole.weights);
  });

  it('activations are sized by the micro-batch: the logits hold micro-batch rows', () => {
    const be = new CpuBackend(),
      tr = trainer(be, METHODS.lora, 1, { microBatch: 2 });
    tr.trainStep(batch(1));
    expect(tr.task.logits().shape).toEqual([2 * T, V]);
    expect(tr.task.tokens()).toBe(B * T);
  });
});

describe('micro-batches on WebGPU', () => {
  it.each(['dora', 'lora'] as const)('%s: 4x2 and 8x1 equal 1x8 over three steps, and the CPU', async (m) => {
    const gpu = await gpuBackend();
    const one = await run(gpu, METHODS[m], 3, 8);
    for (const mb of [2, 1]) expectSame(one, await run(gpu, METHODS[m], 3, mb), { loss: 1e-5, param: 2e-5 });
    expectSame(one, await run(new CpuBackend(), METHODS[m], 3, 2), { loss: 1e-4, param: 1e-3 });
  });

  it('a micro-batched step is one submission, and its activation buffers shrink with the micro-batch', async () => {
    const gpu = await gpuBackend(),
      ctx = gpu.ctx;
    const live = async (mb: number) => {
      ctx.trim();
      const before = ctx.counters.bytesLive,
        tr = trainer(gpu, METHODS.dora, 3, { microBatch: mb });
      tr.trainStep(batch(1));
      await tr.lastLoss();
      const c0 = { ...ctx.counters };
      tr.trainStep(batch(2));
      expect(ctx.counters.submissions - c0.submissions).toBe(1);
      expect(ctx.counters.readbacks - c0.readbacks).toBe(0);
      expect(ctx.counters.bufferCreations - c0.bufferCreations).toBe(0);
      return ctx.counters.bytesLive - before;
    };
    expect(await live(2)).toBeLessThan(await live(8));
  });
});

describe('the micro-batch setting', () => {
  const cli = (...argv: string[]) => cliRunConfig(parseArgs(argv, TRAIN_OPTS));

  it('--micro-batch and --recompute reach the run config; absent, one pass and no recompute', () => {
    expect(cli('--batch', '8', '--micro-batch', '2', '--recompute', 'blocks')).toMatchObject({
      microBatch: 2,
      recompute: 'blocks',
    });
    expect(cli('--recompute', 'selective').recompute).toBe('selective');
    expect(() => cli('--recompute', 'yes')).toThrow(/--recompute must be none, selective, blocks, got yes/);
    const plain = cli('--batch', '8');
    expect([plain.microBatch, plain.recompute]).toEqual([undefined, undefined]);
  });

  it('a micro-batch that does not divide --batch is a MicroBatchError naming the field and the divisors', () => {
    expect(() => cli('--batch', '8', '--micro-batch', '3')).toThrow(MicroBatchError);
    expect(() => cli('--batch', '8', '--micro-batch', '3')).toThrow(/--micro-batch.*batch size 8.*1, 2, 4, 8/);
    expect(() => cli('--batch', '8', '--micro-batch', '0')).toThrow(MicroBatchError);
  });

  it("the page's setting reaches the worker's run config", () => {
    expect(pageRunConfig({ ...DEFAULT_SETTINGS, batch: 8, microBatch: 4, recompute: 'selective' })).toMatchObject({
      microBatch: 4,
      recompute: 'selective',
    });
    expect(pageRunConfig({ ...DEFAULT_SETTINGS, recompute: null }).recompute).toBeUndefined();
    expect(pageRunConfig(DEFAULT_SETTINGS).microBatch).toBeUndefined();
  });

  it('is saved in the checkpoint, and a resumed run continues with it exactly (CPU)', async () => {
    const r = new Rng(3),
      windows = Array.from({ length: 12 }, () => Int32Array.from({ length: T + 1 }, () => r.int(V)));
    const data = {
      train: { kind: 'lm', windows, seq: T },
      val: { kind: 'lm', windows, seq: T },
      labels: null,
      summary: {},
    } as unknown as PreparedData;
    const cfg: RunConfig = { ...DEFAULT_RUN, method: 'lora', batch: 4, microBatch: 2, seq: T, steps: 6, logEvery: 1 };
    const start = () => {
      const be = new CpuBackend();
      return createTrainer(be, tinyGpt(be), data, cfg);
    };
    const losses = async (tr: Trainer, stream: BatchStream, until: number) => {
      const out: number[] = [];
      await runSteps(tr, stream, until, cfg, (m) => {
        out.push(m.loss);
      });
      return out;
    };
    const whole = start();
    const all = await losses(whole.trainer, whole.stream, 6);
    const first = start();
    await losses(first.trainer, first.stream, 3);
    const bytes = await saveCheckpoint(first.trainer, first.stream.state(), cfg, { model: 'tiny' });
    const meta = readCheckpointMeta(bytes);
    expect(meta.config.microBatch).toBe(2);
    const be = new CpuBackend(),
      second = createTrainer(be, tinyGpt(be), data, meta.config);
    expect(second.trainer.opts.microBatch).toBe(2);
    const restored = restoreCheckpoint(second.trainer, bytes);
    expect(await losses(second.trainer, BatchStream.restore(data.train, restored.stream), 6)).toEqual(all.slice(3));
  });
});
