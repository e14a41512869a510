// Whole-model checks on random checkpoints: the backward's wiring against finite differences of the loss (CPU), and the
// WebGPU backend against the CPU backend for logits, loss and every parameter gradient.

import { describe, expect, it } from 'vitest';
import type { GpuBackend } from '../../src/gpu/backend';
import { setAttentionPath } from '../../src/gpu/kernels/attention';
import { encoderBatch, uploadEncoderBatch } from '../../src/models/batch';
import type { HostTensor } from '../../src/models/weights';
import { BertClassifier, type BertConfig } from '../../src/nn/bert';
import { Gpt2, type Gpt2Config } from '../../src/nn/gpt2';
import { ParamStore } from '../../src/nn/params';
import type { Backend, Tensor } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { expectClose } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';
import { randomBert, randomGpt2 } from '../helpers/randomModel';

const gcfg: Gpt2Config = { vocabSize: 37, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2, nInner: 64, eps: 1e-5 };
const B = 2,
  T = 5;

function store(be: Backend, w: Map<string, HostTensor>): ParamStore {
  return new ParamStore(be, new Map([...w].map(([n, t]) => [n, be.fromArray(t.data, t.shape, n)] as [string, Tensor])));
}

function gptBatch() {
  const r = new Rng(7);
  const ids = Int32Array.from({ length: B * T }, () => r.int(gcfg.vocabSize));
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1]));
  return { ids, targets };
}

/** Dropout of every kind at rates where masks differ visibly; `seed` null runs in eval mode. */
const gDrop: Gpt2Config = { ...gcfg, dropout: { embd: 0.1, resid: 0.2, attn: 0.3 } };
interface Mode {
  cfgDrop: boolean;
  seed: number | null;
}
const EVAL: Mode = { cfgDrop: false, seed: null };

async function gptRun(be: Backend, w: Map<string, HostTensor>, mode: Mode = EVAL) {
  const params = store(be, w),
    net = new Gpt2(be, mode.cfgDrop ? gDrop : gcfg, params);
  net.dropoutSeed = mode.seed;
  net.enableAllGradients();
  const { ids, targets } = gptBatch();
  const tIds = be.fromArray(ids, [B * T]),
    tTargets = be.fromArray(targets, [B * T]);
  const logits = net.forward(tIds, B, T);
  const { lossSum, count } = net.loss(tTargets);
  net.backward(tIds, tTargets);
  const loss = ((await be.read(lossSum))[0] as number) / ((await be.read(count))[0] as number);
  const grads = new Map<string, Float32Array>();
  for (const [n, g] of params.grads) grads.set(n, (await be.read(g)) as Float32Array);
  return { loss, logits: (await be.read(logits)) as Float32Array, grads };
}

const bcfg = (variant: 'bert' | 'roberta'): BertConfig => ({
  variant,
  vocabSize: 29,
  hidden: 16,
  layers: 2,
  heads: 2,
  intermediate: 32,
  maxPositions: 16,
  typeVocab: 2,
  eps: 1e-12,
  numLabels: 3,
  padTokenId: variant === 'bert' ? 0 : 1,
});

async function bertRun(be: Backend, variant: 'bert' | 'roberta', w: Map<string, HostTensor>, mode: Mode = EVAL) {
  const cfg = { ...bcfg(variant), dropout: mode.cfgDrop ? { hidden: 0.2, attn: 0.3, classifier: 0.25 } : undefined };
  const params = store(be, w),
    net = new BertClassifier(be, cfg, params);
  net.dropoutSeed = mode.seed;
  net.enableAllGradients();
  const host = encoderBatch(
    [
      { ids: [2, 5, 9, 4, 3], typeIds: [0, 0, 0, 1, 1] },
      { ids: [2, 7, 3], typeIds: [0, 0, 0] },
    ],
    cfg,
  );
  const batch = uploadEncoderBatch(be, host);
  const labels = be.fromArray(Int32Array.from([2, 0]), [2]);
  const logits = net.forward(batch);
  const { lossSum, count } = net.loss(labels);
  net.backward(batch, labels);
  const loss = ((await be.read(lossSum))[0] as number) / ((await be.read(count))[0] as number);
  const grads = new Map<string, Float32Array>();
  for (const [n, g] of params.grads) grads.set(n, (await be.read(g)) as Float32Array);
  return { loss, logits: (await be.read(logits)) as Float32Array, grads };
}

/** Central differences of the f32 loss on a few entries of each parameter: checks the wiring, not the last digit. */
async function fdCheck(
  run: (w: Map<string, HostTensor>) => Promise<{ loss: number; grads: Map<string, Float32Array> }>,
  w: Map<string, HostTensor>,
) {
  const base = await run(w);
  const r = new Rng(3);
  let checked = 0;
  for (const [name, t] of w) {
    for (let s = 0; s < 2; s++) {
      const i = r.int(t.data.length),
        old = t.data[i],
        h = 1e-2;
      t.data[i] = old + h;
      const up = (await run(w)).loss;
      t.data[i] = old - h;
      const down = (await run(w)).loss;
      t.data[i] = old;
      const num = (up - down) / (2 * h),
        ana = base.grads.get(name)![i];
      expect(Math.abs(num - ana), `${name}[${i}] numeric ${num} analytic ${ana}`).toBeLessThanOrEqual(
        2e-3 + 0.03 * Math.abs(num),
      );
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(20);
}

describe('GPT-2 forward/backward', () => {
  it('gradients match finite differences of the loss (CPU, f32)', async () => {
    const cpu = new CpuBackend();
    await fdCheck((w) => gptRun(cpu, w), randomGpt2({ V: gcfg.vocabSize, P: gcfg.nPositions, C: 16, L: 2 }));
  });

  it('WebGPU matches the CPU backend: logits, loss, every gradient', async () => {
    const w = randomGpt2({ V: gcfg.vocabSize, P: gcfg.nPositions, C: 16, L: 2 });
    const [c, g] = [await gptRun(new CpuBackend(), w), await gptRun(await gpuBackend(), w)];
    expectClose(g.logits, c.logits, 1e-4, 1e-4, 'logits');
    expect(Math.abs(g.loss - c.loss)).toBeLessThan(1e-5);
    for (const [n, cg] of c.grads) expectClose(g.grads.get(n)!, cg, 1e-4, 1e-3, `grad ${n}`);
  });
});

describe.each(['bert', 'roberta'] as const)('%s classifier forward/backward', (variant) => {
  const w = () => randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant });

  it('gradients match finite differences of the loss (CPU, f32)', async () => {
    const cpu = new CpuBackend();
    await fdCheck((ww) => bertRun(cpu, variant, ww), w());
  });

  it('WebGPU matches the CPU backend: logits, loss, every gradient', async () => {
    const ww = w();
    const [c, g] = [await bertRun(new CpuBackend(), variant, ww), await bertRun(await gpuBackend(), variant, ww)];
    expectClose(g.logits, c.logits, 1e-4, 1e-4, 'logits');
    expect(Math.abs(g.loss - c.loss)).toBeLessThan(1e-5);
    for (const [n, cg] of c.grads) expectClose(g.grads.get(n)!, cg, 1e-4, 1e-3, `grad ${n}`);
  });
});

// The model's own dropout (config.json's probabilities) in train mode: a fixed seed is a fixed mask, so the gradient
// checks hold with it; CPU and GPU draw the same masks; eval mode has no dropout at all.
describe.each([
  [
    'GPT-2',
    (be: Backend, m: Mode) => gptRun(be, randomGpt2({ V: gcfg.vocabSize, P: gcfg.nPositions, C: 16, L: 2 }), m),
    (be: Backend, w: Map<string, HostTensor>, m: Mode) => gptRun(be, w, m),
    () => randomGpt2({ V: gcfg.vocabSize, P: gcfg.nPositions, C: 16, L: 2 }),
  ],
  ...(['bert', 'roberta'] as const).map(
    (v) =>
      [
        v,
        (be: Backend, m: Mode) =>
          bertRun(be, v, randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: v }), m),
        (be: Backend, w: Map<string, HostTensor>, m: Mode) => bertRun(be, v, w, m),
        () => randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: v }),
      ] as const,
  ),
] as const)('%s with its own dropout', (_, run, runW, weights) => {
  it('train mode: different seeds give different logits, the same seed the same; eval mode: none, deterministic', async () => {
    const cpu = new CpuBackend();
    const [a, b, a2] = [
      await run(cpu, { cfgDrop: true, seed: 1 }),
      await run(cpu, { cfgDrop: true, seed: 2 }),
      await run(cpu, { cfgDrop: true, seed: 1 }),
    ];
    expect(Math.max(...a.logits.map((x, i) => Math.abs(x - b.logits[i])))).toBeGreaterThan(1e-3);
    expect(Array.from(a2.logits)).toEqual(Array.from(a.logits));
    const [e1, e2, off] = [
      await run(cpu, { cfgDrop: true, seed: null }),
      await run(cpu, { cfgDrop: true, seed: null }),
      await run(cpu, EVAL),
    ];
    expect(Array.from(e2.logits)).toEqual(Array.from(e1.logits));
    expect(Array.from(e1.logits)).toEqual(Array.from(off.logits));
    expect(Math.max(...a.logits.map((x, i) => Math.abs(x - e1.logits[i])))).toBeGreaterThan(1e-3);
  });

  it('gradients with a fixed dropout mask match finite differences of the loss (CPU, f32)', async () => {
    const cpu = new CpuBackend();
    await fdCheck((w) => runW(cpu, w, { cfgDrop: true, seed: 7 }), weights());
  });

  it("WebGPU draws the CPU backend's masks: logits, loss, every gradient", async () => {
    const w = weights(),
      mode = { cfgDrop: true, seed: 7 };
    const [c, g] = [await runW(new CpuBackend(), w, mode), await runW(await gpuBackend(), w, mode)];
    expectClose(g.logits, c.logits, 1e-4, 1e-4, 'logits');
    expect(Math.abs(g.loss - c.loss)).toBeLessThan(1e-5);
    for (const [n, cg] of c.grads) expectClose(g.grads.get(n)!, cg, 1e-4, 1e-3, `grad ${n}`);
  });
});

/** The backend on a real GPU's kernels (not ctx.barrierFree) with attention forced onto the batched matmuls. */
async function gpuMatmulAttention<R>(run: (be: GpuBackend) => Promise<R>): Promise<R> {
  const be = await gpuBackend();
  const saved = be.ctx.barrierFree;
  be.ctx.barrierFree = false;
  setAttentionPath('matmul');
  try {
    return await run(be);
  } finally {
    be.ctx.barrierFree = saved;
    setAttentionPath('auto');
  }
}

describe('attention on the matmul path (GPU kernels) in whole models', () => {
  it.each([
    ['GPT-2', EVAL],
    ['GPT-2 with its own dropout', { cfgDrop: true, seed: 7 }],
  ] as const)('%s: WebGPU matches the CPU backend', async (_name, mode) => {
    const w = randomGpt2({ V: gcfg.vocabSize, P: gcfg.nPositions, C: 16, L: 2 });
    const c = await gptRun(new CpuBackend(), w, mode);
    const g = await gpuMatmulAttention((be) => gptRun(be, w, mode));
    expectClose(g.logits, c.logits, 1e-4, 1e-4, 'logits');
    expect(Math.abs(g.loss - c.loss)).toBeLessThan(1e-5);
    for (const [n, cg] of c.grads) expectClose(g.grads.get(n)!, cg, 1e-4, 1e-3, `grad ${n}`);
  });

  it('bert with its own dropout (padded keys): WebGPU matches the CPU backend', async () => {
    const w = randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: 'bert' }),
      mode = { cfgDrop: true, seed: 7 };
    const c = await bertRun(new CpuBackend(), 'bert', w, mode);
    const g = await gpuMatmulAttention((be) => bertRun(be, 'bert', w, mode));
    expectClose(g.logits, c.logits, 1e-4, 1e-4, 'logits');
    expect(Math.abs(g.loss - c.loss)).toBeLessThan(1e-5);
    for (const [n, cg] of c.grads) expectClose(g.grads.get(n)!, cg, 1e-4, 1e-3, `grad ${n}`);
  });
});

describe('activation workspaces', () => {
  it('varying batch shapes recycle GPU memory instead of growing it', async () => {
    const be = await gpuBackend(),
      cfg = bcfg('bert');
    const net = new BertClassifier(
      be,
      cfg,
      store(be, randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: 'bert' })),
    );
    const run = (len: number) =>
      net.forward(
        uploadEncoderBatch(
          be,
          encoderBatch(
            [{ ids: Array.from({ length: len }, (_, i) => 2 + (i % 20)), typeIds: new Array(len).fill(0) }],
            cfg,
          ),
        ),
      );
    for (const len of [5, 9, 5, 9]) await be.read(run(len));
    const live = be.ctx.counters.bytesLive;
    for (const len of [5, 9, 5, 9, 5, 9]) await be.read(run(len));
    // only the small per-call input tensors of this test (never disposed) may add up
    expect(be.ctx.counters.bytesLive - live).toBeLessThan(4096);
  });
});
