// Kernel tuning (src/gpu/tune.ts): the choice rule, that the measured tile is what 'auto' then runs (with the same
// results as the CPU reference), that a training run tunes after its first step and trains exactly as without tuning,
// and that tuning leaves the steps after it allocation-free. SwiftShader runs the flat kernel under 'auto', so these
// tests turn barrierFree off to take the GPU path; timings there mean nothing, so the choices are checked with a fake
// clock around the real work.

import { afterEach, describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import { matmul } from '../../src/gpu/kernels/matmul';
import type { TiledTile } from '../../src/gpu/kernels/matmulRules';
import {
  matmulKernelFor,
  matmulKernelName,
  setTunedKernel,
  tunedMatmulKernels,
} from '../../src/gpu/kernels/matmulTuned';
import { noteKernels, pickKernel, tuneMatmuls } from '../../src/gpu/tune';
import { parseConfig } from '../../src/models/config';
import { instantiate } from '../../src/models/load';
import { matmulRef } from '../../src/ops/matmul';
import type { KernelTuneReport, MatmulParams } from '../../src/tensor/backend';
import { BatchStream } from '../../src/train/data/batches';
import { DEFAULT_RUN, type RunConfig, runSteps } from '../../src/train/run';
import { taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer } from '../../src/train/trainer';
import { expectClose, randArray } from '../helpers/check';
import { gpuBackend, gpuContext } from '../helpers/gpu';
import { idsTokenizer, randomGpt2 } from '../helpers/randomModel';

const tiles = (m: [TiledTile, number][]) => new Map(m);

describe('pickKernel', () => {
  it('takes the fastest tile', () => {
    expect(
      pickKernel(
        tiles([
          [32, 3],
          [64, 2],
          [128, 1],
        ]),
        64,
        0.03,
      ),
    ).toBe(128);
  });
  it("keeps the rule's tile within the margin, and when it is fastest", () => {
    expect(
      pickKernel(
        tiles([
          [64, 1.02],
          [128, 1],
        ]),
        64,
        0.03,
      ),
    ).toBe(64);
    expect(
      pickKernel(
        tiles([
          [64, 1.04],
          [128, 1],
        ]),
        64,
        0.03,
      ),
    ).toBe(128);
    expect(
      pickKernel(
        tiles([
          [32, 0.5],
          [64, 1],
        ]),
        32,
        0.03,
      ),
    ).toBe(32);
  });
});

/** Runs the GPU path ('auto' tiles instead of the flat kernel) on SwiftShader, and forgets tuned tiles after. */
async function gpuPath(): Promise<GpuContext> {
  const ctx = await gpuContext();
  ctx.barrierFree = false;
  return ctx;
}
afterEach(async () => {
  const ctx = await gpuContext();
  ctx.barrierFree = true;
  for (const key of [...tunedMatmulKernels(ctx).keys()]) setTunedKernel(ctx, key, null);
});

function upload(ctx: GpuContext, data: Float32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], 'f32', label);
  ctx.write(t, data);
  return t;
}

describe('tuneMatmuls', () => {
  const shapes: { p: MatmulParams; bias: boolean }[] = [
    { p: { M: 70, K: 40, N: 90 }, bias: true },
    { p: { M: 33, K: 70, N: 20, transA: true }, bias: false },
    { p: { M: 20, K: 30, N: 50, transB: true, batch: 3, broadcastB: true, accumulate: true, alpha: 0.5 }, bias: false },
  ];
  // The fake clock: per shape (by M), which kernel looks fastest.
  const fastest: Record<number, string> = { 70: '128+prefetch', 33: '32', 20: '64+prefetch' };

  function operands(ctx: GpuContext, p: MatmulParams, bias: boolean, seed: number) {
    const batch = p.batch ?? 1;
    const host = {
      a: randArray(batch * p.M * p.K, seed),
      b: randArray((p.broadcastB ? 1 : batch) * p.K * p.N, seed + 1),
      bias: bias ? randArray(p.N, seed + 2) : null,
      out: randArray(batch * p.M * p.N, seed + 3),
    };
    const dev = {
      a: upload(ctx, host.a, 'a'),
      b: upload(ctx, host.b, 'b'),
      bias: host.bias ? upload(ctx, host.bias, 'bias') : null,
      out: upload(ctx, host.out, 'out'),
    };
    return { host, dev };
  }

  it("times every noted shape with each kernel, and 'auto' then runs the chosen one with the reference's result", async () => {
    const ctx = await gpuPath();
    const ops = shapes.map((s, i) => ({ ...s, ...operands(ctx, s.p, s.bias, 10 * i) }));
    noteKernels(ctx);
    for (const o of ops) matmul(ctx, o.dev.out, o.dev.a, o.dev.b, o.dev.bias, o.p);
    // The same shape again is noted once.
    matmul(ctx, ops[0].dev.out, ops[0].dev.a, ops[0].dev.b, ops[0].dev.bias, ops[0].p);
    const calls: string[] = [];
    const report = await tuneMatmuls(ctx, {
      // SwiftShader compiles each tile's pipeline in about a second: no budget here.
      budgetMs: Number.POSITIVE_INFINITY,
      measure: async (run, shape, kernel) => {
        await run();
        const name = matmulKernelName(kernel);
        calls.push(`${shape.p.M}:${name}`);
        return name === fastest[shape.p.M] ? 1 : 2;
      },
    });
    expect(report.untimed).toBe(0);
    expect(report.kernels.map((k) => k.shape).sort()).toEqual([
      '1x33x70x20A f32',
      '1x70x40x90 bias f32',
      '3x20x30x50Bb+ f32',
    ]);
    // Largest shape first; each kernel (every tile, and 64 and 128 with prefetch) timed in each of the three rounds,
    // in rotating order.
    expect(report.kernels[0].shape).toBe('1x70x40x90 bias f32');
    const names = ['32', '64', '128', '64+prefetch', '128+prefetch'];
    const round = (r: number) => names.map((_, i) => `70:${names[(i + r) % names.length]}`);
    expect(calls.slice(0, 15)).toEqual([...round(0), ...round(1), ...round(2)]);
    for (const k of report.kernels) {
      const M = Number(k.shape.split('x')[1]);
      expect(k.chosen).toBe(fastest[M]);
      expect(Object.keys(k.msPerOp).sort()).toEqual([...names].sort());
    }
    // 'auto' now takes the measured kernels, and computes what the reference does.
    for (const o of ops) {
      expect(matmulKernelName(matmulKernelFor(ctx, o.p, 'f32', o.bias))).toBe(fastest[o.p.M]);
      ctx.write(o.dev.out, o.host.out);
      matmul(ctx, o.dev.out, o.dev.a, o.dev.b, o.dev.bias, o.p);
      const expected = o.host.out.slice();
      matmulRef(expected, o.host.a, o.host.b, o.host.bias, o.p);
      expectClose(await ctx.read(o.dev.out), expected, 1e-5, 1e-5, `tuned ${o.p.M}`);
    }
    // The operands were only read: the tuning's output went to scratch.
    expectClose(await ctx.read(ops[0].dev.a), ops[0].host.a, 0, 0, 'a unchanged');
    for (const o of ops) for (const t of Object.values(o.dev)) if (t) ctx.release(t);
  });

  it('times only new shapes when a step is tuned again on the same device (a resumed run)', async () => {
    const ctx = await gpuPath();
    const [x, y] = shapes.map((s, i) => ({ ...s, ...operands(ctx, s.p, s.bias, 20 + i) }));
    noteKernels(ctx);
    matmul(ctx, x.dev.out, x.dev.a, x.dev.b, x.dev.bias, x.p);
    const first = await tuneMatmuls(ctx, { budgetMs: 1e9, rounds: 1 });
    expect(first.kernels.map((k) => k.shape)).toEqual(['1x70x40x90 bias f32']);
    noteKernels(ctx);
    matmul(ctx, x.dev.out, x.dev.a, x.dev.b, x.dev.bias, x.p);
    matmul(ctx, y.dev.out, y.dev.a, y.dev.b, y.dev.bias, y.p);
    matmul(ctx, y.dev.out, y.dev.a, y.dev.b, y.dev.bias, y.p);
    const again = await tuneMatmuls(ctx, { budgetMs: 1e9, rounds: 1 });
    expect(again.kernels.map((k) => [k.shape, k.calls])).toEqual([['1x33x70x20A f32', 2]]);
    for (const o of [x, y]) for (const t of Object.values(o.dev)) if (t) ctx.release(t);
  });

  it('keeps the rule for the shapes left when the time budget runs out', async () => {
    const ctx = await gpuPath();
    const o = { ...shapes[0], ...operands(ctx, shapes[0].p, true, 5) };
    noteKernels(ctx);
    matmul(ctx, o.dev.out, o.dev.a, o.dev.b, o.dev.bias, o.p);
    const report = await tuneMatmuls(ctx, { budgetMs: -1 });
    expect(report).toMatchObject({ kernels: [], untimed: 1 });
    expect(tunedMatmulKernels(ctx).size).toBe(0);
    for (const t of Object.values(o.dev)) if (t) ctx.release(t);
  });

  it('notes nothing on a CPU-emulated adapter (the flat kernel is compiled per shape)', async () => {
    const ctx = await gpuContext();
    const be = await gpuBackend();
    expect(ctx.barrierFree).toBe(true);
    const o = { ...shapes[0], ...operands(ctx, shapes[0].p, true, 5) };
    be.noteKernels();
    matmul(ctx, o.dev.out, o.dev.a, o.dev.b, o.dev.bias, o.p);
    expect(await be.tuneKernels()).toBeNull();
    expect((await tuneMatmuls(ctx)).kernels).toEqual([]);
    for (const t of Object.values(o.dev)) if (t) ctx.release(t);
  });
});

describe('a training run tunes after its first step', () => {
  const V = 37,
    C = 32,
    L = 2,
    B = 4,
    T = 8;
  const tok = idsTokenizer(V);

  async function train(
    tune: RunConfig['tuneKernels'],
  ): Promise<{ losses: number[]; report: KernelTuneReport | null; late: number; tuningLeft: number }> {
    const be = await gpuBackend();
    const config = parseConfig({
      model_type: 'gpt2',
      vocab_size: V,
      n_positions: 16,
      n_embd: C,
      n_layer: L,
      n_head: 2,
    });
    const model = instantiate(
      be,
      config,
      tok,
      { tensors: randomGpt2({ V, P: 16, C, L }), initialized: [], ignored: [] },
      't',
    );
    const trainer = new Trainer(
      be,
      taskFor(be, model),
      {
        method: 'lora',
        targets: ['attn.c_attn', 'mlp.c_fc'],
        adapter: { method: 'lora', R0: 4, alpha: 8, dropout: 0, seed: 3 },
      },
      { ...DEFAULT_OPTIM, lr: 1e-2, totalSteps: 4, modelDropout: false },
    );
    // B * 2 windows of T + 1 tokens, so the 4 steps draw different batches.
    const windows = Array.from({ length: 2 * B }, (_, w) =>
      Int32Array.from({ length: T + 1 }, (_, i) => (w * 11 + i * 7 + 3) % V),
    );
    const cfg: RunConfig = { ...DEFAULT_RUN, method: 'lora', batch: B, seq: T, logEvery: 1, tuneKernels: tune };
    const losses: number[] = [];
    let report: KernelTuneReport | null = null;
    let created = 0,
      tuningLeft = Number.NaN;
    // The GPU memory tuning leaves behind: its scratch outputs are borrowed from the pool or destroyed after.
    const tuneKernels = be.tuneKernels.bind(be);
    be.tuneKernels = async (o) => {
      const before = be.ctx.counters.bytesLive;
      const r = await tuneKernels(o);
      tuningLeft = be.ctx.counters.bytesLive - before;
      return r;
    };
    await runSteps(
      trainer,
      new BatchStream({ kind: 'lm', windows, seq: T }, B, 1),
      4,
      cfg,
      (m) => {
        losses.push(m.loss);
        if (m.step === 2) created = be.ctx.counters.bufferCreations;
      },
      () => false,
      { onTuned: (r) => void (report = r) },
    );
    return { losses, report, late: be.ctx.counters.bufferCreations - created, tuningLeft };
  }

  it('with the same losses as without tuning, no memory kept by the tuning, no allocation after it', async () => {
    await gpuPath();
    const plain = await train(false);
    expect(plain.report).toBeNull();
    // SwiftShader compiles each kernel's pipeline in about a second, so the default budget (3 s) would time 1 shape.
    const tuned = await train({ budgetMs: 1e9 });
    const report = tuned.report as KernelTuneReport | null;
    expect(report).not.toBeNull();
    // The forward's and the backward's matmuls, each shape once: 5 forward (4 linears, the LM head) and 5 input
    // gradients (the LoRA factors' gradients are adapter kernels, not matmuls).
    expect(report!).toMatchObject({ untimed: 0 });
    expect(report!.kernels).toHaveLength(10);
    for (const k of report!.kernels) {
      expect(['32', '64', '128', '64+prefetch', '128+prefetch']).toContain(k.chosen);
      for (const ms of Object.values(k.msPerOp)) expect(ms).toBeGreaterThan(0);
    }
    expect(tuned.losses).toHaveLength(4);
    expectClose(Float32Array.from(tuned.losses), Float32Array.from(plain.losses), 1e-6, 1e-6, 'losses');
    expect(tuned.late).toBe(0);
    expect(tuned.tuningLeft).toBe(0);
  });
});
